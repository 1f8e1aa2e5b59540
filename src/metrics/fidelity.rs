//! Fidelity metrics that ask the model again: remove or keep the explanation's features on the
//! explained instance and watch the predicted class's probability.
//!
//! Each works on a [`Probe`] over a list of features and an order of them. Over the union of
//! the instance's features (the default names) every explainer is measured on the same space;
//! over the explainer's own features (`_within` names) the other modality stays whole. Both
//! orders follow one rule, [`fidelity_order`]: the predicted label's signed weight, 0 for every
//! feature the explainer did not weigh, highest first, ties broken by one seeded permutation of
//! the space shared by every explainer of the instance and repeat ([`permutation_ranks`]).

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

/// A seeded random permutation of `0..len` given as ranks: `ranks[j]` is feature `j`'s position
/// (ChaCha8 seeded with `seed`). One permutation of an instance's whole space breaks every tie
/// of every explainer's fidelity order, so that ties favour no one.
pub fn permutation_ranks(len: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut rng);
    let mut ranks = vec![0; len];
    for (position, &j) in order.iter().enumerate() {
        ranks[j] = position;
    }
    ranks
}

/// **The ranking rule of every fidelity metric.** Features by weight, highest first; a feature
/// the explainer gave no weight (the other modality, or dropped by feature selection) weighs 0,
/// so it comes after the positively and before the negatively weighted ones; ties (all those
/// zeros among them) go by `tie_ranks`, the seeded permutation shared by every explainer of
/// the instance and repeat ([`permutation_ranks`]).
pub fn fidelity_order(weights: &[f64], tie_ranks: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        weights[b]
            .total_cmp(&weights[a])
            .then(tie_ranks[a].cmp(&tie_ranks[b]))
    });
    order
}

/// A predicted label's explanation made ready for the fidelity metrics in both spaces: probes,
/// orders and dense weights over the explainer's own features and over the union.
pub struct Spaces<'a> {
    within: (Probe<'a>, Vec<usize>, Vec<f64>),
    union: (Probe<'a>, Vec<usize>, Vec<f64>),
}

impl<'a> Spaces<'a> {
    /// The spaces of an explanation whose features sit at `feature_indices` of a keep-mask of
    /// `space_len`, with the label's `(feature, weight)` pairs. Both orders follow
    /// [`fidelity_order`] with the permutation of the whole space seeded by `order_seed` (the
    /// within order is the union's permutation restricted to the explainer's features).
    pub fn new(
        predictor: &'a dyn InstancePredictor,
        space_len: usize,
        feature_indices: &[usize],
        weights: &[(usize, f64)],
        label: usize,
        order_seed: u64,
    ) -> Self {
        let d = feature_indices.len();
        let mut within_weights = vec![0.0; d];
        let mut union_weights = vec![0.0; space_len];
        for &(j, w) in weights {
            within_weights[j] = w;
            union_weights[feature_indices[j]] = w;
        }
        let ranks = permutation_ranks(space_len, order_seed);
        let within_ranks: Vec<usize> = feature_indices.iter().map(|&j| ranks[j]).collect();
        let probe = |indices: Vec<usize>| Probe {
            predictor,
            space_len,
            feature_indices: indices,
            label,
        };
        Spaces {
            within: (
                probe(feature_indices.to_vec()),
                fidelity_order(&within_weights, &within_ranks),
                within_weights,
            ),
            union: (
                probe((0..space_len).collect()),
                fidelity_order(&union_weights, &ranks),
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

/// The number of features in the top `percent` % of a space of `d`: `ceil(percent · d / 100)`,
/// at least 1 (when `d > 0`) and at most `d`.
pub fn top_count(d: usize, percent: usize) -> usize {
    let count = (percent * d).div_ceil(100);
    count.clamp(d.min(1), d)
}

/// The share of the union space an explanation gives any (non-zero) weight: how much of the
/// instance it speaks about at all, in [0, 1]. A unimodal explainer covers at most its own
/// modality's share.
pub(crate) fn explained_fraction(spaces: &Spaces) -> f64 {
    let (_, _, weights) = spaces.get(Space::Union);
    if weights.is_empty() {
        return f64::NAN;
    }
    weights.iter().filter(|w| **w != 0.0).count() as f64 / weights.len() as f64
}

/// The share of the union space an explanation weighs positively: the size of the mask of the
/// positive-mask L-MAC metrics, in [0, 1].
pub fn positive_mask_fraction(spaces: &Spaces) -> f64 {
    let (_, _, weights) = spaces.get(Space::Union);
    if weights.is_empty() {
        return f64::NAN;
    }
    weights.iter().filter(|w| **w > 0.0).count() as f64 / weights.len() as f64
}

/// Which features make an L-MAC mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LmacMask {
    /// The explanation's positively weighted features (L-MAC's own rule; its size varies with
    /// the explainer, see [`positive_mask_fraction`]).
    Positive,
    /// The first [`top_count`]`(D, p)` features of the union's fidelity order (a fixed size for
    /// every explainer).
    TopPercent(usize),
}

/// The L-MAC metrics of an explanation over the union space (see [`super::audio_xai`]) with the
/// mask `mask`; `p` is the output on the instance, `p_in` with only the mask kept (every other
/// component and word removed), `p_out` with the mask removed.
pub fn lmac(spaces: &Spaces, mask: LmacMask) -> Result<LmacScores> {
    let (probe, order, weights) = spaces.get(Space::Union);
    let mask: Vec<bool> = match mask {
        LmacMask::Positive => weights.iter().map(|w| *w > 0.0).collect(),
        LmacMask::TopPercent(p) => {
            let mut m = vec![false; weights.len()];
            for &j in order.iter().take(top_count(weights.len(), p)) {
                m[j] = true;
            }
            m
        }
    };
    let all = vec![true; weights.len()];
    let without: Vec<bool> = mask.iter().map(|m| !m).collect();
    let outputs = probe.outputs(&[all, mask, without])?;
    let row = |r: usize| outputs.row(r).to_vec();
    Ok(lmac_scores(&row(0), &row(1), &row(2)))
}

/// A deletion or insertion curve: the predicted class's probability at each fraction of the
/// features removed (or added).
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The fractions of the features removed (or added), from 0 to 1.
    pub fractions: Vec<f64>,
    /// The probability at each fraction.
    pub values: Vec<f64>,
}

impl Curve {
    fn new(counts: &[usize], d: usize, values: Vec<f64>) -> Self {
        Curve {
            fractions: counts
                .iter()
                .map(|&c| if d == 0 { 0.0 } else { c as f64 / d as f64 })
                .collect(),
            values,
        }
    }
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
/// Returns the curve too.
pub fn deletion(probe: &Probe, order: &[usize], steps: usize) -> Result<(f64, Curve)> {
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
    let values = probe.probabilities(&kept)?;
    Ok((area(&counts, d, &values), Curve::new(&counts, d, values)))
}

/// **Insertion AUC** (higher is better, [0, 1]): start with every explained feature off and
/// switch them on in explanation order, in `steps` equal steps; the area under the predicted
/// class's probability. Source: Petsiuk, Das & Saenko (2018), RISE.
pub fn insertion(probe: &Probe, order: &[usize], steps: usize) -> Result<(f64, Curve)> {
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
    let values = probe.probabilities(&kept)?;
    Ok((area(&counts, d, &values), Curve::new(&counts, d, values)))
}

/// **Comprehensiveness@k** (higher is better, [-1, 1]): `p(x) - p(x without its top k
/// features)`: how much the prediction needs the features the explanation ranks first.
/// Source: DeYoung et al. (2020), ERASER. `k` is capped at the number of features.
pub(crate) fn comprehensiveness(probe: &Probe, order: &[usize], k: usize) -> Result<f64> {
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
pub(crate) fn sufficiency(probe: &Probe, order: &[usize], k: usize) -> Result<f64> {
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
    Ok(crate::statistics::pearson(&sums, &drops))
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
        let faithful = fidelity_order(&[0.0, 0.4, 0.0, 0.2], &[0, 1, 2, 3]);
        assert_eq!(faithful, vec![1, 3, 0, 2]);
        let (auc, curve) = deletion(&probe, &faithful, 4).unwrap();
        // p after removing 0..4 features: 0.7, 0.3, 0.1, 0.1, 0.1.
        let expected = [0.7, 0.3, 0.1, 0.1, 0.1];
        assert_eq!(curve.fractions, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        for (a, b) in curve.values.iter().zip(expected) {
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
        assert_eq!(curve.values.len(), 3);
        assert_eq!(curve.fractions, vec![0.0, 0.5, 1.0]);
        // p = 0.9, 0.3, 0.1 at 0, 1/2, 1 of the features removed.
        let expected = 0.5 * 0.5 * (0.9 + 0.3) + 0.5 * 0.5 * (0.3 + 0.1);
        assert!((auc - expected).abs() < 1e-12, "{auc} vs {expected}");
    }

    #[test]
    fn ties_and_zeros_follow_one_permutation_of_the_space() {
        let ranks = permutation_ranks(10, 3);
        let mut sorted = ranks.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(permutation_ranks(10, 3), ranks);
        assert_ne!(permutation_ranks(10, 4), ranks);
        // positives first, then the zeros in permutation order, then the negatives
        let mut w = vec![0.0; 10];
        w[7] = 0.5;
        w[2] = 0.2;
        w[4] = -0.3;
        let order = fidelity_order(&w, &ranks);
        assert_eq!(&order[..2], &[7, 2]);
        assert_eq!(order[9], 4);
        let zeros: Vec<usize> = order[2..9].to_vec();
        assert!(
            zeros.windows(2).all(|p| ranks[p[0]] < ranks[p[1]]),
            "{zeros:?}"
        );
        assert_eq!(top_count(40, 10), 4);
        assert_eq!(top_count(7, 10), 1);
        assert_eq!(top_count(0, 10), 0);
    }

    /// The additive model of the closed form: base 0.3, audio contributions
    /// [+0.3, −0.1], lyric contributions [+0.1, +0.1]; a space of 4 (audio, then lyrics).
    fn closed_form_model() -> Additive {
        Additive {
            base: 0.3,
            c: vec![0.3, -0.1, 0.1, 0.1],
        }
    }

    #[test]
    fn an_audio_only_oracle_scores_the_closed_form_in_the_union_space() {
        // The oracle restricted to the audio explains features 0 and 1 of the space (exact
        // weights 0.3 and −0.1) and nothing of the lyrics. Fair rule: a+, the lyrics (weight
        // 0), a−. p over the deletion: 0.7, 0.4, 0.3, 0.2, 0.3 → AUC 0.35; insertion: 0.3,
        // 0.6, 0.7, 0.8, 0.7 → 0.65; comprehensiveness@2 = 0.7 − p(without a+ and a lyric
        // word) = 0.4. (The old rule, a+, a−, lyrics, gave 0.45, 0.55 and 0.20.) The lyric
        // weights are equal, so the permutation does not matter.
        let m = closed_form_model();
        for seed in 0..8 {
            let spaces = Spaces::new(&m, 4, &[0, 1], &[(0, 0.3), (1, -0.1)], 0, seed);
            let (probe, order, _) = spaces.get(Space::Union);
            let deletion_auc = deletion(probe, order, 10).unwrap().0;
            let insertion_auc = insertion(probe, order, 10).unwrap().0;
            let comprehensiveness_2 = comprehensiveness(probe, order, 2).unwrap();
            assert!(
                (deletion_auc - 0.35).abs() < 1e-12,
                "deletion {deletion_auc}"
            );
            assert!(
                (insertion_auc - 0.65).abs() < 1e-12,
                "insertion {insertion_auc}"
            );
            assert!(
                (comprehensiveness_2 - 0.40).abs() < 1e-12,
                "comprehensiveness@2 {comprehensiveness_2}"
            );
            assert_eq!(explained_fraction(&spaces), 0.5);
            assert_eq!(positive_mask_fraction(&spaces), 0.25);
        }
    }

    #[test]
    fn the_unrestricted_oracle_is_never_worse_than_the_restricted_one() {
        // Lyric contributions +0.1 and −0.05: the audio-only oracle leaves them at 0, so the
        // permutation decides whether the negative word goes before the positive one.
        let m = Additive {
            base: 0.3,
            c: vec![0.3, -0.1, 0.1, -0.05],
        };
        let auc = |s: &Spaces| {
            let (probe, order, _) = s.get(Space::Union);
            (
                deletion(probe, order, 10).unwrap().0,
                insertion(probe, order, 10).unwrap().0,
            )
        };
        let mut strictly = 0;
        for seed in 0..16 {
            let exact = [(0, 0.3), (1, -0.1), (2, 0.1), (3, -0.05)];
            let full = Spaces::new(&m, 4, &[0, 1, 2, 3], &exact, 0, seed);
            let audio = Spaces::new(&m, 4, &[0, 1], &exact[..2], 0, seed);
            let (full_del, full_ins) = auc(&full);
            let (audio_del, audio_ins) = auc(&audio);
            assert!(full_del <= audio_del + 1e-12 && full_ins >= audio_ins - 1e-12);
            strictly += usize::from(full_del < audio_del - 1e-9);
        }
        assert!(strictly > 0 && strictly < 16, "{strictly}");
    }

    #[test]
    fn float_noise_is_no_correlation() {
        // A spread of 1e-12 on values near 0.5 used to count as a signal.
        let noisy: Vec<f64> = (0..10).map(|i| 0.5 + 1e-13 * i as f64).collect();
        let other: Vec<f64> = (0..10).map(|i| i as f64).collect();
        assert!(crate::statistics::pearson(&noisy, &other).is_nan());
        assert!((crate::statistics::pearson(&other, &other) - 1.0).abs() < 1e-12);
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
