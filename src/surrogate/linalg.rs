//! Small dense linear algebra for the surrogate: Cholesky factorisation and solves, and a
//! pseudo-inverse solve for singular systems.
//!
//! The systems solved here are at most `d x d` with `d` the number of interpretable features
//! (a few hundred), so plain loops are fast enough and keep results independent of any BLAS
//! build. `linfa` does not expose these primitives without a LAPACK backend, which would tie the
//! crate to a system library; this module avoids that.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// Relative size below which a Cholesky pivot is treated as zero (the matrix as singular).
const PIVOT_TOLERANCE: f64 = 1e-12;

/// Lower-triangular Cholesky factor `L` with `A = L L^T`, or `None` when `A` is not
/// numerically positive definite (a pivot at or below `1e-12` times the largest diagonal).
pub(crate) fn cholesky(a: ArrayView2<f64>) -> Option<Array2<f64>> {
    let n = a.nrows();
    let scale = (0..n).map(|i| a[[i, i]].abs()).fold(0.0_f64, f64::max);
    let threshold = PIVOT_TOLERANCE * scale.max(f64::MIN_POSITIVE);
    let mut l = Array2::<f64>::zeros((n, n));
    for j in 0..n {
        let mut diag = a[[j, j]];
        for k in 0..j {
            diag -= l[[j, k]] * l[[j, k]];
        }
        // `diag <= threshold` or NaN.
        if diag.partial_cmp(&threshold) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        let ljj = diag.sqrt();
        l[[j, j]] = ljj;
        for i in (j + 1)..n {
            let mut s = a[[i, j]];
            for k in 0..j {
                s -= l[[i, k]] * l[[j, k]];
            }
            l[[i, j]] = s / ljj;
        }
    }
    Some(l)
}

/// Solves `L x = b` for lower-triangular `L` (forward substitution).
pub(crate) fn solve_lower(l: ArrayView2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    let n = b.len();
    let mut x = b.to_owned();
    for i in 0..n {
        let mut s = x[i];
        for k in 0..i {
            s -= l[[i, k]] * x[k];
        }
        x[i] = s / l[[i, i]];
    }
    x
}

/// Solves `L^T x = b` for lower-triangular `L` (back substitution).
pub(crate) fn solve_lower_transposed(l: ArrayView2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    let n = b.len();
    let mut x = b.to_owned();
    for i in (0..n).rev() {
        let mut s = x[i];
        for k in (i + 1)..n {
            s -= l[[k, i]] * x[k];
        }
        x[i] = s / l[[i, i]];
    }
    x
}

/// Solves `L L^T x = b` given the Cholesky factor `L`.
pub(crate) fn cholesky_solve(l: ArrayView2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    let y = solve_lower(l, b);
    solve_lower_transposed(l, y.view())
}

/// Solves the symmetric positive semi-definite system `A x = b`.
///
/// Uses Cholesky when `A` is positive definite. When it is singular (duplicate or constant
/// columns with no penalty), returns the minimum-norm least-squares solution through an
/// eigendecomposition, ignoring eigenvalues below `1e-12` times the largest one. This mirrors
/// scikit-learn, which falls back from Cholesky to an SVD solve on singular systems.
pub(crate) fn solve_symmetric(a: ArrayView2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    match cholesky(a) {
        Some(l) => cholesky_solve(l.view(), b),
        None => pseudo_inverse_solve(a, b),
    }
}

/// Minimum-norm solution of the symmetric system `A x = b` by a cyclic Jacobi
/// eigendecomposition `A = V diag(e) V^T`: `x = V diag(1/e) V^T b` over eigenvalues above
/// `1e-12 * max(e)`.
pub(crate) fn pseudo_inverse_solve(a: ArrayView2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    let n = a.nrows();
    let (eigenvalues, vectors) = symmetric_eigen(a);
    let largest = eigenvalues.iter().fold(0.0_f64, |m, &e| m.max(e.abs()));
    let cutoff = PIVOT_TOLERANCE * largest;
    let mut x = Array1::<f64>::zeros(n);
    if largest == 0.0 {
        return x;
    }
    for (k, &e) in eigenvalues.iter().enumerate() {
        if e > cutoff {
            let v = vectors.column(k);
            let coefficient = v.dot(&b) / e;
            x.scaled_add(coefficient, &v);
        }
    }
    x
}

/// Eigenvalues and eigenvectors (as columns) of a symmetric matrix, by cyclic Jacobi rotations.
fn symmetric_eigen(a: ArrayView2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut m = a.to_owned();
    let mut v = Array2::<f64>::eye(n);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[[i, j]] * m[[i, j]])
            .sum();
        let total: f64 = m.iter().map(|x| x * x).sum();
        if off <= f64::EPSILON * f64::EPSILON * total {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = m[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                let theta = (m[[q, q]] - m[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let mkp = m[[k, p]];
                    let mkq = m[[k, q]];
                    m[[k, p]] = c * mkp - s * mkq;
                    m[[k, q]] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let mpk = m[[p, k]];
                    let mqk = m[[q, k]];
                    m[[p, k]] = c * mpk - s * mqk;
                    m[[q, k]] = s * mpk + c * mqk;
                }
                for k in 0..n {
                    let vkp = v[[k, p]];
                    let vkq = v[[k, q]];
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| m[[i, i]]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn cholesky_solves_a_positive_definite_system() {
        let a = array![[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]];
        let x_true = array![1.0, -2.0, 0.5];
        let b = a.dot(&x_true);
        let x = solve_symmetric(a.view(), b.view());
        for (got, want) in x.iter().zip(x_true.iter()) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn singular_system_gets_the_minimum_norm_solution() {
        // Two identical columns: the minimum-norm solution splits the weight evenly.
        let a = array![[2.0, 2.0], [2.0, 2.0]];
        let b = array![4.0, 4.0];
        assert!(cholesky(a.view()).is_none());
        let x = solve_symmetric(a.view(), b.view());
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12,
            "{x}"
        );
    }

    #[test]
    fn zero_matrix_gives_zero_solution() {
        let a = Array2::<f64>::zeros((3, 3));
        let b = array![0.0, 0.0, 0.0];
        let x = solve_symmetric(a.view(), b.view());
        assert!(x.iter().all(|v| *v == 0.0));
    }
}
