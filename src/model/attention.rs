//! Attention maps a model exposes, reduced to one weight per key: the last layer's first-query
//! row averaged over heads, and attention rollout (Abnar & Zuidema 2020) when the maps are
//! square. A map also says what its keys stand for (leading special tokens, the time span of
//! each audio patch, each lyric token's bytes); [`crate::metrics::attention`] is the one place
//! that turns keys into time segments and words.

use crate::error::{Error, Result};
use crate::features::Modality;

/// One attention output of one instance, reduced to per-key weights.
#[derive(Debug, Clone, PartialEq)]
pub struct AttentionMap {
    /// The output name.
    pub name: String,
    /// What the keys index: audio frames or patches, or lyric tokens.
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
    /// For audio keys: the duration in seconds of the model's input; keys without
    /// [`key_spans`](Self::key_spans) are spread evenly over it.
    pub key_seconds: Option<f64>,
    /// Leading keys that stand for no input position (`[CLS]`, AST's distillation token,
    /// `<s>`): `keys.special` of the model spec. They count towards no time segment and no
    /// word.
    pub special: usize,
    /// For audio keys laid out as a patch grid (`keys.grid`): the time span `[start, end)` in
    /// seconds of the input frames each key after the `special` ones covers, in key order.
    /// `None` when the keys are spread evenly over [`key_seconds`](Self::key_seconds).
    pub key_spans: Option<Vec<(f64, f64)>>,
}

/// Where each axis of an attention tensor is: sizes and strides of the averaged axes and the
/// offset of one instance.
struct Axes {
    layers: (usize, usize),
    heads: (usize, usize),
    queries: (usize, usize),
    keys: (usize, usize),
    batch_offset: usize,
}

impl Axes {
    /// Locates `axes` (`batch`, `layers`, `heads`, `query`, `key`; missing ones count as size
    /// 1) in a C-order tensor of `shape`, for instance `b`.
    fn new(shape: &[usize], axes: &[&str], b: usize) -> Result<Self> {
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
        Ok(Axes {
            layers: dim("layers").unwrap_or((1, 0)),
            heads: dim("heads").unwrap_or((1, 0)),
            queries: dim("query").unwrap_or((1, 0)),
            keys: dim("key").ok_or_else(|| Error::Internal("no key axis".into()))?,
            batch_offset: dim("batch").map_or(0, |(_, s)| b * s),
        })
    }

    /// Writes the head-averaged row `q` of layer `l` into `out` (one weight per key).
    fn row_into(&self, data: &[f32], l: usize, q: usize, out: &mut [f64]) {
        let (heads, head_stride) = self.heads;
        let key_stride = self.keys.1;
        out.iter_mut().for_each(|x| *x = 0.0);
        let base = self.batch_offset + l * self.layers.1 + q * self.queries.1;
        for h in 0..heads {
            let start = base + h * head_stride;
            for (k, x) in out.iter_mut().enumerate() {
                *x += f64::from(data[start + k * key_stride]);
            }
        }
        out.iter_mut().for_each(|x| *x /= heads as f64);
    }
}

/// Reduces instance `b` of an attention tensor (`shape`, C-order `data`) whose axes are named by
/// `axes` (`batch`, `layers`, `heads`, `query`, `key`; missing ones count as size 1): the
/// first-token row, and the rollout's first row when `rollout` is asked for and the maps are
/// square.
pub fn reduce(
    shape: &[usize],
    data: &[f32],
    axes: &[&str],
    b: usize,
    rollout: bool,
) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
    let at = Axes::new(shape, axes, b)?;
    let keys = at.keys.0;
    let mut first_token = vec![0.0; keys];
    at.row_into(data, at.layers.0 - 1, 0, &mut first_token);
    let rollout = (rollout && at.queries.0 == keys && keys > 0).then(|| rollout_row(&at, data));
    Ok((first_token, rollout))
}

/// Row 0 of the attention rollout `joint = Ã_{L−1} ⋯ Ã_1 Ã_0`, where `Ã_l` is layer `l`'s
/// head-averaged map plus the identity, `0.5 A_l + 0.5 I`, with its rows renormalised (the
/// product applied from the first layer up, as Abnar & Zuidema define it).
///
/// Only that row is ever used, so it is computed as the row vector `e_0ᵀ` times each `Ã_l`
/// from the last layer down, `((e_0ᵀ Ã_{L−1}) Ã_{L−2}) ⋯ Ã_0`: O(L·H·K²) for L layers, H
/// heads and K keys instead of the O(L·K³) of the full matrix product, and a row of `Ã_l`
/// is built only where the vector is non-zero.
fn rollout_row(at: &Axes, data: &[f32]) -> Vec<f64> {
    let keys = at.keys.0;
    let mut v = vec![0.0; keys];
    v[0] = 1.0;
    let mut next = vec![0.0; keys];
    let mut row = vec![0.0; keys];
    for l in (0..at.layers.0).rev() {
        next.iter_mut().for_each(|x| *x = 0.0);
        for (q, &vq) in v.iter().enumerate() {
            if vq == 0.0 {
                continue;
            }
            augmented_row(at, data, l, q, &mut row);
            for (n, r) in next.iter_mut().zip(&row) {
                *n += vq * r;
            }
        }
        std::mem::swap(&mut v, &mut next);
    }
    v
}

/// Row `q` of `Ã_l`: the head-averaged row halved, plus 0.5 on the diagonal, renormalised to
/// sum to 1 (left as it is when its sum is not positive).
fn augmented_row(at: &Axes, data: &[f32], l: usize, q: usize, out: &mut [f64]) {
    at.row_into(data, l, q, out);
    out[q] += 1.0;
    out.iter_mut().for_each(|x| *x *= 0.5);
    let total: f64 = out.iter().sum();
    if total > 0.0 {
        out.iter_mut().for_each(|x| *x /= total);
    }
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

    #[test]
    fn rollout_multiplies_the_last_layer_first() {
        // Layer 0 sends token 1 to token 2; layer 1 sends token 0 to token 1. Rows of
        // Ã_l = 0.5 A_l + 0.5 I: Ã_1[0] = [.5, .5, 0], Ã_0[1] = [0, .5, .5], Ã_0[0] = [1, 0, 0].
        // e_0ᵀ Ã_1 Ã_0 = .5·[1, 0, 0] + .5·[0, .5, .5] = [.5, .25, .25]; the other order,
        // e_0ᵀ Ã_0 Ã_1, would give [.5, .5, 0].
        #[rustfmt::skip]
        let data = [
            1.0, 0.0, 0.0,  0.0, 0.0, 1.0,  0.0, 0.0, 1.0, // layer 0
            0.0, 1.0, 0.0,  0.0, 1.0, 0.0,  0.0, 0.0, 1.0, // layer 1
        ];
        let (_, rollout) = reduce(&[2, 3, 3], &data, &["layers", "query", "key"], 0, true).unwrap();
        assert_eq!(rollout.unwrap(), vec![0.5, 0.25, 0.25]);
    }
}
