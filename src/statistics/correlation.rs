//! Correlation.

/// Pearson correlation; NaN when either side is constant, i.e. when its spread is below
/// 1e-9 of its magnitude (float noise is no signal).
pub(crate) fn pearson(a: &[f64], b: &[f64]) -> f64 {
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
pub(super) fn is_constant(values: &[f64], ss: f64) -> bool {
    let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let sd = (ss / values.len().max(1) as f64).sqrt();
    ss <= 0.0 || sd <= 1e-9 * scale
}
