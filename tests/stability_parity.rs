//! Stability metrics against their references, from `tests/fixtures/stability/generate.py`:
//! VSI and CSI (and the coefficient standard deviations behind CSI) against the
//! `lime-stability` package itself, Kendall's tau-b and Spearman's rho against SciPy, and the
//! top-k Jaccard against its definition.

use musiclime::metrics::stability::{
    coefficient_stdevs, csi, jaccard_at_k, kendall_tau_b, spearman, vsi, Repeat,
};
use musiclime::surrogate::ridge::WeightedDesign;
use ndarray::{Array1, Array2};
use serde_json::Value;

mod common;
use common::{fixture, floats_or_nan, read_json};

fn cases() -> Value {
    read_json(&fixture("stability/cases.json"))
}

fn close(a: f64, b: f64, relative: f64) -> bool {
    (a - b).abs() <= relative * b.abs().max(1e-12)
}

/// numpy's `round(x, 2)`: ties to even on `x * 100`.
fn numpy_round2(x: f64) -> f64 {
    (x * 100.0).round_ties_even() / 100.0
}

#[test]
fn vsi_and_csi_match_lime_stability() {
    let cases = cases();
    let list = cases["csi_vsi"].as_array().unwrap();
    assert!(list.len() >= 6);
    for case in list {
        let name = case["name"].as_str().unwrap();
        let alpha = case["alpha"].as_f64().unwrap();
        let mut repeats = Vec::new();
        for r in case["repeats"].as_array().unwrap() {
            let rows: Vec<Vec<f64>> = r["X"]
                .as_array()
                .unwrap()
                .iter()
                .map(floats_or_nan)
                .collect();
            let (n, k) = (rows.len(), rows[0].len());
            let x = Array2::from_shape_fn((n, k), |(i, j)| rows[i][j]);
            let y = Array1::from(floats_or_nan(&r["y"]));
            let w = Array1::from(floats_or_nan(&r["weights"]));
            let columns: Vec<usize> = (0..k).collect();
            let coef = WeightedDesign::new(x.view(), y.view(), w.view())
                .fit(&columns, alpha)
                .coef;
            for (a, b) in coef.iter().zip(floats_or_nan(&r["coef"])) {
                assert!(close(*a, b, 1e-9), "{name}: coef {a} vs {b}");
            }
            let stdevs = coefficient_stdevs(x.view(), y.view(), w.view(), alpha);
            for (a, b) in stdevs.iter().zip(floats_or_nan(&r["stdevs"])) {
                assert!(close(*a, b, 1e-9), "{name}: stdev {a} vs {b}");
            }
            let features: Vec<usize> = r["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap()[1..].parse().unwrap())
                .collect();
            repeats.push(Repeat {
                weights: features.into_iter().zip(coef.iter().copied()).collect(),
                stdevs: Some(stdevs),
            });
        }
        let expected_csi = case["csi"].as_f64().unwrap();
        let expected_vsi = case["vsi"].as_f64().unwrap();
        assert_eq!(
            numpy_round2(csi(&repeats) * 100.0),
            expected_csi,
            "{name}: CSI"
        );
        assert_eq!(
            (vsi(&repeats) * 100.0 * 100.0).round() / 100.0,
            expected_vsi,
            "{name}: VSI"
        );
    }
}

#[test]
fn rank_correlations_match_scipy() {
    let cases = cases();
    let list = cases["rank_correlation"].as_array().unwrap();
    assert!(list.len() >= 10);
    for case in list {
        let name = case["name"].as_str().unwrap();
        let (a, b) = (floats_or_nan(&case["a"]), floats_or_nan(&case["b"]));
        for (got, want) in [
            (kendall_tau_b(&a, &b), &case["kendall_tau"]),
            (spearman(&a, &b), &case["spearman_rho"]),
        ] {
            match want.as_f64() {
                Some(w) => assert!((got - w).abs() < 1e-12, "{name}: {got} vs {w}"),
                None => assert!(got.is_nan(), "{name}: {got} vs NaN"),
            }
        }
    }
}

#[test]
fn top_k_jaccard_matches_its_definition() {
    let cases = cases();
    for case in cases["jaccard_top_k"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let vectors: Vec<Vec<f64>> = case["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats_or_nan)
            .collect();
        let d = vectors[0].len();
        let repeats: Vec<Repeat> = vectors
            .iter()
            .map(|v| Repeat {
                weights: v.iter().copied().enumerate().collect(),
                stdevs: None,
            })
            .collect();
        let k = case["k"].as_u64().unwrap() as usize;
        // The reference breaks ties among equal non-zero |weights| by index: ranks 0..d.
        let by_index: Vec<u64> = (0..d as u64).collect();
        let got = jaccard_at_k(&repeats, d, k, &by_index);
        let want = case["mean_jaccard"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-12, "{name}: {got} vs {want}");
    }
}
