//! The metrics of one unit of work: computed right after its explanation, from the
//! explanation, new queries of the prepared instance, attention maps and re-explanations of
//! perturbed copies; and the stability metrics across the repeats of an instance.

use std::collections::{BTreeMap, BTreeSet};

use super::config::ExperimentConfig;
use super::store::UnitRecord;
use crate::error::Result;
use crate::explainer::{explain_instance, ExplainOutcome, ExplainParams};
use crate::explanation::{LabelChoice, LabelExplanation};
use crate::factorize::SourceSegments;
use crate::features::Feature;
use crate::lyrics::{LyricFeatures, LyricsParams};
use crate::metrics::attention as metric_attention;
use crate::metrics::audio_xai::LmacScores;
use crate::metrics::fidelity::{self, Curve, LmacMask, Spaces};
use crate::metrics::{
    ground_truth, shape, stability, Change, Lmac, Metric, Perturbation, Scope, Space, NOISE_SNR_DB,
};
use crate::model::attention::AttentionMap;
use crate::model::Classifier;
use crate::neighborhood::sampler::PerturbedModality;
use crate::seeds::UnitSeeds;

/// An explanation's weights by feature name.
pub(crate) type NamedWeights = Vec<(String, f64)>;

/// What the metrics of one explanation may look at.
#[derive(Clone, Copy)]
pub(crate) struct MetricContext<'a> {
    /// Where curve metrics leave their curves.
    pub(crate) curves: &'a std::cell::RefCell<Vec<(String, Curve)>>,
    /// The predicted label's weights by feature name.
    pub(crate) original: &'a [(String, f64)],
    /// The same for the explanations of perturbed copies (`None`: the perturbation does not
    /// apply, e.g. an edit of empty lyrics).
    pub(crate) robustness: &'a [(Perturbation, Option<NamedWeights>)],
    pub(crate) label: &'a LabelExplanation,
    pub(crate) features: &'a [Feature],
    pub(crate) planted: Option<&'a BTreeSet<String>>,
    /// The fidelity probes, orders and weights of both feature spaces.
    pub(crate) spaces: &'a Spaces<'a>,
    /// The L-MAC scores per mask, computed the first time one is asked for.
    pub(crate) lmac: &'a std::cell::RefCell<Vec<(LmacMask, LmacScores)>>,
    /// The unit's seeds by purpose.
    pub(crate) seeds: UnitSeeds,
    pub(crate) attention: &'a [AttentionMap],
    pub(crate) lyrics: &'a LyricFeatures,
}

/// The value of metric `name` for the explanation of the predicted label, for metrics of one
/// explanation (some query the model again through `probe`); `None` for metrics across
/// repeats, which [`stability_rows`] computes.
pub(crate) fn unit_metric(
    name: &str,
    metric: Metric,
    context: &MetricContext,
) -> Result<Option<f64>> {
    let MetricContext {
        curves,
        original,
        robustness,
        label,
        features,
        planted,
        spaces,
        lmac,
        seeds,
        attention,
        lyrics,
    } = *context;
    let weights = &label.fit.weights;
    let empty = BTreeSet::new();
    let planted = planted.unwrap_or(&empty);
    let lmac = |mask: LmacMask| -> Result<LmacScores> {
        if let Some((_, scores)) = lmac.borrow().iter().find(|(m, _)| *m == mask) {
            return Ok(*scores);
        }
        let scores = fidelity::lmac(spaces, mask)?;
        lmac.borrow_mut().push((mask, scores));
        Ok(scores)
    };
    let union = |f: fn(&[f64]) -> f64| f(spaces.get(Space::Union).2);
    let ties = seeds.ties;
    Ok(Some(match metric {
        Metric::Score => label.fit.score,
        Metric::LocalError => (label.model_output - label.fit.local_pred).abs(),
        Metric::ModalityShareAudio => shape::modality_share_audio(weights, features),
        Metric::Complexity => union(shape::complexity),
        Metric::Sparseness => union(shape::sparseness),
        Metric::PositiveMaskFraction => fidelity::positive_mask_fraction(spaces),
        Metric::PrecisionAtK(m, None) => {
            ground_truth::precision_at_k(weights, features, m, planted, ties)
        }
        Metric::PrecisionAtK(m, Some(k)) => {
            ground_truth::precision_at_fixed_k(weights, features, m, planted, k, ties)
        }
        Metric::RecallAtK(m, k) => {
            ground_truth::recall_at_k(weights, features, m, planted, k, ties)
        }
        Metric::Auroc(m) => ground_truth::auroc(weights, features, m, planted),
        Metric::DeletionAuc(steps, space) => {
            let (probe, order, _) = spaces.get(space);
            let (auc, curve) = fidelity::deletion(probe, order, steps)?;
            curves.borrow_mut().push((name.to_string(), curve));
            auc
        }
        Metric::InsertionAuc(steps, space) => {
            let (probe, order, _) = spaces.get(space);
            let (auc, curve) = fidelity::insertion(probe, order, steps)?;
            curves.borrow_mut().push((name.to_string(), curve));
            auc
        }
        Metric::Comprehensiveness(k, space) => {
            let (probe, order, _) = spaces.get(space);
            fidelity::comprehensiveness(probe, order, k)?
        }
        Metric::Sufficiency(k, space) => {
            let (probe, order, _) = spaces.get(space);
            fidelity::sufficiency(probe, order, k)?
        }
        Metric::ComprehensivenessTop(p) => {
            let (probe, order, dense) = spaces.get(Space::Union);
            fidelity::comprehensiveness(probe, order, fidelity::top_count(dense.len(), p))?
        }
        Metric::SufficiencyTop(p) => {
            let (probe, order, dense) = spaces.get(Space::Union);
            fidelity::sufficiency(probe, order, fidelity::top_count(dense.len(), p))?
        }
        Metric::FaithfulnessCorrelation(space) => {
            let (probe, _, dense) = spaces.get(space);
            fidelity::faithfulness_correlation(probe, dense, seeds.faithfulness)?
        }
        Metric::Lmac(which, mask) => {
            let scores = lmac(mask)?;
            match which {
                Lmac::AverageIncrease => scores.average_increase,
                Lmac::AverageDrop => scores.average_drop_published,
                Lmac::AverageGain => scores.average_gain_published,
                Lmac::FaithfulnessOnSpectra => scores.faithfulness_on_spectra,
                Lmac::InputFidelity => scores.input_fidelity,
            }
        }
        Metric::Attention(source, how, modality) => metric_attention::agreement(
            metric_attention::unit_masses(attention, source, modality, weights, features, lyrics),
            how,
        ),
        Metric::Robustness(perturbation, change) => {
            match robustness
                .iter()
                .find(|(p, _)| *p == perturbation)
                .and_then(|(_, w)| w.as_ref())
            {
                None => f64::NAN,
                Some(perturbed) => match change {
                    Change::JaccardAtK(k) => {
                        stability::robustness_jaccard(original, perturbed, k, ties)
                    }
                    Change::Weights => stability::relative_weight_change(original, perturbed),
                },
            }
        }
        Metric::JaccardAtK(_)
        | Metric::KendallTau
        | Metric::SpearmanRho
        | Metric::Vsi
        | Metric::Csi => return Ok(None),
    }))
}

/// Explains a slightly perturbed copy of the instance (noise on the audio, or one word deleted)
/// with the same parameters and seed (`random` with a fresh draw), always including `label`; `None` when the perturbation
/// does not apply (no words to delete).
pub(crate) fn reexplain(
    perturbation: Perturbation,
    factorization: &SourceSegments,
    lyrics: &LyricFeatures,
    model: &dyn Classifier,
    params: &ExplainParams,
    label: usize,
    seed: u64,
) -> Result<Option<ExplainOutcome>> {
    let mut params = params.clone();
    params.refit.labels = LabelChoice::Labels(vec![label.into()]);
    if params.strategy == crate::explainer::Strategy::Random {
        // The same seed would redraw the same weights and score a perfect robustness: the
        // floor draws again, so its robustness is chance.
        params.sampler.seed = crate::seeds::sub_seed(seed, crate::seeds::Purpose::RandomExplainer);
    }
    let silent = &mut |_| {};
    match perturbation {
        Perturbation::Noise => {
            let noisy = factorization.with_noise(NOISE_SNR_DB, seed);
            explain_instance(&noisy, lyrics, model, &params, silent).map(Some)
        }
        Perturbation::Edit => {
            let positions: Vec<usize> = lyrics
                .features()
                .iter()
                .flat_map(|f| f.positions.iter().copied())
                .collect();
            if positions.is_empty() {
                return Ok(None);
            }
            use rand::{Rng, SeedableRng};
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let position = positions[rng.random_range(0..positions.len())];
            let edited =
                LyricFeatures::new(&lyrics.without_piece(position), &LyricsParams::default())?;
            if edited.is_empty() && params.modality != PerturbedModality::Audio {
                return Ok(None);
            }
            explain_instance(factorization, &edited, model, &params, silent).map(Some)
        }
    }
}

/// Standard deviations of the predicted label's weights (for `csi`), from the neighbourhood
/// the explanation was fitted on.
pub(crate) fn predicted_stdevs(
    outcome: &ExplainOutcome,
    label: &LabelExplanation,
    params: &ExplainParams,
) -> Result<Vec<f64>> {
    let data = outcome.neighborhood.data();
    let w = params.refit.kernel.weights(data.view(), None)?;
    let columns: Vec<usize> = label.fit.weights.iter().map(|(j, _)| *j).collect();
    let x = data.select(ndarray::Axis(1), &columns);
    let y = outcome.neighborhood.probs.column(label.label);
    Ok(stability::coefficient_stdevs(
        x.view(),
        y,
        w.view(),
        params.refit.surrogate.ridge_alpha,
    ))
}

/// One row of the `stability` table.
pub struct StabilityRow {
    /// Instance id.
    pub instance: String,
    /// Explainer name.
    pub explainer: String,
    /// Grid cell name.
    pub cell: String,
    /// Metric name.
    pub metric: String,
    /// Its value (NaN when it does not apply).
    pub value: f64,
}

/// Metrics across repeats: one value per (instance, explainer, cell) for each configured
/// stability metric, over the repeats' explanations of their predicted label.
pub fn stability_rows(config: &ExperimentConfig, records: &[UnitRecord]) -> Vec<StabilityRow> {
    let wanted: Vec<(&String, Metric)> = config
        .metrics
        .iter()
        .filter_map(|m| Metric::parse(m).map(|p| (m, p)))
        .filter(|(_, p)| p.scope() == Scope::Repeats)
        .collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut groups: BTreeMap<(&str, &str, &str), Vec<&UnitRecord>> = BTreeMap::new();
    for r in records {
        groups
            .entry((r.instance.as_str(), r.explainer.as_str(), r.cell.as_str()))
            .or_default()
            .push(r);
    }
    let mut rows = Vec::new();
    for ((instance, explainer, cell), mut members) in groups {
        members.sort_by_key(|r| r.repeat);
        let d = members[0].features.len();
        let ties = config.unit_seeds(instance, 0).ties;
        let tie_ranks: Vec<u64> = members[0]
            .features
            .iter()
            .map(|f| crate::seeds::tie_rank(ties, &f.name))
            .collect();
        let repeats: Vec<stability::Repeat> = members
            .iter()
            .filter_map(|r| r.labels.iter().find(|l| l.label == r.predicted_label))
            .map(|l| stability::Repeat {
                weights: l.weights.clone(),
                stdevs: l.stdevs.clone(),
            })
            .collect();
        for (name, metric) in &wanted {
            let value = match metric {
                Metric::JaccardAtK(k) => stability::jaccard_at_k(&repeats, d, *k, &tie_ranks),
                Metric::KendallTau => stability::kendall_tau(&repeats, d),
                Metric::SpearmanRho => stability::spearman_rho(&repeats, d),
                Metric::Vsi => stability::vsi(&repeats),
                Metric::Csi => stability::csi(&repeats),
                _ => f64::NAN,
            };
            rows.push(StabilityRow {
                instance: instance.to_string(),
                explainer: explainer.to_string(),
                cell: cell.to_string(),
                metric: name.to_string(),
                value,
            });
        }
    }
    rows
}
