//! Weighted least squares and ridge regression with an unpenalised intercept, as
//! scikit-learn's `Ridge(alpha, fit_intercept=True).fit(X, y, sample_weight=w)` computes them:
//! centre `X` and `y` by their weighted means, scale rows by `sqrt(w)`, solve the normal
//! equations of the centred problem, and recover the intercept from the means.
//!
//! `linfa-linear` fits ordinary least squares without sample weights or a ridge penalty, and
//! `linfa-elasticnet` solves by coordinate descent to a tolerance, so neither reproduces
//! scikit-learn's closed-form solution to 1e-6; the closed form is a few lines here.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::linalg::solve_symmetric;

/// The weighted, centred normal equations of one regression problem, computed once and shared
/// by every fit on a subset of its columns.
#[derive(Debug, Clone)]
pub struct WeightedDesign {
    /// Weighted mean of each column of `X`.
    pub x_offset: Array1<f64>,
    /// Weighted mean of `y` (exactly `y[0]` when `y` is constant).
    pub y_offset: f64,
    /// `Xc^T W Xc` with `Xc` the centred data and `W = diag(w)`.
    pub gram: Array2<f64>,
    /// `Xc^T W yc`.
    pub xty: Array1<f64>,
    /// `yc^T W yc`, the weighted total sum of squares.
    pub syy: f64,
    /// Whether every target value is identical.
    pub constant_target: bool,
}

impl WeightedDesign {
    /// Builds the design for data `x` (`n x d`), target `y` and positive sample weights `w`.
    pub fn new(x: ArrayView2<f64>, y: ArrayView1<f64>, w: ArrayView1<f64>) -> Self {
        let x_offset = weighted_column_means(x, w);
        let constant_target = y.iter().all(|v| *v == y[0]);
        let y_offset = if constant_target {
            y[0]
        } else {
            weighted_mean(y, w)
        };
        let sqrt_w = w.mapv(f64::sqrt);
        let mut xs = &x - &x_offset.view().insert_axis(Axis(0));
        xs *= &sqrt_w.view().insert_axis(Axis(1));
        let ys = (&y - y_offset) * &sqrt_w;
        let gram = xs.t().dot(&xs);
        let xty = xs.t().dot(&ys);
        let syy = ys.dot(&ys);
        WeightedDesign {
            x_offset,
            y_offset,
            gram,
            xty,
            syy,
            constant_target,
        }
    }

    /// Ridge coefficients and intercept on the given columns with penalty `alpha`
    /// (`alpha = 0` is weighted least squares; singular systems get the minimum-norm solution).
    pub fn fit(&self, columns: &[usize], alpha: f64) -> LinearFit {
        let k = columns.len();
        if self.constant_target || k == 0 {
            return LinearFit {
                coef: Array1::zeros(k),
                intercept: self.y_offset,
            };
        }
        let mut a = Array2::<f64>::zeros((k, k));
        let mut b = Array1::<f64>::zeros(k);
        for (i, &ci) in columns.iter().enumerate() {
            b[i] = self.xty[ci];
            for (j, &cj) in columns.iter().enumerate() {
                a[[i, j]] = self.gram[[ci, cj]];
            }
            a[[i, i]] += alpha;
        }
        let coef = solve_symmetric(a.view(), b.view());
        let intercept = self.y_offset
            - columns
                .iter()
                .zip(coef.iter())
                .map(|(&c, &beta)| self.x_offset[c] * beta)
                .sum::<f64>();
        LinearFit { coef, intercept }
    }

    /// Weighted R² of a fit on `columns`, from the normal equations alone
    /// (`SSE = syy - 2 beta.b + beta^T G beta`), with scikit-learn's conventions for a
    /// constant target (see [`r2_from_sums`]).
    pub(crate) fn r2_of(&self, columns: &[usize], fit: &LinearFit) -> f64 {
        if self.constant_target {
            return 1.0;
        }
        r2_from_sums(self.sse_of(columns, fit), self.syy)
    }

    /// The weighted residual sum of squares of a fit on `columns`, from the normal equations
    /// alone (`syy - 2 beta.b + beta^T G beta`, at least 0).
    pub(crate) fn sse_of(&self, columns: &[usize], fit: &LinearFit) -> f64 {
        let mut sse = self.syy;
        for (i, &ci) in columns.iter().enumerate() {
            sse -= 2.0 * fit.coef[i] * self.xty[ci];
            for (j, &cj) in columns.iter().enumerate() {
                sse += fit.coef[i] * self.gram[[ci, cj]] * fit.coef[j];
            }
        }
        sse.max(0.0)
    }
}

/// A fitted linear model on a subset of columns.
#[derive(Debug, Clone)]
pub struct LinearFit {
    /// One coefficient per selected column, in the order the columns were given.
    pub coef: Array1<f64>,
    /// The unpenalised intercept.
    pub intercept: f64,
}

impl LinearFit {
    /// The prediction for one row of data restricted to `columns`.
    pub(crate) fn predict_row(&self, row: ArrayView1<f64>, columns: &[usize]) -> f64 {
        self.intercept
            + columns
                .iter()
                .zip(self.coef.iter())
                .map(|(&c, &beta)| row[c] * beta)
                .sum::<f64>()
    }
}

/// `sum(w * v) / sum(w)`.
pub(crate) fn weighted_mean(v: ArrayView1<f64>, w: ArrayView1<f64>) -> f64 {
    v.dot(&w) / w.sum()
}

/// Weighted mean of every column.
pub(crate) fn weighted_column_means(x: ArrayView2<f64>, w: ArrayView1<f64>) -> Array1<f64> {
    x.t().dot(&w) / w.sum()
}

/// Weighted coefficient of determination `1 - SSE / SST`.
///
/// When `SST = 0` (a constant target) scikit-learn's `r2_score` returns 1 for a perfect fit and
/// 0 otherwise instead of dividing by zero; this follows it.
pub(crate) fn r2_from_sums(sse: f64, sst: f64) -> f64 {
    if sst == 0.0 {
        if sse == 0.0 {
            1.0
        } else {
            0.0
        }
    } else {
        1.0 - sse / sst
    }
}

/// Weighted R² of predictions `y_hat` against `y`, computed from the residuals directly.
pub(crate) fn weighted_r2(y: ArrayView1<f64>, y_hat: ArrayView1<f64>, w: ArrayView1<f64>) -> f64 {
    if y.iter().all(|v| *v == y[0]) && y_hat.iter().all(|v| *v == y[0]) {
        return 1.0;
    }
    let mean = weighted_mean(y, w);
    let sse: f64 = y
        .iter()
        .zip(y_hat.iter())
        .zip(w.iter())
        .map(|((a, b), wi)| wi * (a - b) * (a - b))
        .sum();
    let sst: f64 = y
        .iter()
        .zip(w.iter())
        .map(|(a, wi)| wi * (a - mean) * (a - mean))
        .sum();
    r2_from_sums(sse, sst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn unpenalised_fit_recovers_an_exact_linear_target() {
        let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0]];
        let y = x.column(0).mapv(|v| 2.0 * v) - x.column(1).mapv(|v| 0.5 * v) + 0.25;
        let w = array![1.0, 0.5, 0.25, 1.0, 0.75];
        let design = WeightedDesign::new(x.view(), y.view(), w.view());
        let fit = design.fit(&[0, 1], 0.0);
        assert!((fit.coef[0] - 2.0).abs() < 1e-12);
        assert!((fit.coef[1] + 0.5).abs() < 1e-12);
        assert!((fit.intercept - 0.25).abs() < 1e-12);
        assert!((design.r2_of(&[0, 1], &fit) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn constant_target_gives_zero_weights_and_a_perfect_score() {
        let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        let y = array![0.3, 0.3, 0.3];
        let w = array![1.0, 1.0, 1.0];
        let design = WeightedDesign::new(x.view(), y.view(), w.view());
        let fit = design.fit(&[0, 1], 1.0);
        assert_eq!(fit.coef.to_vec(), vec![0.0, 0.0]);
        assert_eq!(fit.intercept, 0.3);
        assert_eq!(design.r2_of(&[0, 1], &fit), 1.0);
    }

    #[test]
    fn r2_of_a_constant_target_follows_scikit_learn() {
        assert_eq!(r2_from_sums(0.0, 0.0), 1.0);
        assert_eq!(r2_from_sums(1e-3, 0.0), 0.0);
        assert_eq!(r2_from_sums(1.0, 4.0), 0.75);
    }
}
