//! Audio-XAI metrics against `tests/fixtures/audio_xai_metrics/cases.json`: Quantus 0.5.3
//! Sparseness and Complexity (values and refusals, alone and in batches, plus the NumPy
//! formulas on vectors Quantus refuses) and the L-MAC metrics (AI, AD, AG, FF, Fid-In, both
//! AD/AG definitions, per instance and aggregated) from the NumPy transcription of
//! speechbrain's ESC-50 recipe.
//!
//! Tolerance (the fixture README's): relative 1e-12 with an absolute floor of 1e-12; AI,
//! Fid-In and the predicted classes exactly; `null` in the fixture is NaN here. Every
//! comparison is counted and the count asserted. `--nocapture` prints the largest differences.

use musiclime::metrics::audio_xai::{
    complexity, complexity_batch, entropy, gini_index, lmac_scores, normalise_by_batch_max,
    predicted_class, quantus_mean, sparseness, sparseness_batch, AttributionError, LmacScores,
};
use serde_json::Value;

mod common;
use common::{fixture, floats, floats_or_nan, read_json};

const RELATIVE: f64 = 1e-12;
const ABSOLUTE: f64 = 1e-12;

fn cases() -> Value {
    read_json(&fixture("audio_xai_metrics/cases.json"))
}

/// A fixture number; `null` is NaN.
fn number(v: &Value) -> f64 {
    if v.is_null() {
        f64::NAN
    } else {
        v.as_f64().unwrap()
    }
}

/// The refusal a Quantus `AssertionError` message stands for.
fn refusal(message: &str) -> AttributionError {
    if message.contains("all equal to zero") {
        AttributionError::AllZero
    } else if message.contains("all equal to one") {
        AttributionError::AllOne
    } else if message.contains("uniformly distributed") {
        AttributionError::Uniform
    } else if message.contains("all be less than zero") {
        AttributionError::AllNegative
    } else {
        panic!("unknown Quantus error: {message}")
    }
}

/// Counts the comparisons and keeps their differences.
#[derive(Default)]
struct Tally {
    count: usize,
    /// (relative difference, absolute difference, what, ours, theirs).
    diffs: Vec<(f64, f64, String, f64, f64)>,
}

impl Tally {
    /// `ours` against the fixture's `theirs` (NaN only matches NaN).
    fn close(&mut self, what: String, ours: f64, theirs: f64) {
        self.count += 1;
        if theirs.is_nan() || ours.is_nan() {
            assert!(
                theirs.is_nan() && ours.is_nan(),
                "{what}: {ours} vs {theirs}"
            );
            return;
        }
        let diff = (ours - theirs).abs();
        assert!(
            diff <= (RELATIVE * theirs.abs()).max(ABSOLUTE),
            "{what}: {ours} vs {theirs} (difference {diff:e})"
        );
        let relative = if theirs == 0.0 {
            diff
        } else {
            diff / theirs.abs()
        };
        self.diffs.push((relative, diff, what, ours, theirs));
    }

    /// Exact equality (0/1 and percent indicators, classes).
    fn exact(&mut self, what: String, ours: f64, theirs: f64) {
        self.count += 1;
        assert_eq!(ours, theirs, "{what}");
    }

    /// A refusal where Quantus raised.
    fn refused<T: std::fmt::Debug>(
        &mut self,
        what: String,
        ours: Result<T, AttributionError>,
        message: &str,
    ) {
        self.count += 1;
        assert_eq!(ours.unwrap_err(), refusal(message), "{what}: {message}");
    }

    fn report(&mut self, title: &str) {
        self.diffs.sort_by(|a, b| b.0.total_cmp(&a.0));
        println!("{title}: {} comparisons; largest differences:", self.count);
        for (relative, diff, what, ours, theirs) in self.diffs.iter().take(8) {
            println!("  rel {relative:9.2e}  abs {diff:9.2e}  {what}: {ours:e} vs {theirs:e}");
        }
    }
}

#[test]
fn quantus_sparseness_and_complexity_match() {
    let cases = cases();
    let quantus = &cases["quantus"];
    assert_eq!(cases["versions"]["quantus"], "0.5.3");
    let mut tally = Tally::default();

    let singles = quantus["single"].as_array().unwrap();
    assert_eq!(singles.len(), 12);
    let mut refusals = 0;
    for case in singles {
        let name = case["name"].as_str().unwrap();
        let a = floats(&case["a"]);
        assert_eq!(case["shape"][2].as_u64().unwrap() as usize, a.len());
        for (metric, ours) in [
            ("sparseness", sparseness(&a)),
            ("complexity", complexity(&a)),
        ] {
            let what = format!("single {name} {metric}");
            match case[format!("{metric}_error")].as_str() {
                Some(message) => {
                    assert!(case[metric].is_null(), "{what}");
                    tally.refused(what, ours, message);
                    refusals += 1;
                }
                None => tally.close(what, ours.unwrap(), number(&case[metric])),
            }
        }
        // The formulas alone, defined even where Quantus refuses.
        let normalised = normalise_by_batch_max(&[&a[..]]);
        tally.close(
            format!("single {name} formula_sparseness"),
            gini_index(&normalised[0]),
            number(&case["formula_sparseness"]),
        );
        tally.close(
            format!("single {name} formula_complexity"),
            entropy(&normalised[0]),
            number(&case["formula_complexity"]),
        );
    }
    assert_eq!(refusals, 6, "three refused vectors, two metrics each");

    let batches = quantus["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 3);
    let mut rows_seen = 0;
    for case in batches {
        let name = case["name"].as_str().unwrap();
        assert!(case["errors"].as_array().unwrap().is_empty(), "{name}");
        let rows: Vec<Vec<f64>> = case["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| floats(&r["a"]))
            .collect();
        rows_seen += rows.len();
        let sps = sparseness_batch(&rows).unwrap();
        let comp = complexity_batch(&rows).unwrap();
        let expected_sps = floats_or_nan(&case["sparseness"]);
        let expected_comp = floats_or_nan(&case["complexity"]);
        assert_eq!(expected_sps.len(), rows.len());
        assert_eq!(expected_comp.len(), rows.len());
        for i in 0..rows.len() {
            let row = case["rows"][i]["name"].as_str().unwrap();
            tally.close(
                format!("batch {name} {row} sparseness"),
                sps[i],
                expected_sps[i],
            );
            tally.close(
                format!("batch {name} {row} complexity"),
                comp[i],
                expected_comp[i],
            );
        }
        tally.close(
            format!("batch {name} sparseness aggregate"),
            quantus_mean(&sps),
            number(&case["sparseness_aggregate_lmac_call"]),
        );
        tally.close(
            format!("batch {name} complexity aggregate"),
            quantus_mean(&comp),
            number(&case["complexity_aggregate_lmac_call"]),
        );
    }
    assert_eq!(rows_seen, 9);

    tally.report("Quantus");
    // 12 vectors × (2 metrics + 2 formulas) + 9 rows × 2 + 3 batches × 2 aggregates.
    assert_eq!(tally.count, 12 * 4 + 9 * 2 + 3 * 2);
}

/// The fixture's metric keys and the matching fields, with whether they compare exactly.
type Field = fn(&LmacScores) -> f64;
const LMAC_FIELDS: [(&str, Field, bool); 7] = [
    ("AI", |s| s.average_increase, true),
    ("AD", |s| s.average_drop, false),
    ("AD_published", |s| s.average_drop_published, false),
    ("AG", |s| s.average_gain, false),
    ("AG_published", |s| s.average_gain_published, false),
    ("FF", |s| s.faithfulness_on_spectra, false),
    ("Fid_In", |s| s.input_fidelity, true),
];

#[test]
fn lmac_metrics_match() {
    let cases = cases();
    let lmac = &cases["lmac"];
    assert_eq!(
        lmac["eps"].as_f64().unwrap(),
        musiclime::metrics::audio_xai::LMAC_EPS
    );
    let mut tally = Tally::default();
    let batches = lmac["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 2);
    let mut instances_seen = 0;
    let mut nulls = 0;
    for batch in batches {
        let bname = batch["name"].as_str().unwrap();
        let mut scores = Vec::new();
        for case in batch["instances"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let (p, p_in, p_out) = (
                floats(&case["p"]),
                floats(&case["p_in"]),
                floats(&case["p_out"]),
            );
            let c = predicted_class(&p);
            tally.exact(
                format!("{bname} {name} c"),
                c as f64,
                case["c"].as_u64().unwrap() as f64,
            );
            tally.exact(
                format!("{bname} {name} argmax_p_in"),
                predicted_class(&p_in) as f64,
                case["argmax_p_in"].as_u64().unwrap() as f64,
            );
            // The fixture's y_c, o_c, out_c are plain copies of p[c], p_in[c], p_out[c].
            assert_eq!(p[c], case["y_c"].as_f64().unwrap(), "{name}");
            assert_eq!(p_in[c], case["o_c"].as_f64().unwrap(), "{name}");
            assert_eq!(p_out[c], case["out_c"].as_f64().unwrap(), "{name}");
            let s = lmac_scores(&p, &p_in, &p_out);
            for (key, field, exact) in LMAC_FIELDS {
                let expected = &case["metrics"][key];
                nulls += usize::from(expected.is_null());
                let what = format!("{bname} {name} {key}");
                if exact {
                    tally.exact(what, field(&s), number(expected));
                } else {
                    tally.close(what, field(&s), number(expected));
                }
            }
            scores.push(s);
            instances_seen += 1;
        }
        let mean = LmacScores::mean(&scores);
        for (key, field, _) in LMAC_FIELDS {
            tally.close(
                format!("{bname} aggregate {key}"),
                field(&mean),
                number(&batch["aggregate"][key]),
            );
        }
    }
    assert_eq!(instances_seen, 11 + 16);
    assert_eq!(
        nulls, 2,
        "AG_published is undefined for y_c_one and y_c_one_o_c_one"
    );
    tally.report("L-MAC");
    // 27 instances × (2 classes + 7 metrics) + 2 batches × 7 aggregates.
    assert_eq!(tally.count, 27 * 9 + 2 * 7);
}
