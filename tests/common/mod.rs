//! Helpers shared by the integration tests; each test file that needs them says `mod common;`.
// Every test binary compiles this module, and none uses all of it.
#![allow(dead_code)]

use std::process::{Command, Output};

/// The `musiclime` binary built for these tests.
pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_musiclime"))
}

/// Asserts that a finished command exited with status 0, showing its stderr when it did not.
#[track_caller]
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A file or folder under `tests/fixtures/`.
pub fn fixture(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// A JSON file, parsed; panics naming the file.
#[track_caller]
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// A JSON array of numbers; panics on anything else.
#[track_caller]
pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("not a number: {x}")))
        .collect()
}

/// A JSON array of numbers in which `null` (and anything not a number) stands for NaN, as
/// the reference scripts write NaN.
#[track_caller]
pub fn floats_or_nan(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

/// `musiclime synth --out OUT ARGS…`, which must succeed.
#[track_caller]
pub fn synth(out: &std::path::Path, args: &[&str]) {
    let output = binary()
        .arg("synth")
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run musiclime synth: {e}"));
    assert_success(&output);
}

/// Track `index` of the synthetic set `params`, its sources cut into `segments` equal time
/// segments, and its lyric features (built in memory, nothing written).
pub fn synthetic_track(
    params: &musiclime::synth::SynthParams,
    index: usize,
    segments: usize,
) -> (
    musiclime::factorize::SourceSegments,
    musiclime::lyrics::LyricFeatures,
) {
    let track = params.track(index);
    let len = track.stems[0].1.len();
    let bounds = (0..segments)
        .map(|s| (s * len / segments, (s + 1) * len / segments))
        .collect();
    let audio = musiclime::factorize::SourceSegments::new(track.stems, bounds, params.sample_rate);
    let lyrics = musiclime::lyrics::LyricFeatures::new(
        &track.lyrics,
        &musiclime::lyrics::LyricsParams::default(),
    )
    .unwrap();
    (audio, lyrics)
}

/// The largest absolute difference between two equally long series.
#[track_caller]
pub fn worst_difference(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f64::max)
}
