//! Summaries: means, standard deviations and Student t intervals.

use super::special::t_quantile_975;

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
