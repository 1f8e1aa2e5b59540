//! Pure statistics for instance-level summaries and paired comparisons of explainers.
//!
//! Everything here is a deterministic function of its arguments: no randomness, no
//! allocation beyond what a result needs, no dependency outside `std`.
//!
//! * Summaries: [`mean`], [`sample_std`], [`mean_ci_95`] (Student t interval).
//! * Distributions: [`normal_sf`] (upper tail of the standard normal) and [`t_quantile_975`]
//!   (two-sided 95 % Student t quantile), computed from special functions implemented here
//!   (log-gamma, the regularized incomplete beta function by Lentz's continued fraction, the
//!   normal Mills ratio by continued fraction), not from tables.
//! * Paired comparisons: [`wilcoxon_signed_rank`] reproduces
//!   `scipy.stats.wilcoxon(x, y, zero_method=.., correction=False, alternative='two-sided',
//!   method=..)` of SciPy 1.17.1 (including the choice `method='auto'` makes), [`rank_biserial`]
//!   is the matched-pairs rank-biserial correlation, and [`paired_comparison`] bundles them
//!   with the paired mean difference and its 95 % t interval.
//! * Multiplicity: [`holm`] gives Holm–Bonferroni adjusted p-values as
//!   `statsmodels.stats.multitest.multipletests(p, method='holm')[1]` does.
//!
//! The reference numbers (SciPy 1.17.1, statsmodels 0.15.0) live in
//! `tests/fixtures/statistics/`; `tests/statistics_parity.rs` compares against every one.

use crate::error::{Error, Result};

// -------------------------------------------------------------------------------------------
// Summaries
// -------------------------------------------------------------------------------------------

/// Arithmetic mean `Σ v / n`, summed left to right. `NaN` for an empty slice.
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample standard deviation with Bessel's correction (`ddof = 1`, as `numpy.std(v, ddof=1)`):
/// `sqrt(Σ (v − mean)² / (n − 1))`, computed in two passes. `NaN` when `n < 2`.
pub fn sample_std(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    let m = mean(values);
    let ss: f64 = values.iter().map(|v| (v - m) * (v - m)).sum();
    (ss / (values.len() - 1) as f64).sqrt()
}

/// A mean with its two-sided 95 % Student t confidence interval `mean ± half_width`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanCi {
    /// Number of values.
    pub n: usize,
    /// Their mean ([`mean`]); `NaN` when `n = 0`.
    pub mean: f64,
    /// Their sample standard deviation ([`sample_std`], ddof 1); `NaN` when `n < 2`.
    pub std: f64,
    /// `t_{0.975, n−1} · std / √n` ([`t_quantile_975`]); `NaN` when `n < 2`, `0` when all
    /// values are equal.
    pub half_width: f64,
}

impl MeanCi {
    /// Lower end of the interval, `mean − half_width`.
    pub fn low(&self) -> f64 {
        self.mean - self.half_width
    }

    /// Upper end of the interval, `mean + half_width`.
    pub fn high(&self) -> f64 {
        self.mean + self.half_width
    }
}

/// The mean of `values` with its 95 % t interval (as `scipy.stats.ttest_1samp(v, 0)
/// .confidence_interval(0.95)`): half width `t_{0.975, n−1} · s / √n`. With `n < 2` the
/// interval is undefined and `half_width` (and `std`) are `NaN`.
pub fn mean_ci_95(values: &[f64]) -> MeanCi {
    let n = values.len();
    let std = sample_std(values);
    let half_width = if n < 2 {
        f64::NAN
    } else {
        t_quantile_975(n - 1) * std / (n as f64).sqrt()
    };
    MeanCi {
        n,
        mean: mean(values),
        std,
        half_width,
    }
}

// -------------------------------------------------------------------------------------------
// Special functions and distributions
// -------------------------------------------------------------------------------------------

/// Upper tail of the standard normal distribution, `P(Z > z) = 1 − Φ(z) = erfc(z/√2)/2`
/// (`scipy.stats.norm.sf`). Decreasing in `z`; `normal_sf(0) = 0.5`.
///
/// Computed in `z` directly, with no rounding of `z/√2`: for `|z| < 1.5` from the series
/// `Φ(z) − ½ = φ(z) Σ z^(2k+1)/(2k+1)!!` (positive terms), above from the continued fraction
/// of the Mills ratio `Q(z)/φ(z) = 1/(z+1/(z+2/(z+3/(z+…))))` (modified Lentz), with
/// `φ(z) = exp(−z²/2)/√(2π)` evaluated from an exact split of `z²`. Relative error below
/// 2e-15 (against mpmath) for `z` up to 37.5, where the tail is the smallest normal double;
/// SciPy's `norm.sf` itself is off by up to 3e-14 there. Subnormal beyond, `0` from `z = 40`.
/// `NaN` for `NaN`.
pub fn normal_sf(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    if z < 0.0 {
        return 1.0 - normal_sf(-z);
    }
    if z < 1.5 {
        0.5 - normal_pdf(z) * normal_series(z)
    } else if z < 40.0 {
        normal_pdf(z) * mills_ratio(z)
    } else {
        0.0
    }
}

/// `φ(z) = exp(−z²/2)/√(2π)` for `0 ≤ z < 40`, with `z² = zh² + zl·(zh + z)` split so that
/// `zh²` is exact (Dekker) and the large part of the exponent carries no rounding.
fn normal_pdf(z: f64) -> f64 {
    const SPLIT: f64 = 134_217_729.0; // 2^27 + 1
    let c = SPLIT * z;
    let zh = c - (c - z);
    let zl = z - zh;
    let inv_sqrt_2pi = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    (-0.5 * zh * zh).exp() * (-0.5 * zl * (zh + z)).exp() * inv_sqrt_2pi
}

/// `Σ_{k≥0} z^(2k+1) / (2k+1)!!`, so that `Φ(z) − ½ = φ(z) · series`.
fn normal_series(z: f64) -> f64 {
    let z2 = z * z;
    let mut term = z;
    let mut sum = z;
    for k in 1..500 {
        term *= z2 / (2 * k + 1) as f64;
        sum += term;
        if term <= sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Mills ratio `Q(z)/φ(z)` for `z > 0` from its continued fraction
/// `1/(z + 1/(z + 2/(z + 3/(z + …))))`, by the modified Lentz method.
fn mills_ratio(z: f64) -> f64 {
    let mut f = z;
    let mut c = z;
    let mut d = 0.0;
    for j in 1..5000 {
        let a = j as f64;
        d = 1.0 / (z + a * d);
        c = z + a / c;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < f64::EPSILON {
            break;
        }
    }
    1.0 / f
}

/// Stirling's correction `ln Γ(x) − [(x − ½) ln x − x + ½ ln 2π]` for `x ≥ 10`, by its
/// asymptotic series (seven terms; truncation error below 3e-17 at `x = 10`).
fn stirling_correction(x: f64) -> f64 {
    const C: [f64; 7] = [
        1.0 / 12.0,
        -1.0 / 360.0,
        1.0 / 1260.0,
        -1.0 / 1680.0,
        1.0 / 1188.0,
        -691.0 / 360_360.0,
        1.0 / 156.0,
    ];
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    let mut sum = 0.0;
    for c in C.iter().rev() {
        sum = sum * inv2 + c;
    }
    sum * inv
}

/// `ln Γ(x)` for `x > 0`: Stirling's series for `x ≥ 10`, the Lanczos approximation
/// (g = 7, nine coefficients) below, `ln Γ(x) = ln Γ(x + 1) − ln x` for `x < ½`.
/// Relative accuracy about 1e-15. `NaN` for `x ≤ 0` or `NaN`.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const LANCZOS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x < 0.5 {
        return ln_gamma(x + 1.0) - x.ln();
    }
    if x >= 10.0 {
        let half_ln_2pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        return (x - 0.5) * x.ln() - x + half_ln_2pi + stirling_correction(x);
    }
    let xm1 = x - 1.0;
    let mut series = LANCZOS[0];
    for (i, c) in LANCZOS.iter().enumerate().skip(1) {
        series += c / (xm1 + i as f64);
    }
    let t = xm1 + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (xm1 + 0.5) * t.ln() - t + series.ln()
}

/// `ln Γ(x) − ln Γ(x + s)` for `x ≥ 10`, `s > 0`, from Stirling's formula written so that
/// the two large logarithms never cancel.
fn ln_gamma_ratio(x: f64, s: f64) -> f64 {
    -(x - 0.5) * (s / x).ln_1p() - s * (x + s).ln() + s + stirling_correction(x)
        - stirling_correction(x + s)
}

/// `ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b)` for `a, b > 0`, without cancellation when
/// one argument is large.
fn ln_beta(a: f64, b: f64) -> f64 {
    let (small, large) = if a < b { (a, b) } else { (b, a) };
    if large >= 10.0 {
        ln_gamma(small) + ln_gamma_ratio(large, small)
    } else {
        ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
    }
}

/// The regularized incomplete beta function `I_x(a, b)` for `a, b > 0`, with the complement
/// `y = 1 − x` passed separately so that neither loses digits near 0 or 1. Numerical Recipes'
/// `betai`: the continued fraction for `I_x(a, b)` when `x < (a+1)/(a+b+2)`, else
/// `1 − I_y(b, a)`.
fn incomplete_beta(a: f64, b: f64, x: f64, y: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    let ln_x = if x > 0.5 { (-y).ln_1p() } else { x.ln() };
    let ln_y = if y > 0.5 { (-x).ln_1p() } else { y.ln() };
    let front = (a * ln_x + b * ln_y - ln_beta(a, b)).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, y) / b
    }
}

/// The continued fraction of `I_x(a, b)` (Numerical Recipes `betacf`), by the modified Lentz
/// method; converges quickly for `x < (a+1)/(a+b+2)`.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..100_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / guard(1.0 + aa * d);
        c = guard(1.0 + aa / c);
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < f64::EPSILON {
            break;
        }
    }
    h
}

/// Two-sided tail of Student's t with `df` degrees of freedom, `P(|T| > t)` for `t ≥ 0`:
/// `I_{df/(df+t²)}(df/2, ½)`.
fn student_t_two_sided_tail(t: f64, df: f64) -> f64 {
    let t2 = t * t;
    let x = df / (df + t2);
    let y = t2 / (df + t2);
    incomplete_beta(0.5 * df, 0.5, x, y)
}

/// The two-sided 95 % Student t quantile `t_{0.975, df}` (`scipy.stats.t.ppf(0.975, df)`):
/// the `t > 0` with `P(|T| > t) = 0.05`. Decreasing in `df`, from 12.706 (df = 1) towards
/// the normal 1.95996. `NaN` for `df = 0`.
///
/// Computed, not tabulated. For `df ≤ 1000`: bracketing, then bisection to the last bit on
/// the two-sided tail `I_{df/(df+t²)}(df/2, ½)` (regularized incomplete beta). Above, where
/// the continued fraction loses about `df·ε` to cancellation, the Cornish–Fisher expansion
/// in `1/df` (Abramowitz & Stegun 26.7.5, four terms) around the normal quantile, whose
/// truncation error is below 1e-15 there. Matches SciPy (Boost) to 3.5e-15 relative for
/// df = 1..200 (`tests/fixtures/statistics`) and mpmath to 1e-15 at df = 10³…10¹², `usize::MAX`.
pub fn t_quantile_975(df: usize) -> f64 {
    const EXPANSION_FROM: usize = 1000;
    match df {
        0 => f64::NAN,
        1..=EXPANSION_FROM => {
            let df = df as f64;
            bisect_decreasing(|t| student_t_two_sided_tail(t, df), 0.05, 1.0)
        }
        _ => t_quantile_975_expansion(df as f64),
    }
}

/// A&S 26.7.5: `t_p(ν) ≈ z + g₁(z)/ν + g₂(z)/ν² + g₃(z)/ν³ + g₄(z)/ν⁴` with `z` the normal
/// quantile ([`normal_quantile_975`]); for large `ν`.
fn t_quantile_975_expansion(df: f64) -> f64 {
    let z = normal_quantile_975();
    let z2 = z * z;
    let g1 = z * (z2 + 1.0) / 4.0;
    let g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
    let g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
    let g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0;
    let v = 1.0 / df;
    z + v * (g1 + v * (g2 + v * (g3 + v * g4)))
}

/// The standard normal 97.5 % quantile `Φ⁻¹(0.975) = 1.959963984540054…`, solved on
/// [`normal_sf`] by bisection.
fn normal_quantile_975() -> f64 {
    bisect_decreasing(normal_sf, 0.025, 1.0)
}

/// The `x > 0` where the decreasing function `f` crosses `target`: doubles `hi` from `start`
/// until `f(hi) ≤ target`, then bisects until the bracket is two adjacent doubles, and returns
/// the end whose value is nearer `target`. Deterministic; about 60 evaluations.
fn bisect_decreasing(f: impl Fn(f64) -> f64, target: f64, start: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, start);
    while f(hi) > target && hi < 1e300 {
        lo = hi;
        hi *= 2.0;
    }
    loop {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    if (f(lo) - target).abs() <= (f(hi) - target).abs() {
        lo
    } else {
        hi
    }
}

// -------------------------------------------------------------------------------------------
// Wilcoxon signed-rank test
// -------------------------------------------------------------------------------------------

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
struct SignedRanks {
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
pub fn average_ranks(values: &[f64]) -> (Vec<f64>, Vec<usize>) {
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

fn signed_ranks(d: &[f64], zero_method: ZeroMethod) -> SignedRanks {
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
fn normal_score(s: &SignedRanks, zero_method: ZeroMethod) -> f64 {
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
const EXACT_MAX_COUNT: usize = 1000;

/// Null distribution of `R+` for untied ranks `1..=count`, each signed ± with probability ½:
/// `pmf[s] = P(R+ = s)`, `s = 0..=count(count+1)/2` (SciPy's `_get_wilcoxon_distr`).
fn signed_rank_pmf(count: usize) -> Vec<f64> {
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
fn exact_p_value(r_plus: f64, count: usize) -> Result<f64> {
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
fn permutation_p_value(d: &[f64], s: &SignedRanks) -> Result<f64> {
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
fn resolve_method(method: WilcoxonMethod, n: usize, s: &SignedRanks) -> WilcoxonPValue {
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
fn check_differences(d: &[f64], what: &str) -> Result<()> {
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

// -------------------------------------------------------------------------------------------
// Paired comparison
// -------------------------------------------------------------------------------------------

/// Two explainers (or settings) compared on the same instances: `x[i]` and `y[i]` are their
/// scores on instance `i`, and every quantity is about `d = x − y` (positive: `x` larger).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedComparison {
    /// Number of pairs.
    pub n: usize,
    /// Mean difference `mean(x − y)`.
    pub mean_diff: f64,
    /// Sample standard deviation of the differences (ddof 1); `NaN` when `n < 2`.
    pub sd_diff: f64,
    /// Half width of the 95 % paired t interval, `t_{0.975, n−1}·sd_diff/√n` (as
    /// `scipy.stats.ttest_rel(x, y).confidence_interval(0.95)`); `NaN` when `n < 2`.
    pub half_width: f64,
    /// `mean_diff − half_width`.
    pub ci_low: f64,
    /// `mean_diff + half_width`.
    pub ci_high: f64,
    /// The two-sided Wilcoxon signed-rank test on `x − y` ([`wilcoxon_signed_rank`]).
    pub wilcoxon: Wilcoxon,
    /// Matched-pairs rank-biserial correlation of `x − y`, always with zeros dropped
    /// ([`rank_biserial`] with [`ZeroMethod::Wilcox`]) whatever `zero_method` the test uses;
    /// `NaN` when every difference is zero.
    pub rank_biserial: f64,
}

/// Compares paired samples `x` and `y` (same instances, same order): the mean difference
/// with its 95 % paired t interval, the Wilcoxon signed-rank test with `zero_method` and
/// `method`, and the rank-biserial effect size. Swapping `x` and `y` negates `mean_diff`,
/// the interval and the effect size and leaves the statistic and p-value unchanged.
///
/// Errors: `x` and `y` of different lengths, empty, or with non-finite values (naming the
/// offending pair), and the errors of [`wilcoxon_signed_rank`] (for example `Auto` with a
/// single zero difference).
pub fn paired_comparison(
    x: &[f64],
    y: &[f64],
    zero_method: ZeroMethod,
    method: WilcoxonMethod,
) -> Result<PairedComparison> {
    if x.len() != y.len() {
        return Err(Error::input(
            "paired comparison",
            format!(
                "x has {} values and y has {}; paired samples must cover the same instances",
                x.len(),
                y.len()
            ),
        ));
    }
    if let Some(i) = (0..x.len()).find(|&i| !x[i].is_finite() || !y[i].is_finite()) {
        return Err(Error::input(
            "paired comparison",
            format!(
                "pair {i} is ({}, {}); all values must be finite",
                x[i], y[i]
            ),
        ));
    }
    let d: Vec<f64> = x.iter().zip(y).map(|(a, b)| a - b).collect();
    let wilcoxon = wilcoxon_signed_rank(&d, zero_method, method)?;
    let ci = mean_ci_95(&d);
    Ok(PairedComparison {
        n: d.len(),
        mean_diff: ci.mean,
        sd_diff: ci.std,
        half_width: ci.half_width,
        ci_low: ci.low(),
        ci_high: ci.high(),
        wilcoxon,
        rank_biserial: rank_biserial(&d, ZeroMethod::Wilcox),
    })
}

// -------------------------------------------------------------------------------------------
// Multiple comparisons
// -------------------------------------------------------------------------------------------

/// Holm–Bonferroni adjusted p-values (Holm 1979), in the input order, as
/// `statsmodels.stats.multitest.multipletests(p, method='holm')[1]`: with the `m` p-values
/// sorted ascending, `adj_(i) = min(1, max_{j ≤ i} (m − j)·p_(j))` (step-down, monotone,
/// capped at 1). Reject hypothesis `i` at level `α` when `adjusted[i] ≤ α`. Tied p-values get
/// the same adjusted value.
///
/// `NaN` entries (for example a test that could not be computed) are passed through as `NaN`
/// and are not counted in `m`: the family is the tests that produced a p-value. (statsmodels
/// would propagate the `NaN` into the sort instead.) Values are not otherwise checked; they
/// are expected in `[0, 1]`.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let m = order.len();
    let mut adjusted = vec![f64::NAN; p.len()];
    let mut running = f64::NEG_INFINITY;
    for (j, &i) in order.iter().enumerate() {
        running = running.max((m - j) as f64 * p[i]);
        adjusted[i] = running.min(1.0);
    }
    adjusted
}

// -------------------------------------------------------------------------------------------
// Correlation
// -------------------------------------------------------------------------------------------

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
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    #[test]
    fn ln_gamma_matches_factorials_and_half_integers() {
        let mut factorial = 1.0_f64;
        for n in 1..25 {
            assert!(
                (ln_gamma(n as f64) - factorial.ln()).abs() < 1e-13 * factorial.ln().max(1.0),
                "ln Γ({n})"
            );
            factorial *= n as f64;
        }
        let sqrt_pi = std::f64::consts::PI.sqrt();
        assert!(rel(ln_gamma(0.5), sqrt_pi.ln()) < 1e-14);
        assert!(rel(ln_gamma(1.5).exp(), sqrt_pi / 2.0) < 1e-14);
        assert!(ln_gamma(0.0).is_nan());
    }

    #[test]
    fn ln_beta_large_argument_is_consistent() {
        // B(a, 1/2) recursion: B(a + 1, b) = B(a, b)·a/(a + b), across the Stirling switch.
        for a in [8.0, 9.5, 9.75, 10.0, 50.0, 1e6] {
            let lhs = ln_beta(a + 1.0, 0.5);
            let rhs = ln_beta(a, 0.5) + (a / (a + 0.5)).ln();
            assert!((lhs - rhs).abs() < 1e-13, "a = {a}: {lhs} vs {rhs}");
        }
        assert!((ln_beta(1.0, 0.5) - 2.0_f64.ln()).abs() < 1e-14);
    }

    #[test]
    fn incomplete_beta_closed_forms() {
        // I_x(1, 1) = x; I_x(a, 1) = x^a; t with df = 1 is Cauchy.
        for x in [0.1, 0.3, 0.7, 0.95] {
            assert!(rel(incomplete_beta(1.0, 1.0, x, 1.0 - x), x) < 1e-14);
            assert!(rel(incomplete_beta(3.0, 1.0, x, 1.0 - x), x.powi(3)) < 1e-14);
        }
        for t in [0.5, 1.0, 3.0, 12.0] {
            let cauchy = 1.0 - 2.0 * f64::atan(t) / std::f64::consts::PI;
            assert!(rel(student_t_two_sided_tail(t, 1.0), cauchy) < 1e-13);
        }
    }

    #[test]
    fn t_quantile_limits() {
        let cauchy = (0.475 * std::f64::consts::PI).tan();
        assert!(rel(t_quantile_975(1), cauchy) < 1e-14);
        // df = 2 has a closed form: P(|T| > t) = 1 − t/sqrt(2 + t²).
        let t2 = t_quantile_975(2);
        assert!((1.0 - t2 / (2.0 + t2 * t2).sqrt() - 0.05).abs() < 1e-15);
        // References from mpmath (50 digits: findroot on betainc), either side of the switch
        // to the expansion and far out.
        for (df, reference) in [
            (1000, 1.962_339_080_826_408_5),
            (1001, 1.962_336_705_280_88),
            (10_000, 1.960_201_239_890_626_3),
            (1_000_000, 1.959_966_356_814_107),
            (1_000_000_000_000, 1.959_963_984_542_426_5),
            (usize::MAX, 1.959_963_984_540_054_2),
        ] {
            let q = t_quantile_975(df);
            assert!(rel(q, reference) < 2e-15, "df = {df}: {q} vs {reference}");
        }
        assert!(rel(normal_quantile_975(), 1.959_963_984_540_054_2) < 1e-15);
        assert!(t_quantile_975(0).is_nan());
        for df in (1..60).chain(990..1010) {
            assert!(t_quantile_975(df) > t_quantile_975(df + 1), "df = {df}");
        }
    }

    #[test]
    fn normal_sf_symmetry_and_known_values() {
        assert_eq!(normal_sf(0.0), 0.5);
        for z in [0.3, 1.0, 1.49, 1.51, 2.0, 5.0] {
            assert!((normal_sf(z) + normal_sf(-z) - 1.0).abs() < 1e-15);
        }
        assert!(rel(normal_sf(1.959963984540054), 0.025) < 1e-14);
        assert_eq!(normal_sf(50.0), 0.0);
        assert_eq!(normal_sf(f64::INFINITY), 0.0);
        assert_eq!(normal_sf(f64::NEG_INFINITY), 1.0);
        assert!(normal_sf(f64::NAN).is_nan());
    }

    #[test]
    fn summaries() {
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
        assert!(mean(&[]).is_nan());
        assert_eq!(sample_std(&[2.0, 4.0]), 2.0_f64.sqrt());
        assert!(sample_std(&[1.0]).is_nan());
        let ci = mean_ci_95(&[1.0, 1.0, 1.0]);
        assert_eq!((ci.mean, ci.std, ci.half_width), (1.0, 0.0, 0.0));
        let one = mean_ci_95(&[4.0]);
        assert_eq!(one.mean, 4.0);
        assert!(one.half_width.is_nan() && one.low().is_nan());
        let two = mean_ci_95(&[0.0, 2.0]);
        assert!(rel(two.half_width, t_quantile_975(1)) < 1e-15);
    }

    #[test]
    fn average_ranks_of_ties() {
        let (ranks, groups) = average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]);
        assert_eq!(ranks, vec![4.0, 1.0, 4.0, 2.0, 4.0]);
        assert_eq!(groups, vec![1, 1, 3]);
    }

    #[test]
    fn exact_distribution_sums_to_one_and_is_symmetric() {
        let pmf = signed_rank_pmf(10);
        assert_eq!(pmf.len(), 56);
        assert!((pmf.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        for s in 0..pmf.len() {
            assert_eq!(pmf[s], pmf[pmf.len() - 1 - s]);
        }
        // All positive among n = 5: p = 2/32.
        let w = wilcoxon_signed_rank(
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            ZeroMethod::Wilcox,
            WilcoxonMethod::Auto,
        )
        .unwrap();
        assert_eq!(
            (w.method, w.statistic, w.p_value),
            (WilcoxonPValue::Exact, 0.0, 0.0625)
        );
    }

    #[test]
    fn wilcoxon_symmetric_under_swapping() {
        let x = [1.5, 2.0, 0.25, 3.0, 2.0, 0.75, 1.0, 4.0];
        let y = [1.0, 2.5, 0.25, 1.0, 1.5, 1.25, 0.0, 1.0];
        for zm in [ZeroMethod::Wilcox, ZeroMethod::Pratt, ZeroMethod::Zsplit] {
            for m in [
                WilcoxonMethod::Auto,
                WilcoxonMethod::Exact,
                WilcoxonMethod::Asymptotic,
            ] {
                let a = paired_comparison(&x, &y, zm, m).unwrap();
                let b = paired_comparison(&y, &x, zm, m).unwrap();
                assert_eq!(a.wilcoxon.statistic, b.wilcoxon.statistic);
                if (zm, m) == (ZeroMethod::Pratt, WilcoxonMethod::Exact) {
                    // SciPy's quirk: ranks 1..n are centred on n(n+1)/4, but Pratt's rank
                    // sums are centred on [n(n+1)/2 − zero ranks]/2, so the p-values differ.
                    assert_eq!(
                        (a.wilcoxon.p_value, b.wilcoxon.p_value),
                        (25.0 / 128.0, 19.0 / 128.0)
                    );
                } else {
                    assert_eq!(a.wilcoxon.p_value, b.wilcoxon.p_value);
                }
                assert_eq!(a.wilcoxon.r_plus, b.wilcoxon.r_minus);
                assert_eq!(a.wilcoxon.method, b.wilcoxon.method);
                assert_eq!(a.mean_diff, -b.mean_diff);
                assert_eq!(a.ci_low, -b.ci_high);
                assert_eq!(a.rank_biserial, -b.rank_biserial);
            }
        }
    }

    #[test]
    fn rank_biserial_bounds_and_zeros() {
        assert_eq!(rank_biserial(&[1.0, 2.0, 0.5], ZeroMethod::Wilcox), 1.0);
        assert_eq!(rank_biserial(&[-1.0, -2.0], ZeroMethod::Wilcox), -1.0);
        assert_eq!(rank_biserial(&[1.0, -1.0], ZeroMethod::Wilcox), 0.0);
        assert!(rank_biserial(&[0.0, 0.0], ZeroMethod::Wilcox).is_nan());
        assert!(rank_biserial(&[0.0, 0.0], ZeroMethod::Pratt).is_nan());
        assert_eq!(rank_biserial(&[0.0, 0.0], ZeroMethod::Zsplit), 0.0);
        assert!(rank_biserial(&[], ZeroMethod::Wilcox).is_nan());
        assert!(rank_biserial(&[1.0, f64::NAN], ZeroMethod::Wilcox).is_nan());
    }

    #[test]
    fn wilcoxon_errors_name_the_problem() {
        let empty = wilcoxon_signed_rank(&[], ZeroMethod::Wilcox, WilcoxonMethod::Auto);
        assert!(empty.unwrap_err().to_string().contains("empty"));
        let nan = wilcoxon_signed_rank(&[1.0, f64::NAN], ZeroMethod::Wilcox, WilcoxonMethod::Auto);
        assert!(nan.unwrap_err().to_string().contains("difference 1 is NaN"));
        let single_zero = wilcoxon_signed_rank(&[0.0], ZeroMethod::Pratt, WilcoxonMethod::Auto);
        assert!(single_zero
            .unwrap_err()
            .to_string()
            .contains("at least two differences"));
        let mismatch = paired_comparison(
            &[1.0, 2.0],
            &[1.0],
            ZeroMethod::Wilcox,
            WilcoxonMethod::Auto,
        );
        assert!(mismatch
            .unwrap_err()
            .to_string()
            .contains("x has 2 values and y has 1"));
        let big = vec![1.0; 1001];
        assert!(wilcoxon_signed_rank(&big, ZeroMethod::Wilcox, WilcoxonMethod::Exact).is_err());
    }

    #[test]
    fn all_zero_differences_follow_scipy() {
        let zeros = [0.0; 5];
        let w =
            wilcoxon_signed_rank(&zeros, ZeroMethod::Wilcox, WilcoxonMethod::Asymptotic).unwrap();
        assert!(w.p_value.is_nan() && w.z.is_some_and(f64::is_nan));
        let w = wilcoxon_signed_rank(&zeros, ZeroMethod::Wilcox, WilcoxonMethod::Exact).unwrap();
        assert_eq!((w.count, w.p_value), (0, 1.0));
        let w = wilcoxon_signed_rank(&zeros, ZeroMethod::Pratt, WilcoxonMethod::Exact).unwrap();
        assert_eq!(w.p_value, 0.0625);
        let w = wilcoxon_signed_rank(&zeros, ZeroMethod::Zsplit, WilcoxonMethod::Auto).unwrap();
        assert_eq!((w.method, w.p_value), (WilcoxonPValue::Permutation, 1.0));
    }

    #[test]
    fn holm_invariants() {
        assert_eq!(holm(&[0.03]), vec![0.03]);
        assert!(holm(&[]).is_empty());
        assert_eq!(holm(&[0.01, 0.04, 0.03]), vec![0.03, 0.06, 0.06]);
        assert_eq!(holm(&[0.6, 0.9]), vec![1.0, 1.0]);
        let with_nan = holm(&[0.01, f64::NAN, 0.02]);
        assert!(with_nan[1].is_nan());
        assert_eq!((with_nan[0], with_nan[2]), (0.02, 0.02));
        // Order invariance.
        let p = [0.2, 0.01, 0.2, 0.05];
        let q = [0.05, 0.2, 0.01, 0.2];
        let (a, b) = (holm(&p), holm(&q));
        assert_eq!((a[0], a[1], a[2], a[3]), (b[1], b[2], b[3], b[0]));
    }
}
