//! The baselines and the control of a fair comparison, as explainers with the same call and the
//! same outcome as MusicLIME: LIME on each modality separately ([`Strategy::Separate`]), random
//! weights ([`Strategy::Random`]), and the exact contributions of an additive model
//! ([`Strategy::Oracle`]).

use ndarray::{concatenate, s, Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::statistics::draws::standard_normal;

use super::{
    check_batch_output, explain_with_lime, with_resolved_labels, ExplainOutcome, ExplainParams,
    Strategy,
};
use crate::error::{Error, Result};
use crate::explanation::{Explanation, LabelExplanation};
use crate::factorize::Factorization;
use crate::features::FeatureSpace;
use crate::lyrics::LyricFeatures;
use crate::model::{Classifier, InstancePredictor};
use crate::neighborhood::sampler::PerturbedModality;
use crate::neighborhood::Neighborhood;
use crate::seeds::{sub_seed, Purpose};
use crate::surrogate::SurrogateFit;

/// What a strategy needs of the parameters alone.
pub(super) fn check_strategy_params(params: &ExplainParams) -> Result<()> {
    if params.strategy == Strategy::Separate
        && params.modality == PerturbedModality::Both
        && params.sampler.num_samples < 4
    {
        return Err(Error::param(
            "num_samples",
            format!(
                "is {}; `lime_separate` gives each modality half, and each half needs at least 2 rows",
                params.sampler.num_samples
            ),
        ));
    }
    Ok(())
}

/// What a strategy needs of the model, before any model call.
pub(super) fn check_strategy_model(params: &ExplainParams, model: &dyn Classifier) -> Result<()> {
    if params.strategy == Strategy::Oracle && !model.is_additive() {
        return Err(Error::param(
            "method",
            format!(
                "`oracle` needs a model whose exact contributions are known (an additive model such as builtin:additive); {} is not one",
                model.name()
            ),
        ));
    }
    Ok(())
}

/// LIME on the audio alone (the first `ceil(n / 2)` samples, the sampler's seed) and on the
/// lyrics alone (the rest, the seed's [`Purpose::Sampler`] sub-seed), the weights concatenated.
/// Per label, the combined intercept is `i_audio + i_lyrics − f(x)` and the local prediction
/// `g_audio(x) + g_lyrics(x) − f(x)` (the two surrogates joined at the instance); there is no
/// one neighbourhood to score the pair on, so the score is NaN. The returned neighbourhood
/// holds both halves' rows (the other modality's columns kept on); refitting it fits one joint
/// surrogate, not this explanation.
pub(super) fn explain_separately(
    predictor: &dyn InstancePredictor,
    audio: &dyn Factorization,
    lyrics: &LyricFeatures,
    model: &dyn Classifier,
    params: &ExplainParams,
    progress: &mut dyn FnMut(usize),
) -> Result<ExplainOutcome> {
    let counts_before = predictor.counts();
    let n = params.sampler.num_samples;
    let audio_samples = n.div_ceil(2);
    let half = |modality, num_samples, seed| {
        let mut p = params.clone();
        p.modality = modality;
        p.strategy = Strategy::Lime;
        p.sampler.num_samples = num_samples;
        p.sampler.seed = seed;
        p
    };
    let audio_params = half(PerturbedModality::Audio, audio_samples, params.sampler.seed);
    let lyrics_params = half(
        PerturbedModality::Lyrics,
        n - audio_samples,
        sub_seed(params.sampler.seed, Purpose::Sampler),
    );
    let a = explain_with_lime(predictor, audio, lyrics, model, &audio_params, progress)?;
    // Both halves explain exactly the audio half's labels.
    let mut lyrics_params = lyrics_params;
    lyrics_params.refit.labels = crate::explanation::LabelChoice::Labels(
        a.explanation
            .labels
            .iter()
            .map(|l| l.label.into())
            .collect(),
    );
    let l = explain_with_lime(
        predictor,
        audio,
        lyrics,
        model,
        &lyrics_params,
        &mut |done| progress(audio_samples + done),
    )?;
    let mut outcome = concatenate_halves(a, l, params.refit.surrogate.num_features)?;
    outcome.counts = predictor.counts().since(&counts_before);
    Ok(outcome)
}

/// One explanation from an audio-only and a lyrics-only one of the same instance.
/// Per label, the weights of both halves, the `num_features` largest |weights| kept (each half
/// selected up to `num_features` of its own).
fn concatenate_halves(
    a: ExplainOutcome,
    l: ExplainOutcome,
    num_features: usize,
) -> Result<ExplainOutcome> {
    let offset = a.explanation.features.len();
    let labels = a
        .explanation
        .labels
        .iter()
        .map(|la| {
            let ll = l
                .explanation
                .labels
                .iter()
                .find(|ll| ll.label == la.label)
                .ok_or_else(|| {
                    Error::Internal(format!(
                        "the lyrics half of lime_separate did not explain label {}",
                        la.label
                    ))
                })?;
            let mut weights = la.fit.weights.clone();
            weights.extend(ll.fit.weights.iter().map(|&(j, w)| (j + offset, w)));
            sort_by_magnitude(&mut weights);
            weights.truncate(num_features);
            Ok(LabelExplanation {
                label: la.label,
                name: la.name.clone(),
                model_output: la.model_output,
                fit: SurrogateFit {
                    intercept: la.fit.intercept + ll.fit.intercept - la.model_output,
                    score: f64::NAN,
                    local_pred: la.fit.local_pred + ll.fit.local_pred - la.model_output,
                    weights,
                    // Two independent posteriors, one per half: no joint figure is defined.
                    uncertainty: None,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut features = a.explanation.features.clone();
    features.extend(l.explanation.features.iter().cloned());
    let (na, da) = a.neighborhood.masks.dim();
    let (nl, dl) = l.neighborhood.masks.dim();
    let mut masks = Array2::<u8>::ones((na + nl, da + dl));
    masks
        .slice_mut(s![..na, ..da])
        .assign(&a.neighborhood.masks);
    masks
        .slice_mut(s![na.., da..])
        .assign(&l.neighborhood.masks);
    let probs = concatenate(
        Axis(0),
        &[a.neighborhood.probs.view(), l.neighborhood.probs.view()],
    )
    .map_err(|e| Error::Internal(format!("lime_separate: {e}")))?;
    let mut feature_indices = a.feature_indices.clone();
    feature_indices.extend(&l.feature_indices);
    Ok(ExplainOutcome {
        explanation: Explanation {
            labels,
            features: features.clone(),
            num_samples: na + nl,
        },
        neighborhood: Neighborhood {
            masks,
            probs,
            distances: None,
            features: Some(features),
            classes: a.neighborhood.classes.clone(),
        },
        predicted_label: a.predicted_label,
        feature_indices,
        space_len: a.space_len,
        model_seconds: a.model_seconds + l.model_seconds,
        counts: a.counts,
    })
}

/// Sorts `(feature, weight)` pairs by |weight|, largest first (stable).
fn sort_by_magnitude(weights: &mut [(usize, f64)]) {
    weights.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
}

/// The rows `masks` (over the whole space) through the model, `batch_size` at a time, and the
/// seconds spent in model calls.
fn run_masks(
    predictor: &dyn InstancePredictor,
    masks: &[Vec<bool>],
    batch_size: usize,
    classes: usize,
    model: &dyn Classifier,
) -> Result<(Array2<f64>, f64)> {
    let mut probs = Array2::<f64>::zeros((masks.len(), classes));
    let mut seconds = 0.0;
    for start in (0..masks.len()).step_by(batch_size.max(1)) {
        let end = (start + batch_size.max(1)).min(masks.len());
        let prepared = predictor.prepare(&masks[start..end], start)?;
        let started = std::time::Instant::now();
        let out = predictor.run(prepared)?;
        seconds += started.elapsed().as_secs_f64();
        check_batch_output(&out, end - start, classes, model)?;
        probs.slice_mut(s![start..end, ..]).assign(&out);
    }
    Ok((probs, seconds))
}

/// What every non-LIME strategy starts from: the explained features, the model's outputs on
/// `masks` (row 0: the instance), the predicted label and the labels to explain.
struct Queried {
    space: FeatureSpace,
    features: Vec<usize>,
    probs: Array2<f64>,
    predicted_label: usize,
    labels: Vec<usize>,
    model_seconds: f64,
}

fn query(
    predictor: &dyn InstancePredictor,
    audio: &dyn Factorization,
    lyrics: &LyricFeatures,
    model: &dyn Classifier,
    params: &ExplainParams,
    masks: impl Fn(&FeatureSpace, &[usize]) -> Vec<Vec<bool>>,
) -> Result<Queried> {
    let space = FeatureSpace::new(audio.features().to_vec(), lyrics);
    let features = params.modality.features_of(&space);
    let classes = model.class_names().len();
    let rows = masks(&space, &features);
    let (probs, model_seconds) = run_masks(predictor, &rows, params.batch_size, classes, model)?;
    let predicted_label = super::predicted_of(&probs);
    let refit = with_resolved_labels(params, &probs, predicted_label, model)?;
    let row0 = probs.row(0).to_vec();
    let labels = refit
        .labels
        .resolve(&row0, Some(model.class_names()), model.name())?;
    Ok(Queried {
        space,
        features,
        probs,
        predicted_label,
        labels,
        model_seconds,
    })
}

/// The outcome of a non-LIME strategy from its queries, its per-label fits and the rows it ran
/// (as masks over the explained features).
fn outcome_of(
    q: Queried,
    fits: Vec<SurrogateFit>,
    masks: Array2<u8>,
    model: &dyn Classifier,
    counts: crate::model::ModelCounts,
) -> ExplainOutcome {
    let row0 = q.probs.row(0).to_vec();
    let features: Vec<_> = q
        .features
        .iter()
        .map(|&j| q.space.features[j].clone())
        .collect();
    let labels = q
        .labels
        .iter()
        .zip(fits)
        .map(|(&label, fit)| LabelExplanation {
            label,
            name: Some(model.class_names()[label].clone()),
            model_output: row0[label],
            fit,
        })
        .collect();
    ExplainOutcome {
        explanation: Explanation {
            labels,
            features: features.clone(),
            num_samples: masks.nrows(),
        },
        neighborhood: Neighborhood {
            masks,
            probs: q.probs,
            distances: None,
            features: Some(features),
            classes: Some(model.class_names().to_vec()),
        },
        predicted_label: q.predicted_label,
        feature_indices: q.features,
        space_len: q.space.features.len(),
        model_seconds: q.model_seconds,
        counts,
    }
}

/// Random weights: for each explained label, one standard normal draw per feature (the
/// `num_features` largest |weights| kept, as the surrogate's feature selection keeps at most
/// that many), from ChaCha8
/// seeded with the [`Purpose::RandomExplainer`] sub-seed of the sampler's seed. The intercept,
/// score and local prediction are NaN (nothing was fitted).
pub(super) fn explain_randomly(
    predictor: &dyn InstancePredictor,
    audio: &dyn Factorization,
    lyrics: &LyricFeatures,
    model: &dyn Classifier,
    params: &ExplainParams,
) -> Result<ExplainOutcome> {
    let counts_before = predictor.counts();
    let q = query(predictor, audio, lyrics, model, params, |space, _| {
        vec![vec![true; space.features.len()]]
    })?;
    let mut rng =
        ChaCha8Rng::seed_from_u64(sub_seed(params.sampler.seed, Purpose::RandomExplainer));
    let fits = q
        .labels
        .iter()
        .map(|_| {
            let mut weights: Vec<(usize, f64)> = (0..q.features.len())
                .map(|k| (k, standard_normal(&mut rng)))
                .collect();
            sort_by_magnitude(&mut weights);
            weights.truncate(params.refit.surrogate.num_features);
            SurrogateFit {
                intercept: f64::NAN,
                score: f64::NAN,
                local_pred: f64::NAN,
                weights,
                uncertainty: None,
            }
        })
        .collect();
    let masks = Array2::<u8>::ones((1, q.features.len()));
    Ok(outcome_of(
        q,
        fits,
        masks,
        model,
        predictor.counts().since(&counts_before),
    ))
}

/// The oracle: each explained feature's leave-one-out effect `f(x) − f(x without it)` (every
/// other feature kept), which for an additive model is its exact contribution (the
/// `num_features` largest |weights| kept). The intercept is `f(x) − Σ w` over all explained
/// features (the output without them), the local prediction `f(x)`; the score is NaN (nothing
/// was fitted). `1 + d` model rows.
pub(super) fn explain_exactly(
    predictor: &dyn InstancePredictor,
    audio: &dyn Factorization,
    lyrics: &LyricFeatures,
    model: &dyn Classifier,
    params: &ExplainParams,
) -> Result<ExplainOutcome> {
    let counts_before = predictor.counts();
    let q = query(
        predictor,
        audio,
        lyrics,
        model,
        params,
        |space, features| {
            let all = vec![true; space.features.len()];
            let mut rows = vec![all.clone()];
            rows.extend(features.iter().map(|&j| {
                let mut row = all.clone();
                row[j] = false;
                row
            }));
            rows
        },
    )?;
    let fits = q
        .labels
        .iter()
        .map(|&label| {
            let p = q.probs.column(label);
            let mut weights: Vec<(usize, f64)> = (0..q.features.len())
                .map(|k| (k, p[0] - p[k + 1]))
                .collect();
            let total: f64 = weights.iter().map(|(_, w)| w).sum();
            sort_by_magnitude(&mut weights);
            weights.truncate(params.refit.surrogate.num_features);
            SurrogateFit {
                intercept: p[0] - total,
                score: f64::NAN,
                local_pred: p[0],
                weights,
                uncertainty: None,
            }
        })
        .collect();
    let d = q.features.len();
    let mut masks = Array2::<u8>::ones((1 + d, d));
    for k in 0..d {
        masks[[k + 1, k]] = 0;
    }
    Ok(outcome_of(
        q,
        fits,
        masks,
        model,
        predictor.counts().since(&counts_before),
    ))
}
