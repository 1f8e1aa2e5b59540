//! Attention maps a model exposes, reduced to one weight per key: the last layer's first-query
//! row averaged over heads, and attention rollout (Abnar & Zuidema 2020) when the maps are
//! square.

use crate::error::{Error, Result};
use crate::features::Modality;

/// One attention output of one instance, reduced to per-key weights.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionMap {
    /// The output name.
    pub name: String,
    /// What the keys index: audio frames or patches (uniform over the model's input
    /// duration), or lyric tokens.
    pub modality: Modality,
    /// The last layer's attention from the first query (the CLS token, or the only query),
    /// averaged over heads: one weight per key.
    pub first_token: Vec<f64>,
    /// The first row of the attention rollout over layers, when the maps are square
    /// (`query == key`); `None` otherwise.
    pub rollout: Option<Vec<f64>>,
    /// For lyric keys: each token's byte range in the lyrics text (`(0, 0)` for special and
    /// padding tokens).
    pub token_offsets: Option<Vec<(usize, usize)>>,
    /// For audio keys: the duration in seconds the keys span.
    pub key_seconds: Option<f64>,
}

/// Reduces instance `b` of an attention tensor (`shape`, C-order `data`) whose axes are named by
/// `axes` (`batch`, `layers`, `heads`, `query`, `key`; missing ones count as size 1).
pub fn reduce(
    shape: &[usize],
    data: &[f32],
    axes: &[&str],
    b: usize,
    rollout: bool,
) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
    if shape.len() != axes.len() {
        return Err(Error::Internal(format!(
            "attention shape {shape:?} does not match axes {axes:?}"
        )));
    }
    let mut strides = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    let dim = |name: &str| {
        axes.iter()
            .position(|a| *a == name)
            .map(|i| (shape[i], strides[i]))
    };
    let (layers, layer_stride) = dim("layers").unwrap_or((1, 0));
    let (heads, head_stride) = dim("heads").unwrap_or((1, 0));
    let (queries, query_stride) = dim("query").unwrap_or((1, 0));
    let (keys, key_stride) = dim("key").ok_or_else(|| Error::Internal("no key axis".into()))?;
    let batch_offset = dim("batch").map_or(0, |(_, s)| b * s);
    let at = |l: usize, h: usize, q: usize, k: usize| {
        data[batch_offset + l * layer_stride + h * head_stride + q * query_stride + k * key_stride]
            as f64
    };
    // Head-averaged map of layer l, row q.
    let row = |l: usize, q: usize| -> Vec<f64> {
        (0..keys)
            .map(|k| (0..heads).map(|h| at(l, h, q, k)).sum::<f64>() / heads as f64)
            .collect()
    };
    let first_token = row(layers - 1, 0);
    let rollout = (rollout && queries == keys && keys > 0).then(|| {
        // joint = Π_l (0.5 A_l + 0.5 I), rows renormalised, applied from the first layer up.
        let mut joint: Vec<Vec<f64>> = (0..keys)
            .map(|i| (0..keys).map(|j| f64::from(u8::from(i == j))).collect())
            .collect();
        for l in 0..layers {
            let augmented: Vec<Vec<f64>> = (0..keys)
                .map(|q| {
                    let mut r = row(l, q);
                    r[q] += 1.0;
                    r.iter_mut().for_each(|x| *x *= 0.5);
                    let total: f64 = r.iter().sum();
                    if total > 0.0 {
                        r.iter_mut().for_each(|x| *x /= total);
                    }
                    r
                })
                .collect();
            joint = (0..keys)
                .map(|i| {
                    (0..keys)
                        .map(|j| (0..keys).map(|m| augmented[i][m] * joint[m][j]).sum())
                        .collect()
                })
                .collect();
        }
        joint.swap_remove(0)
    });
    Ok((first_token, rollout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_token_row_averages_heads_of_the_last_layer() {
        // [layers 2, heads 2, query 1, key 3]
        let data = [
            0.0, 0.0, 1.0, 1.0, 0.0, 0.0, // layer 0
            0.2, 0.3, 0.5, 0.6, 0.3, 0.1, // layer 1
        ];
        let (first, rollout) = reduce(
            &[2, 2, 1, 3],
            &data,
            &["layers", "heads", "query", "key"],
            0,
            true,
        )
        .unwrap();
        let expected = [0.4, 0.3, 0.3];
        for (a, b) in first.iter().zip(expected) {
            assert!((a - b).abs() < 1e-6);
        }
        assert!(rollout.is_none());
    }

    #[test]
    fn rollout_of_identity_attention_is_the_first_token_itself_and_a_known_two_layer_case() {
        let eye = [1.0, 0.0, 0.0, 1.0];
        let (_, rollout) = reduce(&[1, 2, 2], &eye, &["layers", "query", "key"], 0, true).unwrap();
        assert_eq!(rollout.unwrap(), vec![1.0, 0.0]);
        // Two layers of uniform attention over 2 tokens: 0.5·U + 0.5·I = [[.75,.25],[.25,.75]];
        // its square's first row is [0.625, 0.375].
        let uniform = [0.5f32; 8];
        let (_, rollout) =
            reduce(&[2, 2, 2], &uniform, &["layers", "query", "key"], 0, true).unwrap();
        let r = rollout.unwrap();
        assert!((r[0] - 0.625).abs() < 1e-12 && (r[1] - 0.375).abs() < 1e-12);
    }
}
