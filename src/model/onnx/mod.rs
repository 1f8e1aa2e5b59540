//! ONNX models described by a `model.yaml` ([`spec`]): inputs computed by the audio
//! frontends ([`crate::frontend`]) and a Hugging Face tokenizer ([`text`]), run by ONNX
//! Runtime ([`runtime`]).
//!
//! For explanations the model offers a fast path ([`Classifier::prepare_instance`]): each audio
//! component's spectrum is computed once per instance and perturbed samples are built by
//! adding spectra. Feature computation for the next batch runs on rayon's threads while ONNX
//! Runtime runs the current one; results do not depend on either thread count's choice of
//! work split, because every row's features depend only on its own mask.

pub mod runtime;
pub mod spec;
pub mod text;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ndarray::Array2;
use ort::session::Session;
use ort::value::{Tensor, TensorElementType, ValueType};
use rayon::prelude::*;

use super::attention::{self, AttentionMap};
use super::{
    validate_probabilities, validate_tag_scores, Classifier, InstancePredictor, ModelInput,
    PreparedBatch,
};
use crate::error::{Error, Result};
use crate::factorize::Factorization;
use crate::features::Modality;
use crate::frontend::components::ComponentSpectra;
use crate::frontend::AudioFrontend;
use crate::lyrics::LyricFeatures;
use spec::{Activation, InputSpec, ModelSpec, PatchReduce, PatchingSpec, ScoreKind};
use text::{TextEncoder, TokenRow};

/// A tensor on its way into or out of a graph.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// float32 values.
    F32(Vec<f32>),
    /// int64 values.
    I64(Vec<i64>),
}

/// A named tensor: shape (batch axis first) and values in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Tensor name in the graph.
    pub name: String,
    /// Shape, batch axis first.
    pub shape: Vec<usize>,
    /// Values.
    pub data: TensorData,
}

/// One graph and its session.
struct Stage {
    path: PathBuf,
    session: Mutex<Session>,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// Declared element type and shape (`-1` for dynamic) of each input, by name.
    declared: HashMap<String, (TensorElementType, Vec<i64>)>,
}

/// An ONNX classifier.
pub struct OnnxModel {
    name: String,
    spec: ModelSpec,
    audio: Option<AudioFrontend>,
    /// `patching:` and the index of the time axis in one instance's audio features.
    patching: Option<(PatchingSpec, usize)>,
    text: Vec<(String, TextEncoder)>,
    stages: Vec<Stage>,
}

impl OnnxModel {
    /// Loads `model.yaml`, its graphs and tokenizers, and checks every input and output the
    /// spec names against the graphs.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_with_threads(path, None)
    }

    /// As [`load`](Self::load), overriding the spec's `intra_threads`.
    pub fn load_with_threads(path: &Path, intra_threads: Option<usize>) -> Result<Self> {
        let spec = ModelSpec::load(path)?;
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
        let threads = intra_threads.or(spec.intra_threads);
        let mut stages = Vec::new();
        let mut available: Vec<String> = spec.inputs.iter().map(|i| i.name().to_string()).collect();
        for stage in spec.graphs() {
            if !stage.onnx.is_file() {
                return Err(Error::in_file(
                    &stage.onnx,
                    format!("ONNX model file not found (named in {name}; paths are relative to model.yaml)"),
                ));
            }
            let fail = |e: &dyn std::fmt::Display| {
                Error::in_file(
                    &stage.onnx,
                    format!("ONNX Runtime could not load the model: {e}"),
                )
            };
            // Idle intra-op threads sleep instead of spinning, so they do not take the cores
            // that prepare the next batch while this one runs.
            let mut builder = Session::builder(env)
                .map_err(|e| fail(&e))?
                .with_intra_op_spinning(false)
                .map_err(|e| fail(&e))?;
            if let Some(n) = threads {
                builder = builder.with_intra_threads(n).map_err(|e| fail(&e))?;
            }
            let session = builder
                .commit_from_file(&stage.onnx)
                .map_err(|e| fail(&e))?;
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
                    return Err(Error::in_file(path, format!("stage {} reads `{input}`, which is neither a model input nor an earlier stage's output", stage.onnx.display())));
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
            available.extend(stage.outputs.iter().cloned());
            stages.push(Stage {
                path: stage.onnx.clone(),
                session: Mutex::new(session),
                inputs: stage.inputs.clone(),
                outputs: stage.outputs.clone(),
                declared,
            });
        }
        let model = OnnxModel {
            name,
            spec,
            audio,
            patching,
            text,
            stages,
        };
        model.check_input_types()?;
        Ok(model)
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
            // Dimensions the spec fixes must equal the graph's fixed dimensions.
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
        }
        Ok(())
    }

    /// The model's spec.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The audio frontend, when the model reads audio.
    pub fn audio_frontend(&self) -> Option<&AudioFrontend> {
        self.audio.as_ref()
    }

    /// Computes the model's inputs for a batch: audio features from `audio(row)` and tokens
    /// from `lyrics(row)`, rows in parallel. With `patching`, every row becomes the returned
    /// number of consecutive patch rows.
    fn inputs_for(
        &self,
        rows: usize,
        audio: &(dyn Fn(usize) -> Result<(Vec<f32>, Vec<usize>)> + Sync),
        lyrics: &(dyn Fn(usize) -> String + Sync),
    ) -> Result<(Vec<NamedTensor>, usize)> {
        let mut tensors = Vec::new();
        if let Some(frontend) = &self.audio {
            let features = (0..rows)
                .into_par_iter()
                .map(audio)
                .collect::<Result<Vec<_>>>()?;
            let shape = features.first().map(|f| f.1.clone()).unwrap_or_default();
            if let Some((_, other)) = features.iter().find(|f| f.1 != shape) {
                return Err(Error::input(
                    &self.name,
                    format!("input `{}` has shape {shape:?} for one clip and {other:?} for another; set `seconds` so every clip has the same length", frontend.name()),
                ));
            }
            let mut data = Vec::with_capacity(rows * shape.iter().product::<usize>());
            for (f, _) in features {
                data.extend(f);
            }
            tensors.push(NamedTensor {
                name: frontend.name().to_string(),
                shape: std::iter::once(rows).chain(shape).collect(),
                data: TensorData::F32(data),
            });
        }
        if !self.text.is_empty() {
            let texts: Vec<String> = (0..rows).into_par_iter().map(lyrics).collect();
            for (name, encoder) in &self.text {
                let encoded = texts
                    .par_iter()
                    .map(|t| encoder.encode(t))
                    .collect::<Result<Vec<TokenRow>>>()?;
                let len = encoder.max_length();
                let column = |f: fn(&TokenRow) -> &Vec<i64>| -> Vec<i64> {
                    encoded.iter().flat_map(|r| f(r).iter().copied()).collect()
                };
                let tensor = |tensor_name: &str, data: Vec<i64>| NamedTensor {
                    name: tensor_name.to_string(),
                    shape: vec![rows, len],
                    data: TensorData::I64(data),
                };
                tensors.push(tensor(name, column(|r| &r.ids)));
                for input in &self.spec.inputs {
                    match input {
                        InputSpec::AttentionMask(d) if &d.of == name => {
                            tensors.push(tensor(&d.name, column(|r| &r.mask)))
                        }
                        InputSpec::WordIds(d) if &d.of == name => {
                            tensors.push(tensor(&d.name, column(|r| &r.word_ids)))
                        }
                        _ => {}
                    }
                }
            }
        }
        match self.patching {
            Some((patching, axis)) => self.patched(tensors, rows, patching, axis),
            None => Ok((tensors, 1)),
        }
    }

    /// Cuts the audio tensor into patches along `axis` (of one instance's features) and repeats
    /// every other tensor's rows to match; returns the tensors and the patches per row.
    fn patched(
        &self,
        tensors: Vec<NamedTensor>,
        rows: usize,
        patching: PatchingSpec,
        axis: usize,
    ) -> Result<(Vec<NamedTensor>, usize)> {
        let audio_name = self.audio.as_ref().map(|a| a.name()).unwrap_or_default();
        let Some(audio) = tensors.iter().find(|t| t.name == audio_name) else {
            return Ok((tensors, 1));
        };
        if rows == 0 || audio.shape.len() <= axis + 1 {
            return Ok((tensors, 1));
        }
        let dims = &audio.shape[1..];
        let total = dims[axis];
        if total < patching.frames {
            return Err(Error::Numeric(format!(
                "input `{audio_name}` has {total} frames, fewer than one patch of {}",
                patching.frames
            )));
        }
        let starts = patching.starts(total);
        let patches = starts.len();
        let per_row: usize = dims.iter().product();
        let patched = tensors
            .iter()
            .map(|t| {
                if t.name == audio_name {
                    let TensorData::F32(data) = &t.data else {
                        return Err(Error::Numeric(format!(
                            "input `{audio_name}` is not float32"
                        )));
                    };
                    let mut out =
                        Vec::with_capacity(rows * patches * per_row / total * patching.frames);
                    for row in data.chunks_exact(per_row) {
                        cut_patches(row, dims, axis, &starts, patching.frames, &mut out);
                    }
                    let mut shape = t.shape.clone();
                    shape[0] = rows * patches;
                    shape[axis + 1] = patching.frames;
                    Ok(NamedTensor {
                        name: t.name.clone(),
                        shape,
                        data: TensorData::F32(out),
                    })
                } else {
                    let width: usize = t.shape[1..].iter().product();
                    let mut shape = t.shape.clone();
                    shape[0] = rows * patches;
                    let data = match &t.data {
                        TensorData::I64(v) => TensorData::I64(repeat_rows(v, width, patches)),
                        TensorData::F32(v) => TensorData::F32(repeat_rows(v, width, patches)),
                    };
                    Ok(NamedTensor {
                        name: t.name.clone(),
                        shape,
                        data,
                    })
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((patched, patches))
    }

    /// A note for the user when a clip of `len` samples at `rate` is shorter than one patch and
    /// is padded with silence.
    pub fn padding_note(&self, len: usize, rate: u32) -> Option<String> {
        let (frontend, (patching, _)) = (self.audio.as_ref()?, self.patching?);
        let natural = frontend.resampled_len(len, rate);
        (natural < frontend.min_len()).then(|| {
            let rate = frontend.sample_rate() as f64;
            format!(
                "{}: the audio ({:.2} s) is shorter than one patch of {} frames of input `{}`; it is padded with silence to {:.2} s",
                self.name,
                natural as f64 / rate,
                patching.frames,
                frontend.name(),
                frontend.min_len() as f64 / rate
            )
        })
    }

    /// Features of whole clips (the naive path), and the patches per clip.
    fn inputs_for_batch(&self, batch: &[ModelInput]) -> Result<(Vec<NamedTensor>, usize)> {
        self.inputs_for(
            batch.len(),
            &|r| {
                let frontend = self
                    .audio
                    .as_ref()
                    .ok_or_else(|| Error::Numeric("no audio frontend".into()))?;
                let input = &batch[r];
                let features = frontend.features(&input.audio, input.sample_rate, &self.name)?;
                let len = frontend.fitted_len(input.audio.len(), input.sample_rate);
                Ok((features, frontend.shape(len)))
            },
            &|r| batch[r].lyrics.clone(),
        )
    }

    /// Runs every stage on `inputs`; returns the tensors named in `wanted`.
    pub fn run(
        &self,
        inputs: Vec<NamedTensor>,
        wanted: &[&str],
    ) -> Result<HashMap<String, NamedTensor>> {
        let mut values: HashMap<String, NamedTensor> =
            inputs.into_iter().map(|t| (t.name.clone(), t)).collect();
        for stage in &self.stages {
            let mut feeds: Vec<(String, ort::session::SessionInputValue<'static>)> = Vec::new();
            for input in &stage.inputs {
                let tensor = values.get(input).ok_or_else(|| {
                    Error::Numeric(format!(
                        "tensor `{input}` was not computed before {}",
                        stage.path.display()
                    ))
                })?;
                feeds.push((input.clone(), self.to_ort(stage, tensor)?));
            }
            let fail = |e: &dyn std::fmt::Display| {
                Error::in_file(
                    &stage.path,
                    format!("ONNX Runtime failed to run the model: {e}"),
                )
            };
            let mut session = stage
                .session
                .lock()
                .map_err(|_| Error::Numeric("an earlier model call panicked".into()))?;
            let outputs = session.run(feeds).map_err(|e| fail(&e))?;
            for name in &stage.outputs {
                let value = &outputs[name.as_str()];
                let tensor = if let Ok((shape, data)) = value.try_extract_tensor::<f32>() {
                    NamedTensor {
                        name: name.clone(),
                        shape: shape.iter().map(|&d| d.max(0) as usize).collect(),
                        data: TensorData::F32(data.to_vec()),
                    }
                } else if let Ok((shape, data)) = value.try_extract_tensor::<i64>() {
                    NamedTensor {
                        name: name.clone(),
                        shape: shape.iter().map(|&d| d.max(0) as usize).collect(),
                        data: TensorData::I64(data.to_vec()),
                    }
                } else {
                    return Err(Error::in_file(
                        &stage.path,
                        format!(
                            "output `{name}` is {:?}; outputs must be float32 or int64 tensors",
                            value.dtype()
                        ),
                    ));
                };
                values.insert(name.clone(), tensor);
            }
        }
        Ok(wanted
            .iter()
            .filter_map(|w| values.remove(*w).map(|t| (w.to_string(), t)))
            .collect())
    }

    /// Converts a tensor to the element type the graph declares, checking fixed dimensions.
    fn to_ort(
        &self,
        stage: &Stage,
        tensor: &NamedTensor,
    ) -> Result<ort::session::SessionInputValue<'static>> {
        let (ty, declared) = &stage.declared[&tensor.name];
        let matches = declared.len() == tensor.shape.len()
            && declared
                .iter()
                .zip(&tensor.shape)
                .all(|(&d, &s)| d < 0 || d as usize == s);
        if !matches {
            return Err(Error::in_file(
                &stage.path,
                format!(
                    "input `{}` expects shape {declared:?} (-1 = any) but musiclime computed {:?} from model.yaml; fix the input's parameters (seconds, n_mels, hop_length, max_length, layout, …)",
                    tensor.name, tensor.shape
                ),
            ));
        }
        let fail =
            |e: ort::Error| Error::Numeric(format!("building tensor `{}`: {e}", tensor.name));
        let shape = tensor.shape.clone();
        Ok(match (&tensor.data, ty) {
            (TensorData::F32(v), TensorElementType::Float32) => {
                Tensor::from_array((shape, v.clone())).map_err(fail)?.into()
            }
            (TensorData::I64(v), TensorElementType::Int64) => {
                Tensor::from_array((shape, v.clone())).map_err(fail)?.into()
            }
            (TensorData::I64(v), TensorElementType::Int32) => {
                let v: Vec<i32> = v.iter().map(|&x| x as i32).collect();
                Tensor::from_array((shape, v)).map_err(fail)?.into()
            }
            (_, other) => {
                return Err(Error::in_file(
                    &stage.path,
                    format!(
                    "input `{}` has element type {other:?}, which musiclime cannot produce for it",
                    tensor.name
                ),
                ))
            }
        })
    }

    /// Class scores from the score output of a run: `rows × patches` output rows, activated
    /// per patch, reduced over each row's patches and checked against the declared semantics.
    fn probabilities(
        &self,
        outputs: &HashMap<String, NamedTensor>,
        rows: usize,
        patches: usize,
        first_row: usize,
    ) -> Result<Array2<f64>> {
        let (name, kind) = self.spec.score_output();
        let key = match kind {
            ScoreKind::Probabilities => "outputs.probabilities",
            ScoreKind::Logits => "outputs.logits",
            ScoreKind::Scores { .. } => "outputs.scores",
        };
        let in_spec = |message: String| Error::in_file(Path::new(&self.name), message);
        let tensor = outputs
            .get(name)
            .ok_or_else(|| in_spec(format!("`{key}` output `{name}` was not produced")))?;
        let classes = self.spec.classes.len();
        let TensorData::F32(data) = &tensor.data else {
            return Err(in_spec(format!(
                "`{key}` output `{name}` is int64; it must be float32"
            )));
        };
        let model_rows = rows * patches;
        if tensor.shape != [model_rows, classes] {
            let what = if patches > 1 {
                format!("a batch of {rows} clips × {patches} patches")
            } else {
                format!("a batch of {rows}")
            };
            return Err(in_spec(format!(
                "`{key}` output `{name}` has shape {:?} for {what}; model.yaml lists {classes} classes, so [{model_rows}, {classes}] was expected",
                tensor.shape
            )));
        }
        let mut scores =
            Array2::from_shape_fn((model_rows, classes), |(r, c)| data[r * classes + c] as f64);
        if let Some((r, c)) = scores
            .indexed_iter()
            .find(|(_, v)| !v.is_finite())
            .map(|(i, _)| i)
        {
            let (clip, patch) = (first_row + r / patches, r % patches);
            let at = if patches > 1 {
                format!("sample {clip} (patch {patch})")
            } else {
                format!("sample {clip}")
            };
            return Err(in_spec(format!(
                "output `{name}` is {} for {at}, class `{}`; the model must return finite values",
                scores[[r, c]],
                self.spec.classes[c]
            )));
        }
        match kind {
            ScoreKind::Logits => {
                for mut row in scores.rows_mut() {
                    let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    row.mapv_inplace(|z| (z - max).exp());
                    let sum = row.sum();
                    row.mapv_inplace(|p| p / sum);
                }
            }
            ScoreKind::Scores {
                activation: Activation::Sigmoid,
                ..
            } => scores.mapv_inplace(|z| 1.0 / (1.0 + (-z).exp())),
            _ => {}
        }
        let scores = match self.patching {
            Some((patching, _)) if patches > 1 => reduce_patches(&scores, patches, patching),
            _ => scores,
        };
        let model = format!("{} (output `{name}`)", self.name);
        match kind {
            ScoreKind::Probabilities | ScoreKind::Logits => {
                validate_probabilities(&scores, &model, first_row)?
            }
            ScoreKind::Scores {
                multilabel: true, ..
            } => validate_tag_scores(&scores, &self.spec.classes, &model, first_row)?,
            ScoreKind::Scores { .. } => {}
        }
        Ok(scores)
    }

    /// Attention maps of each input (see [`AttentionMap`]).
    pub fn attention(&self, batch: &[ModelInput]) -> Result<Vec<Vec<AttentionMap>>> {
        let wanted: Vec<&str> = self
            .spec
            .outputs
            .attention
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        let outputs = self.run(self.inputs_for_batch(batch)?.0, &wanted)?;
        let token_offsets: Vec<Option<Vec<(usize, usize)>>> = batch
            .iter()
            .map(|input| {
                self.text
                    .first()
                    .map(|(_, encoder)| encoder.encode(&input.lyrics).map(|r| r.offsets))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let mut maps = vec![Vec::new(); batch.len()];
        for spec in &self.spec.outputs.attention {
            let tensor = &outputs[&spec.name];
            let TensorData::F32(data) = &tensor.data else {
                return Err(Error::in_file(
                    Path::new(&self.name),
                    format!("attention output `{}` must be float32", spec.name),
                ));
            };
            let explicit_batch = spec.layout.iter().any(|a| a == "batch");
            let axes: Vec<&str> = if explicit_batch {
                spec.layout.iter().map(String::as_str).collect()
            } else {
                std::iter::once("batch")
                    .chain(spec.layout.iter().map(String::as_str))
                    .collect()
            };
            let batch_axis = axes.iter().position(|a| *a == "batch").unwrap_or(0);
            if tensor.shape.len() != axes.len() || tensor.shape[batch_axis] != batch.len() {
                return Err(Error::in_file(
                    Path::new(&self.name),
                    format!("attention output `{}` has shape {:?} for a batch of {}; its layout {:?} (batch first unless listed) does not fit", spec.name, tensor.shape, batch.len(), spec.layout),
                ));
            }
            for (b, map) in maps.iter_mut().enumerate() {
                let (first_token, rollout) = attention::reduce(&tensor.shape, data, &axes, b)?;
                let (token_offsets, key_seconds) = match spec.modality {
                    Modality::Lyrics => (token_offsets[b].clone(), None),
                    _ => (
                        None,
                        self.audio.as_ref().map(|f| {
                            f.fitted_len(batch[b].audio.len(), batch[b].sample_rate) as f64
                                / f.sample_rate() as f64
                        }),
                    ),
                };
                map.push(AttentionMap {
                    name: spec.name.clone(),
                    modality: spec.modality,
                    first_token,
                    rollout,
                    token_offsets,
                    key_seconds,
                });
            }
        }
        Ok(maps)
    }
}

/// Appends the patches of one instance's features (C order, shape `dims`) starting at
/// `starts` along axis `axis`, each `frames` long, one after the other.
fn cut_patches(
    row: &[f32],
    dims: &[usize],
    axis: usize,
    starts: &[usize],
    frames: usize,
    out: &mut Vec<f32>,
) {
    let total = dims[axis];
    let outer: usize = dims[..axis].iter().product();
    let inner: usize = dims[axis + 1..].iter().product();
    for &start in starts {
        for o in 0..outer {
            let block = &row[o * total * inner..(o + 1) * total * inner];
            out.extend_from_slice(&block[start * inner..(start + frames) * inner]);
        }
    }
}

/// Per-patch scores (`patches` consecutive rows per clip) reduced to one row per clip.
fn reduce_patches(scores: &Array2<f64>, patches: usize, patching: PatchingSpec) -> Array2<f64> {
    let (rows, classes) = (scores.nrows() / patches, scores.ncols());
    Array2::from_shape_fn((rows, classes), |(r, c)| {
        let column = (0..patches).map(|p| scores[[r * patches + p, c]]);
        match patching.reduce {
            PatchReduce::Mean => column.sum::<f64>() / patches as f64,
            PatchReduce::Max => column.fold(f64::NEG_INFINITY, f64::max),
        }
    })
}

/// Each row of `width` values repeated `times` times.
fn repeat_rows<T: Copy>(values: &[T], width: usize, times: usize) -> Vec<T> {
    values
        .chunks_exact(width.max(1))
        .flat_map(|row| std::iter::repeat_n(row, times).flatten().copied())
        .collect()
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

impl Classifier for OnnxModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_names(&self) -> &[String] {
        &self.spec.classes
    }

    fn predict(&self, batch: &[ModelInput]) -> Result<Array2<f64>> {
        let (score, _) = self.spec.score_output();
        let (inputs, patches) = self.inputs_for_batch(batch)?;
        let outputs = self.run(inputs, &[score])?;
        self.probabilities(&outputs, batch.len(), patches, 0)
    }

    fn multilabel(&self) -> bool {
        self.spec.multilabel()
    }

    fn input_note(&self, samples: usize, sample_rate: u32) -> Option<String> {
        self.padding_note(samples, sample_rate)
    }

    fn reads(&self) -> (bool, bool) {
        (self.audio.is_some(), !self.text.is_empty())
    }

    fn attention(&self, input: &ModelInput) -> Result<Vec<AttentionMap>> {
        if self.spec.outputs.attention.is_empty() {
            return Ok(Vec::new());
        }
        Ok(OnnxModel::attention(self, std::slice::from_ref(input))?
            .pop()
            .unwrap_or_default())
    }

    fn prepare_instance<'a>(
        &'a self,
        audio: &'a dyn Factorization,
        lyrics: &'a LyricFeatures,
    ) -> Result<Option<Box<dyn InstancePredictor + 'a>>> {
        let spectra = match &self.audio {
            Some(frontend) => {
                let len = frontend.fitted_len(audio.signal_len(), audio.sample_rate());
                if frontend.linear_units(len) == 0 {
                    return Err(Error::input(
                        &self.name,
                        format!("{len} samples at {} Hz are too short for one frame of input `{}`; use longer audio or set `seconds`", frontend.sample_rate(), frontend.name()),
                    ));
                }
                Some((ComponentSpectra::new(frontend, audio)?, frontend.shape(len)))
            }
            None => None,
        };
        Ok(Some(Box::new(FastInstance {
            model: self,
            spectra,
            lyrics,
            n_audio: audio.len(),
        })))
    }
}

/// The fast path for one instance: stored component spectra and the lyric features.
struct FastInstance<'a> {
    model: &'a OnnxModel,
    spectra: Option<(ComponentSpectra<'a>, Vec<usize>)>,
    lyrics: &'a LyricFeatures,
    n_audio: usize,
}

/// A prepared batch: the input tensors, the patches per row and the index of its first row.
struct FastBatch {
    tensors: Vec<NamedTensor>,
    rows: usize,
    patches: usize,
    first_row: usize,
}

impl InstancePredictor for FastInstance<'_> {
    fn prepare(&self, masks: &[Vec<bool>], first_row: usize) -> Result<PreparedBatch> {
        let (tensors, patches) = self.model.inputs_for(
            masks.len(),
            &|r| {
                let (spectra, shape) = self
                    .spectra
                    .as_ref()
                    .ok_or_else(|| Error::Numeric("no audio frontend".into()))?;
                Ok((spectra.features(&masks[r][..self.n_audio]), shape.clone()))
            },
            &|r| self.lyrics.compose(&masks[r][self.n_audio..]),
        )?;
        Ok(PreparedBatch(Box::new(FastBatch {
            tensors,
            rows: masks.len(),
            patches,
            first_row,
        })))
    }

    fn run(&self, batch: PreparedBatch) -> Result<Array2<f64>> {
        let batch = batch
            .0
            .downcast::<FastBatch>()
            .map_err(|_| Error::Numeric("a batch prepared by another model".into()))?;
        let (score, _) = self.model.spec.score_output();
        let outputs = self.model.run(batch.tensors, &[score])?;
        self.model
            .probabilities(&outputs, batch.rows, batch.patches, batch.first_row)
    }
}

#[cfg(test)]
mod tests {
    use super::spec::{PatchReduce, PatchingSpec};
    use super::*;

    #[test]
    fn patches_cover_every_frame_with_the_last_aligned_to_the_end() {
        let p = PatchingSpec {
            frames: 4,
            hop: Some(3),
            reduce: PatchReduce::Mean,
        };
        assert_eq!(p.starts(4), vec![0]);
        assert_eq!(p.starts(10), vec![0, 3, 6]);
        assert_eq!(p.starts(11), vec![0, 3, 6, 7]);
        assert_eq!(p.starts(2), vec![0]);
    }

    #[test]
    fn patches_are_cut_along_the_time_axis_of_either_layout() {
        // [mels = 2, frames = 5]: value = 10 * mel + frame
        let mels_frames: Vec<f32> = (0..2)
            .flat_map(|m| (0..5).map(move |t| (10 * m + t) as f32))
            .collect();
        let mut out = Vec::new();
        cut_patches(&mels_frames, &[2, 5], 1, &[0, 3], 2, &mut out);
        assert_eq!(out, vec![0., 1., 10., 11., 3., 4., 13., 14.]);
        // [frames = 5, mels = 2]: the same values, frame-major
        let frames_mels: Vec<f32> = (0..5)
            .flat_map(|t| (0..2).map(move |m| (10 * m + t) as f32))
            .collect();
        let mut out = Vec::new();
        cut_patches(&frames_mels, &[5, 2], 0, &[0, 3], 2, &mut out);
        assert_eq!(out, vec![0., 10., 1., 11., 3., 13., 4., 14.]);
        // [channels = 1, mels = 2, frames = 5]
        let mut out = Vec::new();
        cut_patches(&mels_frames, &[1, 2, 5], 2, &[1], 3, &mut out);
        assert_eq!(out, vec![1., 2., 3., 11., 12., 13.]);
    }

    #[test]
    fn patch_scores_reduce_by_mean_or_max_per_clip() {
        let scores =
            Array2::from_shape_vec((4, 2), vec![0.1, 0.9, 0.3, 0.5, 0.6, 0.2, 0.8, 0.4]).unwrap();
        let mut p = PatchingSpec {
            frames: 1,
            hop: None,
            reduce: PatchReduce::Mean,
        };
        let mean = reduce_patches(&scores, 2, p);
        assert!((mean[[0, 0]] - 0.2).abs() < 1e-12 && (mean[[1, 1]] - 0.3).abs() < 1e-12);
        p.reduce = PatchReduce::Max;
        let max = reduce_patches(&scores, 2, p);
        assert_eq!(max.row(0).to_vec(), vec![0.3, 0.9]);
        assert_eq!(max.row(1).to_vec(), vec![0.8, 0.4]);
    }
}
