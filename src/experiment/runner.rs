//! The experiment runner: every (instance, explainer, grid cell, repeat) unit, resumable from
//! the result store, then the tables.
//!
//! Order and seeds are fixed by the config (repeat `r` samples with `seed + r`), every unit's
//! result depends only on its inputs and seed, and the tables are built from the stored records
//! in config order, so a resumed run's tables are byte-identical to an uninterrupted one.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::config::{
    ExperimentConfig, ExplainerConfig, FactorizationKind, GridCell, Method, OnError,
};
use super::dataset::{load_dataset, validate_instances, Instance};
use super::report::write_report;
use super::store::{ResultStore, StoredLabel, UnitRecord};
use super::unit_metrics::{predicted_stdevs, reexplain, unit_metric, MetricContext, NamedWeights};
use crate::audio::decode::decode_file;
use crate::audio::wav::{write_wav, WavEncoding};
use crate::audio::Audio;
use crate::error::{Error, Result};
use crate::explainer::{explain_instance_with, ExplainOutcome, ExplainParams};
use crate::explanation::{LabelExplanation, RefitParams};
use crate::factorize::{factorize, Factorization, SourceSegments};
use crate::features::Feature;
use crate::fs::{safe_file_name, write_atomically};
use crate::lyrics::{LyricFeatures, LyricsParams};
use crate::metrics::fidelity::Probe;
use crate::metrics::{Metric, Perturbation};
use crate::model::attention::AttentionMap;
use crate::model::onnx::spec::ExecutionProvider;
use crate::model::onnx::LoadOptions;
use crate::model::{instance_predictor, load_model_with, Classifier, ModelInput};
use crate::neighborhood::kernel::KernelParams;
use crate::neighborhood::sampler::{PerturbedModality, SamplerParams};
use crate::surrogate::SurrogateParams;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Ignore (delete) stored results and start over.
    pub fresh: bool,
    /// Draw progress bars on stderr (only when it is a terminal).
    pub progress: bool,
    /// Execution providers for every ONNX model (overrides the config and the model.yaml).
    pub execution_providers: Option<Vec<ExecutionProvider>>,
}

impl RunOptions {
    /// How the config's models are loaded: the execution providers of these options, else the
    /// config's.
    fn load_options(&self, config: &ExperimentConfig) -> LoadOptions {
        LoadOptions {
            execution_providers: self
                .execution_providers
                .clone()
                .or_else(|| config.execution_providers.clone()),
            ..LoadOptions::default()
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The output directory.
    pub output: PathBuf,
    /// Units in the experiment.
    pub units: usize,
    /// Units taken from the store instead of computed.
    pub resumed: usize,
    /// Instances skipped (`on_error: skip`) with the reason.
    pub failures: Vec<(String, String)>,
}

/// FNV-1a 64 of a string: a stable fingerprint of the config.
fn fingerprint(text: &str) -> String {
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x100000001b3);
    }
    format!("{hash:016x}")
}

pub(crate) fn method_modality(method: Method) -> PerturbedModality {
    match method {
        Method::Musiclime => PerturbedModality::Both,
        Method::LimeAudio => PerturbedModality::Audio,
        Method::LimeLyrics => PerturbedModality::Lyrics,
    }
}

pub(crate) fn explain_params(explainer: &ExplainerConfig, seed: u64) -> Result<ExplainParams> {
    Ok(ExplainParams {
        modality: method_modality(explainer.method),
        sampler: SamplerParams {
            num_samples: explainer.num_samples,
            sampler: explainer.sampler,
            seed,
            audio_masks: explainer.audio_masks,
        },
        batch_size: explainer.batch_size,
        run: crate::model::RunSettings {
            max_batch: explainer.max_batch,
            memoise: explainer.memoise,
        },
        refit: RefitParams {
            kernel: KernelParams {
                kernel: explainer.kernel,
                kernel_width: explainer.kernel_width,
                distance_scale: explainer.distance_scale,
            },
            surrogate: SurrogateParams {
                feature_selection: explainer.feature_selection,
                num_features: explainer.num_features,
                ..SurrogateParams::default()
            },
            labels: explainer.label_choice(),
        },
    })
}

/// An instance's decoded audio, decoded on first use (a fully resumed instance never is).
fn decoded<'a>(cell: &'a OnceCell<Audio>, instance: &Instance) -> Result<&'a Audio> {
    if let Some(audio) = cell.get() {
        return Ok(audio);
    }
    let audio = decode_file(&instance.audio)?;
    Ok(cell.get_or_init(|| audio))
}

/// The factorization of one instance's decoded audio for one explainer.
fn factorize_instance(
    instance: &Instance,
    audio: &Audio,
    kind: FactorizationKind,
    segments: usize,
) -> Result<SourceSegments> {
    factorize(
        audio,
        kind,
        instance.stems.as_deref(),
        segments,
        &instance.id,
    )
}

fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Checks a config without running it: keys and values, the dataset's files (every audio file
/// decodes, stems directories exist), and the models. Returns a one-paragraph summary.
pub fn validate(config_path: &Path, options: &RunOptions) -> Result<String> {
    let config = ExperimentConfig::load(config_path)?;
    let config_dir = config_path.parent().unwrap_or(Path::new("."));
    let output = config.output_dir();
    let instances = match (&config.dataset.manifest, &config.dataset.synthetic) {
        (None, Some(_)) if !output.join("data/manifest.csv").is_file() => None,
        _ => Some(load_dataset(
            &config.dataset,
            config_dir,
            &output.join("data"),
        )?),
    };
    let mut problems = Vec::new();
    if let Some(instances) = &instances {
        let (_, failures) = validate_instances(instances.clone());
        problems.extend(failures.iter().map(|(id, p)| format!("  {id}: {p}")));
        for explainer in &config.explainers {
            if explainer.factorization == FactorizationKind::Stems {
                if let Some(i) = instances.iter().find(|i| i.stems.is_none()) {
                    problems.push(format!(
                        "  {}: explainer `{}` needs stems but the manifest gives none",
                        i.id, explainer.name
                    ));
                }
            }
        }
    }
    let mut models: BTreeMap<String, Box<dyn Classifier>> = BTreeMap::new();
    for (name, spec) in &config.models {
        match load_model_with(
            &model_path(spec, config_path),
            &options.load_options(&config),
        ) {
            Ok(model) => {
                models.insert(name.clone(), model);
            }
            Err(e) => problems.push(format!("  models.{name}: {e}")),
        }
    }
    if models.len() == config.models.len() {
        if let Err(e) = check_methods_match_models(&config, &models, config_path) {
            problems.push(format!("  {e}"));
        }
        problems.extend(
            label_problems(&config, instances.as_deref().unwrap_or_default(), &models)
                .into_iter()
                .map(|p| format!("  {p}")),
        );
    }
    if !problems.is_empty() {
        return Err(Error::in_file(
            config_path,
            format!("{} problem(s):\n{}", problems.len(), problems.join("\n")),
        ));
    }
    let cells = config.grid_cells().len();
    let n = instances
        .as_ref()
        .map(|i| i.len().to_string())
        .unwrap_or_else(|| "the synthetic".into());
    Ok(format!(
        "{} is valid: {n} instances x {} explainers x {cells} grid cells x {} repeats; output in {}",
        config_path.display(),
        config.explainers.len(),
        config.repeats,
        output.display()
    ))
}

/// Runs the experiment in `config_path`; returns what it did.
pub fn run(config_path: &Path, options: &RunOptions) -> Result<RunReport> {
    let config = ExperimentConfig::load(config_path)?;
    run_config(config, config_path, options)
}

/// Runs an experiment config that is already loaded (and checked), e.g. one changed in code;
/// `config_path` names it in messages and anchors its relative paths.
pub fn run_config(
    config: ExperimentConfig,
    config_path: &Path,
    options: &RunOptions,
) -> Result<RunReport> {
    let config_dir = config_path.parent().unwrap_or(Path::new("."));
    let output = config.output_dir();
    let canonical =
        serde_json::to_string(&config).map_err(|e| Error::serialization("the config", e))?;
    let hash = fingerprint(&canonical);
    let store = ResultStore::new(&output.join("store"));
    let run_json = output.join("run.json");
    if options.fresh {
        store.clear()?;
        // tables, charts and listenable audio of earlier runs would otherwise linger
        for dir in ["tables", "charts", "audio"] {
            let dir = output.join(dir);
            if dir.is_dir() {
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
        }
    } else if let Ok(text) = std::fs::read_to_string(&run_json) {
        let previous: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if previous["config_hash"].as_str().is_some_and(|h| h != hash) {
            return Err(Error::in_file(
                config_path,
                format!("changed since the results stored in {} were computed; rerun with --fresh (`run_fresh()` in a notebook) or set another `output`", output.display()),
            ));
        }
    }

    // Everything that can fail on bad input is checked before the first model call.
    let instances = load_dataset(&config.dataset, config_dir, &output.join("data"))?;
    let (instances, failures) = validate_instances(instances);
    if !failures.is_empty() && config.on_error == OnError::Stop {
        let list: Vec<String> = failures
            .iter()
            .map(|(id, p)| format!("  {id}: {p}"))
            .collect();
        return Err(Error::in_file(
            config_path,
            format!(
                "{} instance(s) cannot be read (set `on_error: skip` to skip them):\n{}",
                failures.len(),
                list.join("\n")
            ),
        ));
    }
    let mut models: BTreeMap<String, Box<dyn Classifier>> = BTreeMap::new();
    for (name, spec) in &config.models {
        let model = load_model_with(
            &model_path(spec, config_path),
            &options.load_options(&config),
        )
        .map_err(|e| Error::in_file(config_path, format!("at `models.{name}`: {e}")))?;
        models.insert(name.clone(), model);
    }
    check_methods_match_models(&config, &models, config_path)?;
    let problems = label_problems(&config, &instances, &models);
    if !problems.is_empty() {
        return Err(Error::in_file(config_path, problems.join("\n")));
    }
    let truth = load_ground_truth(&config, config_dir, &output)?;
    let cells: Vec<GridCell> = config.grid_cells();
    let mut plan: Vec<(usize, ExplainerConfig)> = Vec::new();
    for (c, cell) in cells.iter().enumerate() {
        for explainer in &config.explainers {
            plan.push((c, explainer.with_cell(cell)?));
        }
    }
    let units = instances.len() * plan.len() * config.repeats;
    std::fs::create_dir_all(&output).map_err(|e| Error::io(&output, e))?;
    let run_manifest = RunManifest {
        path: run_json.clone(),
        common: serde_json::json!({
            "config": config,
            "config_file": config_path.display().to_string(),
            "config_hash": hash,
            "musiclime_version": env!("CARGO_PKG_VERSION"),
            "git_commit": git_commit(),
            "seeds": (0..config.repeats).map(|r| config.seed + r as u64).collect::<Vec<_>>(),
            "instances": instances.len(),
            "instance_ids": instances.iter().map(|i| i.id.clone()).collect::<Vec<_>>(),
            "units": units,
        }),
    };
    run_manifest.write(&serde_json::json!({"status": "running"}))?;

    let multi = MultiProgress::with_draw_target(if options.progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let overall = multi.add(ProgressBar::new(units as u64));
    overall.set_style(bar_style(
        "{msg:>12} [{bar:40}] {pos}/{len} units, ETA {eta}",
    ));
    overall.set_message("overall");
    let started = Instant::now();
    let mut records = Vec::with_capacity(units);
    let mut resumed = 0;
    let mut noted: BTreeSet<(String, String)> = BTreeSet::new();
    for instance in &instances {
        let lyrics = LyricFeatures::new(&instance.lyrics, &LyricsParams::default())?;
        let mut factorizations: BTreeMap<(FactorizationKind, usize), SourceSegments> =
            BTreeMap::new();
        let mut attention_maps: BTreeMap<(String, FactorizationKind, usize), Vec<AttentionMap>> =
            BTreeMap::new();
        // a multi-label model's scores of the decoded mixture, per model (for tag_accuracy)
        let mut clip_scores: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let audio = OnceCell::new();
        for (cell_index, explainer) in &plan {
            for repeat in 0..config.repeats {
                let path = store.path(&instance.id, &explainer.name, *cell_index, repeat);
                if let Some(record) = store.load(&path) {
                    records.push(record);
                    resumed += 1;
                    overall.inc(1);
                    continue;
                }
                let unit_start = Instant::now();
                let key = (explainer.factorization, explainer.segments);
                let factorization = match factorizations.entry(key) {
                    std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                    std::collections::btree_map::Entry::Vacant(entry) => {
                        entry.insert(factorize_instance(
                            instance,
                            decoded(&audio, instance)?,
                            explainer.factorization,
                            explainer.segments,
                        )?)
                    }
                };
                let factorization: &SourceSegments = factorization;
                let model = &models[&explainer.model];
                if repeat == 0 && noted.insert((instance.id.clone(), explainer.model.clone())) {
                    if let Some(note) =
                        model.input_note(factorization.signal_len(), factorization.sample_rate())
                    {
                        let _ = multi.println(format!("note: {}: {note}", instance.id));
                    }
                }
                let seed = config.seed + repeat as u64;
                let mut params = explain_params(explainer, seed)?;
                if lyrics.is_empty() && params.modality == PerturbedModality::Both {
                    params.modality = PerturbedModality::Audio;
                }
                if lyrics.is_empty() && params.modality == PerturbedModality::Lyrics {
                    return Err(Error::input(
                        &instance.id,
                        format!(
                            "has no lyric words, so `{}` (lime_lyrics) has nothing to explain",
                            explainer.name
                        ),
                    ));
                }
                let bar = multi.add(ProgressBar::new(explainer.num_samples as u64));
                bar.set_style(bar_style("{msg:>12} [{bar:40}] {pos}/{len} samples"));
                bar.set_message(instance.id.clone());
                let predictor =
                    instance_predictor(model.as_ref(), factorization, &lyrics, params.run)?;
                let outcome = explain_instance_with(
                    predictor.as_ref(),
                    factorization,
                    &lyrics,
                    model.as_ref(),
                    &params,
                    &mut |done| bar.set_position(done as u64),
                )?;
                bar.finish_and_clear();
                multi.remove(&bar);
                let predicted = outcome
                    .explanation
                    .labels
                    .iter()
                    .find(|l| l.label == outcome.predicted_label)
                    .ok_or_else(|| {
                        Error::Internal("the predicted label was not explained".into())
                    })?;
                let planted = truth.get(&instance.id);
                let probe = Probe {
                    predictor: predictor.as_ref(),
                    space_len: outcome.space_len,
                    feature_indices: &outcome.feature_indices,
                    label: outcome.predicted_label,
                };
                let wants_attention = config
                    .metrics
                    .iter()
                    .any(|m| matches!(Metric::parse(m), Some(Metric::Attention(..))));
                let attention: &[AttentionMap] = if wants_attention {
                    let key = (
                        explainer.model.clone(),
                        explainer.factorization,
                        explainer.segments,
                    );
                    if !attention_maps.contains_key(&key) {
                        let everything = vec![true; factorization.len()];
                        let input = ModelInput {
                            audio: factorization.compose(&everything),
                            sample_rate: factorization.sample_rate(),
                            lyrics: instance.lyrics.clone(),
                        };
                        attention_maps.insert(key.clone(), model.attention(&input)?);
                    }
                    &attention_maps[&key]
                } else {
                    &[]
                };
                let named =
                    |label: &LabelExplanation, features: &[Feature]| -> Vec<(String, f64)> {
                        label
                            .fit
                            .weights
                            .iter()
                            .map(|(j, w)| (features[*j].name.clone(), *w))
                            .collect()
                    };
                let original = named(predicted, &outcome.explanation.features);
                let mut robustness: Vec<(Perturbation, Option<NamedWeights>)> = Vec::new();
                for perturbation in [Perturbation::Noise, Perturbation::Edit] {
                    let wanted = config.metrics.iter().any(|m| {
                        matches!(Metric::parse(m), Some(Metric::Robustness(p, _)) if p == perturbation)
                    });
                    if wanted {
                        let again = reexplain(
                            perturbation,
                            factorization,
                            &lyrics,
                            model.as_ref(),
                            &params,
                            outcome.predicted_label,
                            seed,
                        )?;
                        robustness.push((
                            perturbation,
                            again.map(|o| {
                                o.explanation
                                    .labels
                                    .iter()
                                    .find(|l| l.label == outcome.predicted_label)
                                    .map(|l| named(l, &o.explanation.features))
                                    .unwrap_or_default()
                            }),
                        ));
                    }
                }
                let curves = std::cell::RefCell::new(Vec::new());
                let context = MetricContext {
                    curves: &curves,
                    original: &original,
                    robustness: &robustness,
                    label: predicted,
                    features: &outcome.explanation.features,
                    planted,
                    probe: &probe,
                    seed,
                    attention,
                    lyrics: &lyrics,
                };
                let mut metrics: Vec<(String, f64)> = Vec::new();
                for m in &config.metrics {
                    if let Some(v) = unit_metric(m, &context)? {
                        metrics.push((m.clone(), v));
                    }
                }
                let stdevs = if config.metrics.iter().any(|m| m == "csi") {
                    Some(predicted_stdevs(&outcome, predicted, &params)?)
                } else {
                    None
                };
                let record = UnitRecord {
                    instance: instance.id.clone(),
                    explainer: explainer.name.clone(),
                    model: explainer.model.clone(),
                    cell: cells[*cell_index].name.clone(),
                    repeat,
                    seed,
                    true_label: instance.label,
                    predicted_label: outcome.predicted_label,
                    multilabel: model.multilabel(),
                    class_names: model.class_names().to_vec(),
                    true_tags: if model.multilabel() {
                        instance
                            .tags
                            .as_ref()
                            .map(|tags| tag_indices(tags, model.class_names()))
                    } else {
                        None
                    },
                    scores: if model.multilabel() {
                        match clip_scores.entry(explainer.model.clone()) {
                            std::collections::btree_map::Entry::Occupied(e) => e.get().clone(),
                            std::collections::btree_map::Entry::Vacant(e) => e
                                .insert(mixture_scores(
                                    instance,
                                    decoded(&audio, instance)?,
                                    model.as_ref(),
                                )?)
                                .clone(),
                        }
                    } else {
                        Vec::new()
                    },
                    labels: outcome
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
                        })
                        .collect(),
                    features: outcome.explanation.features.clone(),
                    metrics,
                    seconds: unit_start.elapsed().as_secs_f64(),
                    model_seconds: outcome.model_seconds,
                    model_items: outcome.counts,
                    curves: curves.into_inner(),
                };
                if let (Some(listen), 0, 0) = (&config.listen, *cell_index, repeat) {
                    write_listenable(
                        &output.join("audio"),
                        &format!("{}_{}", instance.id, explainer.name),
                        factorization,
                        &outcome,
                        predicted,
                        listen.top_k,
                    )?;
                }
                store.save(&path, &record)?;
                records.push(record);
                overall.inc(1);
            }
        }
    }
    overall.finish_and_clear();
    write_report(&output, &config, &cells, &records, &failures)?;
    run_manifest.write(&serde_json::json!({
        "failures": failures,
        "resumed_units": resumed,
        "wall_seconds": started.elapsed().as_secs_f64(),
        "status": "finished",
    }))?;
    Ok(RunReport {
        output,
        units,
        resumed,
        failures,
    })
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

/// A unimodal model can only be explained by the unimodal method of the modality it reads;
/// crossed sampling needs a model whose encoders run apart.
fn check_methods_match_models(
    config: &ExperimentConfig,
    models: &BTreeMap<String, Box<dyn Classifier>>,
    config_path: &Path,
) -> Result<()> {
    for (i, explainer) in config.explainers.iter().enumerate() {
        let crossed = std::iter::once(explainer.sampler)
            .chain(
                config
                    .grid
                    .get("sampler")
                    .into_iter()
                    .flatten()
                    .filter_map(|v| {
                        serde_norway::from_value::<crate::neighborhood::sampler::SamplerKind>(
                            v.clone(),
                        )
                        .ok()
                    }),
            )
            .any(|s| s == crate::neighborhood::sampler::SamplerKind::Crossed);
        if crossed {
            if let Err(why) = models[&explainer.model].separable() {
                return Err(Error::in_file(
                    config_path,
                    format!(
                        "at `explainers[{i}].sampler`: `crossed` needs a model whose encoders run apart, but model `{}`: {why}; use `sampler: paper`",
                        explainer.model
                    ),
                ));
            }
        }
        let (audio, lyrics) = models[&explainer.model].reads();
        let needs = match explainer.method {
            Method::Musiclime => (true, true),
            Method::LimeAudio => (true, false),
            Method::LimeLyrics => (false, true),
        };
        if (needs.0 && !audio) || (needs.1 && !lyrics) {
            let hint = if audio { "lime_audio" } else { "lime_lyrics" };
            return Err(Error::in_file(
                config_path,
                format!(
                    "at `explainers[{i}]`: model `{}` reads only the {}, so `{}` cannot perturb what it asks for; use `method: {hint}`",
                    explainer.model,
                    if audio { "audio" } else { "lyrics" },
                    serde_json::to_value(explainer.method).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                ),
            ));
        }
    }
    Ok(())
}

/// The model's scores of an instance's decoded audio and lyrics, unperturbed (the row 0 of a
/// neighbourhood is the sum of the explainer's components, which for stems or HPSS is close to
/// but not exactly the mixture).
fn mixture_scores(instance: &Instance, audio: &Audio, model: &dyn Classifier) -> Result<Vec<f64>> {
    let scores = model.predict(&[crate::model::ModelInput {
        audio: audio.samples.clone(),
        sample_rate: audio.sample_rate,
        lyrics: instance.lyrics.clone(),
    }])?;
    Ok(scores.row(0).to_vec())
}

/// The class indices of tag names (names that are not classes are left out; they are
/// reported by [`label_problems`] before the run).
fn tag_indices(tags: &[String], classes: &[String]) -> Vec<usize> {
    tags.iter()
        .filter_map(|t| classes.iter().position(|c| c == t))
        .collect()
}

/// Instances whose label is not a class of every model (a model's classes are indices
/// `0..classes`), tags that are not tags of a multi-label model, and explainers' label names
/// that are not classes of their model.
fn label_problems(
    config: &ExperimentConfig,
    instances: &[Instance],
    models: &BTreeMap<String, Box<dyn Classifier>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, explainer) in config.explainers.iter().enumerate() {
        let (Some(labels), Some(model)) = (&explainer.labels, models.get(&explainer.model)) else {
            continue;
        };
        for label in labels {
            let classes = model.class_names();
            if let Err(Error::Input { message, .. }) = label.index(Some(classes), classes.len(), "")
            {
                problems.push(format!("explainers[{i}].labels: {message}"));
            }
        }
    }
    for (name, model) in models.iter().filter(|(_, m)| m.multilabel()) {
        for instance in instances {
            for tag in instance.tags.iter().flatten() {
                if !model.class_names().contains(tag) {
                    let known = model.class_names();
                    let shown = if known.len() <= 30 {
                        known.join(", ")
                    } else {
                        format!("{} tags, listed in its model.yaml", known.len())
                    };
                    problems.push(format!(
                        "{}: tag `{tag}` is not a tag of model `{name}` ({shown})",
                        instance.id
                    ));
                }
            }
        }
    }
    for (name, model) in models {
        let classes = model.class_names().len();
        if let Some(bad) = instances
            .iter()
            .find(|i| i.label.is_some_and(|l| l >= classes))
        {
            problems.push(format!(
                "{}: label {} is not a class of model `{name}`, which has {classes} classes ({})",
                bad.id,
                bad.label.unwrap_or(0),
                model.class_names().join(", ")
            ));
        }
    }
    problems
}

/// Planted features per instance id (empty when the dataset has no ground truth).
fn load_ground_truth(
    config: &ExperimentConfig,
    config_dir: &Path,
    output: &Path,
) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let path = match (&config.dataset.ground_truth, &config.dataset.synthetic) {
        (Some(p), _) => config_dir.join(p),
        (None, Some(_)) => output.join("data/ground_truth.json"),
        (None, None) => return Ok(BTreeMap::new()),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::in_file(&path, format!("not valid JSON: {e}")))?;
    let entries = value.as_object().ok_or_else(|| {
        Error::in_file(
            &path,
            "expected {\"<id>\": {\"audio\": [...], \"words\": [...]}}",
        )
    })?;
    Ok(entries
        .iter()
        .map(|(id, t)| {
            let names = ["audio", "words"]
                .iter()
                .flat_map(|k| t[*k].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            (id.clone(), names)
        })
        .collect())
}

/// `run.json`: what was run (config and hash, version, commit, seeds), then how it went.
struct RunManifest {
    path: PathBuf,
    common: serde_json::Value,
}

impl RunManifest {
    fn write(&self, status: &serde_json::Value) -> Result<()> {
        let mut value = self.common.clone();
        if let (Some(map), Some(extra)) = (value.as_object_mut(), status.as_object()) {
            map.extend(extra.clone());
        }
        let text = serde_json::to_string_pretty(&value)
            .map_err(|e| Error::serialization("run.json", e))?;
        write_atomically(&self.path, text.as_bytes())
    }
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A model spec from a config: built-in names as they are, `model.yaml` paths relative to the
/// config file.
fn model_path(spec: &str, config_path: &Path) -> String {
    if spec.starts_with("builtin:") {
        return spec.to_string();
    }
    let dir = config_path.parent().unwrap_or(Path::new(""));
    dir.join(spec).display().to_string()
}
