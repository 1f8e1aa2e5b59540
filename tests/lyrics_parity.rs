//! Parity with lime 0.2.0.1's `IndexedString`: features, occurrence counts and
//! `inverse_removing` on assorted lyrics (Unicode, punctuation, newlines, tabs, CRLF), three
//! separators and both `bow` settings. Fixture made by `tests/fixtures/lyrics/generate.py`.

use musiclime::lyrics::{LyricFeatures, DEFAULT_MASK_STRING};
use serde_json::Value;

mod common;

#[test]
fn lyric_features_match_lime_indexed_string() {
    let path = common::fixture("lyrics/indexed_string.json");
    let fixture: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 60);
    let mut removals_checked = 0;
    for case in cases {
        let text = case["text"].as_str().expect("text");
        let separator = case["split_expression"].as_str().expect("separator");
        let bow = case["bow"].as_bool().expect("bow");
        let features =
            LyricFeatures::words(text, separator, bow, DEFAULT_MASK_STRING).expect("features");
        let context = format!("{text:?} split by {separator:?} bow={bow}");
        let want: Vec<&str> = case["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|v| v.as_str().expect("word"))
            .collect();
        let got: Vec<&str> = features
            .features()
            .iter()
            .map(|f| f.text.as_str())
            .collect();
        assert_eq!(got, want, "features of {context}");
        let want_occurrences: Vec<u64> = case["occurrences"]
            .as_array()
            .expect("occ")
            .iter()
            .map(|v| v.as_u64().expect("n"))
            .collect();
        let got_occurrences: Vec<u64> = features
            .features()
            .iter()
            .map(|f| f.positions.len() as u64)
            .collect();
        assert_eq!(
            got_occurrences, want_occurrences,
            "occurrences in {context}"
        );
        for removal in case["removals"].as_array().expect("removals") {
            let mut keep = vec![true; features.len()];
            for j in removal["remove"].as_array().expect("remove") {
                keep[j.as_u64().expect("index") as usize] = false;
            }
            assert_eq!(
                features.compose(&keep),
                removal["text"].as_str().expect("text"),
                "removing {} from {context}",
                removal["remove"]
            );
            removals_checked += 1;
        }
    }
    assert!(removals_checked > 200);
}
