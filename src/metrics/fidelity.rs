//! Fidelity metrics that ask the model again: remove or keep the explanation's features on the
//! explained instance and watch the predicted class's probability.
//!
//! All of them work on the explained (perturbed) features only; the other modality stays whole.
//! "Explanation order" is the predicted label's surrogate weight, largest first (features the
//! surrogate dropped weigh 0; ties go to the lower feature index).

use rand::seq::index::sample;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::Result;
use crate::model::InstancePredictor;

/// The explained instance as a model the metrics can query: which entry of the full keep-mask
/// each explained feature is, and the label whose probability is watched.
pub struct Probe<'a> {
    /// Prepares and runs masks over the whole feature space (audio components, then words).
    pub predictor: &'a dyn InstancePredictor,
    /// Length of a full keep-mask.
    pub space_len: usize,
    /// Index in the full keep-mask of each explained feature.
    pub feature_indices: &'a [usize],
    /// The label whose probability is measured (the predicted one).
    pub label: usize,
}

impl Probe<'_> {
    /// The label's probability when exactly the explained features in `kept` stay on (one
    /// `kept` per query; all other entries of the space stay on).
    pub fn probabilities(&self, kept: &[Vec<bool>]) -> Result<Vec<f64>> {
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
        let probs = self.predictor.run(self.predictor.prepare(&masks, 0)?)?;
        Ok(probs.column(self.label).to_vec())
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

/// Fractions of the features removed (or added) at each of `steps + 1` points: 0, 1/steps, …, 1.
fn step_counts(d: usize, steps: usize) -> Vec<usize> {
    let steps = steps.max(1);
    (0..=steps).map(|s| (s * d + steps / 2) / steps).collect()
}

/// Trapezoidal area under `ys` sampled at equally spaced points of [0, 1].
fn area(ys: &[f64]) -> f64 {
    if ys.len() < 2 {
        return ys.first().copied().unwrap_or(f64::NAN);
    }
    let h = 1.0 / (ys.len() - 1) as f64;
    ys.windows(2).map(|w| 0.5 * h * (w[0] + w[1])).sum()
}

/// **Deletion AUC** (lower is better, [0, 1]): switch the explained features off in explanation
/// order, in `steps` equal steps from none to all, and take the area under the predicted
/// class's probability over the fraction removed. A faithful explanation removes the evidence
/// first, so the probability falls fast. Source: Petsiuk, Das & Saenko (2018), RISE.
/// Returns the curve's points too.
pub fn deletion(probe: &Probe, order: &[usize], steps: usize) -> Result<(f64, Vec<f64>)> {
    let d = probe.len();
    let kept: Vec<Vec<bool>> = step_counts(d, steps)
        .into_iter()
        .map(|removed| {
            let mut k = vec![true; d];
            for &j in &order[..removed] {
                k[j] = false;
            }
            k
        })
        .collect();
    let curve = probe.probabilities(&kept)?;
    Ok((area(&curve), curve))
}

/// **Insertion AUC** (higher is better, [0, 1]): start with every explained feature off and
/// switch them on in explanation order, in `steps` equal steps; the area under the predicted
/// class's probability. Source: Petsiuk, Das & Saenko (2018), RISE.
pub fn insertion(probe: &Probe, order: &[usize], steps: usize) -> Result<(f64, Vec<f64>)> {
    let d = probe.len();
    let kept: Vec<Vec<bool>> = step_counts(d, steps)
        .into_iter()
        .map(|added| {
            let mut k = vec![false; d];
            for &j in &order[..added] {
                k[j] = true;
            }
            k
        })
        .collect();
    let curve = probe.probabilities(&kept)?;
    Ok((area(&curve), curve))
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

/// Pearson correlation; NaN when either side is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    if va <= 0.0 || vb <= 0.0 {
        return f64::NAN;
    }
    cov / (va * vb).sqrt()
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
            feature_indices: &indices,
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
            feature_indices: &indices,
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
            feature_indices: &indices,
            label: 0,
        };
        let p = probe.probabilities(&[vec![false, false]]).unwrap();
        assert!((p[0] - 0.5).abs() < 1e-12);
    }
}
