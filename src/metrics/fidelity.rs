//! Fidelity metrics that ask the model again: remove or keep the explanation's features on the
//! explained instance and watch the predicted class's probability.
//!
//! Each works on a [`Probe`] over a list of features and an order of them. Over the union of
//! the instance's features (the default names, see [`union_order`]) every explainer is
//! measured on the same space; over the explainer's own features (`_within` names) the other
//! modality stays whole. "Explanation order" is the predicted label's signed surrogate weight,
//! most positive first (features the surrogate dropped weigh 0; ties go to the lower feature
//! index).

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::audio_xai::{lmac_scores, LmacScores};
use super::Space;
use crate::error::Result;
use crate::model::InstancePredictor;

/// The explained instance as a model the metrics can query: which entry of the full keep-mask
/// each explained feature is, and the label whose probability is watched.
pub struct Probe<'a> {
    /// Prepares and runs masks over the whole feature space (audio components, then words).
    pub predictor: &'a dyn InstancePredictor,
    /// Length of a full keep-mask.
    pub space_len: usize,
    /// Index in the full keep-mask of each feature the probe switches.
    pub feature_indices: Vec<usize>,
    /// The label whose probability is measured (the predicted one).
    pub label: usize,
}

impl Probe<'_> {
    /// The label's probability when exactly the explained features in `kept` stay on (one
    /// `kept` per query; all other entries of the space stay on).
    pub fn probabilities(&self, kept: &[Vec<bool>]) -> Result<Vec<f64>> {
        Ok(self.outputs(kept)?.column(self.label).to_vec())
    }

    /// Every class's output `[queries, classes]` when exactly the features in `kept` stay on.
    pub fn outputs(&self, kept: &[Vec<bool>]) -> Result<ndarray::Array2<f64>> {
        let masks: Vec<Vec<bool>> = kept
            .iter()
            .map(|k| {
                let mut mask = vec![true; self.space_len];
                for (&j, &on) in self.feature_indices.iter().zip(k) {
                    mask[j] = on;
                }
                mask
            })
            .collect();
        self.predictor.run(self.predictor.prepare(&masks, 0)?)
    }

    fn len(&self) -> usize {
        self.feature_indices.len()
    }
}

/// The explained features in explanation order, from the label's `(feature, weight)` pairs.
pub fn explanation_order(weights: &[(usize, f64)], num_features: usize) -> Vec<usize> {
    let mut weight = vec![0.0; num_features];
    for &(j, w) in weights {
        weight[j] = w;
    }
    let mut order: Vec<usize> = (0..num_features).collect();
    order.sort_by(|&a, &b| weight[b].total_cmp(&weight[a]).then(a.cmp(&b)));
    order
}

/// The order over a whole space of `space_len` features used by the union metrics: the
/// explained features (`explained`, space indices in explanation order) first, then every
/// other feature of the space in a random order (ChaCha8 seeded with `seed`), so that features
/// an explainer did not explain (the other modality, or dropped by feature selection) count
/// after the ones it did, by no one's choice.
pub fn union_order(explained: &[usize], space_len: usize, seed: u64) -> Vec<usize> {
    let mut others: Vec<usize> = (0..space_len).filter(|j| !explained.contains(j)).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rand::seq::SliceRandom::shuffle(others.as_mut_slice(), &mut rng);
    explained.iter().copied().chain(others).collect()
}

/// A predicted label's explanation made ready for the fidelity metrics in both spaces: probes,
/// orders and dense weights over the explainer's own features and over the union.
pub struct Spaces<'a> {
    within: (Probe<'a>, Vec<usize>, Vec<f64>),
    union: (Probe<'a>, Vec<usize>, Vec<f64>),
}

impl<'a> Spaces<'a> {
    /// The spaces of an explanation whose features sit at `feature_indices` of a keep-mask of
    /// `space_len`, with the label's `(feature, weight)` pairs; `seed` orders the union's
    /// unexplained features.
    pub fn new(
        predictor: &'a dyn InstancePredictor,
        space_len: usize,
        feature_indices: &[usize],
        weights: &[(usize, f64)],
        label: usize,
        seed: u64,
    ) -> Self {
        let d = feature_indices.len();
        let within_order = explanation_order(weights, d);
        let mut within_weights = vec![0.0; d];
        let mut union_weights = vec![0.0; space_len];
        for &(j, w) in weights {
            within_weights[j] = w;
            union_weights[feature_indices[j]] = w;
        }
        let selected: std::collections::BTreeSet<usize> = weights.iter().map(|(j, _)| *j).collect();
        let explained: Vec<usize> = within_order
            .iter()
            .filter(|j| selected.contains(j))
            .map(|&j| feature_indices[j])
            .collect();
        let probe = |indices: Vec<usize>| Probe {
            predictor,
            space_len,
            feature_indices: indices,
            label,
        };
        Spaces {
            within: (
                probe(feature_indices.to_vec()),
                within_order,
                within_weights,
            ),
            union: (
                probe((0..space_len).collect()),
                union_order(&explained, space_len, seed),
                union_weights,
            ),
        }
    }

    /// The probe, the explanation order and the dense weights of `space`.
    pub fn get(&self, space: Space) -> (&Probe<'a>, &[usize], &[f64]) {
        let (probe, order, weights) = match space {
            Space::Within => &self.within,
            Space::Union => &self.union,
        };
        (probe, order, weights)
    }
}

/// The L-MAC metrics of an explanation over the union space (see [`super::audio_xai`]): the
/// mask is its positively weighted features; `p` is the output on the instance, `p_in` with
/// only the mask kept (every other component and word removed), `p_out` with the mask removed.
pub fn lmac(spaces: &Spaces) -> Result<LmacScores> {
    let (probe, _, weights) = spaces.get(Space::Union);
    let mask: Vec<bool> = weights.iter().map(|w| *w > 0.0).collect();
    let all = vec![true; weights.len()];
    let without: Vec<bool> = mask.iter().map(|m| !m).collect();
    let outputs = probe.outputs(&[all, mask, without])?;
    let row = |r: usize| outputs.row(r).to_vec();
    Ok(lmac_scores(&row(0), &row(1), &row(2)))
}

/// The numbers of features removed (or added) at up to `steps + 1` points from none to all
/// `d`, each distinct (fewer points when `d < steps`).
fn step_counts(d: usize, steps: usize) -> Vec<usize> {
    let steps = steps.max(1);
    let mut counts: Vec<usize> = (0..=steps).map(|s| (s * d + steps / 2) / steps).collect();
    counts.dedup();
    counts
}

/// Trapezoidal area under `ys` at the fractions `counts / d` of [0, 1] (the fractions actually
/// removed, so a coarse step does not bias the area when `d < steps`).
fn area(counts: &[usize], d: usize, ys: &[f64]) -> f64 {
    if ys.len() < 2 || d == 0 {
        return ys.first().copied().unwrap_or(f64::NAN);
    }
    let x = |i: usize| counts[i] as f64 / d as f64;
    (1..ys.len())
        .map(|i| 0.5 * (x(i) - x(i - 1)) * (ys[i] + ys[i - 1]))
        .sum()
}

/// **Deletion AUC** (lower is better, [0, 1]): switch the explained features off in explanation
/// order, in `steps` equal steps from none to all, and take the area under the predicted
/// class's probability over the fraction removed. A faithful explanation removes the evidence
/// first, so the probability falls fast. Source: Petsiuk, Das & Saenko (2018), RISE.
/// Returns the curve's points too.
pub fn deletion(probe: &Probe, order: &[usize], steps: usize) -> Result<(f64, Vec<f64>)> {
    let d = probe.len();
    let counts = step_counts(d, steps);
    let kept: Vec<Vec<bool>> = counts
        .iter()
        .map(|&removed| {
            let mut k = vec![true; d];
            for &j in &order[..removed] {
                k[j] = false;
            }
            k
        })
        .collect();
    let curve = probe.probabilities(&kept)?;
    Ok((area(&counts, d, &curve), curve))
}

/// **Insertion AUC** (higher is better, [0, 1]): start with every explained feature off and
/// switch them on in explanation order, in `steps` equal steps; the area under the predicted
/// class's probability. Source: Petsiuk, Das & Saenko (2018), RISE.
pub fn insertion(probe: &Probe, order: &[usize], steps: usize) -> Result<(f64, Vec<f64>)> {
    let d = probe.len();
    let counts = step_counts(d, steps);
    let kept: Vec<Vec<bool>> = counts
        .iter()
        .map(|&added| {
            let mut k = vec![false; d];
            for &j in &order[..added] {
                k[j] = true;
            }
            k
        })
        .collect();
    let curve = probe.probabilities(&kept)?;
    Ok((area(&counts, d, &curve), curve))
}

/// **Comprehensiveness@k** (higher is better, [-1, 1]): `p(x) - p(x without its top k
/// features)`: how much the prediction needs the features the explanation ranks first.
/// Source: DeYoung et al. (2020), ERASER. `k` is capped at the number of features.
pub fn comprehensiveness(probe: &Probe, order: &[usize], k: usize) -> Result<f64> {
    let d = probe.len();
    let mut without = vec![true; d];
    for &j in order.iter().take(k) {
        without[j] = false;
    }
    let p = probe.probabilities(&[vec![true; d], without])?;
    Ok(p[0] - p[1])
}

/// **Sufficiency@k** (lower is better, [-1, 1]): `p(x) - p(only its top k features)`: how
/// much of the prediction the top features alone sustain (0: fully). Source: DeYoung et al.
/// (2020), ERASER. `k` is capped at the number of features.
pub fn sufficiency(probe: &Probe, order: &[usize], k: usize) -> Result<f64> {
    let d = probe.len();
    let mut only = vec![false; d];
    for &j in order.iter().take(k) {
        only[j] = true;
    }
    let p = probe.probabilities(&[vec![true; d], only])?;
    Ok(p[0] - p[1])
}

/// Subsets drawn for [`faithfulness_correlation`].
pub const FAITHFULNESS_SUBSETS: usize = 50;

/// **Faithfulness correlation** (higher is better, [-1, 1]): over [`FAITHFULNESS_SUBSETS`]
/// random subsets `S` of `max(1, d / 5)` explained features, the Pearson correlation between
/// `Σ_{j∈S} w_j` and `p(x) - p(x without S)`. Source: Bhatt, Weller & Moura (2020). Subsets are
/// drawn from ChaCha8 seeded with `seed`. NaN when either side is constant.
pub fn faithfulness_correlation(probe: &Probe, weights: &[f64], seed: u64) -> Result<f64> {
    let d = probe.len();
    if d == 0 {
        return Ok(f64::NAN);
    }
    let size = (d / 5).max(1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let subsets: Vec<Vec<usize>> = (0..FAITHFULNESS_SUBSETS)
        .map(|_| sample(&mut rng, d, size).into_vec())
        .collect();
    let mut kept = vec![vec![true; d]];
    kept.extend(subsets.iter().map(|s| {
        let mut k = vec![true; d];
        for &j in s {
            k[j] = false;
        }
        k
    }));
    let p = probe.probabilities(&kept)?;
    let drops: Vec<f64> = p[1..].iter().map(|q| p[0] - q).collect();
    let sums: Vec<f64> = subsets
        .iter()
        .map(|s| s.iter().map(|&j| weights[j]).sum())
        .collect();
    Ok(pearson(&sums, &drops))
}

/// Pearson correlation; NaN when either side is constant, i.e. when its spread is below
/// 1e-9 of its magnitude (float noise is no signal).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    if is_constant(a, va) || is_constant(b, vb) {
        return f64::NAN;
    }
    cov / (va * vb).sqrt()
}

/// Whether `values` (with summed squared deviation `ss`) are constant up to float noise: their
/// standard deviation is at most 1e-9 of their largest magnitude (or exactly 0).
fn is_constant(values: &[f64], ss: f64) -> bool {
    let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let sd = (ss / values.len().max(1) as f64).sqrt();
    ss <= 0.0 || sd <= 1e-9 * scale
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::model::PreparedBatch;

    /// A model whose probability is `base + Σ_{kept j} c_j`, over a space of `c.len()`.
    struct Additive {
        base: f64,
        c: Vec<f64>,
    }

    impl InstancePredictor for Additive {
        fn counts(&self) -> crate::model::ModelCounts {
            Default::default()
        }
        fn prepare(&self, masks: &[Vec<bool>], _first_row: usize) -> Result<PreparedBatch> {
            Ok(PreparedBatch(Box::new(masks.to_vec())))
        }
        fn run(&self, batch: PreparedBatch) -> Result<Array2<f64>> {
            let masks = batch.0.downcast::<Vec<Vec<bool>>>().unwrap();
            Ok(Array2::from_shape_fn((masks.len(), 2), |(r, col)| {
                let p = self.base
                    + masks[r]
                        .iter()
                        .zip(&self.c)
                        .filter(|(on, _)| **on)
                        .map(|(_, c)| c)
                        .sum::<f64>();
                if col == 0 {
                    p
                } else {
                    1.0 - p
                }
            }))
        }
    }

    fn model() -> Additive {
        // Four features; 0.4 and 0.2 carry the prediction.
        Additive {
            base: 0.1,
            c: vec![0.0, 0.4, 0.0, 0.2],
        }
    }

    #[test]
    fn deletion_and_insertion_follow_the_explanation_order() {
        let m = model();
        let indices = [0, 1, 2, 3];
        let probe = Probe {
            predictor: &m,
            space_len: 4,
            feature_indices: indices.to_vec(),
            label: 0,
        };
        let faithful = explanation_order(&[(1, 0.4), (3, 0.2)], 4);
        assert_eq!(faithful, vec![1, 3, 0, 2]);
        let (auc, curve) = deletion(&probe, &faithful, 4).unwrap();
        // p after removing 0..4 features: 0.7, 0.3, 0.1, 0.1, 0.1.
        let expected = [0.7, 0.3, 0.1, 0.1, 0.1];
        for (a, b) in curve.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12);
        }
        assert!((auc - 0.25 * (0.5 * 0.7 + 0.3 + 0.1 + 0.1 + 0.5 * 0.1)).abs() < 1e-12);
        let backwards = vec![2, 0, 3, 1];
        assert!(deletion(&probe, &backwards, 4).unwrap().0 > auc);
        let (ins, _) = insertion(&probe, &faithful, 4).unwrap();
        assert!(ins > insertion(&probe, &backwards, 4).unwrap().0);
        assert!((comprehensiveness(&probe, &faithful, 1).unwrap() - 0.4).abs() < 1e-12);
        assert!((sufficiency(&probe, &faithful, 2).unwrap() - 0.0).abs() < 1e-12);
        assert!((sufficiency(&probe, &backwards, 2).unwrap() - 0.6).abs() < 1e-12);
    }

    #[test]
    fn with_fewer_features_than_steps_the_area_uses_the_fractions_removed() {
        // Two features, 10 steps: the old curve repeated counts (0,0,1,1,1,1,1,2,…) at x = s/10
        // and weighted the middle value by 0.5 instead of 0.5 · (first + last) / 2 + ….
        let m = Additive {
            base: 0.1,
            c: vec![0.6, 0.2],
        };
        let indices = [0, 1];
        let probe = Probe {
            predictor: &m,
            space_len: 2,
            feature_indices: indices.to_vec(),
            label: 0,
        };
        let (auc, curve) = deletion(&probe, &[0, 1], 10).unwrap();
        assert_eq!(curve.len(), 3);
        // p = 0.9, 0.3, 0.1 at 0, 1/2, 1 of the features removed.
        let expected = 0.5 * 0.5 * (0.9 + 0.3) + 0.5 * 0.5 * (0.3 + 0.1);
        assert!((auc - expected).abs() < 1e-12, "{auc} vs {expected}");
    }

    #[test]
    fn the_union_order_puts_the_explained_features_first_and_shuffles_the_rest_by_seed() {
        let order = union_order(&[7, 2], 10, 3);
        assert_eq!(&order[..2], &[7, 2]);
        let mut rest = order[2..].to_vec();
        rest.sort_unstable();
        assert_eq!(rest, vec![0, 1, 3, 4, 5, 6, 8, 9]);
        assert_eq!(union_order(&[7, 2], 10, 3), order);
        assert_ne!(union_order(&[7, 2], 10, 4), order);
    }

    #[test]
    fn float_noise_is_no_correlation() {
        // A spread of 1e-12 on values near 0.5 used to count as a signal.
        let noisy: Vec<f64> = (0..10).map(|i| 0.5 + 1e-13 * i as f64).collect();
        let other: Vec<f64> = (0..10).map(|i| i as f64).collect();
        assert!(pearson(&noisy, &other).is_nan());
        assert!((pearson(&other, &other) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn faithfulness_is_perfect_for_the_true_contributions_and_low_for_noise() {
        let c: Vec<f64> = (0..20).map(|j| (j % 7) as f64 * 0.01).collect();
        let m = Additive {
            base: 0.05,
            c: c.clone(),
        };
        let indices: Vec<usize> = (0..20).collect();
        let probe = Probe {
            predictor: &m,
            space_len: 20,
            feature_indices: indices.to_vec(),
            label: 0,
        };
        let exact = faithfulness_correlation(&probe, &c, 1).unwrap();
        assert!((exact - 1.0).abs() < 1e-9, "{exact}");
        let reversed: Vec<f64> = c.iter().map(|x| -x).collect();
        assert!((faithfulness_correlation(&probe, &reversed, 1).unwrap() + 1.0).abs() < 1e-9);
    }

    #[test]
    fn features_outside_the_explanation_stay_on() {
        // Explained features are entries 2 and 3 of a space of 4; entry 1 (0.4) stays on.
        let m = model();
        let indices = [2, 3];
        let probe = Probe {
            predictor: &m,
            space_len: 4,
            feature_indices: indices.to_vec(),
            label: 0,
        };
        let p = probe.probabilities(&[vec![false, false]]).unwrap();
        assert!((p[0] - 0.5).abs() < 1e-12);
    }
}
