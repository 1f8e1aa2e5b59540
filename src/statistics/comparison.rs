//! Paired comparisons of two explainers and Holm's correction for multiple comparisons.

use super::descriptive::mean_ci_95;
use super::wilcoxon::{rank_biserial, wilcoxon_signed_rank, Wilcoxon, WilcoxonMethod, ZeroMethod};
use crate::error::{Error, Result};

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
