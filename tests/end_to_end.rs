//! `musiclime synth` + `musiclime explain --model builtin:planted` recover the planted
//! features of both modalities; `refit` reproduces the explanation from the saved
//! neighbourhood; bad inputs to `explain` exit with status 2 and leave no explanation behind.

use std::path::{Path, PathBuf};

use musiclime::prelude::*;
use serde_json::Value;

mod common;
use common::{assert_success, binary};

fn synth(dir: &Path, tracks: usize, seed: u64, seconds: f64) {
    let status = binary()
        .args([
            "synth",
            "--tracks",
            &tracks.to_string(),
            "--seed",
            &seed.to_string(),
            "--seconds",
            &seconds.to_string(),
        ])
        .arg("--out")
        .arg(dir)
        .status()
        .expect("synth runs");
    assert!(status.success());
}

fn explain(data: &Path, id: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    binary()
        .arg("explain")
        .arg("--audio")
        .arg(data.join(id).join("mixture.wav"))
        .arg("--lyrics")
        .arg(data.join(id).join("lyrics.txt"))
        .arg("--stems")
        .arg(data.join(id).join("stems"))
        .args(["--num-samples", "400", "--seed", "3"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .expect("explain runs")
}

#[test]
fn planted_features_are_recovered_and_refit_reproduces_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synth(&data, 4, 90_210, 4.0);
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("ground_truth.json")).unwrap())
            .unwrap();
    let (mut audio_hits, mut audio_k, mut word_hits, mut word_k) = (0, 0, 0, 0);
    for (id, planted) in truth.as_object().unwrap() {
        let out = dir.path().join(format!("exp-{id}"));
        let output = explain(&data, id, &out, &[]);
        assert_success(&output);
        let explanation: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("explanation.json")).unwrap())
                .unwrap();
        let label = explanation["predicted_label"].as_u64().unwrap();
        assert_eq!(
            label,
            planted["label"].as_u64().unwrap(),
            "{id}: the planted model predicts the planted label"
        );
        let weights = explanation["labels"][label.to_string()]["weights"]
            .as_array()
            .unwrap();
        let features = explanation["features"].as_array().unwrap();
        for (modality, list, hits, k) in [
            ("audio", &planted["audio"], &mut audio_hits, &mut audio_k),
            ("lyrics", &planted["words"], &mut word_hits, &mut word_k),
        ] {
            let want: Vec<&str> = list
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let ranked: Vec<&str> = weights
                .iter()
                .filter(|w| features[w["index"].as_u64().unwrap() as usize]["modality"] == modality)
                .map(|w| w["feature"].as_str().unwrap())
                .take(want.len())
                .collect();
            *hits += ranked.iter().filter(|f| want.contains(f)).count();
            *k += want.len();
        }
        // Refit from the saved neighbourhood reproduces the explanation exactly.
        let neighborhood = read_neighborhood(&out.join("neighborhood.parquet")).unwrap();
        let params = RefitParams {
            labels: LabelChoice::Labels(vec![(label as usize).into()]),
            ..Default::default()
        };
        let refitted = refit(&neighborhood, &params, "saved").unwrap();
        let again: Vec<(usize, f64)> = refitted.labels[0].fit.weights.clone();
        let saved: Vec<(usize, f64)> = weights
            .iter()
            .map(|w| {
                (
                    w["index"].as_u64().unwrap() as usize,
                    w["weight"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(again, saved, "{id}: refit reproduces the weights");
    }
    let audio_precision = audio_hits as f64 / audio_k as f64;
    let word_precision = word_hits as f64 / word_k as f64;
    assert!(
        audio_precision >= 0.9,
        "audio precision@k {audio_precision}"
    );
    assert!(word_precision >= 0.9, "lyrics precision@k {word_precision}");
}

#[test]
fn synth_and_explain_are_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    synth(&a, 2, 7, 2.0);
    synth(&b, 2, 7, 2.0);
    for file in [
        "manifest.csv",
        "ground_truth.json",
        "track001/mixture.wav",
        "track001/stems/drums.wav",
        "track001/lyrics.txt",
    ] {
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
    let (x, y) = (dir.path().join("x"), dir.path().join("y"));
    assert!(explain(&a, "track001", &x, &[]).status.success());
    // One thread versus the default pool: the same explanation.
    let single = binary()
        .env("RAYON_NUM_THREADS", "1")
        .arg("explain")
        .arg("--audio")
        .arg(b.join("track001/mixture.wav"))
        .arg("--lyrics")
        .arg(b.join("track001/lyrics.txt"))
        .arg("--stems")
        .arg(b.join("track001/stems"))
        .args(["--num-samples", "400", "--seed", "3", "--batch-size", "7"])
        .arg("--out")
        .arg(&y)
        .status()
        .unwrap();
    assert!(single.success());
    // The model items run and saved do not depend on the batch size either; only the largest
    // run does (64 against 7).
    let strip = |p: PathBuf| {
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["instance"] = Value::Null;
        v["model_items"]["largest_run"] = Value::Null;
        v
    };
    assert_eq!(
        strip(x.join("explanation.json")),
        strip(y.join("explanation.json"))
    );
}

fn assert_explain_rejected(data: &Path, id: &str, extra: &[&str], mentions: &str) {
    let out = data
        .parent()
        .unwrap()
        .join(format!("rejected-{}", mentions.len()));
    let output = explain(data, id, &out, extra);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(mentions),
        "stderr should mention {mentions:?}: {stderr}"
    );
    assert!(
        !out.join("explanation.json").exists(),
        "no explanation on error"
    );
}

#[test]
fn bad_inputs_to_explain_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synth(&data, 2, 1, 2.0);
    assert_explain_rejected(
        &data,
        "track000",
        &["--model", "builtin:nope"],
        "unknown model",
    );
    assert_explain_rejected(&data, "track000", &["--segments", "100000"], "segments");
    assert_explain_rejected(
        &data,
        "track000",
        &["--modality", "video"],
        "unknown modality",
    );
    std::fs::write(
        data.join("track000/lyrics.txt"),
        [0x66u8, 0x6f, 0xff, 0xfe, 0x0a],
    )
    .unwrap();
    assert_explain_rejected(&data, "track000", &[], "not UTF-8");
    std::fs::remove_file(data.join("track001/stems/bass.wav")).unwrap();
    assert_explain_rejected(&data, "track001", &[], "no `bass` stem");
    std::fs::write(
        data.join("track001/mixture.wav"),
        b"RIFF....WAVEfmt garbage",
    )
    .unwrap();
    assert_explain_rejected(&data, "track001", &[], "mixture.wav");
}

#[test]
fn empty_lyrics_explain_the_audio_only_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synth(&data, 1, 2, 2.0);
    std::fs::write(data.join("track000/lyrics.txt"), "\n").unwrap();
    let out = dir.path().join("exp");
    let output = explain(&data, "track000", &out, &[]);
    assert_success(&output);
    assert!(String::from_utf8_lossy(&output.stderr).contains("explaining the audio only"));
    let explanation: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("explanation.json")).unwrap())
            .unwrap();
    assert!(explanation["features"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["modality"] == "audio"));
}
