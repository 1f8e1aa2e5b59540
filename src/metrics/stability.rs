//! Stability across repeats: the explanations of one instance by one explainer with different
//! seeds. Each repeat is given as its selected features' `(feature, weight)` pairs over the same
//! feature list; features a repeat did not select weigh 0 where a full vector is needed.

use std::collections::BTreeSet;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use crate::statistics::average_ranks;
use crate::surrogate::linalg::cholesky;
use crate::surrogate::ridge::WeightedDesign;

/// One repeat's explanation of the predicted label: `(feature, weight)` pairs, and each
/// weight's standard deviation when known (for [`csi`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    /// Selected features and their weights.
    pub weights: Vec<(usize, f64)>,
    /// Standard deviation of each weight, in the same order (see [`coefficient_stdevs`]).
    pub stdevs: Option<Vec<f64>>,
}

fn dense(weights: &[(usize, f64)], d: usize) -> Vec<f64> {
    let mut v = vec![0.0; d];
    for &(j, w) in weights {
        if j < d {
            v[j] = w;
        }
    }
    v
}

fn pairs(n: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n).flat_map(move |a| (a + 1..n).map(move |b| (a, b)))
}

fn mean_finite(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    }
}

/// The `k` features with the largest non-zero |weight| over `d` features, ties among them by
/// `tie_ranks` (the instance's permutation, [`crate::seeds::tie_rank`] of each feature's name;
/// the same for every repeat): fewer than `k` when fewer weights are non-zero, so that features
/// with no weight never make two explanations look alike.
pub fn top_k(weights: &[(usize, f64)], d: usize, k: usize, tie_ranks: &[u64]) -> BTreeSet<usize> {
    let v = dense(weights, d);
    let mut order: Vec<usize> = (0..d).filter(|&j| v[j] != 0.0).collect();
    order.sort_by(|&a, &b| {
        v[b].abs()
            .total_cmp(&v[a].abs())
            .then(tie_ranks[a].cmp(&tie_ranks[b]))
    });
    order.into_iter().take(k).collect()
}

/// **Top-k Jaccard** (higher is better, [0, 1]): the mean over pairs of repeats of
/// `|A ∩ B| / |A ∪ B|` for their top-k |weight| sets (non-zero weights only; a pair of empty
/// sets is left out). NaN with fewer than two repeats.
/// Source: the usual set-stability measure of feature attributions (e.g. Alvarez-Melis &
/// Jaakkola 2018 use it for robustness).
pub fn jaccard_at_k(repeats: &[Repeat], d: usize, k: usize, tie_ranks: &[u64]) -> f64 {
    let sets: Vec<BTreeSet<usize>> = repeats
        .iter()
        .map(|r| top_k(&r.weights, d, k, tie_ranks))
        .collect();
    mean_finite(pairs(sets.len()).map(|(a, b)| {
        let inter = sets[a].intersection(&sets[b]).count() as f64;
        let union = sets[a].union(&sets[b]).count() as f64;
        if union == 0.0 {
            f64::NAN
        } else {
            inter / union
        }
    }))
}

/// **Kendall τ** (higher is better, [-1, 1]): the mean over pairs of repeats of Kendall's tau-b
/// between their weight vectors (SciPy's `kendalltau`). Pairs where a vector is constant
/// are left out; NaN when none is left.
pub fn kendall_tau(repeats: &[Repeat], d: usize) -> f64 {
    let v: Vec<Vec<f64>> = repeats.iter().map(|r| dense(&r.weights, d)).collect();
    mean_finite(pairs(v.len()).map(|(a, b)| kendall_tau_b(&v[a], &v[b])))
}

/// **Spearman ρ** (higher is better, [-1, 1]): the mean over pairs of repeats of Spearman's
/// rank correlation (average ranks for ties, as SciPy's `spearmanr`).
pub fn spearman_rho(repeats: &[Repeat], d: usize) -> f64 {
    let v: Vec<Vec<f64>> = repeats.iter().map(|r| dense(&r.weights, d)).collect();
    mean_finite(pairs(v.len()).map(|(a, b)| spearman(&v[a], &v[b])))
}

/// Kendall's tau-b of two equally long vectors; NaN when either is constant.
pub fn kendall_tau_b(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len();
    let (mut concordant, mut discordant, mut ties_a, mut ties_b) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let da = (a[i] - a[j]).partial_cmp(&0.0);
            let db = (b[i] - b[j]).partial_cmp(&0.0);
            use std::cmp::Ordering::Equal;
            match (da, db) {
                (Some(Equal), Some(Equal)) => {}
                (Some(Equal), _) => ties_a += 1,
                (_, Some(Equal)) => ties_b += 1,
                (x, y) if x == y => concordant += 1,
                _ => discordant += 1,
            }
        }
    }
    let n0 = concordant + discordant;
    let denominator = (((n0 + ties_a) * (n0 + ties_b)) as f64).sqrt();
    if denominator == 0.0 {
        return f64::NAN;
    }
    (concordant - discordant) as f64 / denominator
}

/// Spearman's rho: the Pearson correlation of average ranks; NaN when either is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    crate::statistics::pearson(&average_ranks(a).0, &average_ranks(b).0)
}

/// **VSI**, variables stability index (higher is better, [0, 1]): over pairs of repeats, the
/// number of selected features they share, divided by the sum over pairs of the larger of the
/// two selections. Source: Visani et al. (2020), "Statistical stability indices for LIME"; with
/// equal selection sizes (the `lime-stability` package's assumption, which divides by the
/// first repeat's size and reports a percentage rounded to 2 decimals) the two agree, and the
/// larger size keeps VSI within [0, 1] when sizes differ. NaN with fewer than two repeats.
pub fn vsi(repeats: &[Repeat]) -> f64 {
    if repeats.len() < 2 || repeats[0].weights.is_empty() {
        return f64::NAN;
    }
    let sets: Vec<BTreeSet<usize>> = repeats
        .iter()
        .map(|r| r.weights.iter().map(|(j, _)| *j).collect())
        .collect();
    let (shared, possible) = pairs(sets.len()).fold((0usize, 0usize), |(s, p), (a, b)| {
        (
            s + sets[a].intersection(&sets[b]).count(),
            p + sets[a].len().max(sets[b].len()),
        )
    });
    shared as f64 / possible as f64
}

/// **CSI**, coefficients stability index (higher is better, [0, 1]): for every feature selected
/// in at least two repeats, the share of pairs of those repeats whose 95% intervals
/// `w ± 1.96 sd` overlap (strictly: `lo1 < hi2 and lo2 < hi1`), averaged over the features.
/// Source: Visani et al. (2020), as `lime-stability` computes it (a percentage; it rounds each
/// feature's share to 2 decimals before averaging). NaN when a repeat has no standard
/// deviations or no feature is shared.
pub fn csi(repeats: &[Repeat]) -> f64 {
    let mut intervals: std::collections::BTreeMap<usize, Vec<(f64, f64)>> = Default::default();
    for r in repeats {
        let Some(sd) = &r.stdevs else {
            return f64::NAN;
        };
        for (&(j, w), s) in r.weights.iter().zip(sd) {
            intervals
                .entry(j)
                .or_default()
                .push((w - 1.96 * s, w + 1.96 * s));
        }
    }
    mean_finite(intervals.values().filter(|v| v.len() >= 2).map(|v| {
        let (overlapping, count) = pairs(v.len()).fold((0usize, 0usize), |(o, c), (a, b)| {
            let overlap = v[a].0 < v[b].1 && v[b].0 < v[a].1;
            (o + usize::from(overlap), c + 1)
        });
        overlapping as f64 / count as f64
    }))
}

/// Standard deviations of weighted ridge coefficients, as `lime-stability` computes them:
/// `σ² = Σ w r² / (n − k)` from the residuals `r` of the weighted least-squares fit with an
/// intercept, and `Var(β) = σ² P XᵀWX Pᵀ` with `P = (XᵀWX + αI)⁻¹` on the uncentred `X` (no
/// intercept column). `x` holds the selected columns (`n × k`). NaN when `n ≤ k`.
pub fn coefficient_stdevs(
    x: ArrayView2<f64>,
    y: ArrayView1<f64>,
    w: ArrayView1<f64>,
    alpha: f64,
) -> Vec<f64> {
    let (n, k) = x.dim();
    if n <= k || k == 0 {
        return vec![f64::NAN; k];
    }
    let design = WeightedDesign::new(x, y, w);
    let columns: Vec<usize> = (0..k).collect();
    let fit = design.fit(&columns, 0.0);
    let residuals: Array1<f64> = (0..n)
        .map(|i| y[i] - fit.intercept - x.row(i).dot(&fit.coef))
        .collect();
    let sigma2: f64 = residuals
        .iter()
        .zip(w.iter())
        .map(|(r, wi)| wi * r * r)
        .sum::<f64>()
        / (n - k) as f64;
    let mut xtwx = Array2::<f64>::zeros((k, k));
    for i in 0..n {
        let row = x.row(i);
        for a in 0..k {
            for b in 0..k {
                xtwx[[a, b]] += w[i] * row[a] * row[b];
            }
        }
    }
    let mut penalised = xtwx.clone();
    for a in 0..k {
        penalised[[a, a]] += alpha;
    }
    let Some(l) = cholesky(penalised.view()) else {
        return vec![f64::NAN; k];
    };
    let mut p = Array2::<f64>::zeros((k, k));
    for c in 0..k {
        let mut e = Array1::<f64>::zeros(k);
        e[c] = 1.0;
        let column = crate::surrogate::linalg::cholesky_solve(l.view(), e.view());
        p.column_mut(c).assign(&column);
    }
    let v = p.dot(&xtwx).dot(&p.t()) * sigma2;
    (0..k).map(|a| v[[a, a]].max(0.0).sqrt()).collect()
}

/// Top-k feature names by non-zero |weight| (ties by the instance's permutation of names seeded
/// with `ties`, [`crate::seeds::tie_rank`]; zero weights never enter, as in [`top_k`]).
fn top_k_names(weights: &[(String, f64)], k: usize, ties: u64) -> BTreeSet<&str> {
    let rank = |i: usize| crate::seeds::tie_rank(ties, &weights[i].0);
    let mut order: Vec<usize> = (0..weights.len())
        .filter(|&i| weights[i].1 != 0.0)
        .collect();
    order.sort_by(|&a, &b| {
        weights[b]
            .1
            .abs()
            .total_cmp(&weights[a].1.abs())
            .then(rank(a).cmp(&rank(b)))
    });
    order
        .into_iter()
        .take(k)
        .map(|i| weights[i].0.as_str())
        .collect()
}

/// **Robustness, top-k Jaccard** (higher is better, [0, 1]): `|A ∩ B| / |A ∪ B|` for the top-k
/// feature names by |weight| of the explanation of an instance and of a slightly perturbed copy
/// (features matched by name, since an edit can remove a word). Source: Alvarez-Melis &
/// Jaakkola (2018), "On the robustness of interpretability methods".
pub(crate) fn robustness_jaccard(
    original: &[(String, f64)],
    perturbed: &[(String, f64)],
    k: usize,
    ties: u64,
) -> f64 {
    let a = top_k_names(original, k, ties);
    let b = top_k_names(perturbed, k, ties);
    let union = a.union(&b).count();
    if union == 0 {
        return f64::NAN;
    }
    a.intersection(&b).count() as f64 / union as f64
}

/// **Robustness, relative weight change** (lower is better, [0, ∞)): `‖w − w'‖₂ / ‖w‖₂` over
/// the union of feature names (a missing feature weighs 0). NaN when `w` is all zeros.
pub(crate) fn relative_weight_change(
    original: &[(String, f64)],
    perturbed: &[(String, f64)],
) -> f64 {
    let mut union: std::collections::BTreeMap<&str, (f64, f64)> = Default::default();
    for (n, w) in original {
        union.entry(n.as_str()).or_default().0 = *w;
    }
    for (n, w) in perturbed {
        union.entry(n.as_str()).or_default().1 = *w;
    }
    let norm: f64 = union.values().map(|(a, _)| a * a).sum::<f64>().sqrt();
    if norm == 0.0 {
        return f64::NAN;
    }
    union
        .values()
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
        / norm
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repeat(weights: &[(usize, f64)]) -> Repeat {
        Repeat {
            weights: weights.to_vec(),
            stdevs: None,
        }
    }

    #[test]
    fn identical_repeats_are_perfectly_stable() {
        let r = repeat(&[(0, 0.5), (2, -0.2), (3, 0.1)]);
        let rs = vec![r.clone(), r.clone(), r];
        assert_eq!(jaccard_at_k(&rs, 5, 2, &[0; 5]), 1.0);
        assert!((kendall_tau(&rs, 5) - 1.0).abs() < 1e-12);
        assert!((spearman_rho(&rs, 5) - 1.0).abs() < 1e-12);
        assert_eq!(vsi(&rs), 1.0);
    }

    #[test]
    fn disjoint_selections_share_nothing() {
        let rs = vec![repeat(&[(0, 0.5), (1, 0.4)]), repeat(&[(2, 0.5), (3, 0.4)])];
        assert_eq!(jaccard_at_k(&rs, 4, 2, &[0; 4]), 0.0);
        assert_eq!(vsi(&rs), 0.0);
        assert!(jaccard_at_k(&rs[..1], 4, 2, &[0; 4]).is_nan());
    }

    #[test]
    fn vsi_stays_within_one_when_selection_sizes_differ() {
        // Dividing by the first repeat's size gave 2 / 1 = 2 here.
        let rs = vec![
            repeat(&[(0, 0.5)]),
            repeat(&[(0, 0.5), (1, 0.4)]),
            repeat(&[(0, 0.3), (1, 0.2)]),
        ];
        let v = vsi(&rs);
        assert!((0.0..=1.0).contains(&v), "{v}");
        assert!((v - (1.0 + 1.0 + 2.0) / (2.0 + 2.0 + 2.0)).abs() < 1e-12);
    }

    #[test]
    fn top_k_ignores_features_with_no_weight() {
        // Two explanations with one non-zero weight each, on different features: with ties filled
        // by the lowest index, their top-3 sets shared two zero-weight features (Jaccard 0.5).
        let rs = vec![repeat(&[(3, 0.5)]), repeat(&[(4, 0.5)])];
        assert_eq!(top_k(&rs[0].weights, 6, 3, &[0; 6]).len(), 1);
        assert_eq!(jaccard_at_k(&rs, 6, 3, &[0; 6]), 0.0);
        assert!(jaccard_at_k(&[repeat(&[(0, 0.0)]), repeat(&[(1, 0.0)])], 2, 2, &[0; 2]).is_nan());
    }

    #[test]
    fn robustness_compares_by_name() {
        let a = vec![
            ("fire".to_string(), 0.5),
            ("drums1".to_string(), 0.3),
            ("the".to_string(), 0.01),
        ];
        let b = vec![("drums1".to_string(), 0.35), ("fire".to_string(), 0.45)];
        assert_eq!(robustness_jaccard(&a, &b, 2, 0), 1.0);
        assert_eq!(robustness_jaccard(&a, &b, 3, 0), 2.0 / 3.0);
        let change = relative_weight_change(&a, &b);
        let expected =
            ((0.05f64).powi(2) * 2.0 + 0.01f64.powi(2)).sqrt() / (0.25f64 + 0.09 + 0.0001).sqrt();
        assert!((change - expected).abs() < 1e-12);
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]).0,
            vec![3.5, 1.0, 3.5, 2.0]
        );
        assert!((kendall_tau_b(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert!(kendall_tau_b(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }
}
