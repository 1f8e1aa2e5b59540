//! Input tensors: audio features (whole clips, or cut into patches) and token tensors.

use rayon::prelude::*;

use super::spec::{InputSpec, PatchingSpec};
use super::text::TokenRow;
use super::{NamedTensor, OnnxModel, TensorData};
use crate::error::{Error, Result};
use crate::model::ModelInput;

/// The patches of one clip's audio features: where each starts along the time axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatchLayout {
    /// The time axis of one instance's features.
    pub axis: usize,
    /// Shape of one instance's (whole-clip) features.
    pub dims: Vec<usize>,
    /// Frames per patch.
    pub frames: usize,
    /// First frame of each patch.
    pub starts: Vec<usize>,
}

impl PatchLayout {
    /// The layout for whole-clip features of shape `dims`, or an error when they are shorter
    /// than one patch.
    pub fn new(patching: PatchingSpec, axis: usize, dims: &[usize], input: &str) -> Result<Self> {
        let total = dims.get(axis).copied().unwrap_or(0);
        if total < patching.frames {
            return Err(Error::Internal(format!(
                "input `{input}` has {total} frames, fewer than one patch of {}",
                patching.frames
            )));
        }
        Ok(PatchLayout {
            axis,
            dims: dims.to_vec(),
            frames: patching.frames,
            starts: patching.starts(total),
        })
    }

    /// Number of patches per clip.
    pub fn patches(&self) -> usize {
        self.starts.len()
    }

    /// Values per patch.
    pub(crate) fn patch_len(&self) -> usize {
        self.dims.iter().product::<usize>() / self.dims[self.axis] * self.frames
    }

    /// Shape of one patch.
    pub(crate) fn patch_dims(&self) -> Vec<usize> {
        let mut dims = self.dims.clone();
        dims[self.axis] = self.frames;
        dims
    }

    /// Appends patch `p` of one clip's features `row` to `out`.
    pub fn cut(&self, row: &[f32], p: usize, out: &mut Vec<f32>) {
        cut_patches(
            row,
            &self.dims,
            self.axis,
            &self.starts[p..p + 1],
            self.frames,
            out,
        );
    }
}

impl OnnxModel {
    /// The audio input tensor of `features` (one clip's features and shape per item).
    pub(crate) fn audio_tensor(
        &self,
        features: Vec<(Vec<f32>, Vec<usize>)>,
    ) -> Result<NamedTensor> {
        let frontend = self
            .audio
            .as_ref()
            .ok_or_else(|| Error::Internal("the model has no audio input".into()))?;
        let shape = features.first().map(|f| f.1.clone()).unwrap_or_default();
        if let Some((_, other)) = features.iter().find(|f| f.1 != shape) {
            return Err(Error::input(
                &self.name,
                format!("input `{}` has shape {shape:?} for one clip and {other:?} for another; set `seconds` so every clip has the same length", frontend.name()),
            ));
        }
        let items = features.len();
        let mut data = Vec::with_capacity(items * shape.iter().product::<usize>());
        for (f, _) in features {
            data.extend(f);
        }
        Ok(NamedTensor {
            name: frontend.name().to_string(),
            shape: std::iter::once(items).chain(shape).collect(),
            data: TensorData::F32(data),
        })
    }

    /// The token inputs (ids, and the attention masks and word ids derived from them) of
    /// `texts`, one item per text.
    pub(crate) fn token_tensors(&self, texts: &[String]) -> Result<Vec<NamedTensor>> {
        let mut tensors = Vec::new();
        let items = texts.len();
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
                shape: vec![items, len],
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
        Ok(tensors)
    }

    /// The patches of whole-clip features of shape `dims`, when the model is patched.
    pub(crate) fn patch_layout(&self, dims: &[usize]) -> Result<Option<PatchLayout>> {
        let (Some((patching, axis)), Some(frontend)) = (self.patching, &self.audio) else {
            return Ok(None);
        };
        PatchLayout::new(patching, axis, dims, frontend.name()).map(Some)
    }

    /// The inputs of whole clips (the naive path), and the patches per clip: with patching,
    /// every clip's audio becomes that many consecutive items (and its tokens too, unless the
    /// model [encodes patches](OnnxModel::encodes_patches) in a split audio encoder).
    pub(crate) fn inputs_for_batch(
        &self,
        batch: &[ModelInput],
    ) -> Result<(Vec<NamedTensor>, usize)> {
        let mut tensors = Vec::new();
        let mut layout = None;
        if let Some(frontend) = &self.audio {
            let features = batch
                .par_iter()
                .map(|input| {
                    let features =
                        frontend.features(&input.audio, input.sample_rate, &self.name)?;
                    let len = frontend.fitted_len(input.audio.len(), input.sample_rate);
                    Ok((features, frontend.shape(len)))
                })
                .collect::<Result<Vec<_>>>()?;
            let audio = self.audio_tensor(features)?;
            layout = match batch.is_empty() {
                true => None,
                false => self.patch_layout(&audio.shape[1..])?,
            };
            tensors.push(match &layout {
                Some(layout) => patched_audio(&audio, layout)?,
                None => audio,
            });
        }
        if !self.text.is_empty() {
            let texts: Vec<String> = batch.iter().map(|i| i.lyrics.clone()).collect();
            // Token tensors go with every patch, unless only the audio encoder reads patches.
            let patches = match self.encodes_patches() {
                true => 1,
                false => layout.as_ref().map_or(1, PatchLayout::patches),
            };
            for t in self.token_tensors(&texts)? {
                tensors.push(repeat_items(&t, patches));
            }
        }
        Ok((tensors, layout.as_ref().map_or(1, PatchLayout::patches)))
    }

    /// A note for the user when a clip of `len` samples at `rate` is shorter than one patch and
    /// is padded with silence.
    pub(crate) fn padding_note(&self, len: usize, rate: u32) -> Option<String> {
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

    /// A note when the audio input holds less than `len` samples at `rate` (a fixed number of
    /// frames or seconds) and model.yaml declares no `window_seconds` that would say so (the
    /// rest of the clip cannot change the output), or when a declared window disagrees with
    /// what the input holds by more than 50 ms.
    pub(crate) fn cropping_note(&self, len: usize, rate: u32) -> Option<String> {
        let frontend = self.audio.as_ref()?;
        if self.patching.is_some() {
            return None;
        }
        let reads = frontend.reads_samples()? as f64 / frontend.sample_rate() as f64;
        if let Some(declared) = self.spec.window_seconds {
            return ((declared - reads).abs() > 0.05).then(|| {
                format!(
                    "{}: model.yaml declares `window_seconds: {declared}`, but input `{}` holds {reads:.3} s of audio; the explained window should be what the model reads",
                    self.name,
                    frontend.name()
                )
            });
        }
        let natural = frontend.resampled_len(len, rate) as f64 / frontend.sample_rate() as f64;
        (natural > reads).then(|| {
            format!(
                "{}: input `{}` holds the first {reads:.2} s of audio, the clip is {natural:.2} s: the rest cannot change the output, so its segments' weights are noise; declare `window_seconds: {reads:.3}` in model.yaml to explain the part the model reads (or cut the clips)",
                self.name,
                frontend.name(),
            )
        })
    }
}

/// The audio tensor with every clip cut into its patches (consecutive items).
fn patched_audio(audio: &NamedTensor, layout: &PatchLayout) -> Result<NamedTensor> {
    let TensorData::F32(data) = &audio.data else {
        return Err(Error::Internal(format!(
            "input `{}` is not float32",
            audio.name
        )));
    };
    let per_row: usize = layout.dims.iter().product();
    let rows = audio.shape[0];
    let mut out = Vec::with_capacity(rows * layout.patches() * layout.patch_len());
    for row in data.chunks_exact(per_row.max(1)) {
        for p in 0..layout.patches() {
            layout.cut(row, p, &mut out);
        }
    }
    Ok(NamedTensor {
        name: audio.name.clone(),
        shape: std::iter::once(rows * layout.patches())
            .chain(layout.patch_dims())
            .collect(),
        data: TensorData::F32(out),
    })
}

/// Each item of `tensor` repeated `times` times (so it goes with every patch of its clip).
pub(crate) fn repeat_items(tensor: &NamedTensor, times: usize) -> NamedTensor {
    if times == 1 {
        return tensor.clone();
    }
    let width: usize = tensor.shape[1..].iter().product();
    let mut shape = tensor.shape.clone();
    shape[0] *= times;
    let data = match &tensor.data {
        TensorData::I64(v) => TensorData::I64(repeat_rows(v, width, times)),
        TensorData::F32(v) => TensorData::F32(repeat_rows(v, width, times)),
    };
    NamedTensor {
        name: tensor.name.clone(),
        shape,
        data,
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

/// Each row of `width` values repeated `times` times.
fn repeat_rows<T: Copy>(values: &[T], width: usize, times: usize) -> Vec<T> {
    values
        .chunks_exact(width.max(1))
        .flat_map(|row| std::iter::repeat_n(row, times).flatten().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_cover_every_frame_with_the_last_aligned_to_the_end() {
        let p = PatchingSpec {
            frames: 4,
            hop: Some(3),
            reduce: super::super::spec::PatchReduce::Mean,
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
    fn one_patch_at_a_time_equals_all_patches_at_once() {
        let p = PatchingSpec {
            frames: 2,
            hop: None,
            reduce: super::super::spec::PatchReduce::Mean,
        };
        let layout = PatchLayout::new(p, 1, &[2, 5], "x").unwrap();
        assert_eq!(layout.starts, vec![0, 2, 3]);
        let row: Vec<f32> = (0..10).map(|v| v as f32).collect();
        let mut each = Vec::new();
        for q in 0..layout.patches() {
            layout.cut(&row, q, &mut each);
        }
        let mut all = Vec::new();
        cut_patches(&row, &[2, 5], 1, &layout.starts, 2, &mut all);
        assert_eq!(each, all);
        assert_eq!(layout.patch_len(), 4);
        assert_eq!(layout.patch_dims(), vec![2, 2]);
    }
}
