//! Running a model's graphs: stages in order, in runs of at most `max_batch` items, asking ONNX
//! Runtime only for the outputs a later stage or the caller reads (an attention output nobody
//! asked for is neither computed into Rust memory nor copied).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use ort::session::{OutputSelector, RunOptions, Session};
use ort::value::{Tensor, TensorElementType};

use super::spec::{InputSpec, ModelSpec, PatchReduce};
use super::{NamedTensor, OnnxModel, TensorData};
use crate::error::{Error, Result};

/// One graph and its session.
pub struct Stage {
    /// The ONNX file.
    pub path: PathBuf,
    /// Its session (ONNX Runtime runs one call at a time per session).
    pub session: Mutex<Session>,
    /// Tensors it reads.
    pub inputs: Vec<String>,
    /// Tensors it writes that later stages or the spec's outputs use.
    pub outputs: Vec<String>,
    /// Declared element type and shape (`-1` for dynamic) of each input, by name.
    pub declared: HashMap<String, (TensorElementType, Vec<i64>)>,
}

/// The stages of a model by what they read: only audio-derived tensors (audio encoders), only
/// lyrics-derived tensors (text encoders), or both (fusion). A single-graph multimodal model
/// is one joint stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StageGroups {
    /// Stages reading only the audio input and outputs of audio stages.
    pub audio: Vec<usize>,
    /// Stages reading only token inputs and outputs of text stages.
    pub text: Vec<usize>,
    /// The other stages, in order.
    pub joint: Vec<usize>,
    /// A joint stage that reads a model input directly (its name), which makes the encoders
    /// inseparable from the fusion.
    joint_reads_input: Option<String>,
}

impl StageGroups {
    /// Classifies the stages of `spec`.
    pub fn of(spec: &ModelSpec, stages: &[Stage]) -> Self {
        // (reads audio, reads lyrics) of every tensor
        let mut reads: HashMap<&str, (bool, bool)> = HashMap::new();
        for input in &spec.inputs {
            let flags = match input {
                InputSpec::Waveform(_) | InputSpec::LogMel(_) | InputSpec::KaldiFbank(_) => {
                    (true, false)
                }
                _ => (false, true),
            };
            reads.insert(input.name(), flags);
        }
        let mut groups = StageGroups::default();
        for (i, stage) in stages.iter().enumerate() {
            let (audio, text) = stage
                .inputs
                .iter()
                .filter_map(|t| reads.get(t.as_str()))
                .fold((false, false), |(a, t), (x, y)| (a || *x, t || *y));
            match (audio, text) {
                (true, false) => groups.audio.push(i),
                (false, true) => groups.text.push(i),
                _ => {
                    groups.joint.push(i);
                    if groups.joint_reads_input.is_none() {
                        groups.joint_reads_input = stage
                            .inputs
                            .iter()
                            .find(|t| spec.inputs.iter().any(|i| i.name() == *t))
                            .cloned();
                    }
                }
            }
            for output in &stage.outputs {
                reads.insert(output, (audio, text));
            }
        }
        groups
    }

    /// The outputs of the stages `group` that the joint stages read.
    pub(crate) fn handoff(&self, stages: &[Stage], group: &[usize]) -> Vec<String> {
        let mut names = Vec::new();
        for &s in group {
            for output in &stages[s].outputs {
                let read = self
                    .joint
                    .iter()
                    .any(|&j| stages[j].inputs.contains(output));
                if read && !names.contains(output) {
                    names.push(output.clone());
                }
            }
        }
        names
    }

    /// Whether the audio and text encoders can run apart from each other and from the fusion
    /// (so that each runs once per distinct mask of its own modality); otherwise why not.
    pub(crate) fn separable(&self) -> std::result::Result<(), String> {
        if self.audio.is_empty() && self.text.is_empty() {
            return Err("the model is one graph (or its stages all read both modalities), so the audio and the lyrics meet inside it; split it into an audio encoder, a text encoder and a fusion head with `stages:`".into());
        }
        if self.audio.is_empty() {
            return Err("no stage reads only the audio (an audio encoder)".into());
        }
        if self.text.is_empty() {
            return Err("no stage reads only the lyrics (a text encoder)".into());
        }
        if self.joint.is_empty() {
            return Err("no stage fuses the encoders' outputs".into());
        }
        if let Some(input) = &self.joint_reads_input {
            return Err(format!(
                "a fusion stage reads the model input `{input}` directly, so it cannot reuse the encoders' outputs"
            ));
        }
        Ok(())
    }
}

impl OnnxModel {
    /// Runs the stages `stage_ids` (in order) on `inputs` (every tensor with the same number of
    /// items along its first axis), at most `max_batch` items per ONNX Runtime run; returns the
    /// tensors named in `wanted`, whole.
    pub(crate) fn run_stages(
        &self,
        stage_ids: &[usize],
        inputs: Vec<NamedTensor>,
        wanted: &[&str],
        max_batch: usize,
    ) -> Result<HashMap<String, NamedTensor>> {
        let items = inputs.first().map_or(0, |t| t.shape[0]);
        if let Some(t) = inputs.iter().find(|t| t.shape[0] != items) {
            return Err(Error::Internal(format!(
                "tensor `{}` has {} items, others {items}",
                t.name, t.shape[0]
            )));
        }
        let mut parts: Vec<HashMap<String, NamedTensor>> = Vec::new();
        for start in (0..items).step_by(max_batch.max(1)) {
            let end = (start + max_batch).min(items);
            self.largest_run
                .fetch_max((end - start) as u64, std::sync::atomic::Ordering::Relaxed);
            let chunk = if start == 0 && end == items {
                inputs.clone()
            } else {
                inputs.iter().map(|t| rows_of(t, start, end)).collect()
            };
            parts.push(self.run_chunk(stage_ids, chunk, wanted)?);
        }
        let mut out = HashMap::new();
        for name in wanted {
            let pieces: Vec<NamedTensor> =
                parts.iter_mut().filter_map(|p| p.remove(*name)).collect();
            if pieces.len() == parts.len() && !pieces.is_empty() {
                out.insert(
                    name.to_string(),
                    concat_items(pieces, self.batch_axis(name))?,
                );
            }
        }
        Ok(out)
    }

    /// Whether the audio encoder of a split model reads patches (`patching` on a model with
    /// an audio encoder, a text encoder and a fusion): it then runs on every patch, and what it
    /// hands to the fusion is reduced over each clip's patches (`patching.reduce`).
    pub(crate) fn encodes_patches(&self) -> bool {
        self.patching.is_some() && self.groups.separable().is_ok()
    }

    /// The naive path of a model that [encodes patches](Self::encodes_patches): `inputs` hold
    /// the audio of `rows` clips cut into `patches` items each and the token tensors of the
    /// `rows` clips; the audio stages run per patch, their hand-off is reduced per clip, and
    /// the text stages and the fusion run per clip. Returns the tensors named in `wanted`.
    pub(crate) fn run_patched_split(
        &self,
        inputs: Vec<NamedTensor>,
        patches: usize,
        wanted: &[&str],
        max_batch: usize,
    ) -> Result<HashMap<String, NamedTensor>> {
        let audio_input = self.audio.as_ref().map(|f| f.name().to_string());
        let (audio_inputs, text_inputs): (Vec<_>, Vec<_>) = inputs
            .into_iter()
            .partition(|t| Some(&t.name) == audio_input.as_ref());
        let rows = audio_inputs
            .first()
            .map_or(0, |t| t.shape[0] / patches.max(1));
        let by_text: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|w| {
                self.groups
                    .text
                    .iter()
                    .any(|&s| self.stages[s].outputs.iter().any(|o| o == w))
            })
            .collect();
        let by_fusion: Vec<&str> = wanted
            .iter()
            .copied()
            .filter(|w| !by_text.contains(w))
            .collect();
        let text_handoff = self.groups.handoff(&self.stages, &self.groups.text);
        let mut text_wanted: Vec<&str> = by_text.clone();
        if !by_fusion.is_empty() {
            text_wanted.extend(text_handoff.iter().map(String::as_str));
        }
        let mut text_out =
            self.run_stages(&self.groups.text, text_inputs, &text_wanted, max_batch)?;
        let mut out = HashMap::new();
        if !by_fusion.is_empty() {
            let clips: Vec<Vec<usize>> = (0..rows)
                .map(|r| (r * patches..(r + 1) * patches).collect())
                .collect();
            let audio_handoff = self.groups.handoff(&self.stages, &self.groups.audio);
            let names: Vec<&str> = audio_handoff.iter().map(String::as_str).collect();
            let encoded = self.run_stages(&self.groups.audio, audio_inputs, &names, max_batch)?;
            let reduce = self.patching.map(|(p, _)| p.reduce).unwrap_or_default();
            let mut fusion_inputs = Vec::new();
            for name in &names {
                let tensor = encoded.get(*name).ok_or_else(|| {
                    Error::Internal(format!("audio encoder output `{name}` was not produced"))
                })?;
                fusion_inputs.push(reduce_items(tensor, &clips, reduce)?);
            }
            for name in &text_handoff {
                let tensor = text_out.get(name).ok_or_else(|| {
                    Error::Internal(format!("text encoder output `{name}` was not produced"))
                })?;
                fusion_inputs.push(tensor.clone());
            }
            out = self.run_stages(&self.groups.joint, fusion_inputs, &by_fusion, max_batch)?;
        }
        for name in by_text {
            if let Some(t) = text_out.remove(name) {
                out.insert(name.to_string(), t);
            }
        }
        Ok(out)
    }

    /// The batch axis of an output: its attention layout's `batch` axis, else the first.
    fn batch_axis(&self, output: &str) -> usize {
        self.spec
            .outputs
            .attention
            .iter()
            .find(|a| a.name == output)
            .and_then(|a| a.layout.iter().position(|x| x == "batch"))
            .unwrap_or(0)
    }

    /// For each of `stage_ids`, the outputs it must produce so that `wanted` is computed: those
    /// wanted, or read by a later stage that itself runs (a stage with none is skipped, e.g.
    /// an attention graph when only scores are wanted).
    fn needed_outputs(&self, stage_ids: &[usize], wanted: &[&str]) -> Vec<Vec<String>> {
        let mut live: std::collections::HashSet<&str> = wanted.iter().copied().collect();
        let mut needed = vec![Vec::new(); stage_ids.len()];
        for (position, &s) in stage_ids.iter().enumerate().rev() {
            let stage = &self.stages[s];
            needed[position] = stage
                .outputs
                .iter()
                .filter(|o| live.contains(o.as_str()))
                .cloned()
                .collect();
            if !needed[position].is_empty() {
                live.extend(stage.inputs.iter().map(String::as_str));
            }
        }
        needed
    }

    /// One ONNX Runtime run per stage on one chunk of items.
    fn run_chunk(
        &self,
        stage_ids: &[usize],
        inputs: Vec<NamedTensor>,
        wanted: &[&str],
    ) -> Result<HashMap<String, NamedTensor>> {
        let mut values: HashMap<String, NamedTensor> =
            inputs.into_iter().map(|t| (t.name.clone(), t)).collect();
        let needed_by_stage = self.needed_outputs(stage_ids, wanted);
        for (&s, needed) in stage_ids.iter().zip(&needed_by_stage) {
            let stage = &self.stages[s];
            if needed.is_empty() {
                continue;
            }
            let mut feeds: Vec<(String, ort::session::SessionInputValue<'static>)> = Vec::new();
            for input in &stage.inputs {
                let tensor = values.get(input).ok_or_else(|| {
                    Error::Internal(format!(
                        "tensor `{input}` was not computed before {}",
                        stage.path.display()
                    ))
                })?;
                feeds.push((input.clone(), to_ort(stage, tensor)?));
            }
            let fail = |e: &dyn std::fmt::Display| {
                Error::in_file(
                    &stage.path,
                    format!("ONNX Runtime failed to run the model: {e}"),
                )
            };
            let selector = needed
                .iter()
                .fold(OutputSelector::no_default(), |s, o| s.with(o.as_str()));
            let options = RunOptions::new()
                .map_err(|e| fail(&e))?
                .with_outputs(selector);
            let mut session = stage
                .session
                .lock()
                .map_err(|_| Error::Internal("an earlier model call panicked".into()))?;
            let outputs = session
                .run_with_options(feeds, &options)
                .map_err(|e| fail(&e))?;
            for name in needed {
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
}

/// The items of `tensor` (along its first axis) reduced group by group (`reduce`): one output
/// item per group of item indices, e.g. an audio encoder's per-patch outputs per clip.
pub(crate) fn reduce_items(
    tensor: &NamedTensor,
    groups: &[Vec<usize>],
    reduce: PatchReduce,
) -> Result<NamedTensor> {
    let TensorData::F32(values) = &tensor.data else {
        return Err(Error::input(
            &tensor.name,
            "is int64, but an audio encoder's per-patch outputs are averaged over patches; it must be float32",
        ));
    };
    let width: usize = tensor.shape[1..].iter().product();
    let mut out = Vec::with_capacity(groups.len() * width);
    for group in groups {
        let items = group.iter().map(|&i| &values[i * width..(i + 1) * width]);
        let mut acc = match reduce {
            PatchReduce::Mean => vec![0.0f64; width],
            PatchReduce::Max => vec![f64::NEG_INFINITY; width],
        };
        for item in items {
            for (a, &v) in acc.iter_mut().zip(item) {
                match reduce {
                    PatchReduce::Mean => *a += f64::from(v),
                    PatchReduce::Max => *a = a.max(f64::from(v)),
                }
            }
        }
        let n = group.len().max(1) as f64;
        out.extend(acc.into_iter().map(|a| match reduce {
            PatchReduce::Mean => (a / n) as f32,
            PatchReduce::Max => a as f32,
        }));
    }
    Ok(NamedTensor {
        name: tensor.name.clone(),
        shape: std::iter::once(groups.len())
            .chain(tensor.shape[1..].iter().copied())
            .collect(),
        data: TensorData::F32(out),
    })
}

/// Items `[start, end)` of a tensor (along its first axis).
pub(crate) fn rows_of(tensor: &NamedTensor, start: usize, end: usize) -> NamedTensor {
    let width: usize = tensor.shape[1..].iter().product();
    let mut shape = tensor.shape.clone();
    shape[0] = end - start;
    let data = match &tensor.data {
        TensorData::F32(v) => TensorData::F32(v[start * width..end * width].to_vec()),
        TensorData::I64(v) => TensorData::I64(v[start * width..end * width].to_vec()),
    };
    NamedTensor {
        name: tensor.name.clone(),
        shape,
        data,
    }
}

/// Tensors of consecutive chunks of items joined along `axis`.
fn concat_items(mut pieces: Vec<NamedTensor>, axis: usize) -> Result<NamedTensor> {
    if pieces.len() == 1 {
        return pieces
            .pop()
            .ok_or_else(|| Error::Internal("no pieces to join".into()));
    }
    let first = &pieces[0];
    let (name, rank) = (first.name.clone(), first.shape.len());
    if axis >= rank
        || pieces.iter().any(|p| {
            p.shape.len() != rank
                || p.shape
                    .iter()
                    .zip(&first.shape)
                    .enumerate()
                    .any(|(a, (x, y))| a != axis && x != y)
        })
    {
        return Err(Error::Internal(format!(
            "output `{name}` has chunk shapes that cannot be joined"
        )));
    }
    let outer: usize = first.shape[..axis].iter().product();
    let total: usize = pieces.iter().map(|p| p.shape[axis]).sum();
    let mut shape = first.shape.clone();
    shape[axis] = total;
    let data = match &first.data {
        TensorData::F32(_) => TensorData::F32(interleave(&pieces, outer, |t| match &t.data {
            TensorData::F32(v) => Some(v.as_slice()),
            TensorData::I64(_) => None,
        })?),
        TensorData::I64(_) => TensorData::I64(interleave(&pieces, outer, |t| match &t.data {
            TensorData::I64(v) => Some(v.as_slice()),
            TensorData::F32(_) => None,
        })?),
    };
    Ok(NamedTensor { name, shape, data })
}

/// For each of `outer` blocks, every piece's part of that block in turn.
fn interleave<T: Copy>(
    pieces: &[NamedTensor],
    outer: usize,
    values: impl Fn(&NamedTensor) -> Option<&[T]>,
) -> Result<Vec<T>> {
    let slices: Vec<(&[T], usize)> = pieces
        .iter()
        .map(|p| {
            values(p)
                .map(|v| (v, p.shape.iter().product::<usize>() / outer.max(1)))
                .ok_or_else(|| Error::Internal(format!("output `{}` changed type", p.name)))
        })
        .collect::<Result<_>>()?;
    let mut out = Vec::with_capacity(slices.iter().map(|(v, _)| v.len()).sum());
    for o in 0..outer {
        for (v, block) in &slices {
            out.extend_from_slice(&v[o * block..(o + 1) * block]);
        }
    }
    Ok(out)
}

/// Converts a tensor to the element type the graph declares, checking fixed dimensions.
fn to_ort(stage: &Stage, tensor: &NamedTensor) -> Result<ort::session::SessionInputValue<'static>> {
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
    let fail = |e: ort::Error| Error::Internal(format!("building tensor `{}`: {e}", tensor.name));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(shape: Vec<usize>, values: Vec<f32>) -> NamedTensor {
        NamedTensor {
            name: "t".into(),
            shape,
            data: TensorData::F32(values),
        }
    }

    #[test]
    fn chunks_join_back_along_the_batch_axis_wherever_it_is() {
        // [batch = 3, 2]
        let whole = tensor(vec![3, 2], vec![0., 1., 2., 3., 4., 5.]);
        let parts = vec![rows_of(&whole, 0, 2), rows_of(&whole, 2, 3)];
        assert_eq!(concat_items(parts, 0).unwrap(), whole);
        // [layers = 2, batch = 3, key = 2]: value = 100 l + 10 b + k
        let values = |batches: std::ops::Range<usize>| -> Vec<f32> {
            let mut v = Vec::new();
            for l in 0..2 {
                for b in batches.clone() {
                    for k in 0..2 {
                        v.push((100 * l + 10 * b + k) as f32);
                    }
                }
            }
            v
        };
        let parts = vec![
            tensor(vec![2, 2, 2], values(0..2)),
            tensor(vec![2, 1, 2], values(2..3)),
        ];
        assert_eq!(
            concat_items(parts, 1).unwrap(),
            tensor(vec![2, 3, 2], values(0..3))
        );
    }
}
