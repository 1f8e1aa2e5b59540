//! How sure a surrogate is of its weights: the posterior of a Bayesian linear model whose mean
//! is exactly the ridge fit (BayesLIME, Slack et al. 2021, with fixed hyperparameters).
//!
//! The model, on the selected features of one explained label:
//!
//! - `y_i = b + x_i·φ + ε_i` with `ε_i ~ N(0, σ² / w_i)`, `w_i` the kernel's sample weights;
//! - `φ | σ² ~ N(0, σ²/α · I)`, `α` the ridge penalty (`ridge_alpha`, lime's 1);
//! - a flat prior on the intercept `b` (unpenalised, as the ridge) and `p(σ²) ∝ 1/σ²`.
//!
//! Its posterior is a multivariate t with `ν = n − 1` degrees of freedom (`n` rows of positive
//! weight; the intercept takes one; `ν = n − 1 − k` for `α = 0`, whose prior on the `k` weights
//! is flat too), location `φ̂ = (XcᵀWXc + αI)⁻¹ XcᵀWyc`, the ridge weights
//! themselves, and scale matrix `(S/ν)·V` with `V = (XcᵀWXc + αI)⁻¹` and
//! `S = Σ w_i r_i² + α φ̂ᵀφ̂` (`r` the ridge residuals, `Xc`, `yc` centred by their weighted
//! means). A weight's 95% credible interval is `φ̂_j ± t_{ν,0.975} · sqrt((S/ν)·V_jj)`. The
//! intervals are conditional on the selected features (feature selection is not redone).

use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::linalg::{cholesky, cholesky_solve, solve_symmetric};
use super::ridge::{LinearFit, WeightedDesign};
use super::WeightSort;
use crate::statistics::draws::{chi_square, standard_normal};
use crate::statistics::t_quantile_975;

/// The posterior of the weights of one fit (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightPosterior {
    /// The posterior mean: the ridge weights, one per selected column.
    pub mean: Array1<f64>,
    /// The t distribution's scale matrix `(S/ν)·V` (its covariance is `ν/(ν−2)` times this).
    pub scale: Array2<f64>,
    /// Degrees of freedom `ν`.
    pub dof: usize,
    /// Half-width of each weight's 95% credible interval.
    pub half_width: Array1<f64>,
}

impl WeightPosterior {
    /// The posterior of `fit`, the ridge fit with penalty `alpha` of `design` on `columns`;
    /// `rows` counts the rows of positive weight. `None` when no degree of freedom is left for
    /// the noise (fewer than two rows carry weight, or, without a ridge penalty, no more rows
    /// than coefficients).
    pub fn of(
        design: &WeightedDesign,
        columns: &[usize],
        fit: &LinearFit,
        alpha: f64,
        rows: usize,
    ) -> Option<WeightPosterior> {
        let k = columns.len();
        let fitted = if alpha > 0.0 { 1 } else { 1 + k };
        if rows <= fitted {
            return None;
        }
        let dof = rows - fitted;
        let mut precision = Array2::<f64>::zeros((k, k));
        for (i, &ci) in columns.iter().enumerate() {
            for (j, &cj) in columns.iter().enumerate() {
                precision[[i, j]] = design.gram[[ci, cj]];
            }
            precision[[i, i]] += alpha;
        }
        let v = inverse(&precision);
        let sse = if design.constant_target {
            0.0
        } else {
            design.sse_of(columns, fit)
        };
        let s = (sse + alpha * fit.coef.dot(&fit.coef)).max(0.0);
        let scale = v * (s / dof as f64);
        let t = t_quantile_975(dof);
        let half_width = (0..k).map(|j| t * scale[[j, j]].max(0.0).sqrt()).collect();
        Some(WeightPosterior {
            mean: fit.coef.clone(),
            scale,
            dof,
            half_width,
        })
    }

    /// The probability that the `k` first features by `sort` are the point estimate's `k`
    /// first (as a set), estimated from `draws` posterior draws seeded by `seed`. 1 when there
    /// are at most `k` features or the posterior has no spread (a constant target); NaN when
    /// its scale is not finite.
    pub fn top_k_stability(&self, k: usize, sort: WeightSort, draws: usize, seed: u64) -> f64 {
        let p = self.mean.len();
        if self.scale.iter().any(|v| !v.is_finite()) {
            return f64::NAN;
        }
        if p <= k || draws == 0 || self.scale.iter().all(|v| *v == 0.0) {
            return 1.0;
        }
        let reference = top_set(self.mean.as_slice().unwrap_or(&[]), k, sort);
        let lower = match cholesky(self.scale.view()) {
            Some(l) => l,
            None => jittered_cholesky(&self.scale),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut z = vec![0.0; p];
        let mut draw = vec![0.0; p];
        let mut same = 0usize;
        for _ in 0..draws {
            for value in z.iter_mut() {
                *value = standard_normal(&mut rng);
            }
            let factor = (self.dof as f64 / chi_square(&mut rng, self.dof)).sqrt();
            for (i, value) in draw.iter_mut().enumerate() {
                let noise: f64 = (0..=i).map(|j| lower[[i, j]] * z[j]).sum();
                *value = self.mean[i] + factor * noise;
            }
            if top_set(&draw, k, sort) == reference {
                same += 1;
            }
        }
        same as f64 / draws as f64
    }
}

/// The indices of the `k` first values by `sort` (ties by index), sorted.
fn top_set(values: &[f64], k: usize, sort: WeightSort) -> Vec<usize> {
    let key = |v: f64| match sort {
        WeightSort::Abs => v.abs(),
        WeightSort::Signed => v,
    };
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| key(values[b]).total_cmp(&key(values[a])).then(a.cmp(&b)));
    let mut top = order[..k.min(order.len())].to_vec();
    top.sort_unstable();
    top
}

/// The inverse of a symmetric positive semi-definite matrix, column by column from one
/// Cholesky factor (a singular matrix, possible only without a ridge penalty, gets the
/// minimum-norm solutions, i.e. its pseudo-inverse).
fn inverse(a: &Array2<f64>) -> Array2<f64> {
    let k = a.nrows();
    let factor = cholesky(a.view());
    let mut out = Array2::<f64>::zeros((k, k));
    for j in 0..k {
        let mut e = Array1::<f64>::zeros(k);
        e[j] = 1.0;
        let column = match &factor {
            Some(l) => cholesky_solve(l.view(), e.view()),
            None => solve_symmetric(a.view(), e.view()),
        };
        out.column_mut(j).assign(&column);
    }
    out
}

/// The Cholesky factor of a (finite) positive semi-definite matrix, with the smallest diagonal
/// jitter (relative to its largest diagonal entry) that makes it positive definite; past a
/// jitter of the largest entry itself, the square roots of the diagonal alone.
fn jittered_cholesky(a: &Array2<f64>) -> Array2<f64> {
    let k = a.nrows();
    let top = a
        .diag()
        .iter()
        .cloned()
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut jitter = 1e-12 * top;
    while jitter <= top {
        let mut b = a.clone();
        for i in 0..k {
            b[[i, i]] += jitter;
        }
        if let Some(l) = cholesky(b.view()) {
            return l;
        }
        jitter *= 10.0;
    }
    Array2::from_diag(&a.diag().mapv(|v| v.max(0.0).sqrt()))
}
