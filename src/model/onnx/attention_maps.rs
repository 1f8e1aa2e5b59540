//! Attention outputs of an ONNX model, reduced per instance (see [`AttentionMap`]).

use std::path::Path;

use super::{OnnxModel, TensorData};
use crate::error::{Error, Result};
use crate::features::Modality;
use crate::model::attention::{self, AttentionMap};
use crate::model::ModelInput;

impl OnnxModel {
    /// Attention maps of each input (see [`AttentionMap`]); rollout only when `rollout` is
    /// asked for.
    pub fn attention(&self, batch: &[ModelInput], rollout: bool) -> Result<Vec<Vec<AttentionMap>>> {
        let wanted: Vec<&str> = self
            .spec
            .outputs
            .attention
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        let all: Vec<usize> = (0..self.stages.len()).collect();
        let outputs = self.run_stages(
            &all,
            self.inputs_for_batch(batch)?.0,
            &wanted,
            self.max_batch(None),
        )?;
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
            let tensor = outputs.get(&spec.name).ok_or_else(|| {
                Error::in_file(
                    Path::new(&self.name),
                    format!("attention output `{}` was not produced", spec.name),
                )
            })?;
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
                let (first_token, rollout) =
                    attention::reduce(&tensor.shape, data, &axes, b, rollout)?;
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
