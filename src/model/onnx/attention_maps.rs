//! Attention outputs of an ONNX model, reduced per instance (see [`AttentionMap`]), with what
//! their keys stand for: `keys:` of the spec (leading special tokens; for audio, a
//! `[frequency, time]` patch grid whose time columns cover known input frames).

use std::path::Path;

use super::spec::{AttentionKeys, AttentionSpec, GridOrder};
use super::{OnnxModel, TensorData};
use crate::error::{Error, Result};
use crate::features::Modality;
use crate::model::attention::{self, AttentionMap};
use crate::model::ModelInput;

impl OnnxModel {
    /// Attention maps of each input (see [`AttentionMap`]); rollout only when `rollout` is
    /// asked for. An output whose key count differs from what its `keys:` describes is refused
    /// (naming `outputs.attention.<name>.keys`) before any map is reduced.
    pub fn attention(&self, batch: &[ModelInput], rollout: bool) -> Result<Vec<Vec<AttentionMap>>> {
        let wanted: Vec<&str> = self
            .spec
            .outputs
            .attention
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        let (inputs, patches) = self.inputs_for_batch(batch)?;
        let outputs = match self.encodes_patches() {
            true => self.run_patched_split(inputs, patches, &wanted, self.max_batch(None))?,
            false => {
                let all: Vec<usize> = (0..self.stages.len()).collect();
                self.run_stages(&all, inputs, &wanted, self.max_batch(None))?
            }
        };
        let token_offsets: Vec<Option<Vec<(usize, usize)>>> = batch
            .iter()
            .map(|input| {
                self.text
                    .first()
                    .map(|(_, encoder)| encoder.encode(&input.lyrics).map(|r| r.offsets))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        let model_yaml = Path::new(&self.name);
        let mut maps = vec![Vec::new(); batch.len()];
        for spec in &self.spec.outputs.attention {
            let tensor = outputs.get(&spec.name).ok_or_else(|| {
                Error::in_file(
                    model_yaml,
                    format!("attention output `{}` was not produced", spec.name),
                )
            })?;
            let TensorData::F32(data) = &tensor.data else {
                return Err(Error::in_file(
                    model_yaml,
                    format!("attention output `{}` must be float32", spec.name),
                ));
            };
            let axes = attention_axes(spec);
            let batch_axis = axes.iter().position(|a| *a == "batch").unwrap_or(0);
            if tensor.shape.len() != axes.len() || tensor.shape[batch_axis] != batch.len() {
                return Err(Error::in_file(
                    model_yaml,
                    format!("attention output `{}` has shape {:?} for a batch of {}; its layout {:?} (batch first unless listed) does not fit", spec.name, tensor.shape, batch.len(), spec.layout),
                ));
            }
            let key_axis = axes.iter().position(|a| *a == "key").unwrap_or(0);
            check_key_count(
                model_yaml,
                spec,
                tensor.shape[key_axis],
                &format!("the model returned {:?}", tensor.shape),
            )?;
            let key_spans = self.key_spans(spec)?;
            for (b, map) in maps.iter_mut().enumerate() {
                let (first_token, rollout) =
                    attention::reduce(&tensor.shape, data, &axes, b, rollout)?;
                let (token_offsets, key_seconds) = match spec.modality {
                    Modality::Lyrics => (token_offsets[b].clone(), None),
                    _ => (None, self.input_seconds(&batch[b])),
                };
                map.push(AttentionMap {
                    name: spec.name.clone(),
                    modality: spec.modality,
                    first_token,
                    rollout,
                    token_offsets,
                    key_seconds,
                    special: spec.keys.as_ref().map_or(0, |k| k.special),
                    key_spans: key_spans.clone(),
                });
            }
        }
        Ok(maps)
    }

    /// The duration in seconds of the audio input the model reads for `input` (resampled,
    /// padded or cropped); `None` for a model without audio input.
    fn input_seconds(&self, input: &ModelInput) -> Option<f64> {
        self.audio.as_ref().map(|f| {
            f.fitted_len(input.audio.len(), input.sample_rate) as f64 / f.sample_rate() as f64
        })
    }

    /// Each patch key's time span for an audio output with a `keys.grid` (see
    /// [`grid_key_spans`]); `None` without a grid or without an audio input.
    fn key_spans(&self, spec: &AttentionSpec) -> Result<Option<Vec<(f64, f64)>>> {
        let (Some(keys), Some(frontend)) = (&spec.keys, &self.audio) else {
            return Ok(None);
        };
        if keys.grid.is_none() || spec.modality != Modality::Audio {
            return Ok(None);
        }
        Ok(grid_key_spans(
            keys,
            frontend.frame_hop() as f64 / f64::from(frontend.sample_rate()),
        ))
    }
}

/// The axes of an attention output: its `layout`, with `batch` put first unless listed.
pub(super) fn attention_axes(spec: &AttentionSpec) -> Vec<&str> {
    let explicit_batch = spec.layout.iter().any(|a| a == "batch");
    let batch = (!explicit_batch).then_some("batch");
    batch
        .into_iter()
        .chain(spec.layout.iter().map(String::as_str))
        .collect()
}

/// Checks that an attention output with `found` keys fits its `keys:`: `special + F·T` keys
/// for a `grid: [F, T]`, else more than `special` keys. `found_in` says where the count comes
/// from (the graph's declared shape, or a model run). Errors name `model_yaml` and
/// `outputs.attention.<name>.keys`.
pub(super) fn check_key_count(
    model_yaml: &Path,
    spec: &AttentionSpec,
    found: usize,
    found_in: &str,
) -> Result<()> {
    let Some(keys) = &spec.keys else {
        return Ok(());
    };
    let key = format!("outputs.attention.{}.keys", spec.name);
    match keys.grid {
        Some([f, t]) if keys.special + f * t != found => Err(Error::in_file(
            model_yaml,
            format!(
                "`{key}`: {} special keys and a {f} × {t} grid make {} keys, but output `{}` has {found} keys ({found_in}); fix `special` or `grid` (special + frequency × time must equal the key count)",
                keys.special,
                keys.special + f * t,
                spec.name
            ),
        )),
        None if keys.special >= found => Err(Error::in_file(
            model_yaml,
            format!(
                "`{key}`: {} special keys leave none of the {found} keys of output `{}` ({found_in}); `special` counts only the leading keys that stand for no input position",
                keys.special, spec.name
            ),
        )),
        _ => Ok(()),
    }
}

/// The time span `[start, end)` in seconds of each patch key of a `grid` (in key order, after
/// the `special` keys): key `(f, t)` covers input frames
/// `[t·patch_stride, t·patch_stride + patch_frames)`, and input frame `i` stands for
/// `[i, i + 1) · frame_seconds` (the hop between frame starts). `None` without a grid.
pub(crate) fn grid_key_spans(keys: &AttentionKeys, frame_seconds: f64) -> Option<Vec<(f64, f64)>> {
    let [frequency, time] = keys.grid?;
    let (frames, stride) = (keys.patch_frames?, keys.patch_stride?);
    let span = |t: usize| {
        let first = (t * stride) as f64;
        (
            first * frame_seconds,
            (first + frames as f64) * frame_seconds,
        )
    };
    let column = |k: usize| match keys.order {
        GridOrder::FrequencyMajor => k % time,
        GridOrder::TimeMajor => k / frequency,
    };
    Some((0..frequency * time).map(|k| span(column(k))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(order: GridOrder) -> AttentionKeys {
        AttentionKeys {
            special: 2,
            grid: Some([2, 3]),
            order,
            patch_frames: Some(4),
            patch_stride: Some(2),
        }
    }

    #[test]
    fn grid_keys_cover_their_time_column_in_either_order() {
        let frame = 0.5;
        let column = |t: usize| ((2 * t) as f64 * frame, (2 * t + 4) as f64 * frame);
        // frequency-major: keys (f, t) in order (0,0) (0,1) (0,2) (1,0) (1,1) (1,2)
        let got = grid_key_spans(&keys(GridOrder::FrequencyMajor), frame).unwrap();
        let want: Vec<_> = [0, 1, 2, 0, 1, 2].into_iter().map(column).collect();
        assert_eq!(got, want);
        // time-major: (0,0) (1,0) (0,1) (1,1) (0,2) (1,2)
        let got = grid_key_spans(&keys(GridOrder::TimeMajor), frame).unwrap();
        let want: Vec<_> = [0, 0, 1, 1, 2, 2].into_iter().map(column).collect();
        assert_eq!(got, want);
    }
}
