//! Loading a `model.yaml`: its frontends, tokenizers and graphs, and every check of the spec
//! against the graphs (input and output names, element types, ranks, fixed dimensions).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use ort::session::Session;
use ort::value::{TensorElementType, ValueType};

use super::attention_maps::{attention_axes, check_key_count};
use super::providers::{choose_provider, session_builder, SessionSettings};
use super::session::{Stage, StageGroups};
use super::spec::{InputSpec, ModelSpec, StageSpec};
use super::text::TextEncoder;
use super::{runtime, LoadOptions, OnnxModel};
use crate::error::{Error, Result};
use crate::frontend::AudioFrontend;

impl OnnxModel {
    /// Loads `model.yaml`, its graphs and tokenizers, and checks every input and output the
    /// spec names against the graphs.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with(path, &LoadOptions::default())
    }

    /// As [`load`](Self::load), with `options` overriding the spec.
    pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Self> {
        let mut spec = ModelSpec::load(path)?;
        if let Some(providers) = &options.execution_providers {
            spec.execution_providers = Some(providers.clone());
        }
        if options.max_batch.is_some() {
            spec.max_batch = options.max_batch;
        }
        let name = path.display().to_string();
        let in_spec = |e: Error| match e {
            Error::Input {
                source_name,
                message,
            } => Error::in_file(path, format!("`{source_name}`: {message}")),
            other => other,
        };
        let audio = spec
            .inputs
            .iter()
            .find_map(|i| i.audio())
            .map(|a| AudioFrontend::new(&a))
            .transpose()
            .map_err(in_spec)?;
        let (audio, patching) = match (audio, spec.patching) {
            (Some(frontend), Some(p)) => {
                let axis = frontend
                    .time_axis()
                    .ok_or_else(|| {
                        Error::in_file(
                            path,
                            "`patching` cuts the audio input along its time axis, but its layout has no `frames` (or `samples`) axis",
                        )
                    })?;
                if let Some(Some(fixed)) = frontend.known_shape().get(axis) {
                    if *fixed < p.frames {
                        return Err(Error::in_file(
                            path,
                            format!("`patching.frames` is {} but the audio input has a fixed {fixed} frames; patches cannot be longer than the input", p.frames),
                        ));
                    }
                }
                (Some(frontend.with_min_frames(p.frames)), Some((p, axis)))
            }
            (audio, _) => (audio, None),
        };
        let text = spec
            .inputs
            .iter()
            .filter_map(|i| match i {
                InputSpec::TokenIds(t) => Some(TextEncoder::new(t).map(|e| (t.name.clone(), e))),
                _ => None,
            })
            .collect::<Result<Vec<_>>>()?;
        let env = runtime::environment()?;
        let threads = options.intra_threads.or(spec.intra_threads);
        let mut stages = Vec::new();
        let mut available: Vec<String> = spec.inputs.iter().map(|i| i.name().to_string()).collect();
        let settings = SessionSettings {
            provider: choose_provider(&spec, path)?,
            threads,
            cpu_arena: spec.cpu_memory_arena.unwrap_or(true),
            optimization: spec.graph_optimization,
        };
        for stage in spec.graphs() {
            if !stage.onnx.is_file() {
                return Err(Error::in_file(
                    &stage.onnx,
                    format!("ONNX model file not found (named in {name}; paths are relative to model.yaml)"),
                ));
            }
            let mut builder = session_builder(env, settings, &stage.onnx)?;
            let session = builder.commit_from_file(&stage.onnx).map_err(|e| {
                Error::in_file(
                    &stage.onnx,
                    format!("ONNX Runtime could not load the model: {e}"),
                )
            })?;
            stages.push(check_stage(session, &stage, &available, path)?);
            available.extend(stage.outputs.iter().cloned());
        }
        let groups = StageGroups::of(&spec, &stages);
        let model = OnnxModel {
            name,
            spec,
            audio,
            patching,
            text,
            stages,
            groups,
            largest_run: std::sync::atomic::AtomicU64::new(0),
        };
        model.check_input_types()?;
        model.check_patched_attention()?;
        model.check_attention_keys()?;
        Ok(model)
    }

    /// A patched model's lyrics attention comes from a text encoder of a split model, which
    /// runs once per clip (the audio encoder runs per patch).
    fn check_patched_attention(&self) -> Result<()> {
        if self.patching.is_none() {
            return Ok(());
        }
        for a in &self.spec.outputs.attention {
            let from_text = self
                .groups
                .text
                .iter()
                .any(|&s| self.stages[s].outputs.contains(&a.name));
            let problem = match self.groups.separable() {
                Err(why) => Some(why),
                Ok(()) if !from_text => Some("no text encoder stage writes it".to_string()),
                Ok(()) => None,
            };
            if let Some(why) = problem {
                return Err(Error::in_file(
                    Path::new(&self.name),
                    format!("`outputs.attention.{}`: a patched model reads lyrics attention from the text encoder of a split model (audio encoder, text encoder, fusion as `stages:`), but {why}", a.name),
                ));
            }
        }
        Ok(())
    }

    /// Element types and ranks of the spec's inputs against the graphs' declarations.
    fn check_input_types(&self) -> Result<()> {
        for input in &self.spec.inputs {
            let Some(stage) = self
                .stages
                .iter()
                .find(|s| s.inputs.iter().any(|i| i == input.name()))
            else {
                continue;
            };
            let (ty, shape) = &stage.declared[input.name()];
            let (expected_types, rank): (&[TensorElementType], usize) = match input {
                InputSpec::Waveform(s) => (&[TensorElementType::Float32], 1 + s.layout.len()),
                InputSpec::LogMel(s) => (&[TensorElementType::Float32], 1 + s.layout.len()),
                InputSpec::KaldiFbank(s) => (&[TensorElementType::Float32], 1 + s.layout.len()),
                _ => (&[TensorElementType::Int64, TensorElementType::Int32], 2),
            };
            if !expected_types.contains(ty) {
                return Err(Error::in_file(
                    &stage.path,
                    format!(
                        "input `{}` has element type {ty:?}; a {} input must be {:?}",
                        input.name(),
                        kind_name(input),
                        expected_types
                    ),
                ));
            }
            if shape.len() != rank {
                return Err(Error::in_file(
                    &stage.path,
                    format!("input `{}` has rank {} ({shape:?}); model.yaml describes rank {rank} (the batch axis, then the layout)", input.name(), shape.len()),
                ));
            }
            self.check_fixed_dimensions(input, stage, shape)?;
        }
        Ok(())
    }

    /// Each attention output's `keys:` against the key count its graph declares, when the
    /// graph fixes it (a dynamic key axis is checked at the first attention call instead):
    /// `special + F·T` for a `grid: [F, T]`, else more than `special` keys. Errors name
    /// model.yaml and `outputs.attention.<name>.keys`.
    fn check_attention_keys(&self) -> Result<()> {
        for spec in self
            .spec
            .outputs
            .attention
            .iter()
            .filter(|a| a.keys.is_some())
        {
            let Some(stage) = self.stages.iter().find(|s| s.outputs.contains(&spec.name)) else {
                continue;
            };
            let declared = {
                let session = stage
                    .session
                    .lock()
                    .map_err(|_| Error::Internal("an ONNX session lock was poisoned".into()))?;
                session
                    .outputs()
                    .iter()
                    .find(|o| o.name() == spec.name)
                    .and_then(|o| match o.dtype() {
                        ValueType::Tensor { shape, .. } => Some(shape.to_vec()),
                        _ => None,
                    })
            };
            let axes = attention_axes(spec);
            let Some(shape) = declared.filter(|s| s.len() == axes.len()) else {
                continue;
            };
            let key_axis = axes.iter().position(|a| *a == "key").unwrap_or(0);
            if let Ok(found) = usize::try_from(shape[key_axis]) {
                check_key_count(
                    Path::new(&self.name),
                    spec,
                    found,
                    &format!(
                        "axis {key_axis} of its declared shape {shape:?} in {}",
                        stage.path.display()
                    ),
                )?;
            }
        }
        Ok(())
    }

    /// Dimensions the spec fixes must equal the graph's fixed dimensions.
    fn check_fixed_dimensions(
        &self,
        input: &InputSpec,
        stage: &Stage,
        shape: &[i64],
    ) -> Result<()> {
        let known: Vec<Option<usize>> = match input {
            InputSpec::TokenIds(t) => vec![Some(t.max_length)],
            InputSpec::AttentionMask(d) | InputSpec::WordIds(d) => {
                let length = self.spec.inputs.iter().find_map(|i| match i {
                    InputSpec::TokenIds(t) if t.name == d.of => Some(t.max_length),
                    _ => None,
                });
                vec![length]
            }
            _ => {
                let mut known = self
                    .audio
                    .as_ref()
                    .map(|a| a.known_shape())
                    .unwrap_or_default();
                if let Some((p, axis)) = self.patching {
                    if let Some(k) = known.get_mut(axis) {
                        *k = Some(p.frames);
                    }
                }
                known
            }
        };
        for (axis, (&declared, computed)) in shape[1..].iter().zip(&known).enumerate() {
            if let Some(c) = computed {
                if declared >= 0 && declared as usize != *c {
                    let mut expected: Vec<String> = vec!["batch".into()];
                    expected.extend(
                        known
                            .iter()
                            .map(|k| k.map_or("?".into(), |v| v.to_string())),
                    );
                    return Err(Error::in_file(
                        &stage.path,
                        format!(
                            "input `{}` has shape {shape:?} but model.yaml's parameters give [{}] (axis {} differs); fix the input's parameters (n_mels, seconds, hop_length, target_frames, max_length, layout)",
                            input.name(),
                            expected.join(", "),
                            axis + 1
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Checks one loaded graph against its stage in the spec: every input it reads is available
/// (a model input or an earlier stage's output) and is an input of the graph, every graph input
/// is described, every named output exists; records the declared input types.
fn check_stage(
    session: Session,
    stage: &StageSpec,
    available: &[String],
    spec_path: &Path,
) -> Result<Stage> {
    let describe = |outlets: &[ort::value::Outlet]| {
        outlets
            .iter()
            .map(|o| format!("{} ({})", o.name(), describe_type(o.dtype())))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let graph_inputs: Vec<&str> = session.inputs().iter().map(|o| o.name()).collect();
    for input in &stage.inputs {
        if !available.contains(input) {
            return Err(Error::in_file(spec_path, format!("stage {} reads `{input}`, which is neither a model input nor an earlier stage's output", stage.onnx.display())));
        }
        if !graph_inputs.contains(&input.as_str()) {
            return Err(Error::in_file(
                &stage.onnx,
                format!("model.yaml names input `{input}` but the model has no such input; its inputs are: {}", describe(session.inputs())),
            ));
        }
    }
    if let Some(missing) = graph_inputs
        .iter()
        .find(|g| !stage.inputs.iter().any(|i| i == *g))
    {
        return Err(Error::in_file(
            &stage.onnx,
            format!("the model needs input `{missing}`, which model.yaml does not describe; describe every input: {}", describe(session.inputs())),
        ));
    }
    let graph_outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
    for output in &stage.outputs {
        if !graph_outputs.contains(&output.as_str()) {
            return Err(Error::in_file(
                &stage.onnx,
                format!("model.yaml names output `{output}` but the model has no such output; its outputs are: {}", describe(session.outputs())),
            ));
        }
    }
    let mut declared = HashMap::new();
    for outlet in session.inputs() {
        match outlet.dtype() {
            ValueType::Tensor { ty, shape, .. } => {
                declared.insert(outlet.name().to_string(), (*ty, shape.to_vec()));
            }
            other => {
                return Err(Error::in_file(
                    &stage.onnx,
                    format!(
                        "input `{}` is {other:?}; only tensor inputs are supported",
                        outlet.name()
                    ),
                ))
            }
        }
    }
    Ok(Stage {
        path: stage.onnx.clone(),
        session: Mutex::new(session),
        inputs: stage.inputs.clone(),
        outputs: stage.outputs.clone(),
        declared,
    })
}

fn kind_name(input: &InputSpec) -> &'static str {
    match input {
        InputSpec::Waveform(_) => "waveform",
        InputSpec::LogMel(_) => "log_mel",
        InputSpec::KaldiFbank(_) => "kaldi_fbank",
        InputSpec::TokenIds(_) => "token_ids",
        InputSpec::AttentionMask(_) => "attention_mask",
        InputSpec::WordIds(_) => "word_ids",
    }
}

fn describe_type(t: &ValueType) -> String {
    match t {
        ValueType::Tensor { ty, shape, .. } => format!("{ty:?} {:?}", shape.to_vec()),
        other => format!("{other:?}"),
    }
}
