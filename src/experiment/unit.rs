//! One unit of work: one explainer, in one grid cell, explaining one instance in one repeat,
//! with its metrics, as a [`UnitRecord`]; and the cache the units of one instance share (its
//! decoded audio, factorizations, attention maps and clip scores).

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::config::{
    ExperimentConfig, ExplainerConfig, FactorizationChoice, FactorizationKind, GridCell,
};
use super::dataset::Instance;
use super::stems_cache::SeparatorRef;
use super::store::{StoredLabel, UnitRecord};
use super::unit_metrics::{predicted_stdevs, reexplain};
use crate::audio::decode::decode_file;
use crate::audio::wav::{write_wav, WavEncoding};
use crate::audio::Audio;
use crate::error::{Error, Result};
use crate::explainer::{explain_track, ExplainOutcome, ExplainParams, ExplainedTrack, TrackParts};
use crate::explanation::LabelExplanation;
use crate::factorize::{
    choose_factorization, factorize, AudioWindow, ExplainedSpan, Factorization, SourceSegments,
    STEMS_FILE,
};
use crate::features::Feature;
use crate::fs::safe_file_name;
use crate::lyrics::{LyricFeatures, LyricsParams};
use crate::metrics::fidelity::{Curve, Spaces};
use crate::metrics::{Metric, MetricContext, MetricSet, NamedWeights, Perturbation};
use crate::model::attention::AttentionMap;
use crate::model::{Classifier, ModelInput};
use crate::separator::OnnxSeparator;

/// What every unit of a run shares.
pub(crate) struct RunContext<'a> {
    /// The config.
    pub config: &'a ExperimentConfig,
    /// Its grid cells.
    pub cells: &'a [GridCell],
    /// The loaded models by config name.
    pub models: &'a BTreeMap<String, Box<dyn Classifier>>,
    /// The metrics, parsed once.
    pub metrics: &'a MetricSet,
    /// Planted features per instance id.
    pub truth: &'a BTreeMap<String, BTreeSet<String>>,
    /// The run's output directory (listenable audio goes under `audio/`).
    pub output: &'a Path,
    /// The config's hash, stamped on every record.
    pub config_hash: &'a str,
    /// The ONNX separators the explainers name, by their config path.
    pub separators: &'a BTreeMap<PathBuf, SeparatorRef>,
}

/// One unit: which explainer (with its grid cell's values applied), cell and repeat.
pub(crate) struct Unit<'a> {
    /// The explainer, the cell's values applied.
    pub explainer: &'a ExplainerConfig,
    /// Index of the grid cell.
    pub cell: usize,
    /// Repeat index.
    pub repeat: usize,
}

/// What one factorization of an instance depends on: where its sources come from (a built-in
/// factorization's name, or a separator), the number of segments and the explained span (the
/// bits of its start and end in seconds).
type FactorizationKey = (String, usize, u64, u64);

/// The sources of one factorization: a built-in kind with the instance's own stems, or the
/// stems a separator made (a stems directory in the run's cache).
struct Sources {
    kind: FactorizationKind,
    stems: Option<PathBuf>,
    label: String,
}

/// The key of a model's scores of `span`.
fn clip_scores_key(model_name: &str, span: &ExplainedSpan) -> (String, u64, u64) {
    (
        model_name.to_string(),
        span.start_s.to_bits(),
        span.end_s.to_bits(),
    )
}

/// What the units of one instance share, computed on first use (a fully resumed instance is
/// never decoded).
pub(crate) struct InstanceCache<'a> {
    instance: &'a Instance,
    lyrics: LyricFeatures,
    audio: OnceCell<Audio>,
    factorizations: BTreeMap<FactorizationKey, SourceSegments>,
    attention: BTreeMap<(String, FactorizationKey), Vec<AttentionMap>>,
    clip_scores: BTreeMap<(String, u64, u64), Vec<f64>>,
    noted: RefCell<BTreeSet<String>>,
}

impl<'a> InstanceCache<'a> {
    /// The cache of `instance` (its lyrics split into words).
    pub fn new(instance: &'a Instance) -> Result<Self> {
        Ok(InstanceCache {
            instance,
            lyrics: LyricFeatures::new(&instance.lyrics, &LyricsParams::default())?,
            audio: OnceCell::new(),
            factorizations: BTreeMap::new(),
            attention: BTreeMap::new(),
            clip_scores: BTreeMap::new(),
            noted: RefCell::new(BTreeSet::new()),
        })
    }

    /// The decoded audio.
    fn audio(&self) -> Result<&Audio> {
        if let Some(audio) = self.audio.get() {
            return Ok(audio);
        }
        let audio = decode_file(&self.instance.audio)?;
        Ok(self.audio.get_or_init(|| audio))
    }

    /// The span of the audio `window` explains for a model reading `model_window_s` seconds.
    fn span(&self, window: AudioWindow, model_window_s: Option<f64>) -> Result<ExplainedSpan> {
        let seconds = self.audio()?.duration_s();
        ExplainedSpan::resolve(window, model_window_s, seconds, &self.instance.id)
    }

    /// Factorizes `span` of the audio from `sources` into `segments` segments, once.
    fn prepare_factorization(
        &mut self,
        sources: &Sources,
        segments: usize,
        span: &ExplainedSpan,
    ) -> Result<FactorizationKey> {
        let key = (
            sources.label.clone(),
            segments,
            span.start_s.to_bits(),
            span.end_s.to_bits(),
        );
        if !self.factorizations.contains_key(&key) {
            let factorization = factorize(
                self.audio()?,
                sources.kind,
                sources.stems.as_deref(),
                segments,
                span,
                &self.instance.id,
            )?;
            self.factorizations.insert(key.clone(), factorization);
        }
        Ok(key)
    }

    /// Where the explainer's factorization takes its sources from; a separator's stems are
    /// computed the first time any run asks for them and read from its cache after that.
    fn sources(
        &self,
        choice: &FactorizationChoice,
        separators: &BTreeMap<PathBuf, SeparatorRef>,
        note: &mut dyn FnMut(String),
    ) -> Result<Sources> {
        let id = &self.instance.id;
        match choice {
            FactorizationChoice::Builtin(kind) => {
                let kind = choose_factorization(Some(*kind), self.instance.stems.is_some(), id)?;
                Ok(Sources {
                    kind,
                    stems: self.instance.stems.clone(),
                    label: format!("{kind:?}"),
                })
            }
            FactorizationChoice::Separator { separator } => {
                let separator = separators.get(separator).ok_or_else(|| {
                    Error::Internal(format!(
                        "separator {} was not prepared",
                        separator.display()
                    ))
                })?;
                let dir = separator.cache.join(safe_file_name(id));
                if !dir.join(STEMS_FILE).is_file() {
                    let started = Instant::now();
                    let separated =
                        OnnxSeparator::load(&separator.yaml)?.separate(self.audio()?)?;
                    separated.write(&dir, &separator.yaml, None)?;
                    note(format!(
                        "{id}: separated by {} in {:.1} s (stems in {})",
                        separator.yaml.display(),
                        started.elapsed().as_secs_f64(),
                        dir.display()
                    ));
                    if let Some(residual) = separated.residual_note(&separator.yaml) {
                        note(format!("{id}: {residual}"));
                    }
                }
                Ok(Sources {
                    kind: FactorizationKind::Stems,
                    stems: Some(dir),
                    label: format!("separator {}", separator.yaml.display()),
                })
            }
        }
    }

    /// The model's attention maps of the unperturbed composition of a factorization, once.
    fn prepare_attention(
        &mut self,
        model_name: &str,
        model: &dyn Classifier,
        key: &FactorizationKey,
        rollout: bool,
    ) -> Result<()> {
        let cache_key = (model_name.to_string(), key.clone());
        if !self.attention.contains_key(&cache_key) {
            let factorization = &self.factorizations[key];
            let input = ModelInput {
                audio: factorization.compose(&vec![true; factorization.len()]),
                sample_rate: factorization.sample_rate(),
                lyrics: self.instance.lyrics.clone(),
            };
            self.attention
                .insert(cache_key, model.attention(&input, rollout)?);
        }
        Ok(())
    }

    /// A multi-label model's scores of the explained span of the decoded mixture and the lyrics
    /// (for tag accuracy; a factorization's sum is close to but not exactly the mixture), once.
    fn prepare_clip_scores(
        &mut self,
        model_name: &str,
        model: &dyn Classifier,
        span: &ExplainedSpan,
    ) -> Result<()> {
        let key = clip_scores_key(model_name, span);
        if !self.clip_scores.contains_key(&key) {
            let audio = span.cut(self.audio()?, &self.instance.id)?;
            let scores = model.predict(&[ModelInput {
                audio: audio.samples,
                sample_rate: audio.sample_rate,
                lyrics: self.instance.lyrics.clone(),
            }])?;
            self.clip_scores.insert(key, scores.row(0).to_vec());
        }
        Ok(())
    }

    /// `text` (about this instance) passed to `note` the first time `key` is noted only.
    fn note_once(&self, key: &str, text: Option<String>, note: &mut dyn FnMut(String)) {
        if let Some(text) = text {
            if self.noted.borrow_mut().insert(key.to_string()) {
                note(text);
            }
        }
    }
}

/// Runs one unit: explains the instance, computes every configured metric, writes the
/// listenable audio of the first cell and repeat when asked; `progress` gets the samples done,
/// `note` one-line notes for the user.
pub(crate) fn run_unit(
    context: &RunContext,
    cache: &mut InstanceCache,
    unit: &Unit,
    progress: &mut dyn FnMut(usize),
    note: &mut dyn FnMut(String),
) -> Result<UnitRecord> {
    let started = Instant::now();
    let explainer = unit.explainer;
    let model = context.models[&explainer.model].as_ref();
    let sources = cache.sources(&explainer.factorization, context.separators, note)?;
    let span = cache.span(explainer.audio_window, model.window_seconds())?;
    let window_note = span
        .note(&explainer.model)
        .map(|n| format!("{}: {n}", cache.instance.id));
    let window_key = format!("{} window {}", explainer.model, explainer.audio_window);
    cache.note_once(&window_key, window_note, note);
    let key = cache.prepare_factorization(&sources, explainer.segments, &span)?;
    if context.metrics.wants_attention() {
        cache.prepare_attention(
            &explainer.model,
            model,
            &key,
            context.metrics.wants_rollout(),
        )?;
    }
    if model.multilabel() {
        cache.prepare_clip_scores(&explainer.model, model, &span)?;
    }
    let cache = &*cache;
    let instance = cache.instance;
    let factorization = &cache.factorizations[&key];
    let seeds = context.config.unit_seeds(&instance.id, unit.repeat);
    let origin = format!("explainer `{}`", explainer.name);
    let track = TrackParts {
        audio: factorization,
        lyrics: &cache.lyrics,
        lyrics_source: &instance.id,
        origin: &origin,
    };
    let explained = explain_track(
        model,
        track,
        &explainer.explain_params(seeds.sampler),
        progress,
    )?;
    let input_note = explained
        .input_note
        .as_ref()
        .map(|n| format!("{}: {n}", instance.id));
    cache.note_once(&explainer.model, input_note, note);
    cache.note_once("lyrics", explained.lyrics_note.clone(), note);
    let outcome = &explained.outcome;
    let params = &explained.params;
    let predicted = outcome
        .explanation
        .labels
        .iter()
        .find(|l| l.label == outcome.predicted_label)
        .ok_or_else(|| Error::Internal("the predicted label was not explained".into()))?;
    let (metrics, curves) = metrics_of(
        context, cache, explainer, &key, &explained, predicted, seeds,
    )?;
    let stdevs = match context.metrics.contains(Metric::Csi)
        && params.strategy == crate::explainer::Strategy::Lime
    {
        true => Some(predicted_stdevs(outcome, predicted, params)?),
        false => None,
    };
    if let (Some(listen), 0, 0) = (&context.config.listen, unit.cell, unit.repeat) {
        write_listenable(
            &context.output.join("audio"),
            &format!("{}_{}", instance.id, explainer.name),
            factorization,
            outcome,
            predicted,
            listen.top_k,
        )?;
    }
    let mut record = new_record(context, cache, unit, model, outcome, stdevs, &span);
    record.metrics = metrics;
    let (curves, fractions) = curves
        .into_iter()
        .map(|(name, curve)| ((name, curve.values), curve.fractions))
        .unzip();
    record.curves = curves;
    record.curve_fractions = fractions;
    record.seconds = started.elapsed().as_secs_f64();
    Ok(record)
}

/// Curves by the name of the metric they belong to.
type NamedCurves = Vec<(String, Curve)>;

/// Every configured metric of a unit's explanation of its predicted label (`predicted`), with
/// the curves behind the curve metrics: the fidelity spaces ordered by the unit's seeds, the
/// model's attention maps, the re-explanations robustness asks for.
fn metrics_of(
    context: &RunContext,
    cache: &InstanceCache,
    explainer: &ExplainerConfig,
    key: &FactorizationKey,
    explained: &ExplainedTrack,
    predicted: &LabelExplanation,
    seeds: crate::seeds::UnitSeeds,
) -> Result<(Vec<(String, f64)>, NamedCurves)> {
    let outcome = &explained.outcome;
    let spaces = Spaces::new(
        explained.predictor.as_ref(),
        outcome.space_len,
        &outcome.feature_indices,
        &predicted.fit.weights,
        outcome.predicted_label,
        seeds.fidelity_order,
    );
    let lmac = RefCell::new(Vec::new());
    let attention: &[AttentionMap] = cache
        .attention
        .get(&(explainer.model.clone(), key.clone()))
        .map_or(&[], Vec::as_slice);
    let original = named_weights(predicted, &outcome.explanation.features);
    let robustness = robustness_weights(
        context.metrics,
        &cache.factorizations[key],
        cache,
        context.models[&explainer.model].as_ref(),
        &explained.params,
        outcome,
        seeds.robustness,
    )?;
    let curves = RefCell::new(Vec::new());
    let metric_context = MetricContext {
        curves: &curves,
        original: &original,
        robustness: &robustness,
        label: predicted,
        samples: outcome.explanation.num_samples,
        features: &outcome.explanation.features,
        planted: context.truth.get(&cache.instance.id),
        spaces: &spaces,
        lmac: &lmac,
        seeds,
        attention,
        lyrics: &cache.lyrics,
    };
    let mut metrics: Vec<(String, f64)> = Vec::new();
    for (name, metric) in context.metrics.iter() {
        if let Some(v) = metric.value(name, &metric_context)? {
            metrics.push((name.clone(), v));
        }
    }
    Ok((metrics, curves.into_inner()))
}

/// The record of a unit's explanation (its metrics, curves and wall time still empty).
fn new_record(
    context: &RunContext,
    cache: &InstanceCache,
    unit: &Unit,
    model: &dyn Classifier,
    outcome: &ExplainOutcome,
    stdevs: Option<Vec<f64>>,
    span: &ExplainedSpan,
) -> UnitRecord {
    let (instance, explainer) = (cache.instance, unit.explainer);
    UnitRecord {
        instance: instance.id.clone(),
        explainer: explainer.name.clone(),
        model: explainer.model.clone(),
        cell: context.cells[unit.cell].name.clone(),
        repeat: unit.repeat,
        seed: context.config.unit_seed(&instance.id, unit.repeat),
        config_hash: Some(context.config_hash.to_string()),
        true_label: instance.label,
        predicted_label: outcome.predicted_label,
        multilabel: model.multilabel(),
        class_names: model.class_names().to_vec(),
        true_tags: match model.multilabel() {
            true => instance
                .tags
                .as_ref()
                .map(|tags| tag_indices(tags, model.class_names())),
            false => None,
        },
        scores: cache
            .clip_scores
            .get(&clip_scores_key(&explainer.model, span))
            .cloned()
            .unwrap_or_default(),
        labels: stored_labels(outcome, stdevs),
        features: outcome.explanation.features.clone(),
        metrics: Vec::new(),
        seconds: 0.0,
        model_seconds: outcome.model_seconds,
        model_items: outcome.counts,
        curves: Vec::new(),
        curve_fractions: Vec::new(),
        audio_window: (!span.is_whole_clip()).then_some([span.start_s, span.end_s]),
    }
}

/// A label's weights by feature name.
fn named_weights(label: &LabelExplanation, features: &[Feature]) -> NamedWeights {
    label
        .fit
        .weights
        .iter()
        .map(|(j, w)| (features[*j].name.clone(), *w))
        .collect()
}

/// For each robustness perturbation a metric asks for, the predicted label's weights when a
/// perturbed copy of the instance is explained with the same parameters and seed (`None`: the
/// perturbation does not apply).
fn robustness_weights(
    metrics: &MetricSet,
    factorization: &SourceSegments,
    cache: &InstanceCache,
    model: &dyn Classifier,
    params: &ExplainParams,
    outcome: &ExplainOutcome,
    seed: u64,
) -> Result<Vec<(Perturbation, Option<NamedWeights>)>> {
    let mut out = Vec::new();
    for perturbation in [Perturbation::Noise, Perturbation::Edit] {
        if !metrics.wants_robustness(perturbation) {
            continue;
        }
        let again = reexplain(
            perturbation,
            factorization,
            &cache.lyrics,
            model,
            params,
            outcome.predicted_label,
            seed,
        )?;
        out.push((
            perturbation,
            again.map(|o| {
                o.explanation
                    .labels
                    .iter()
                    .find(|l| l.label == outcome.predicted_label)
                    .map(|l| named_weights(l, &o.explanation.features))
                    .unwrap_or_default()
            }),
        ));
    }
    Ok(out)
}

/// The explained labels as stored; the predicted label carries `stdevs` (for `csi`).
fn stored_labels(outcome: &ExplainOutcome, stdevs: Option<Vec<f64>>) -> Vec<StoredLabel> {
    outcome
        .explanation
        .labels
        .iter()
        .map(|l| StoredLabel {
            label: l.label,
            intercept: l.fit.intercept,
            score: l.fit.score,
            local_pred: l.fit.local_pred,
            model_output: l.model_output,
            weights: l.fit.weights.clone(),
            stdevs: (l.label == outcome.predicted_label)
                .then(|| stdevs.clone())
                .flatten(),
            half_widths: l.fit.uncertainty.as_ref().map(|u| u.half_widths.clone()),
        })
        .collect()
}

/// The class indices of tag names (names that are not classes are left out; preflight reports
/// them before the run).
fn tag_indices(tags: &[String], classes: &[String]) -> Vec<usize> {
    tags.iter()
        .filter_map(|t| classes.iter().position(|c| c == t))
        .collect()
}

/// Writes `<stem>_top.wav` (the `top_k` audio components with the largest positive weights
/// for the predicted label, summed) and `<stem>_rest.wav` (every other component) into `dir`.
/// Nothing is written for explanations without audio components.
fn write_listenable(
    dir: &Path,
    stem: &str,
    factorization: &SourceSegments,
    outcome: &ExplainOutcome,
    label: &LabelExplanation,
    top_k: usize,
) -> Result<()> {
    let Some(top_mask) = outcome.top_audio_mask(label, factorization.len(), top_k) else {
        return Ok(());
    };
    let safe = safe_file_name(stem);
    let rest_mask: Vec<bool> = top_mask.iter().map(|on| !on).collect();
    for (suffix, mask) in [("top", top_mask), ("rest", rest_mask)] {
        let audio = Audio::new(factorization.compose(&mask), factorization.sample_rate());
        write_wav(
            &dir.join(format!("{safe}_{suffix}.wav")),
            &audio,
            WavEncoding::Float32,
        )?;
    }
    Ok(())
}
