//! The Wilcoxon signed-rank test (SciPy 1.17.1's `wilcoxon`) and the matched-pairs
//! rank-biserial correlation.

use super::special::normal_sf;
use crate::error::{Error, Result};

/// How [`wilcoxon_signed_rank`] treats zero differences (SciPy's `zero_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZeroMethod {
    /// Wilcoxon (1945): zeros are dropped before ranking; the rank count is the number of
    /// non-zero differences. SciPy's default and the one to use.
    Wilcox,
    /// Pratt (1959): zeros are ranked with the rest (they share the lowest ranks) but count in
    /// neither rank sum; the normal approximation is adjusted as in Cureton (1967).
    Pratt,
    /// Zero-split: zeros are ranked with the rest and half their rank sum is added to each of
    /// `R+` and `R−`.
    Zsplit,
}

/// Which p-value [`wilcoxon_signed_rank`] is asked for (SciPy's `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WilcoxonMethod {
    /// SciPy's `'auto'`: `n > 50` (zeros included) → normal approximation; else no ties among
    /// the ranked `|d|` and no zeros → exact; else `n ≤ 13` → exhaustive sign-flip permutation
    /// test; else normal approximation.
    Auto,
    /// SciPy's `'exact'`: the null distribution of `R+` for untied ranks `1..count`, used even
    /// with ties or zeros (non-integral `R+` is rounded conservatively, gh-19872).
    Exact,
    /// SciPy's `'asymptotic'` (alias `'approx'`): the normal approximation with tie (and zero)
    /// corrected variance, no continuity correction.
    Asymptotic,
}

/// Which computation produced a [`Wilcoxon`] p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WilcoxonPValue {
    /// The exact null distribution of the signed-rank statistic.
    Exact,
    /// The exhaustive permutation test over all `2^n` sign flips.
    Permutation,
    /// The normal approximation.
    Asymptotic,
}

/// The result of a two-sided Wilcoxon signed-rank test on paired differences `d`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wilcoxon {
    /// Number of differences, zeros included.
    pub n: usize,
    /// Number of differences equal to zero.
    pub n_zero: usize,
    /// Number of ranked values: `n − n_zero` for [`ZeroMethod::Wilcox`], else `n`.
    pub count: usize,
    /// Sum of the (average) ranks of `|d|` over positive `d` (plus half the zeros' rank sum
    /// for [`ZeroMethod::Zsplit`]).
    pub r_plus: f64,
    /// The same over negative `d`.
    pub r_minus: f64,
    /// The reported statistic `min(R+, R−)` (SciPy's two-sided `statistic`). Small means
    /// evidence of a shift in either direction.
    pub statistic: f64,
    /// Two-sided p-value; `NaN` when the normal approximation has zero variance (every
    /// difference zero under `Wilcox` or `Pratt`), as SciPy returns.
    pub p_value: f64,
    /// The computation that produced `p_value`.
    pub method: WilcoxonPValue,
    /// The normal score `−|R+ − mean| / se` whenever the normal approximation produced the
    /// p-value (`NaN` with zero variance), else `None`. SciPy reports it (as `zstatistic`)
    /// only for `method='asymptotic'`, not when `'auto'` falls back to the approximation;
    /// here it is reported in both cases.
    pub z: Option<f64>,
}

/// Rank sums and tie structure of differences `d` under a zero method (SciPy's
/// `_wilcoxon_statistic`).
pub(super) struct SignedRanks {
    /// Rank of `|d_i|`, `0` where `d_i` is not ranked (zeros under `Wilcox`).
    ranks: Vec<f64>,
    r_plus: f64,
    r_minus: f64,
    /// Half the zeros' rank sum under `Zsplit` (added to both sums), else `0`.
    zero_half: f64,
    count: usize,
    n_zero: usize,
    /// Some group of tied values among the ranked `|d|` has two or more members.
    has_ties: bool,
    /// `Σ (t³ − t)` over the tie groups that enter the variance (`Pratt` leaves out the zeros).
    tie_term: f64,
}

/// Average (mid) ranks `1..=n` of `values` (ties get the mean of their ordinal ranks, as
/// `scipy.stats.rankdata(.., 'average')`), and the sizes of the tie groups in ascending value
/// order.
pub(crate) fn average_ranks(values: &[f64]) -> (Vec<f64>, Vec<usize>) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut groups = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && values[order[end + 1]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 2) as f64 / 2.0;
        for &i in &order[start..=end] {
            ranks[i] = rank;
        }
        groups.push(end - start + 1);
        start = end + 1;
    }
    (ranks, groups)
}

pub(super) fn signed_ranks(d: &[f64], zero_method: ZeroMethod) -> SignedRanks {
    let ranked: Vec<usize> = match zero_method {
        ZeroMethod::Wilcox => (0..d.len()).filter(|&i| d[i] != 0.0).collect(),
        ZeroMethod::Pratt | ZeroMethod::Zsplit => (0..d.len()).collect(),
    };
    let magnitudes: Vec<f64> = ranked.iter().map(|&i| d[i].abs()).collect();
    let (group_ranks, groups) = average_ranks(&magnitudes);
    let mut ranks = vec![0.0; d.len()];
    for (&i, &r) in ranked.iter().zip(&group_ranks) {
        ranks[i] = r;
    }
    let sum_where = |keep: &dyn Fn(f64) -> bool| -> f64 {
        d.iter()
            .zip(&ranks)
            .filter(|(v, _)| keep(**v))
            .map(|(_, r)| r)
            .sum()
    };
    let zero_half = match zero_method {
        ZeroMethod::Zsplit => sum_where(&|v| v == 0.0) / 2.0,
        _ => 0.0,
    };
    let n_zero = d.iter().filter(|v| **v == 0.0).count();
    // Under Pratt with zeros, the zeros are the first (smallest) group and are left out.
    let skip = usize::from(zero_method == ZeroMethod::Pratt && n_zero > 0);
    let tie_term = groups
        .iter()
        .skip(skip)
        .map(|&t| {
            let t = t as f64;
            t * t * t - t
        })
        .sum();
    SignedRanks {
        r_plus: sum_where(&|v| v > 0.0) + zero_half,
        r_minus: sum_where(&|v| v < 0.0) + zero_half,
        zero_half,
        count: ranked.len(),
        n_zero,
        has_ties: groups.iter().any(|&t| t > 1),
        tie_term,
        ranks,
    }
}

/// The normal score `(R+ − mean)/se` of SciPy's asymptotic method (no continuity
/// correction), with `mean = count(count+1)/4` and
/// `se² = [count(count+1)(2count+1) − Σ(t³−t)/2]/24`; `Pratt` subtracts the zeros' share
/// (Cureton 1967). `NaN` (0/0) when nothing non-zero is ranked.
pub(super) fn normal_score(s: &SignedRanks, zero_method: ZeroMethod) -> f64 {
    let count = s.count as f64;
    let mut mn = count * (count + 1.0) * 0.25;
    let mut se = count * (count + 1.0) * (2.0 * count + 1.0);
    if zero_method == ZeroMethod::Pratt {
        let n0 = s.n_zero as f64;
        mn -= n0 * (n0 + 1.0) * 0.25;
        se -= n0 * (n0 + 1.0) * (2.0 * n0 + 1.0);
    }
    let se = ((se - s.tie_term / 2.0) / 24.0).sqrt();
    (s.r_plus - mn) / se
}

/// The largest rank count for which [`WilcoxonMethod::Exact`] builds the null distribution
/// (`O(count³)` work; probabilities `2^−count` stay normal doubles).
pub(super) const EXACT_MAX_COUNT: usize = 1000;

/// Null distribution of `R+` for untied ranks `1..=count`, each signed ± with probability ½:
/// `pmf[s] = P(R+ = s)`, `s = 0..=count(count+1)/2` (SciPy's `_get_wilcoxon_distr`).
pub(super) fn signed_rank_pmf(count: usize) -> Vec<f64> {
    let mut pmf = vec![1.0];
    for k in 1..=count {
        let mut next = vec![0.0; pmf.len() + k];
        for (s, p) in pmf.iter().enumerate() {
            next[s] += 0.5 * p;
            next[s + k] += 0.5 * p;
        }
        pmf = next;
    }
    pmf
}

/// SciPy's exact two-sided p: `min(1, 2·min(P(R+ ≥ ⌊R+⌋), P(R+ ≤ ⌈R+⌉)))` under
/// [`signed_rank_pmf`]. Each tail is summed from its extreme end, so small p-values keep
/// full relative accuracy (SciPy's `1 − other tail` above the mean differs by ~1e-16).
pub(super) fn exact_p_value(r_plus: f64, count: usize) -> Result<f64> {
    if count > EXACT_MAX_COUNT {
        return Err(Error::param(
            "method",
            format!(
                "the exact Wilcoxon distribution is built for at most {EXACT_MAX_COUNT} ranked \
                 differences, got {count}; use the asymptotic method"
            ),
        ));
    }
    let pmf = signed_rank_pmf(count);
    let last = pmf.len() - 1;
    let k_hi = (r_plus.floor().max(0.0) as usize).min(last);
    let k_lo = (r_plus.ceil().max(0.0) as usize).min(last);
    let sf: f64 = pmf[k_hi..].iter().rev().sum();
    let cdf: f64 = pmf[..=k_lo].iter().sum();
    Ok((2.0 * sf.min(cdf)).clamp(0.0, 1.0))
}

/// The exhaustive sign-flip permutation p-value of `scipy.stats.permutation_test` with
/// `permutation_type='samples'` on `R+`: over all `2^n` sign vectors (the observed one
/// included), `min(1, 2·min(#{R+ ≤ obs + γ}, #{R+ ≥ obs − γ}) / 2^n)` with
/// `γ = 100·ε·|obs|`. Flipping a sign leaves every rank unchanged, so only the side changes.
pub(super) fn permutation_p_value(d: &[f64], s: &SignedRanks) -> Result<f64> {
    let n = d.len();
    if n < 2 {
        return Err(Error::input(
            "wilcoxon",
            format!(
                "the permutation test that method 'auto' picks (ties or zeros, n <= 13) needs \
                 at least two differences, got {n} (SciPy raises ValueError here); use the \
                 exact or asymptotic method"
            ),
        ));
    }
    if n > 20 {
        return Err(Error::Internal(format!(
            "permutation test over 2^{n} sign flips requested; auto uses it only for n <= 13"
        )));
    }
    let obs = s.r_plus;
    let gamma = (100.0 * f64::EPSILON * obs).abs();
    let (mut less, mut greater) = (0_u64, 0_u64);
    for mask in 0_u64..(1 << n) {
        let mut r = s.zero_half;
        for (i, (v, rank)) in d.iter().zip(&s.ranks).enumerate() {
            let flipped = (mask >> i) & 1 == 1;
            if *v != 0.0 && ((*v > 0.0) != flipped) {
                r += rank;
            }
        }
        less += u64::from(r <= obs + gamma);
        greater += u64::from(r >= obs - gamma);
    }
    let total = (1_u64 << n) as f64;
    Ok((2.0 * (less as f64 / total).min(greater as f64 / total)).clamp(0.0, 1.0))
}

/// The branch `method` resolves to for these differences (SciPy's `'auto'` rules).
pub(super) fn resolve_method(method: WilcoxonMethod, n: usize, s: &SignedRanks) -> WilcoxonPValue {
    match method {
        WilcoxonMethod::Exact => WilcoxonPValue::Exact,
        WilcoxonMethod::Asymptotic => WilcoxonPValue::Asymptotic,
        WilcoxonMethod::Auto if n > 50 => WilcoxonPValue::Asymptotic,
        WilcoxonMethod::Auto if !s.has_ties && s.n_zero == 0 => WilcoxonPValue::Exact,
        WilcoxonMethod::Auto if n <= 13 => WilcoxonPValue::Permutation,
        WilcoxonMethod::Auto => WilcoxonPValue::Asymptotic,
    }
}

/// Checks that differences are non-empty and finite; `what` names them in the error.
pub(super) fn check_differences(d: &[f64], what: &str) -> Result<()> {
    if d.is_empty() {
        return Err(Error::input(what, "no paired differences (empty input)"));
    }
    if let Some(i) = d.iter().position(|v| !v.is_finite()) {
        return Err(Error::input(
            what,
            format!("difference {i} is {} (all must be finite)", d[i]),
        ));
    }
    Ok(())
}

/// Two-sided Wilcoxon signed-rank test of "the differences `d = x − y` are symmetric about
/// zero", as `scipy.stats.wilcoxon(x, y, zero_method, correction=False,
/// alternative='two-sided', method)` in SciPy 1.17.1.
///
/// Ranks are average ranks of `|d|` (see [`ZeroMethod`] for zeros); the statistic is
/// `min(R+, R−)`. The p-value comes from the branch [`WilcoxonMethod`] picks:
/// exact (`2·min(SF(⌊R+⌋), CDF(⌈R+⌉))`, capped at 1, over ranks `1..count`), permutation
/// (all `2^n` sign flips) or the normal approximation `p = 2·normal_sf(|z|)` with the tie
/// corrected variance. Small p: evidence that one side of the pair tends to be larger.
///
/// SciPy's quirks are kept: `Exact` with ties or zeros is conservative, not exact; `Pratt`
/// and `Zsplit` use `count = n` in the exact distribution; with every difference zero,
/// `Wilcox`/`Pratt` give `p = NaN` under the normal approximation and `Wilcox` gives `p = 1`
/// under `Exact`. `Pratt` with `Exact` is therefore not symmetric under swapping `x` and `y`
/// when there are zeros (the distribution over ranks `1..n` is centred on `n(n+1)/4`, the
/// rank sums are not); every other combination is.
///
/// Errors: empty or non-finite `d` (SciPy would return NaN); `Auto` picking the permutation
/// test with a single difference (SciPy raises `ValueError`); `Exact` with more than 1000
/// ranked differences.
pub fn wilcoxon_signed_rank(
    d: &[f64],
    zero_method: ZeroMethod,
    method: WilcoxonMethod,
) -> Result<Wilcoxon> {
    check_differences(d, "wilcoxon differences")?;
    let s = signed_ranks(d, zero_method);
    let used = resolve_method(method, d.len(), &s);
    let (p_value, z) = match used {
        WilcoxonPValue::Exact => (exact_p_value(s.r_plus, s.count)?, None),
        WilcoxonPValue::Permutation => (permutation_p_value(d, &s)?, None),
        WilcoxonPValue::Asymptotic => {
            let z = -normal_score(&s, zero_method).abs();
            (2.0 * normal_sf(-z), Some(z))
        }
    };
    Ok(Wilcoxon {
        n: d.len(),
        n_zero: s.n_zero,
        count: s.count,
        r_plus: s.r_plus,
        r_minus: s.r_minus,
        statistic: s.r_plus.min(s.r_minus),
        p_value,
        method: used,
        z,
    })
}

/// Matched-pairs rank-biserial correlation `r = (R+ − R−)/(R+ + R−)` (Kerby 2014), the
/// effect size of the signed-rank test: `+1` when every non-zero difference is positive,
/// `−1` when every one is negative, `0` when the rank sums balance.
///
/// Ranks are average ranks of `|d|` with zeros handled by `zero_method` as in
/// [`wilcoxon_signed_rank`]: `Wilcox` (the one to use) drops zeros before ranking; `Pratt`
/// ranks them but counts them on neither side; `Zsplit` adds half their rank sum to each side
/// (so the denominator is `n(n+1)/2`). `NaN` when the denominator is zero (no non-zero
/// difference under `Wilcox`/`Pratt`), for empty `d`, or when some `d` is not finite.
pub fn rank_biserial(d: &[f64], zero_method: ZeroMethod) -> f64 {
    if check_differences(d, "rank-biserial differences").is_err() {
        return f64::NAN;
    }
    let s = signed_ranks(d, zero_method);
    let total = s.r_plus + s.r_minus;
    if total == 0.0 {
        return f64::NAN;
    }
    (s.r_plus - s.r_minus) / total
}
