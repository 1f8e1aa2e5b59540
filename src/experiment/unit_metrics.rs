//! What the metrics of one unit of work need beyond the explanation (re-explanations of
//! perturbed copies, the weights' standard deviations), and the stability metrics across the
//! repeats of an instance. Each metric's value comes from `Metric::value`.

use std::collections::BTreeMap;

use super::config::ExperimentConfig;
use super::store::UnitRecord;
use crate::error::Result;
use crate::explainer::{explain_instance, ExplainOutcome, ExplainParams};
use crate::explanation::{LabelChoice, LabelExplanation};
use crate::factorize::SourceSegments;
use crate::lyrics::{LyricFeatures, LyricsParams};
use crate::metrics::{stability, Metric, Perturbation, Scope, NOISE_SNR_DB};
use crate::model::Classifier;
use crate::neighborhood::sampler::PerturbedModality;

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
pub(crate) struct StabilityRow {
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
pub(crate) fn stability_rows(
    config: &ExperimentConfig,
    records: &[UnitRecord],
) -> Vec<StabilityRow> {
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
