//! The audio frontends against their references on a real music recording: librosa 0.11.0's
//! log-mel and torchaudio's Kaldi fbank (NumPy port, checked against kaldi-native-fbank and
//! torchaudio), as `tests/fixtures/frontend/generate.py` computed them.

use std::path::PathBuf;

use musiclime::audio::decode::decode_file;
use musiclime::frontend::npy::read_npy;
use musiclime::frontend::{AudioFrontend, AudioInputSpec};

mod common;
use common::{assert_success, binary};

fn fixtures() -> PathBuf {
    common::fixture("frontend")
}

fn cases() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["cases"].as_array().unwrap().clone()
}

#[test]
fn every_frontend_matches_its_reference_on_real_music() {
    let cases = cases();
    assert!(cases.len() >= 10);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let spec: AudioInputSpec =
            serde_json::from_value(case["input"].clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let frontend = AudioFrontend::new(&spec).unwrap();
        let audio = decode_file(&fixtures().join(case["audio"].as_str().unwrap())).unwrap();
        let features = frontend
            .features(&audio.samples, audio.sample_rate, name)
            .unwrap();
        let len = frontend.fitted_len(audio.samples.len(), audio.sample_rate);
        let shape: Vec<usize> = std::iter::once(1).chain(frontend.shape(len)).collect();
        let (expected_shape, expected) =
            read_npy(&fixtures().join(case["expected"].as_str().unwrap())).unwrap();
        assert_eq!(shape, expected_shape, "{name}: shape");
        let tolerance = case["tolerance"].as_f64().unwrap() as f32;
        let (worst, at) = features
            .iter()
            .zip(&expected)
            .enumerate()
            .map(|(i, (a, b))| ((a - b).abs(), i))
            .fold((0.0f32, 0), |m, x| if x.0 > m.0 { x } else { m });
        eprintln!("{name}: max |rust - reference| = {worst:.2e}");
        assert!(
            worst <= tolerance,
            "{name}: max |rust - reference| = {worst} at flat index {at} (tolerance {tolerance})"
        );
    }
}

#[test]
fn the_frontend_command_writes_what_the_model_input_receives() {
    let case = cases()
        .into_iter()
        .find(|c| c["name"] == "fbank_ast")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut input = case["input"].clone();
    input["kind"] = "kaldi_fbank".into();
    let yaml = format!(
        "onnx: model.onnx\nclasses: [a, b]\ninputs:\n  - {}\noutputs:\n  probabilities: probs\n",
        serde_json::to_string(&input).unwrap()
    );
    std::fs::write(dir.path().join("model.yaml"), yaml).unwrap();
    let out = dir.path().join("feats.npy");
    let status = binary()
        .args(["frontend", "--audio"])
        .arg(fixtures().join("music_16k.flac"))
        .arg("--model")
        .arg(dir.path().join("model.yaml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&status);
    let (shape, got) = read_npy(&out).unwrap();
    let (expected_shape, expected) = read_npy(&fixtures().join("fbank_ast.npy")).unwrap();
    assert_eq!(shape, expected_shape);
    let worst = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 1e-3, "{worst}");

    // A file that is not audio is named in the error, and nothing is written.
    let bad = dir.path().join("not_audio.wav");
    std::fs::write(&bad, b"RIFF....WAVEfmt garbage").unwrap();
    let out2 = dir.path().join("never.npy");
    let result = binary()
        .args(["frontend", "--audio"])
        .arg(&bad)
        .arg("--model")
        .arg(dir.path().join("model.yaml"))
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&result.stderr).contains("not_audio.wav"));
    assert!(!out2.exists());
}
