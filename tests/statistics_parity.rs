//! Paired statistics against their references, from `tests/fixtures/statistics/generate.py`
//! (SciPy 1.17.1, statsmodels 0.15.0): the Wilcoxon signed-rank test for every zero method
//! and method (statistic, p-value, z, the branch `auto` picks, SciPy's refusals), the
//! matched-pairs rank-biserial correlation, the paired t interval, Holm adjusted p-values,
//! `t.ppf(0.975, df)` and `norm.sf`.
//!
//! Every number in the fixture is compared; each test counts its comparisons and asserts the
//! count, so nothing is skipped silently. Run with `--nocapture` for the largest differences.

use musiclime::statistics::{
    holm, mean_ci_95, normal_sf, paired_comparison, rank_biserial, t_quantile_975,
    wilcoxon_signed_rank, WilcoxonMethod, WilcoxonPValue, ZeroMethod,
};
use serde_json::Value;

mod common;
use common::{fixture, floats_or_nan, read_json};

fn cases() -> Value {
    read_json(&fixture("statistics/cases.json"))
}

/// A fixture number; `null` (NaN or undefined in the reference) reads as NaN.
fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

const ZERO_METHODS: [(&str, ZeroMethod); 3] = [
    ("wilcox", ZeroMethod::Wilcox),
    ("pratt", ZeroMethod::Pratt),
    ("zsplit", ZeroMethod::Zsplit),
];

const METHODS: [(&str, WilcoxonMethod); 3] = [
    ("auto", WilcoxonMethod::Auto),
    ("exact", WilcoxonMethod::Exact),
    ("approx", WilcoxonMethod::Asymptotic),
];

fn picked_name(p: WilcoxonPValue) -> &'static str {
    match p {
        WilcoxonPValue::Exact => "exact",
        WilcoxonPValue::Permutation => "permutation",
        WilcoxonPValue::Asymptotic => "asymptotic",
    }
}

/// Counts comparisons per quantity and keeps the largest differences.
struct Tally {
    name: &'static str,
    count: usize,
    worst: Vec<(String, f64, f64, String)>, // (quantity, abs, rel, where)
}

impl Tally {
    fn new(name: &'static str) -> Self {
        Tally {
            name,
            count: 0,
            worst: Vec::new(),
        }
    }

    /// Asserts `actual ≈ expected`: both NaN, or equal, or within `rel` relative or `abs`
    /// absolute. Records the difference under `quantity`.
    fn check(&mut self, quantity: &str, at: &str, actual: f64, expected: f64, rel: f64, abs: f64) {
        self.count += 1;
        if expected.is_nan() || actual.is_nan() {
            assert!(
                expected.is_nan() && actual.is_nan(),
                "{at}: {quantity} = {actual}, expected {expected}"
            );
            self.record(quantity, at, 0.0, 0.0);
            return;
        }
        let diff = (actual - expected).abs();
        let relative = if expected == 0.0 {
            if diff == 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        } else {
            diff / expected.abs()
        };
        assert!(
            diff == 0.0 || relative <= rel || diff <= abs,
            "{at}: {quantity} = {actual:e}, expected {expected:e} (abs {diff:e}, rel {relative:e})"
        );
        self.record(quantity, at, diff, relative);
    }

    /// Asserts a non-numeric agreement (a branch, an error) and counts it.
    fn check_that(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.count += 1;
        assert!(ok, "{}", what());
    }

    fn record(&mut self, quantity: &str, at: &str, diff: f64, rel: f64) {
        let rel = if rel.is_finite() { rel } else { 0.0 };
        match self.worst.iter_mut().find(|w| w.0 == quantity) {
            Some(w) => {
                if diff > w.1 {
                    w.1 = diff;
                    w.3 = at.to_string();
                }
                w.2 = w.2.max(rel);
            }
            None => self
                .worst
                .push((quantity.to_string(), diff, rel, at.to_string())),
        }
    }

    fn finish(&self, expected_count: usize) {
        println!("{}: {} comparisons", self.name, self.count);
        for (quantity, abs, rel, at) in &self.worst {
            println!("  {quantity:<22} max abs {abs:.2e} (at {at}), max rel {rel:.2e}");
        }
        assert_eq!(
            self.count, expected_count,
            "{}: number of comparisons",
            self.name
        );
    }
}

#[test]
fn wilcoxon_matches_scipy() {
    let cases = cases();
    let list = cases["wilcoxon_cases"].as_array().unwrap();
    assert_eq!(list.len(), 28);
    let mut tally = Tally::new("wilcoxon");
    let (mut errors, mut results) = (0, 0);
    for case in list {
        let name = case["name"].as_str().unwrap();
        let (x, y, d) = (
            floats_or_nan(&case["x"]),
            floats_or_nan(&case["y"]),
            floats_or_nan(&case["d"]),
        );
        let ours: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a - b).collect();
        tally.check_that(ours == d, || {
            format!("{name}: x - y differs from the fixture's d")
        });
        for (zname, zm) in ZERO_METHODS {
            let rederived = &case["rederived"][zname];
            for (mname, m) in METHODS {
                let at = format!("{name}/{zname}/{mname}");
                let expected = &case["wilcoxon"][zname][mname];
                let got = wilcoxon_signed_rank(&d, zm, m);
                if let Some(message) = expected["error"].as_str() {
                    errors += 1;
                    tally.check_that(got.is_err(), || {
                        format!("{at}: SciPy raised {message:?}, Rust returned {got:?}")
                    });
                    continue;
                }
                results += 1;
                let w = got.unwrap_or_else(|e| panic!("{at}: unexpected error {e}"));
                tally.check(
                    "statistic",
                    &at,
                    w.statistic,
                    num(&expected["statistic"]),
                    0.0,
                    0.0,
                );
                tally.check("r_plus", &at, w.r_plus, num(&rederived["r_plus"]), 0.0, 0.0);
                tally.check(
                    "r_minus",
                    &at,
                    w.r_minus,
                    num(&rederived["r_minus"]),
                    0.0,
                    0.0,
                );
                tally.check(
                    "count",
                    &at,
                    w.count as f64,
                    num(&rederived["count"]),
                    0.0,
                    0.0,
                );
                let quantity = match w.method {
                    WilcoxonPValue::Exact => "p exact",
                    WilcoxonPValue::Permutation => "p permutation",
                    WilcoxonPValue::Asymptotic => "p asymptotic",
                };
                tally.check(
                    quantity,
                    &at,
                    w.p_value,
                    num(&expected["pvalue"]),
                    1e-9,
                    1e-15,
                );
                let want = match mname {
                    "auto" => case["auto_picked"][zname].as_str().unwrap(),
                    "exact" => "exact",
                    _ => "asymptotic",
                };
                tally.check_that(picked_name(w.method) == want, || {
                    format!("{at}: used {:?}, SciPy used {want}", w.method)
                });
                // z: SciPy's zstatistic where it has one; where `auto` fell back to the
                // normal approximation SciPy reports none, so compare with its `approx` z.
                let z_expected = if expected["zstatistic_available"].as_bool().unwrap() {
                    Some(num(&expected["zstatistic"]))
                } else if w.method == WilcoxonPValue::Asymptotic {
                    Some(num(&case["wilcoxon"][zname]["approx"]["zstatistic"]))
                } else {
                    None
                };
                match (w.z, z_expected) {
                    (Some(z), Some(e)) => tally.check("z", &at, z, e, 1e-9, 0.0),
                    (z, e) => tally.check_that(z.is_none() && e.is_none(), || {
                        format!("{at}: z = {z:?}, expected {e:?}")
                    }),
                }
            }
        }
    }
    tally.finish(28 + errors + results * 7);
    assert_eq!((errors, results), (3, 28 * 9 - 3));
}

#[test]
fn rank_biserial_matches_definition() {
    let cases = cases();
    let mut tally = Tally::new("rank-biserial");
    for case in cases["wilcoxon_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let d = floats_or_nan(&case["d"]);
        for (zname, zm) in ZERO_METHODS {
            let expected = num(&case["rank_biserial"][zname]);
            let at = format!("{name}/{zname}");
            tally.check("r", &at, rank_biserial(&d, zm), expected, 1e-12, 1e-15);
        }
    }
    tally.finish(28 * 3);
}

#[test]
fn paired_t_interval_matches_scipy() {
    let cases = cases();
    let mut tally = Tally::new("paired t");
    let mut compared = 0;
    for case in cases["wilcoxon_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y, d) = (
            floats_or_nan(&case["x"]),
            floats_or_nan(&case["y"]),
            floats_or_nan(&case["d"]),
        );
        let t = &case["paired_t"];
        let ci = mean_ci_95(&d);
        let scale = ci.mean.abs() + ci.half_width.abs();
        let tol = |v: f64| 1e-9 * v.abs().max(if scale.is_nan() { 0.0 } else { scale });
        tally.check("n", name, ci.n as f64, num(&t["n"]), 0.0, 0.0);
        tally.check("mean_diff", name, ci.mean, num(&t["mean_diff"]), 1e-9, 0.0);
        tally.check("sd_diff", name, ci.std, num(&t["sd_diff"]), 1e-9, 0.0);
        let t_crit = if ci.n < 2 {
            f64::NAN
        } else {
            t_quantile_975(ci.n - 1)
        };
        tally.check("t_crit", name, t_crit, num(&t["t_crit"]), 1e-9, 0.0);
        let hw = num(&t["half_width"]);
        tally.check("half_width", name, ci.half_width, hw, 1e-9, 1e-15);
        let low = num(&t["ci_low"]);
        let high = num(&t["ci_high"]);
        tally.check("ci_low", name, ci.low(), low, 1e-9, tol(low));
        tally.check("ci_high", name, ci.high(), high, 1e-9, tol(high));
        // The same numbers through `paired_comparison` where SciPy's `auto` answers.
        if case["wilcoxon"]["wilcox"]["auto"]["error"].is_null() {
            compared += 1;
            let p = paired_comparison(&x, &y, ZeroMethod::Wilcox, WilcoxonMethod::Auto)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            tally.check("pc mean_diff", name, p.mean_diff, ci.mean, 0.0, 0.0);
            tally.check("pc ci_low", name, p.ci_low, low, 1e-9, tol(low));
            tally.check("pc ci_high", name, p.ci_high, high, 1e-9, tol(high));
            let r = num(&case["rank_biserial"]["wilcox"]);
            tally.check("pc rank_biserial", name, p.rank_biserial, r, 1e-12, 1e-15);
            let pw = num(&case["wilcoxon"]["wilcox"]["auto"]["pvalue"]);
            tally.check("pc p", name, p.wilcoxon.p_value, pw, 1e-9, 1e-15);
        } else {
            let p = paired_comparison(&x, &y, ZeroMethod::Wilcox, WilcoxonMethod::Auto);
            tally.check_that(p.is_err(), || format!("{name}: expected an error"));
        }
    }
    tally.finish(28 * 7 + compared * 5 + (28 - compared));
    assert_eq!(compared, 27);
}

#[test]
fn holm_matches_statsmodels() {
    let cases = cases();
    let list = cases["holm"].as_array().unwrap();
    assert_eq!(list.len(), 10);
    let mut tally = Tally::new("holm");
    let mut expected_count = 0;
    for v in list {
        let name = v["name"].as_str().unwrap();
        let p = floats_or_nan(&v["p"]);
        let adjusted = holm(&p);
        let want = floats_or_nan(&v["adjusted"]);
        let reject: Vec<bool> = v["reject_alpha_0_05"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_bool().unwrap())
            .collect();
        tally.check_that(adjusted.len() == want.len(), || format!("{name}: length"));
        expected_count += 1 + 2 * want.len();
        for (i, (a, e)) in adjusted.iter().zip(&want).enumerate() {
            let at = format!("{name}[{i}]");
            tally.check("adjusted", &at, *a, *e, 0.0, 1e-15);
            tally.check_that((*a <= 0.05) == reject[i], || {
                format!("{at}: adjusted {a} vs statsmodels' reject {}", reject[i])
            });
        }
    }
    tally.finish(expected_count);
}

#[test]
fn t_quantile_matches_scipy() {
    let cases = cases();
    let list = cases["t_ppf_0975"].as_array().unwrap();
    let mut tally = Tally::new("t.ppf(0.975)");
    for (i, e) in list.iter().enumerate() {
        let df = e["df"].as_u64().unwrap() as usize;
        assert_eq!(df, i + 1);
        let at = format!("df={df}");
        tally.check(
            "t quantile",
            &at,
            t_quantile_975(df),
            num(&e["value"]),
            1e-9,
            0.0,
        );
    }
    tally.finish(200);
}

#[test]
fn normal_sf_matches_scipy() {
    let cases = cases();
    let list = cases["norm_sf"].as_array().unwrap();
    let mut tally = Tally::new("norm.sf");
    for e in list {
        let z = num(&e["z"]);
        let at = format!("z={z}");
        tally.check("sf", &at, normal_sf(z), num(&e["value"]), 1e-12, 0.0);
    }
    tally.finish(15);
}
