//! The LARS-lasso regularisation path, ported step for step from scikit-learn's
//! `lars_path(X, y, method="lasso")` (the `Gram=None` code path that `lime` 0.2.0.1 calls),
//! including its tolerances (`float32` tiny and epsilon), the rounding of the equiangular
//! correlations to 15 decimals, the handling of degenerate regressors and the early stop when
//! alpha stops decreasing. Those details decide which features `lasso_path` selects, so they
//! are kept even where they look odd.
//!
//! `linfa` has no LARS implementation (`linfa-elasticnet` uses coordinate descent), hence this
//! port.

use ndarray::{ArrayView1, ArrayView2};

/// scikit-learn's default `max_iter` for `lars_path`.
const MAX_ITER: usize = 500;

/// The lasso path: `alphas[k]` and the coefficient vector `coefs[k]` (one entry per feature)
/// at each breakpoint `k`, starting from all zeros.
#[derive(Debug, Clone)]
pub struct LarsPath {
    /// Regularisation strength at each breakpoint (decreasing).
    pub alphas: Vec<f64>,
    /// Coefficients at each breakpoint.
    pub coefs: Vec<Vec<f64>>,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Smallest strictly positive value, or `f64::MAX` when there is none (sklearn's `min_pos`).
fn min_pos(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(f64::MAX, |m, v| if v > 0.0 && v < m { v } else { m })
}

/// `numpy.around(x, decimals)` for float64: scale, round half to even, unscale.
fn around(x: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (x * scale).round_ties_even() / scale
}

/// Solves `L L^T x = b` with `L` the leading `b.len()` block of `l` (LAPACK `potrs`).
fn potrs(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = b.len();
    let mut x = b.to_vec();
    for i in 0..n {
        let s = x[i] - (0..i).map(|k| l[i][k] * x[k]).sum::<f64>();
        x[i] = s / l[i][i];
    }
    for i in (0..n).rev() {
        let s = x[i] - ((i + 1)..n).map(|k| l[k][i] * x[k]).sum::<f64>();
        x[i] = s / l[i][i];
    }
    x
}

/// BLAS `drotg`: the Givens rotation `(r, c, s)` that zeroes `b` against `a`.
fn rotg(a: f64, b: f64) -> (f64, f64, f64) {
    let roe = if a.abs() > b.abs() { a } else { b };
    let scale = a.abs() + b.abs();
    if scale == 0.0 {
        return (0.0, 1.0, 0.0);
    }
    let r = scale * ((a / scale).powi(2) + (b / scale).powi(2)).sqrt();
    let r = r.copysign(roe);
    (r, a / r, b / r)
}

/// Removes row `go_out` from the `n x n` Cholesky factor held in `l` and restores the lower
/// triangular form with Givens rotations (sklearn's `arrayfuncs.cholesky_delete`).
fn cholesky_delete(l: &mut [Vec<f64>], n: usize, go_out: usize) {
    for i in go_out..n.saturating_sub(1) {
        let (upper, lower) = l.split_at_mut(i + 1);
        upper[i][..(i + 2)].copy_from_slice(&lower[0][..(i + 2)]);
    }
    for i in go_out..n.saturating_sub(1) {
        let (r, mut c, mut s) = rotg(l[i][i], l[i][i + 1]);
        l[i][i] = r;
        if l[i][i] < 0.0 {
            l[i][i] = l[i][i].abs();
            c = -c;
            s = -s;
        }
        l[i][i + 1] = 0.0;
        for row in l.iter_mut().take(n - 1).skip(i + 1) {
            let x = row[i];
            let y = row[i + 1];
            row[i] = c * x + s * y;
            row[i + 1] = c * y - s * x;
        }
    }
}

/// Norm of the part of column `k` orthogonal to columns `0..k`, given the Cholesky factor of
/// their Gram matrix in `l[..k][..k]` and the forward-solved cross products in `l[k][..k]`.
fn projection_residual(cols: &[Vec<f64>], k: usize, l: &[Vec<f64>]) -> f64 {
    // Least-squares coefficients of column k on the active columns: L^T a = w.
    let mut a: Vec<f64> = l[k][..k].to_vec();
    for i in (0..k).rev() {
        let s = a[i] - ((i + 1)..k).map(|j| l[j][i] * a[j]).sum::<f64>();
        a[i] = s / l[i][i];
    }
    let mut residual = cols[k].clone();
    for (j, coefficient) in a.iter().enumerate() {
        for (r, x) in residual.iter_mut().zip(&cols[j]) {
            *r -= coefficient * x;
        }
    }
    dot(&residual, &residual).sqrt()
}

/// Computes the LARS-lasso path of `y` on the columns of `x`.
///
/// A column identical to an earlier one never enters the path (its coefficient stays 0):
/// exact duplicates tie with their twin at every step, and which of the two sklearn lets in,
/// and whether its degeneracy check then fires, is decided by BLAS rounding noise. The path is
/// computed on the distinct columns, so it equals sklearn's up to which twin carries the weight
/// (here always the lowest index).
pub fn lasso_path(x: ArrayView2<f64>, y: ArrayView1<f64>) -> LarsPath {
    let distinct: Vec<usize> = (0..x.ncols())
        .filter(|&j| (0..j).all(|i| x.column(i) != x.column(j)))
        .collect();
    if distinct.len() == x.ncols() {
        return lasso_path_distinct(x, y);
    }
    let reduced = x.select(ndarray::Axis(1), &distinct);
    let path = lasso_path_distinct(reduced.view(), y);
    let coefs = path
        .coefs
        .into_iter()
        .map(|c| {
            let mut full = vec![0.0; x.ncols()];
            for (k, &j) in distinct.iter().enumerate() {
                full[j] = c[k];
            }
            full
        })
        .collect();
    LarsPath {
        alphas: path.alphas,
        coefs,
    }
}

// One function on purpose: a step-for-step port of scikit-learn's `lars_path` (method
// "lasso"), whose parity with lime rests on every branch happening in the same order as
// there; split into pieces it could no longer be read against the original line by line.
fn lasso_path_distinct(x: ArrayView2<f64>, y: ArrayView1<f64>) -> LarsPath {
    let n_samples = y.len() as f64;
    let n_features = x.ncols();
    let y: Vec<f64> = y.to_vec();
    // Columns are swapped as features enter and leave the active set, as in sklearn.
    let mut cols: Vec<Vec<f64>> = (0..n_features).map(|j| x.column(j).to_vec()).collect();
    let mut cov: Vec<f64> = cols.iter().map(|c| dot(c, &y)).collect();

    let max_features = MAX_ITER.min(n_features);
    let mut coefs: Vec<Vec<f64>> = vec![vec![0.0; n_features]; max_features + 1];
    let mut alphas: Vec<f64> = vec![0.0; max_features + 1];
    let mut n_iter = 0usize;
    let mut n_active = 0usize;
    let mut active: Vec<usize> = Vec::new();
    let mut indices: Vec<usize> = (0..n_features).collect();
    let mut sign_active: Vec<f64> = vec![0.0; max_features];
    let mut drop = false;
    let mut drop_positions: Vec<usize> = Vec::new();
    let mut l: Vec<Vec<f64>> = vec![vec![0.0; max_features]; max_features];

    let tiny32 = f32::MIN_POSITIVE as f64;
    let equality_tolerance = f32::EPSILON as f64;
    let eps = f64::EPSILON;
    let cov_precision = 15;

    loop {
        let (c_idx, c_signed) = if cov.is_empty() {
            (0, 0.0)
        } else {
            let mut best = 0;
            for (i, v) in cov.iter().enumerate() {
                if v.abs() > cov[best].abs() {
                    best = i;
                }
            }
            (best, cov[best])
        };
        let c = c_signed.abs();
        alphas[n_iter] = c / n_samples;
        // Early stopping at alpha_min = 0. sklearn interpolates towards alpha_min here only when
        // |alpha - alpha_min| exceeds the tolerance, which cannot happen for alpha_min = 0.
        if alphas[n_iter] <= equality_tolerance {
            break;
        }
        if n_iter >= MAX_ITER || n_active >= n_features {
            break;
        }
        if !drop {
            if sign_active.len() <= n_active {
                sign_active.resize(n_active + 1, 0.0);
            }
            sign_active[n_active] = if c_signed > 0.0 {
                1.0
            } else if c_signed < 0.0 {
                -1.0
            } else {
                0.0
            };
            let m = n_active;
            let n = c_idx + n_active;
            cov.swap(c_idx, 0);
            indices.swap(n, m);
            let cov_not_shortened = cov.clone();
            cov.remove(0);
            cols.swap(n, m);
            let norm = dot(&cols[n_active], &cols[n_active]).sqrt();
            let c_diag = norm * norm;
            for j in 0..n_active {
                l[n_active][j] = dot(&cols[n_active], &cols[j]);
            }
            if n_active > 0 {
                // Forward substitution: L[:na, :na] w = L[na, :na], in place.
                for i in 0..n_active {
                    let s = l[n_active][i] - (0..i).map(|k| l[i][k] * l[n_active][k]).sum::<f64>();
                    l[n_active][i] = s / l[i][i];
                }
            }
            let v: f64 = (0..n_active).map(|k| l[n_active][k] * l[n_active][k]).sum();
            let diag = (c_diag - v).abs().sqrt().max(eps);
            l[n_active][n_active] = diag;
            // sklearn tests `diag < 1e-7`, but `c - v` carries rounding noise of about
            // `eps * c`, whose square root is itself near 1e-7: an exact duplicate of an active
            // column passes or fails by chance. The distance of the column from the span of the
            // active columns, computed from the residual, is the quantity `diag` estimates and
            // is accurate, so it decides.
            if projection_residual(&cols, n_active, &l) < 1e-7 {
                // Degenerate regressor: sklearn zeroes its correlation and tries again, leaving
                // the column swap in place.
                cov = cov_not_shortened;
                cov[0] = 0.0;
                cov.swap(c_idx, 0);
                continue;
            }
            active.push(indices[n_active]);
            n_active += 1;
        }
        if n_iter > 0 && alphas[n_iter - 1] < alphas[n_iter] {
            // The residues are small and alpha is no longer decreasing: sklearn stops here.
            break;
        }

        let signs: Vec<f64> = sign_active[..n_active].to_vec();
        let mut least_squares = potrs(&l, &signs);
        let aa;
        if least_squares.len() == 1 && least_squares[0] == 0.0 {
            least_squares[0] = 1.0;
            aa = 1.0;
        } else {
            let mut a = 1.0 / dot(&least_squares, &signs).sqrt();
            if !a.is_finite() {
                let mut i = 0;
                let mut l_: Vec<Vec<f64>> = l.clone();
                while !a.is_finite() {
                    for (k, row) in l_.iter_mut().enumerate().take(n_active) {
                        row[k] += 2f64.powi(i) * eps;
                    }
                    least_squares = potrs(&l_, &signs);
                    let tmp = dot(&least_squares, &signs).max(eps);
                    a = 1.0 / tmp.sqrt();
                    i += 1;
                }
            }
            for v in least_squares.iter_mut() {
                *v *= a;
            }
            aa = a;
        }

        let n_rows = y.len();
        let mut eq_dir = vec![0.0; n_rows];
        for (k, col) in cols.iter().take(n_active).enumerate() {
            for (e, x) in eq_dir.iter_mut().zip(col) {
                *e += x * least_squares[k];
            }
        }
        let corr_eq_dir: Vec<f64> = cols[n_active..]
            .iter()
            .map(|col| around(dot(col, &eq_dir), cov_precision))
            .collect();

        let g1 = min_pos(
            cov.iter()
                .zip(&corr_eq_dir)
                .map(|(cv, ce)| (c - cv) / (aa - ce + tiny32)),
        );
        let g2 = min_pos(
            cov.iter()
                .zip(&corr_eq_dir)
                .map(|(cv, ce)| (c + cv) / (aa + ce + tiny32)),
        );
        let mut gamma = g1.min(g2).min(c / aa);

        drop = false;
        let z: Vec<f64> = active
            .iter()
            .zip(&least_squares)
            .map(|(&a, ls)| -coefs[n_iter][a] / (ls + tiny32))
            .collect();
        let z_pos = min_pos(z.iter().copied());
        if z_pos < gamma {
            drop_positions = (0..z.len()).filter(|&i| z[i] == z_pos).rev().collect();
            for &i in &drop_positions {
                sign_active[i] = -sign_active[i];
            }
            gamma = z_pos;
            drop = true;
        }

        n_iter += 1;
        if n_iter >= coefs.len() {
            let add = 2 * 1usize.max(max_features.saturating_sub(n_active));
            coefs.extend(std::iter::repeat_n(vec![0.0; n_features], add));
            alphas.extend(std::iter::repeat_n(0.0, add));
        }
        for (k, &a) in active.iter().enumerate() {
            coefs[n_iter][a] = coefs[n_iter - 1][a] + gamma * least_squares[k];
        }
        for (cv, ce) in cov.iter_mut().zip(&corr_eq_dir) {
            *cv -= gamma * ce;
        }

        if drop {
            for &ii in &drop_positions {
                cholesky_delete(&mut l, n_active, ii);
            }
            n_active -= 1;
            for &ii in &drop_positions {
                active.remove(ii);
            }
            for &ii in &drop_positions {
                for i in ii..n_active {
                    cols.swap(i, i + 1);
                    indices.swap(i, i + 1);
                }
            }
            let coef_now = &coefs[n_iter];
            let mut residual = y.clone();
            for (k, col) in cols.iter().take(n_active).enumerate() {
                let beta = coef_now[active[k]];
                for (r, x) in residual.iter_mut().zip(col) {
                    *r -= x * beta;
                }
            }
            let temp = dot(&cols[n_active], &residual);
            cov.insert(0, temp);
            let mut kept: Vec<f64> = sign_active
                .iter()
                .enumerate()
                .filter(|(i, _)| !drop_positions.contains(i))
                .map(|(_, s)| *s)
                .collect();
            kept.push(0.0);
            sign_active = kept;
        }
    }
    alphas.truncate(n_iter + 1);
    coefs.truncate(n_iter + 1);
    LarsPath { alphas, coefs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn path_starts_at_zero_and_ends_at_least_squares_on_a_well_posed_problem() {
        let x = array![
            [1.0, -0.5, 0.2],
            [-0.3, 0.8, -0.1],
            [0.4, 0.1, -0.9],
            [-1.1, -0.4, 0.8]
        ];
        let beta = [0.7, -0.2, 0.3];
        let y: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| r.iter().zip(beta).map(|(a, b)| a * b).sum())
            .collect();
        let path = lasso_path(x.view(), ndarray::Array1::from(y).view());
        assert!(path.coefs[0].iter().all(|c| *c == 0.0));
        let last = path.coefs.last().unwrap();
        for (got, want) in last.iter().zip(beta) {
            assert!((got - want).abs() < 1e-9, "{got} vs {want}");
        }
        assert!(path.alphas.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn first_feature_to_enter_is_the_most_correlated() {
        let x = array![[1.0, 0.1], [-1.0, 0.2], [1.0, -0.3], [-1.0, 0.0]];
        let y = array![0.9, -1.1, 1.0, -0.8];
        let path = lasso_path(x.view(), y.view());
        assert!(path.coefs[1][0] != 0.0 && path.coefs[1][1] == 0.0);
    }
}
