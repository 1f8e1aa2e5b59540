//! From the score output to class scores: shape and finiteness checks, the activation
//! (softmax of logits, sigmoid of tag logits) per item, the reduction of a clip's patches, and
//! the check of the declared semantics.

use std::collections::HashMap;
use std::path::Path;

use ndarray::Array2;

use super::spec::{Activation, PatchReduce, PatchingSpec, ScoreKind};
use super::{NamedTensor, OnnxModel, TensorData};
use crate::error::{Error, Result};
use crate::model::{validate_probabilities, validate_tag_scores};

impl OnnxModel {
    /// The activated scores of `items` model items (clips × patches) from the score output;
    /// item `i` belongs to sample `first_row + i / patches` (for messages).
    pub(crate) fn activated_scores(
        &self,
        outputs: &HashMap<String, NamedTensor>,
        items: usize,
        first_row: usize,
        patches: usize,
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
        if tensor.shape != [items, classes] {
            let what = if patches > 1 {
                format!(
                    "a batch of {} clips × {patches} patches",
                    items / patches.max(1)
                )
            } else {
                format!("a batch of {items}")
            };
            return Err(in_spec(format!(
                "`{key}` output `{name}` has shape {:?} for {what}; model.yaml lists {classes} classes, so [{items}, {classes}] was expected",
                tensor.shape
            )));
        }
        let mut scores =
            Array2::from_shape_fn((items, classes), |(r, c)| data[r * classes + c] as f64);
        if let Some((r, c)) = scores
            .indexed_iter()
            .find(|(_, v)| !v.is_finite())
            .map(|(i, _)| i)
        {
            let (clip, patch) = (first_row + r / patches.max(1), r % patches.max(1));
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
        Ok(scores)
    }

    /// One row per clip from `patches` consecutive item rows per clip, checked against the
    /// declared semantics (probabilities sum to 1, tag scores lie in [0, 1]).
    pub(crate) fn reduce_and_check(
        &self,
        scores: Array2<f64>,
        patches: usize,
        first_row: usize,
    ) -> Result<Array2<f64>> {
        let scores = match self.patching {
            Some((patching, _)) if patches > 1 => reduce_patches(&scores, patches, patching),
            _ => scores,
        };
        let (name, kind) = self.spec.score_output();
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

#[cfg(test)]
mod tests {
    use super::*;

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
