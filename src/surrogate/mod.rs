//! The local surrogate: feature selection followed by a weighted ridge fit, one per explained
//! label, exactly as `lime` 0.2.0.1's `LimeBase.explain_instance_with_data` computes it
//! (spec §5).
//!
//! Ties: where two candidates score or weigh the same to within a relative `1e-12` (which in
//! floating point is how an exact tie shows up, e.g. for duplicate columns), the lower feature
//! index wins. `lime` resolves such ties by whatever rounding noise its BLAS produced; ours is
//! reproducible.

pub mod lars;
pub mod linalg;
pub mod posterior;
pub mod ridge;

use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use posterior::WeightPosterior;
use ridge::{weighted_r2, WeightedDesign};

/// How the surrogate chooses the features it keeps (spec §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FeatureSelection {
    /// Every feature.
    None,
    /// The `num_features` largest |coefficients| of a ridge fit with alpha 0.01 on all features.
    HighestWeights,
    /// Greedy forward selection by weighted R² of an unpenalised fit.
    ForwardSelection,
    /// The largest active set of size `<= num_features` on the LARS-lasso path.
    LassoPath,
    /// `forward_selection` when `num_features <= 6`, else `highest_weights` (lime's default).
    #[default]
    Auto,
}

impl FeatureSelection {
    /// Every method, by the name used in configs and on the command line.
    pub const ALL: [(&'static str, FeatureSelection); 5] = [
        ("none", FeatureSelection::None),
        ("highest_weights", FeatureSelection::HighestWeights),
        ("forward_selection", FeatureSelection::ForwardSelection),
        ("lasso_path", FeatureSelection::LassoPath),
        ("auto", FeatureSelection::Auto),
    ];

    /// The method's name, as configs and flags spell it.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("auto", |(n, _)| n)
    }

    /// Parses a method name (`none`, `highest_weights`, `forward_selection`, `lasso_path`, `auto`).
    pub fn parse(name: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| *m)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                Error::param(
                    "feature_selection",
                    format!("unknown method `{name}`; use one of {}", names.join(", ")),
                )
            })
    }
}

/// How the explanation's `(feature, weight)` pairs are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WeightSort {
    /// By |weight|, largest first (what `lime` 0.2.0.1 does; paper mode).
    #[default]
    Abs,
    /// By signed weight, most positive first.
    Signed,
}

impl WeightSort {
    /// The order's name, as flags spell it.
    pub fn name(self) -> &'static str {
        match self {
            WeightSort::Abs => "abs",
            WeightSort::Signed => "signed",
        }
    }

    /// Parses `abs` or `signed`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "abs" => Ok(WeightSort::Abs),
            "signed" => Ok(WeightSort::Signed),
            other => Err(Error::param(
                "sort",
                format!("unknown sort `{other}`; use `abs` or `signed`"),
            )),
        }
    }
}

/// lime's default `num_features`, meaning "all features".
pub(crate) const ALL_FEATURES: usize = 100_000;

/// Hyper-parameters of the surrogate. Build, [`check`](SurrogateParams::check), then
/// [`fit`](SurrogateParams::fit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurrogateParams {
    /// Feature selection method.
    pub feature_selection: FeatureSelection,
    /// Maximum number of features in the explanation (default 100000, i.e. all).
    pub num_features: usize,
    /// Ridge penalty of the final fit (lime: 1).
    pub ridge_alpha: f64,
    /// Ridge penalty of the `highest_weights` pre-fit (lime 0.2.0.1: 0.01; audioLIME: 0).
    pub highest_weights_alpha: f64,
    /// Order of the returned weights.
    pub sort: WeightSort,
    /// Posterior draws behind each fit's top-k stability probability (0: none drawn; the
    /// credible intervals need no draws).
    pub posterior_draws: usize,
    /// The `k` of that probability: how likely the `k` first weights are the `k` first of a
    /// posterior draw.
    pub stability_k: usize,
}

impl Default for SurrogateParams {
    fn default() -> Self {
        SurrogateParams {
            feature_selection: FeatureSelection::Auto,
            num_features: ALL_FEATURES,
            ridge_alpha: 1.0,
            highest_weights_alpha: 0.01,
            sort: WeightSort::Abs,
            posterior_draws: 1000,
            stability_k: 5,
        }
    }
}

/// The fixed seed of the posterior draws: the stability probability is a function of the
/// neighbourhood alone, so a refit reproduces it.
const POSTERIOR_SEED: u64 = 0x6d75_7369_636c_696d;

/// One label's fitted surrogate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurrogateFit {
    /// Intercept of the ridge model.
    pub intercept: f64,
    /// Weighted R² of the ridge model on the neighbourhood.
    pub score: f64,
    /// The ridge model's prediction for row 0 (the unperturbed instance).
    pub local_pred: f64,
    /// `(feature_index, weight)` in the requested sort order.
    pub weights: Vec<(usize, f64)>,
    /// How sure the surrogate is of its weights ([`posterior`]); `None` when no degree of
    /// freedom is left for the noise, and for explainers without one surrogate on samples
    /// (`lime_separate`, `random`, the oracles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<WeightUncertainty>,
}

/// The uncertainty of one fit's weights under the Bayesian linear model of [`posterior`],
/// whose posterior mean is the weights themselves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightUncertainty {
    /// The half-width of each weight's 95% credible interval, in the order of the weights.
    pub half_widths: Vec<f64>,
    /// The posterior's degrees of freedom (rows of positive weight − 1).
    pub dof: usize,
    /// The `k` of `top_k_stable` (at most the number of weights).
    pub k: usize,
    /// The probability, over `draws` seeded posterior draws, that the `k` first weights of a
    /// draw are the `k` first of the fit (as a set); `None` when no draws were asked for.
    pub top_k_stable: Option<f64>,
    /// Posterior draws behind `top_k_stable`.
    pub draws: usize,
}

impl SurrogateParams {
    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        if self.num_features == 0 {
            return Err(Error::param("num_features", "must be at least 1"));
        }
        if self.stability_k == 0 {
            return Err(Error::param(
                "stability_k",
                "must be at least 1 (the k of the top-k stability probability)",
            ));
        }
        if !(self.ridge_alpha.is_finite() && self.ridge_alpha >= 0.0) {
            return Err(Error::param("ridge_alpha", "must be finite and >= 0"));
        }
        if !(self.highest_weights_alpha.is_finite() && self.highest_weights_alpha >= 0.0) {
            return Err(Error::param(
                "highest_weights_alpha",
                "must be finite and >= 0",
            ));
        }
        Ok(())
    }

    /// Fits the surrogate for one label: `data` is the `n x d` interpretable representation
    /// (row 0 the explained instance), `target` the model's output for the label on each row,
    /// `sample_weights` the kernel weights (positive).
    pub fn fit(
        &self,
        data: ArrayView2<f64>,
        target: ArrayView1<f64>,
        sample_weights: ArrayView1<f64>,
    ) -> Result<SurrogateFit> {
        self.check()?;
        let (n, d) = data.dim();
        if n == 0 || d == 0 {
            return Err(Error::Numeric(format!(
                "cannot fit a surrogate on {n} rows and {d} features"
            )));
        }
        if target.len() != n || sample_weights.len() != n {
            return Err(Error::Numeric(format!(
                "{n} rows of data but {} targets and {} weights",
                target.len(),
                sample_weights.len()
            )));
        }
        if sample_weights.iter().any(|w| !w.is_finite() || *w < 0.0) || sample_weights.sum() <= 0.0
        {
            return Err(Error::Numeric(
                "sample weights must be finite, non-negative and not all zero".into(),
            ));
        }
        let design = WeightedDesign::new(data, target, sample_weights);
        let selected = self.select(&design, data, target, sample_weights);
        let fit = design.fit(&selected, self.ridge_alpha);
        let predictions = data
            .rows()
            .into_iter()
            .map(|row| fit.predict_row(row, &selected))
            .collect::<ndarray::Array1<f64>>();
        let score = weighted_r2(target, predictions.view(), sample_weights);
        let local_pred = predictions[0];
        let mut weights: Vec<(usize, f64)> = selected
            .iter()
            .copied()
            .zip(fit.coef.iter().copied())
            .collect();
        match self.sort {
            WeightSort::Abs => {
                weights.sort_by(|a, b| tie_key(b.1.abs()).total_cmp(&tie_key(a.1.abs())))
            }
            WeightSort::Signed => {
                weights.sort_by(|a, b| tie_key_signed(b.1).total_cmp(&tie_key_signed(a.1)))
            }
        }
        let rows = sample_weights.iter().filter(|w| **w > 0.0).count();
        let uncertainty = WeightPosterior::of(&design, &selected, &fit, self.ridge_alpha, rows)
            .map(|posterior| self.uncertainty(&posterior, &selected, &weights));
        Ok(SurrogateFit {
            intercept: fit.intercept,
            score,
            local_pred,
            weights,
            uncertainty,
        })
    }

    /// The posterior's figures in the order of `weights` (`selected` gives the posterior's
    /// order).
    fn uncertainty(
        &self,
        posterior: &WeightPosterior,
        selected: &[usize],
        weights: &[(usize, f64)],
    ) -> WeightUncertainty {
        let position = |feature: usize| selected.iter().position(|&c| c == feature);
        let half_widths = weights
            .iter()
            .map(|(feature, _)| position(*feature).map_or(f64::NAN, |i| posterior.half_width[i]))
            .collect();
        let top_k_stable = match self.posterior_draws {
            0 => None,
            draws => {
                Some(posterior.top_k_stability(self.stability_k, self.sort, draws, POSTERIOR_SEED))
            }
        };
        WeightUncertainty {
            half_widths,
            dof: posterior.dof,
            k: self.stability_k.min(weights.len()),
            top_k_stable,
            draws: self.posterior_draws,
        }
    }

    /// The features the surrogate keeps, in lime's order (which decides the order of ties).
    fn select(
        &self,
        design: &WeightedDesign,
        data: ArrayView2<f64>,
        target: ArrayView1<f64>,
        sample_weights: ArrayView1<f64>,
    ) -> Vec<usize> {
        let d = data.ncols();
        let k = self.num_features;
        match self.feature_selection {
            FeatureSelection::None => (0..d).collect(),
            FeatureSelection::HighestWeights => {
                highest_weights(design, data, k, self.highest_weights_alpha)
            }
            FeatureSelection::ForwardSelection => forward_selection(design, d, k),
            FeatureSelection::LassoPath => lasso_path_selection(data, target, sample_weights, k),
            FeatureSelection::Auto => {
                if k <= 6 {
                    forward_selection(design, d, k)
                } else {
                    highest_weights(design, data, k, self.highest_weights_alpha)
                }
            }
        }
    }
}

/// `|v|` rounded to 12 significant digits, so that values equal up to rounding noise compare
/// equal and a stable sort keeps their previous (feature index) order.
fn tie_key(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let exponent = v.abs().log10().floor() as i32;
    let scale = 10f64.powi(11 - exponent);
    (v * scale).round() / scale
}

fn tie_key_signed(v: f64) -> f64 {
    tie_key(v.abs()).copysign(v)
}

/// lime's `highest_weights`: ridge (alpha 0.01) on every feature, coefficients times row 0,
/// the `k` largest by absolute value (ties: lower index first).
fn highest_weights(
    design: &WeightedDesign,
    data: ArrayView2<f64>,
    k: usize,
    alpha: f64,
) -> Vec<usize> {
    let d = data.ncols();
    let all: Vec<usize> = (0..d).collect();
    let fit = design.fit(&all, alpha);
    let mut ranked: Vec<(usize, f64)> = (0..d).map(|j| (j, fit.coef[j] * data[[0, j]])).collect();
    ranked.sort_by(|a, b| tie_key(b.1.abs()).total_cmp(&tie_key(a.1.abs())));
    ranked.into_iter().take(k).map(|(j, _)| j).collect()
}

/// lime's `forward_selection`: add, `min(k, d)` times, the feature whose addition maximises the
/// weighted R² of an unpenalised fit with intercept (ties: lower index first).
fn forward_selection(design: &WeightedDesign, d: usize, k: usize) -> Vec<usize> {
    let mut used: Vec<usize> = Vec::new();
    for _ in 0..k.min(d) {
        let mut best = 0;
        let mut best_score = -100_000_000.0_f64;
        let mut candidate = used.clone();
        candidate.push(0);
        for feature in 0..d {
            if used.contains(&feature) {
                continue;
            }
            *candidate.last_mut().expect("candidate is non-empty") = feature;
            let fit = design.fit(&candidate, 0.0);
            let score = design.r2_of(&candidate, &fit);
            if score > best_score + 1e-12 * best_score.abs().max(1.0) {
                best = feature;
                best_score = score;
            }
        }
        used.push(best);
    }
    used
}

/// lime's `lasso_path`: centre by the weighted means, scale rows by `sqrt(w)`, compute the
/// LARS-lasso path and, walking from the least regularised end (down to breakpoint 1), take the
/// first set of non-zero coefficients of size `<= k`.
fn lasso_path_selection(
    data: ArrayView2<f64>,
    target: ArrayView1<f64>,
    sample_weights: ArrayView1<f64>,
    k: usize,
) -> Vec<usize> {
    use ndarray::Axis;
    let means = ridge::weighted_column_means(data, sample_weights);
    let y_mean = ridge::weighted_mean(target, sample_weights);
    let sqrt_w = sample_weights.mapv(f64::sqrt);
    let mut xs = &data - &means.view().insert_axis(Axis(0));
    xs *= &sqrt_w.view().insert_axis(Axis(1));
    let ys = (&target - y_mean) * &sqrt_w;
    let path = lars::lasso_path(xs.view(), ys.view());
    let mut nonzero: Vec<usize> = (0..data.ncols()).collect();
    for i in (1..path.coefs.len()).rev() {
        nonzero = path.coefs[i]
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != 0.0)
            .map(|(j, _)| j)
            .collect();
        if nonzero.len() <= k {
            break;
        }
    }
    nonzero
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    fn toy() -> (Array2<f64>, Array1<f64>, Array1<f64>) {
        // y depends on features 0 (+0.5) and 2 (-0.3); feature 1 is noise-free irrelevant.
        let rows = [
            [1.0, 1.0, 1.0, 1.0],
            [0.0, 1.0, 1.0, 0.0],
            [1.0, 0.0, 0.0, 1.0],
            [0.0, 0.0, 1.0, 1.0],
            [1.0, 1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 1.0],
            [1.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ];
        let x = Array2::from_shape_fn((8, 4), |(i, j)| rows[i][j]);
        let y = x.column(0).mapv(|v| 0.5 * v) - x.column(2).mapv(|v| 0.3 * v) + 0.2;
        let w = Array1::from_elem(8, 1.0);
        (x, y, w)
    }

    #[test]
    fn every_selection_method_finds_the_two_relevant_features() {
        let (x, y, w) = toy();
        for (name, method) in FeatureSelection::ALL {
            if method == FeatureSelection::None {
                continue;
            }
            let params = SurrogateParams {
                feature_selection: method,
                num_features: 2,
                ..Default::default()
            };
            let fit = params.fit(x.view(), y.view(), w.view()).unwrap();
            let mut picked: Vec<usize> = fit.weights.iter().map(|(j, _)| *j).collect();
            picked.sort();
            assert_eq!(picked, vec![0, 2], "{name}");
            assert_eq!(fit.weights[0].0, 0, "{name}: largest weight first");
        }
    }

    #[test]
    fn zero_num_features_is_rejected() {
        let params = SurrogateParams {
            num_features: 0,
            ..Default::default()
        };
        assert!(params.check().is_err());
    }

    #[test]
    fn duplicate_columns_tie_to_the_lower_index() {
        let (x, y, w) = toy();
        let mut wide = Array2::<f64>::zeros((8, 5));
        wide.slice_mut(ndarray::s![.., 0..4]).assign(&x);
        wide.column_mut(4).assign(&x.column(0));
        let params = SurrogateParams {
            feature_selection: FeatureSelection::HighestWeights,
            num_features: 2,
            ..Default::default()
        };
        // Feature 0's effect splits evenly between it and its twin 4; of the tied pair the
        // lower index is kept.
        let fit = params.fit(wide.view(), y.view(), w.view()).unwrap();
        let mut picked: Vec<usize> = fit.weights.iter().map(|(j, _)| *j).collect();
        picked.sort();
        assert_eq!(picked, vec![0, 2]);
        assert!(fit.weights.iter().all(|(_, v)| v.is_finite()));
    }
}
