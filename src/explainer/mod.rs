//! The MusicLIME explainer: perturb the features of one instance, ask the model about every
//! perturbed (audio, lyrics) pair in batches, and fit the surrogates (spec §3–§5).
//!
//! Memory stays O(batch × input): each batch of inputs is prepared (composed, or built from
//! stored component spectra by models with a fast route; in parallel, one input per task),
//! predicted and dropped, and the next batch is prepared while the model runs the current one.
//! Results depend only on the seed, never on the thread count: sampling is sequential and
//! seeded, every input depends only on its own mask, and the model sees the rows of a batch in
//! order.

pub mod adaptive;
use adaptive::AdaptiveSampling;
mod baselines;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::audio::Audio;
use crate::error::{Error, Result};
use crate::explanation::{refit, Explanation, LabelChoice, RefitParams};
use crate::factorize::{AudioWindow, ExplainedSpan, Factorization};
use crate::features::{Feature, FeatureSpace};
use crate::lyrics::LyricFeatures;
use crate::model::{instance_predictor, Classifier, InstancePredictor, ModelCounts, RunSettings};
use crate::neighborhood::sampler::SamplerKind;
use crate::neighborhood::sampler::{perturb, Perturbations, PerturbedModality, SamplerParams};
use crate::neighborhood::Neighborhood;

/// How an explainer finds its weights. Every strategy explains the features of
/// [`ExplainParams::modality`] and returns the same [`ExplainOutcome`], so baselines are swapped
/// by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// LIME: one neighbourhood over the modality (both modalities: MusicLIME).
    #[default]
    Lime,
    /// LIME on the audio alone and on the lyrics alone, half the samples each (the audio half
    /// gets the odd one), the weights concatenated: what MusicLIME has (both modalities) without
    /// what it adds (joint perturbation). Each half is a complete LIME run over its own
    /// modality's features: distances over those features, the explainer's kernel, its own
    /// surrogate.
    Separate,
    /// Weights drawn i.i.d. from a standard normal (a random ranking): the floor of every
    /// metric. Seeded by the sampler's seed's `RandomExplainer` purpose
    /// sub-seed; one model call (the unperturbed instance).
    Random,
    /// The exact contributions of an additive model ([`Classifier::is_additive`]): each
    /// feature's leave-one-out effect `f(x) − f(x without it)`, every other feature kept.
    Oracle,
}

impl Strategy {
    /// Its name, as a method in configs spells it.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Lime => "lime",
            Strategy::Separate => "lime_separate",
            Strategy::Random => "random",
            Strategy::Oracle => "oracle",
        }
    }
}

/// Which explanation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Audio components and words together.
    Musiclime,
    /// Audio components only (lyrics stay whole).
    LimeAudio,
    /// Words only (audio stays whole).
    LimeLyrics,
    /// LIME on the audio alone and on the lyrics alone, half the samples each, the weights
    /// concatenated: the control that separates joint perturbation from having both
    /// modalities.
    LimeSeparate,
    /// Standard normal weights over both modalities' features: the floor of every metric.
    Random,
    /// The exact contributions of an additive model (builtin:additive…): the ceiling.
    Oracle,
    /// The oracle restricted to the audio components.
    OracleAudio,
    /// The oracle restricted to the words.
    OracleLyrics,
}

impl Method {
    /// Every method, in the order of the docs.
    pub const ALL: [Method; 8] = [
        Method::Musiclime,
        Method::LimeAudio,
        Method::LimeLyrics,
        Method::LimeSeparate,
        Method::Random,
        Method::Oracle,
        Method::OracleAudio,
        Method::OracleLyrics,
    ];

    /// Its name, as configs spell it.
    pub fn name(self) -> &'static str {
        match self {
            Method::Musiclime => "musiclime",
            Method::LimeAudio => "lime_audio",
            Method::LimeLyrics => "lime_lyrics",
            Method::LimeSeparate => "lime_separate",
            Method::Random => "random",
            Method::Oracle => "oracle",
            Method::OracleAudio => "oracle_audio",
            Method::OracleLyrics => "oracle_lyrics",
        }
    }

    /// The LIME method that perturbs `modality` (MusicLIME for both).
    pub fn lime_of(modality: PerturbedModality) -> Method {
        match modality {
            PerturbedModality::Both => Method::Musiclime,
            PerturbedModality::Audio => Method::LimeAudio,
            PerturbedModality::Lyrics => Method::LimeLyrics,
        }
    }

    /// The modality it explains.
    pub fn modality(self) -> PerturbedModality {
        match self {
            Method::LimeAudio | Method::OracleAudio => PerturbedModality::Audio,
            Method::LimeLyrics | Method::OracleLyrics => PerturbedModality::Lyrics,
            _ => PerturbedModality::Both,
        }
    }

    /// How it finds its weights.
    pub fn strategy(self) -> Strategy {
        use Strategy;
        match self {
            Method::Musiclime | Method::LimeAudio | Method::LimeLyrics => Strategy::Lime,
            Method::LimeSeparate => Strategy::Separate,
            Method::Random => Strategy::Random,
            Method::Oracle | Method::OracleAudio | Method::OracleLyrics => Strategy::Oracle,
        }
    }

    /// What the model must read, `(audio, lyrics)`: both for MusicLIME and `lime_separate`,
    /// its modality for a unimodal method, nothing for `random`.
    pub fn needs(self) -> (bool, bool) {
        match self {
            Method::Musiclime | Method::LimeSeparate | Method::Oracle => (true, true),
            Method::LimeAudio | Method::OracleAudio => (true, false),
            Method::LimeLyrics | Method::OracleLyrics => (false, true),
            Method::Random => (false, false),
        }
    }
}

/// Parameters of one explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExplainParams {
    /// Which modality is explained (perturbed, for LIME).
    pub modality: PerturbedModality,
    /// How the weights are found.
    pub strategy: Strategy,
    /// Neighbourhood size, sampler and seed.
    pub sampler: SamplerParams,
    /// Number of perturbed samples composed together (and prepared while the model runs the
    /// previous ones).
    pub batch_size: usize,
    /// How the model runs: the most model items (clips × patches) one run receives (default:
    /// the model's own cap, `max_batch` in its model.yaml), and memoisation.
    pub run: RunSettings,
    /// Kernel, surrogate and labels.
    pub refit: RefitParams,
    /// `num_samples: auto`: draw in rounds up to `sampler.num_samples` rows and stop once the
    /// explanation is stable ([`adaptive`]); `None` draws exactly `sampler.num_samples`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adaptive: Option<AdaptiveSampling>,
}

impl Default for ExplainParams {
    fn default() -> Self {
        ExplainParams {
            modality: PerturbedModality::Both,
            strategy: Strategy::Lime,
            sampler: SamplerParams::default(),
            batch_size: 64,
            run: RunSettings::default(),
            refit: RefitParams::default(),
            adaptive: None,
        }
    }
}

/// The result of explaining one instance.
#[derive(Debug, Clone)]
pub struct ExplainOutcome {
    /// The explanation (its feature indices refer to the neighbourhood's features).
    pub explanation: Explanation,
    /// The neighbourhood it was fitted on (refit it to reproduce the explanation).
    pub neighborhood: Neighborhood,
    /// The class with the highest output on the unperturbed instance.
    pub predicted_label: usize,
    /// For each explained feature, its index in a full keep-mask (audio components, then
    /// lyric features), as [`InstancePredictor::prepare`] takes them.
    pub feature_indices: Vec<usize>,
    /// Length of a full keep-mask.
    pub space_len: usize,
    /// Seconds spent in model calls ([`InstancePredictor::run`]); the rest of the wall time is
    /// musiclime's own work (composition, features, sampling, surrogates).
    pub model_seconds: f64,
    /// Model items the explanation ran and the ones memoisation saved.
    pub counts: ModelCounts,
}

/// The modality to perturb for `model`: `Both` on a model that reads only one modality becomes
/// that modality; asking to perturb a modality the model does not read is an error naming
/// `origin` (a flag or method).
pub fn modality_for(
    model: &dyn Classifier,
    requested: PerturbedModality,
    origin: &str,
) -> Result<PerturbedModality> {
    let name = |m: PerturbedModality| match m {
        PerturbedModality::Audio => "audio",
        PerturbedModality::Lyrics => "lyrics",
        PerturbedModality::Both => "both",
    };
    match (model.reads(), requested) {
        ((true, false), PerturbedModality::Both) => Ok(PerturbedModality::Audio),
        ((false, true), PerturbedModality::Both) => Ok(PerturbedModality::Lyrics),
        ((false, _), PerturbedModality::Audio) | ((_, false), PerturbedModality::Lyrics) => {
            let reads = if model.reads().0 { "audio" } else { "lyrics" };
            Err(Error::input(
                origin,
                format!(
                    "{} does not read the {} you asked to perturb; perturb the {reads} instead (`--modality {reads}`, `method: lime_{reads}`)",
                    model.name(),
                    name(requested),
                ),
            ))
        }
        (_, m) => Ok(m),
    }
}

/// The modality to perturb on one instance, by the one rule every entry point (command line,
/// config, notebook) follows: `requested` adapted to what `model` reads ([`modality_for`],
/// errors name `origin`), then to the lyrics: without words, `both` explains the audio only
/// (the returned note says so) and `lyrics` is an error naming `lyrics_source`.
pub fn instance_modality(
    model: &dyn Classifier,
    requested: PerturbedModality,
    lyrics: &LyricFeatures,
    origin: &str,
    lyrics_source: &str,
) -> Result<(PerturbedModality, Option<String>)> {
    let modality = modality_for(model, requested, origin)?;
    if !lyrics.is_empty() {
        return Ok((modality, None));
    }
    match modality {
        PerturbedModality::Lyrics => Err(Error::input(
            lyrics_source,
            format!("has no lyric words, so there is nothing to explain by perturbing the lyrics ({origin})"),
        )),
        PerturbedModality::Both => Ok((
            PerturbedModality::Audio,
            Some(format!("{lyrics_source} has no words; explaining the audio only")),
        )),
        PerturbedModality::Audio => Ok((modality, None)),
    }
}

/// One track's parts, made ready for explanations: its audio split into components and its
/// lyrics into words, with where each came from (for messages).
#[derive(Clone, Copy)]
pub struct TrackParts<'a> {
    /// The audio components.
    pub audio: &'a dyn Factorization,
    /// The lyric features.
    pub lyrics: &'a LyricFeatures,
    /// Where the lyrics came from (a file, an instance id), named when they have no words.
    pub lyrics_source: &'a str,
    /// What asked for the modality (a flag, a config entry, a notebook call), named when the
    /// model cannot read it.
    pub origin: &'a str,
}

/// A track explained by [`explain_track`]: the outcome, the instance as prepared for the model
/// (to query it again, e.g. for fidelity metrics), the parameters as used (the modality adapted
/// to the model and the lyrics), and the notes for the user.
pub struct ExplainedTrack<'a> {
    /// The explanation, its neighbourhood and the predicted label.
    pub outcome: ExplainOutcome,
    /// The prepared instance.
    pub predictor: Box<dyn InstancePredictor + 'a>,
    /// The parameters the explanation used.
    pub params: ExplainParams,
    /// Why the modality changed (a track without words explains its audio only), if it did.
    pub lyrics_note: Option<String>,
    /// How the model reads the track's audio (e.g. padded to one patch), if it says.
    pub input_note: Option<String>,
}

/// The part of `audio` an explanation of `model` covers, by `window` (the model's own window
/// unless told otherwise), with the warning the user should see, if any: what the command
/// line and the notebook do with one track (a run resolves it per instance the same way).
pub fn explained_span(
    model: &dyn Classifier,
    window: AudioWindow,
    audio: &Audio,
    origin: &str,
) -> Result<(ExplainedSpan, Option<String>)> {
    let span = ExplainedSpan::resolve(window, model.window_seconds(), audio.duration_s(), origin)?;
    let note = span.note(model.name());
    Ok((span, note))
}

/// **Explains one track**: the one path of the command line, the notebook and the runner. The
/// modality of `params` is adapted to what `model` reads and to the lyrics
/// ([`instance_modality`]), the instance is prepared once for the model
/// ([`instance_predictor`]), and explained by the strategy of `params`; `progress` gets the
/// samples done after each batch.
pub fn explain_track<'a>(
    model: &'a dyn Classifier,
    track: TrackParts<'a>,
    params: &ExplainParams,
    progress: &mut dyn FnMut(usize),
) -> Result<ExplainedTrack<'a>> {
    let mut params = params.clone();
    let (modality, lyrics_note) = instance_modality(
        model,
        params.modality,
        track.lyrics,
        track.origin,
        track.lyrics_source,
    )?;
    params.modality = modality;
    let input_note = model.input_note(track.audio.signal_len(), track.audio.sample_rate());
    let predictor = instance_predictor(model, track.audio, track.lyrics, params.run)?;
    let outcome = explain_instance_with(
        predictor.as_ref(),
        track.audio,
        track.lyrics,
        model,
        &params,
        progress,
    )?;
    Ok(ExplainedTrack {
        outcome,
        predictor,
        params,
        lyrics_note,
        input_note,
    })
}

/// Explains one instance: `audio` split into components, `lyrics` into words.
/// `progress` is called with the number of samples done after each batch.
pub fn explain_instance(
    audio: &dyn Factorization,
    lyrics: &LyricFeatures,
    model: &dyn Classifier,
    params: &ExplainParams,
    progress: &mut dyn FnMut(usize),
) -> Result<ExplainOutcome> {
    let predictor = instance_predictor(model, audio, lyrics, params.run)?;
    explain_instance_with(predictor.as_ref(), audio, lyrics, model, params, progress)
}

/// As [`explain_instance`], with the instance already prepared (so the caller can query the
/// model again afterwards, e.g. for fidelity metrics, without preparing it twice).
pub fn explain_instance_with(
    predictor: &dyn InstancePredictor,
    audio: &dyn Factorization,
    lyrics: &LyricFeatures,
    model: &dyn Classifier,
    params: &ExplainParams,
    progress: &mut dyn FnMut(usize),
) -> Result<ExplainOutcome> {
    check_params(params, model)?;
    match params.strategy {
        Strategy::Lime => explain_with_lime(predictor, audio, lyrics, model, params, progress),
        Strategy::Separate if params.modality == PerturbedModality::Both => {
            baselines::explain_separately(predictor, audio, lyrics, model, params, progress)
        }
        // One modality to explain (a unimodal model, or no words): plain LIME on it.
        Strategy::Separate => explain_with_lime(predictor, audio, lyrics, model, params, progress),
        Strategy::Random => baselines::explain_randomly(predictor, audio, lyrics, model, params),
        Strategy::Oracle => baselines::explain_exactly(predictor, audio, lyrics, model, params),
    }
}

/// LIME over the features of `params.modality`: sample, predict, fit.
fn explain_with_lime(
    predictor: &dyn InstancePredictor,
    audio: &dyn Factorization,
    lyrics: &LyricFeatures,
    model: &dyn Classifier,
    params: &ExplainParams,
    progress: &mut dyn FnMut(usize),
) -> Result<ExplainOutcome> {
    let counts_before = predictor.counts();
    let space = FeatureSpace::new(audio.features().to_vec(), lyrics);
    let perturbations = perturb(&space, params.modality, &params.sampler)?;
    let ceiling = perturbations.masks.nrows();
    let round_ends = match &params.adaptive {
        Some(auto) => auto.round_ends(ceiling, params.batch_size),
        None => vec![ceiling],
    };
    let features: Vec<Feature> = perturbations
        .features
        .iter()
        .map(|&j| space.features[j].clone())
        .collect();
    let mut probs = Array2::<f64>::zeros((ceiling, model.class_names().len()));
    let mut model_seconds = 0.0;
    let mut done = 0;
    let (explanation, neighborhood, predicted_label) = loop {
        let end = round_ends
            .iter()
            .copied()
            .find(|&e| e > done)
            .unwrap_or(ceiling);
        model_seconds += predict_rows(
            predictor,
            &perturbations,
            done..end,
            params.batch_size,
            model,
            &mut probs,
            progress,
        )?;
        done = end;
        let predicted_label = predicted_of(&probs);
        let refit_params = with_resolved_labels(params, &probs, predicted_label, model)?;
        let neighborhood = Neighborhood {
            masks: perturbations
                .masks
                .slice(ndarray::s![..done, ..])
                .to_owned(),
            probs: probs.slice(ndarray::s![..done, ..]).to_owned(),
            distances: None,
            features: Some(features.clone()),
            classes: Some(model.class_names().to_vec()),
        };
        let explanation = refit(&neighborhood, &refit_params, model.name())?;
        let stop = done == ceiling
            || params
                .adaptive
                .as_ref()
                .is_none_or(|auto| auto.is_met(&explanation));
        if stop {
            break (explanation, neighborhood, predicted_label);
        }
    };
    Ok(ExplainOutcome {
        explanation,
        neighborhood,
        predicted_label,
        feature_indices: perturbations.features.clone(),
        space_len: space.features.len(),
        model_seconds,
        counts: predictor.counts().since(&counts_before),
    })
}

impl ExplainParams {
    /// What `num_samples: auto` needs: its own targets, a sampler that draws row by row, and a
    /// strategy that samples.
    fn check_adaptive(&self, auto: &AdaptiveSampling) -> Result<()> {
        auto.check(
            self.sampler.num_samples,
            self.refit.surrogate.posterior_draws,
        )?;
        if self.sampler.sampler == SamplerKind::Crossed {
            return Err(Error::param(
                "num_samples",
                "`auto` draws rows one round at a time, but `sampler: crossed` draws a fixed A × T grid; give a number of samples, or use sampler: paper",
            ));
        }
        match self.strategy {
            Strategy::Lime => Ok(()),
            Strategy::Separate => Err(Error::param(
                "num_samples",
                "`auto` stops one neighbourhood when its surrogate is settled, but `lime_separate` fits two halves with no joint posterior; give it a number of samples",
            )),
            other => Err(Error::param(
                "num_samples",
                format!(
                    "`auto` stops sampling when the surrogate is stable, but `{}` fits no surrogate on samples; give it a number (it is not used)",
                    other.name()
                ),
            )),
        }
    }
}

/// The class with the highest output on row 0 (the unperturbed instance; ties to the lower
/// index).
fn predicted_of(probs: &Array2<f64>) -> usize {
    (0..probs.ncols())
        .max_by(|&a, &b| probs[[0, a]].total_cmp(&probs[[0, b]]).then(b.cmp(&a)))
        .unwrap_or(0)
}

impl ExplainParams {
    /// Every parameter on its own, before any model is loaded: the batch sizes, the sampler,
    /// the kernel, the surrogate, the label choice and what the strategy needs of them. The one
    /// validator of an explanation's parameters: `validate`, a run's preflight, the command
    /// line and the notebook all call it (errors name the key).
    pub fn check(&self) -> Result<()> {
        if self.batch_size == 0 {
            return Err(Error::param("batch_size", "must be at least 1"));
        }
        if self.run.max_batch == Some(0) {
            return Err(Error::param(
                "max_batch",
                "must be at least 1 (the most clips × patches one model run receives)",
            ));
        }
        self.sampler.check()?;
        if self.sampler.sampler == SamplerKind::Crossed {
            let why = if self.modality != PerturbedModality::Both {
                "this explainer perturbs one modality (lime_audio / lime_lyrics)".to_string()
            } else if self.strategy != Strategy::Lime {
                format!("`{}` draws no such grid", self.strategy.name())
            } else {
                String::new()
            };
            if !why.is_empty() {
                return Err(Error::param(
                    "sampler",
                    format!("`crossed` crosses audio masks with lyric masks, which only MusicLIME draws, but {why}; use `sampler: paper` (a split model still encodes the modality held fixed only once)"),
                ));
            }
        }
        self.refit.check("the explainer's labels")?;
        if let Some(auto) = &self.adaptive {
            self.check_adaptive(auto)?;
        }
        baselines::check_strategy_params(self)
    }
}

/// Every parameter ([`ExplainParams::check`]), and what it needs of `model` (split encoders
/// for crossed sampling, known contributions for the oracle, label names among its classes),
/// before any model call.
fn check_params(params: &ExplainParams, model: &dyn Classifier) -> Result<()> {
    params.check()?;
    if params.sampler.sampler == SamplerKind::Crossed {
        model.separable().map_err(|why| {
            Error::param(
                "sampler",
                format!("`crossed` needs a model whose encoders run apart: {why}"),
            )
        })?;
    }
    baselines::check_strategy_model(params, model)?;
    // Unknown class names fail before any model call.
    if let LabelChoice::Labels(labels) = &params.refit.labels {
        for l in labels {
            l.index(
                Some(model.class_names()),
                model.class_names().len(),
                model.name(),
            )?;
        }
    }
    Ok(())
}

/// The model's outputs `[num_samples, classes]` for every perturbed sample, `batch_size`
/// samples at a time (the next batch is prepared on rayon's threads while the model runs the
/// current one), and the seconds spent in model calls.
fn predict_rows(
    predictor: &dyn InstancePredictor,
    perturbations: &Perturbations,
    rows: std::ops::Range<usize>,
    batch_size: usize,
    model: &dyn Classifier,
    probs: &mut Array2<f64>,
    progress: &mut dyn FnMut(usize),
) -> Result<f64> {
    let classes = probs.ncols();
    let batches: Vec<(usize, usize)> = rows
        .clone()
        .step_by(batch_size)
        .map(|start| (start, (start + batch_size).min(rows.end)))
        .collect();
    let prepare = |(start, end): (usize, usize)| {
        let masks: Vec<Vec<bool>> = (start..end).map(|r| perturbations.keep(r)).collect();
        predictor.prepare(&masks, start)
    };
    let mut pending = batches.first().map(|&b| prepare(b)).transpose()?;
    let mut model_seconds = 0.0;
    for (i, &(start, end)) in batches.iter().enumerate() {
        let Some(current) = pending.take() else { break };
        let next = batches.get(i + 1).copied();
        let (out, prepared) = rayon::join(
            || {
                let started = std::time::Instant::now();
                let out = predictor.run(current);
                (out, started.elapsed().as_secs_f64())
            },
            || next.map(prepare).transpose(),
        );
        let (out, seconds) = out;
        model_seconds += seconds;
        let out = out?;
        check_batch_output(&out, end - start, classes, model)?;
        probs.slice_mut(ndarray::s![start..end, ..]).assign(&out);
        progress(end);
        pending = prepared?;
    }
    Ok(model_seconds)
}

/// A model's outputs for a batch of `rows` must be `[rows, classes]`; otherwise an error naming
/// the model.
fn check_batch_output(
    out: &Array2<f64>,
    rows: usize,
    classes: usize,
    model: &dyn Classifier,
) -> Result<()> {
    if out.dim() != (rows, classes) {
        return Err(Error::input(
            model.name(),
            format!(
                "returned {:?} outputs for a batch of {rows} with {classes} classes",
                out.dim()
            ),
        ));
    }
    Ok(())
}

/// The refit parameters with explicit labels and a threshold resolved on row 0, the predicted
/// (highest-scoring) label always among them: the per-instance metrics are computed for it.
fn with_resolved_labels(
    params: &ExplainParams,
    probs: &Array2<f64>,
    predicted_label: usize,
    model: &dyn Classifier,
) -> Result<RefitParams> {
    let mut refit_params = params.refit.clone();
    if !matches!(refit_params.labels, LabelChoice::TopLabels(_)) {
        let row0 = probs.row(0).to_vec();
        let mut labels = refit_params.labels.resolve_allowing_none(
            &row0,
            Some(model.class_names()),
            model.name(),
        )?;
        if !labels.contains(&predicted_label) {
            labels.push(predicted_label);
        }
        refit_params.labels = LabelChoice::Labels(labels.into_iter().map(Into::into).collect());
    }
    Ok(refit_params)
}

impl ExplainOutcome {
    /// The keep-mask over the `n_audio` audio components that keeps the `top_k` components with
    /// the largest positive weights for `label` (what makes the explanation listenable), or
    /// `None` when the explanation has no audio features.
    pub(crate) fn top_audio_mask(
        &self,
        label: &crate::explanation::LabelExplanation,
        n_audio: usize,
        top_k: usize,
    ) -> Option<Vec<bool>> {
        if !self.feature_indices.iter().any(|&k| k < n_audio) {
            return None;
        }
        let top: Vec<usize> = label
            .fit
            .weights
            .iter()
            .filter(|(_, w)| *w > 0.0)
            .map(|(j, _)| self.feature_indices[*j])
            .filter(|&k| k < n_audio)
            .take(top_k)
            .collect();
        Some((0..n_audio).map(|k| top.contains(&k)).collect())
    }

    /// The explanation as `musiclime explain` writes it: `{"instance", "predicted_label",
    /// "class_names", "features", "labels": {"<label>": {"intercept", "score", "local_pred",
    /// "model_output", "weights": [{"feature", "index", "weight"}]}}, "num_samples",
    /// "model_items": {"items_run", "items_saved", "encoder_items_run", "encoder_items_saved",
    /// "largest_run"}}`.
    pub fn to_json(&self, instance: serde_json::Value) -> serde_json::Value {
        let e = &self.explanation;
        let mut labels = serde_json::Map::new();
        for l in &e.labels {
            let half_widths = l.fit.uncertainty.as_ref().map(|u| &u.half_widths);
            let weights: Vec<serde_json::Value> = l
                .fit
                .weights
                .iter()
                .enumerate()
                .map(|(i, (j, w))| {
                    let mut entry = serde_json::json!({"feature": e.features[*j].name, "index": j, "weight": w});
                    if let Some(h) = half_widths.and_then(|h| h.get(i)) {
                        entry["ci_low"] = (w - h).into();
                        entry["ci_high"] = (w + h).into();
                    }
                    entry
                })
                .collect();
            let mut label = serde_json::json!({
                "name": l.name,
                "intercept": l.fit.intercept,
                "score": l.fit.score,
                "local_pred": l.fit.local_pred,
                "model_output": l.model_output,
                "weights": weights,
            });
            if let Some(u) = &l.fit.uncertainty {
                label["uncertainty"] = crate::explanation::uncertainty_json(u);
            }
            labels.insert(l.label.to_string(), label);
        }
        let mut json = e.to_json();
        json["labels"] = labels.into();
        serde_json::json!({
            "instance": instance,
            "predicted_label": self.predicted_label,
            "class_names": self.neighborhood.classes,
            "features": json["features"],
            "labels": json["labels"],
            "num_samples": e.num_samples,
            "model_items": self.counts,
        })
    }
}
