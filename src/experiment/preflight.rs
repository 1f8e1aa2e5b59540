//! Everything `run` and `validate` check before the first model call, as one list of problems:
//! `validate` reports the list, `run` stops on it. Checked: the dataset (every audio file
//! decodes, stems exist where an explainer needs them), the models (ONNX graphs load and match
//! their spec), methods against what each model reads (and crossed sampling against split
//! models), labels and tags against each model's classes, and the planted ground truth.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::config::{ExperimentConfig, FactorizationChoice, FactorizationKind, Method};
use super::dataset::{load_dataset, validate_instances, Instance};
use super::shard::Shard;
use crate::error::{Error, Result};
use crate::factorize::ExplainedSpan;
use crate::model::onnx::LoadOptions;
use crate::model::{load_model_with, Classifier};
use crate::neighborhood::sampler::SamplerKind;

/// What the checks found usable.
pub(crate) struct Checked {
    /// The readable instances, in run order.
    pub instances: Vec<Instance>,
    /// Unreadable instances skipped (`on_error: skip`) and why.
    pub skipped: Vec<(String, String)>,
    /// The loaded models by config name.
    pub models: BTreeMap<String, Box<dyn Classifier>>,
    /// Planted features per instance id (empty without ground truth).
    pub truth: BTreeMap<String, BTreeSet<String>>,
}

/// The outcome of the checks: what is usable, and every problem found.
pub(crate) struct Preflight {
    /// What is usable.
    pub checked: Checked,
    /// Whether the instances were listed (not so for a synthetic dataset that `validate` does
    /// not generate).
    pub instances_known: bool,
    /// One line per problem.
    pub problems: Vec<String>,
}

impl Preflight {
    /// The problems as one error naming `config_path`, or `Ok` when there are none.
    pub(crate) fn stop_on_problems(&self, config_path: &Path) -> Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = self.problems.iter().map(|p| format!("  {p}")).collect();
        Err(Error::in_file(
            config_path,
            format!("{} problem(s):\n{}", self.problems.len(), list.join("\n")),
        ))
    }
}

/// Runs every check, loading models with `load`. With `generate`, a synthetic dataset is
/// written into `<output>/data` when missing (as `run` does); without it, an ungenerated
/// synthetic dataset is not checked (`validate` writes nothing). With a `shard`, only that
/// shard's instances are read and checked.
pub(crate) fn preflight(
    config: &ExperimentConfig,
    config_path: &Path,
    load: &LoadOptions,
    generate: bool,
    shard: Option<&Shard>,
) -> Result<Preflight> {
    let config_dir = config_path.parent().unwrap_or(Path::new("."));
    let output = config.output_dir();
    let data_dir = output.join("data");
    let instances_known = generate
        || config
            .dataset
            .synthetic
            .as_ref()
            .is_none_or(|synth| synth.written_in(&data_dir));
    let mut problems = Vec::new();
    let (instances, skipped) = if instances_known {
        let mut listed = load_dataset(&config.dataset, config_dir, &data_dir)?;
        if let Some(shard) = shard {
            listed.retain(|i| shard.owns(&i.id));
        }
        let (instances, failures) = validate_instances(listed);
        if !failures.is_empty() && config.on_error == super::config::OnError::Stop {
            problems.extend(failures.iter().map(|(id, p)| {
                format!("{id}: {p} (set `on_error: skip` to skip unreadable instances)")
            }));
            (instances, Vec::new())
        } else {
            (instances, failures)
        }
    } else {
        (Vec::new(), Vec::new())
    };
    problems.extend(stems_problems(config, &instances));
    problems.extend(lyrics_problems(config, &instances));
    problems.extend(super::stems_cache::separator_problems(config, config_path));
    let mut models = BTreeMap::new();
    for (name, spec) in &config.models {
        let load = LoadOptions {
            max_batch: config.max_batch_of(name),
            ..load.clone()
        };
        match load_model_with(&model_path(spec, config_path), &load) {
            Ok(model) => {
                models.insert(name.clone(), model);
            }
            Err(e) => problems.push(format!("models.{name}: {e}")),
        }
    }
    if models.len() == config.models.len() {
        problems.extend(method_problems(config, &models));
        problems.extend(attention_problems(config, &models));
        problems.extend(label_problems(config, &instances, &models));
        problems.extend(window_problems(config, &instances, &models));
    }
    let truth = if instances_known {
        load_ground_truth(config, config_dir, &output).unwrap_or_else(|e| {
            problems.push(e.to_string());
            BTreeMap::new()
        })
    } else {
        BTreeMap::new()
    };
    Ok(Preflight {
        checked: Checked {
            instances,
            skipped,
            models,
            truth,
        },
        instances_known,
        problems,
    })
}

/// Explainers that factorize with stems, on instances that have none (the first of each).
fn stems_problems(config: &ExperimentConfig, instances: &[Instance]) -> Vec<String> {
    config
        .explainers
        .iter()
        .filter(|e| e.factorization == FactorizationChoice::Builtin(FactorizationKind::Stems))
        .filter_map(|e| {
            instances.iter().find(|i| i.stems.is_none()).map(|i| {
                format!(
                    "{}: explainer `{}` needs stems but the manifest gives none (add a `stems` column, or use `factorization: hpss`)",
                    i.id, e.name
                )
            })
        })
        .collect()
}

/// Explainers (in every grid cell) whose `audio_window` does not fit an instance's clip, and
/// ground-truth metrics on explanations of part of a clip (planted features name segments of
/// the whole clip); the first instance of each.
fn window_problems(
    config: &ExperimentConfig,
    instances: &[Instance],
    models: &BTreeMap<String, Box<dyn Classifier>>,
) -> Vec<String> {
    let truth_metric = config
        .metrics
        .iter()
        .find(|m| crate::metrics::info(m).is_some_and(|i| i.needs_ground_truth));
    let mut problems = BTreeSet::new();
    for cell in config.grid_cells() {
        for explainer in config.explainers.iter() {
            let Ok(explainer) = explainer.with_cell(&cell) else {
                continue; // the config check reports a cell that does not apply
            };
            let model_window = models
                .get(&explainer.model)
                .and_then(|m| m.window_seconds());
            let problem = instances.iter().find_map(|i| {
                let seconds = i.seconds?;
                match ExplainedSpan::resolve(explainer.audio_window, model_window, seconds, &i.id) {
                    Err(e) => Some(format!("explainer `{}`: {e}", explainer.name)),
                    Ok(span) if !span.is_whole_clip() => truth_metric.map(|m| {
                        format!(
                            "{}: explainer `{}` explains {:.2} to {:.2} s of the {:.2} s clip (audio_window {}), but `{m}` compares with planted features named for segments of the whole clip; use `audio_window: all`, or drop the ground-truth metrics",
                            i.id, explainer.name, span.start_s, span.end_s, seconds, explainer.audio_window
                        )
                    }),
                    Ok(_) => None,
                }
            });
            problems.extend(problem);
        }
    }
    problems.into_iter().collect()
}

/// Attention metrics for a modality none of the explainers' models exposes attention for.
fn attention_problems(
    config: &ExperimentConfig,
    models: &BTreeMap<String, Box<dyn Classifier>>,
) -> Vec<String> {
    let offered: Vec<crate::features::Modality> = config
        .explainers
        .iter()
        .flat_map(|e| models[&e.model].attention_modalities())
        .collect();
    config
        .metrics
        .iter()
        .filter_map(|name| match crate::metrics::Metric::parse(name) {
            Some(crate::metrics::Metric::Attention(_, _, modality))
                if !offered.contains(&modality) =>
            {
                Some(format!(
                    "metrics: `{name}` compares with the model's {} attention, but none of the explainers' models has such an attention output (`outputs.attention` with `modality: {}` in its model.yaml); remove the metric or use a model that exposes attention",
                    modality.as_str(),
                    modality.as_str()
                ))
            }
            _ => None,
        })
        .collect()
}

/// `lime_lyrics` explainers on instances without lyric words (the first of each).
fn lyrics_problems(config: &ExperimentConfig, instances: &[Instance]) -> Vec<String> {
    let wordless = instances.iter().find(|i| {
        crate::lyrics::LyricFeatures::new(&i.lyrics, &Default::default())
            .map_or(true, |l| l.is_empty())
    });
    let Some(instance) = wordless else {
        return Vec::new();
    };
    config
        .explainers
        .iter()
        .filter(|e| e.method == Method::LimeLyrics)
        .map(|e| {
            format!(
                "{}: has no lyric words, so `{}` (lime_lyrics) has nothing to explain",
                instance.id, e.name
            )
        })
        .collect()
}

/// A unimodal model can only be explained by the unimodal method of the modality it reads;
/// crossed sampling needs a model whose encoders run apart.
fn method_problems(
    config: &ExperimentConfig,
    models: &BTreeMap<String, Box<dyn Classifier>>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, explainer) in config.explainers.iter().enumerate() {
        let model = &models[&explainer.model];
        let (audio, lyrics) = model.reads();
        let needs = explainer.method.needs();
        if explainer.method == Method::LimeSeparate && !(audio && lyrics) {
            problems.push(format!(
                "explainers[{i}]: `lime_separate` runs LIME on the audio alone and on the lyrics alone, but model `{}` reads only the {}; it needs a model that reads both (use `method: {}`)",
                explainer.model,
                if audio { "audio" } else { "lyrics" },
                if audio { "lime_audio" } else { "lime_lyrics" },
            ));
        } else if (needs.0 && !audio) || (needs.1 && !lyrics) {
            let hint = if audio { "lime_audio" } else { "lime_lyrics" };
            problems.push(format!(
                "explainers[{i}]: model `{}` reads only the {}, so `{}` cannot perturb what it asks for; use `method: {hint}`",
                explainer.model,
                if audio { "audio" } else { "lyrics" },
                explainer.method.name(),
            ));
        }
        if explainer.method.strategy() == crate::explainer::Strategy::Oracle && !model.is_additive()
        {
            problems.push(format!(
                "explainers[{i}]: `{}` gives the exact contributions of an additive model, and model `{}` is not one; use builtin:additive (or another model whose contributions are known)",
                explainer.method.name(),
                explainer.model
            ));
        }
        let crossed = std::iter::once(explainer.sampler)
            .chain(
                config
                    .grid
                    .get("sampler")
                    .into_iter()
                    .flatten()
                    .filter_map(|v| serde_norway::from_value::<SamplerKind>(v.clone()).ok()),
            )
            .any(|s| s == SamplerKind::Crossed);
        if crossed {
            if let Err(why) = model.separable() {
                problems.push(format!(
                    "explainers[{i}].sampler: `crossed` needs a model whose encoders run apart, but model `{}`: {why}; use `sampler: paper`",
                    explainer.model
                ));
            }
        }
    }
    problems
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

/// A model spec from a config: built-in names as they are, `model.yaml` paths relative to the
/// config file.
pub fn model_path(spec: &str, config_path: &Path) -> String {
    if spec.starts_with("builtin:") {
        return spec.to_string();
    }
    let dir = config_path.parent().unwrap_or(Path::new(""));
    dir.join(spec).display().to_string()
}
