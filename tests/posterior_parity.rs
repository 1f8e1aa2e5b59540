//! The posterior of a surrogate's weights (src/surrogate/posterior.rs) against the closed form
//! computed with NumPy by tests/fixtures/posterior/generate.py (pinned versions beside it), and
//! its top-k stability probability on cases whose answer is known.

mod common;

use common::{fixture, floats, read_json};
use musiclime::surrogate::posterior::WeightPosterior;
use musiclime::surrogate::ridge::WeightedDesign;
use musiclime::surrogate::{FeatureSelection, SurrogateParams, WeightSort};
use ndarray::{Array1, Array2};

fn matrix(v: &serde_json::Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = v.as_array().unwrap().iter().map(floats).collect();
    let (n, d) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, d), rows.into_iter().flatten().collect()).unwrap()
}

fn close(a: f64, b: f64, what: &str) {
    let tolerance = 1e-9 * (1.0 + b.abs());
    assert!((a - b).abs() <= tolerance, "{what}: {a} vs NumPy {b}");
}

#[test]
fn the_posterior_matches_numpy_and_its_mean_is_the_ridge_fit() {
    let cases = read_json(&fixture("posterior/cases.json"));
    let mut compared = 0;
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let x = matrix(&case["x"]);
        let y = Array1::from(floats(&case["y"]));
        let w = Array1::from(floats(&case["w"]));
        let columns: Vec<usize> = floats(&case["columns"])
            .iter()
            .map(|c| *c as usize)
            .collect();
        let alpha = case["alpha"].as_f64().unwrap();
        let expected = &case["expected"];
        let design = WeightedDesign::new(x.view(), y.view(), w.view());
        let fit = design.fit(&columns, alpha);
        let rows = w.iter().filter(|v| **v > 0.0).count();
        let posterior = WeightPosterior::of(&design, &columns, &fit, alpha, rows).unwrap();
        assert_eq!(
            posterior.dof,
            expected["dof"].as_u64().unwrap() as usize,
            "{name}"
        );
        let mean = floats(&expected["mean"]);
        let half = floats(&expected["half_width"]);
        let scale = matrix(&expected["scale"]);
        for j in 0..columns.len() {
            close(posterior.mean[j], mean[j], &format!("{name} mean[{j}]"));
            close(fit.coef[j], mean[j], &format!("{name} ridge coef[{j}]"));
            close(
                posterior.half_width[j],
                half[j],
                &format!("{name} half_width[{j}]"),
            );
            for k in 0..columns.len() {
                let what = format!("{name} scale[{j},{k}]");
                close(posterior.scale[[j, k]], scale[[j, k]], &what);
                compared += 1;
            }
            compared += 3;
        }
        close(fit.intercept, expected["intercept"].as_f64().unwrap(), name);
    }
    assert!(compared > 500, "only {compared} numbers compared");
}

#[test]
fn a_fit_reports_intervals_in_the_order_of_its_weights() {
    let cases = read_json(&fixture("posterior/cases.json"));
    let case = &cases["cases"][0];
    let x = matrix(&case["x"]);
    let y = Array1::from(floats(&case["y"]));
    let w = Array1::from(floats(&case["w"]));
    let params = SurrogateParams {
        feature_selection: FeatureSelection::None,
        ..SurrogateParams::default()
    };
    let fit = params.fit(x.view(), y.view(), w.view()).unwrap();
    let uncertainty = fit.uncertainty.as_ref().unwrap();
    let half = floats(&case["expected"]["half_width"]);
    let mean = floats(&case["expected"]["mean"]);
    for (i, (feature, weight)) in fit.weights.iter().enumerate() {
        close(*weight, mean[*feature], "weight");
        close(uncertainty.half_widths[i], half[*feature], "half width");
    }
    assert_eq!(uncertainty.draws, 1000);
    let p = uncertainty.top_k_stable.unwrap();
    assert!((0.0..=1.0).contains(&p));
    // The same neighbourhood gives the same figure (fixed seed).
    let again = params.fit(x.view(), y.view(), w.view()).unwrap();
    assert_eq!(again.uncertainty, fit.uncertainty);
}

/// A posterior with the given means, independent scales and many degrees of freedom.
fn independent(mean: &[f64], sd: f64) -> WeightPosterior {
    let k = mean.len();
    WeightPosterior {
        mean: Array1::from(mean.to_vec()),
        scale: Array2::from_diag(&Array1::from_elem(k, sd * sd)),
        dof: 100_000,
        half_width: Array1::from_elem(k, 1.96 * sd),
    }
}

#[test]
fn top_k_stability_has_known_answers() {
    // Well separated: the top 2 never change.
    let sure = independent(&[5.0, -4.0, 0.1, 0.0, -0.2], 0.01);
    assert_eq!(sure.top_k_stability(2, WeightSort::Abs, 2000, 1), 1.0);
    // Two exchangeable features compete for one place: each wins half the time.
    let tied = independent(&[1.0, 1.0, 0.0], 0.1);
    let p = tied.top_k_stability(1, WeightSort::Signed, 20_000, 2);
    assert!((p - 0.5).abs() < 0.02, "{p}");
    // Gaussian answer: P(a > b) with a − b ~ N(0.1, 2·0.1²) is Φ(0.1 / (0.1·√2)) ≈ 0.760.
    let near = independent(&[1.1, 1.0, 0.0], 0.1);
    let p = near.top_k_stability(1, WeightSort::Signed, 20_000, 3);
    assert!((p - 0.7602).abs() < 0.015, "{p}");
    // At most k features: always stable.
    assert_eq!(tied.top_k_stability(3, WeightSort::Abs, 10, 4), 1.0);
}
