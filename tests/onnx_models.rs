//! ONNX models from `model.yaml`, end to end: the fixture models of `tests/fixtures/onnx`
//! (made by its `generate.py` with the `onnx` package) give the outputs onnxruntime gave in
//! Python; `musiclime explain --model …/model.yaml` recovers their planted features; the fast
//! path agrees with composing inputs; bad specs and broken models exit with status 2 and a
//! message naming the file.
//!
//! ONNX Runtime comes from the project's `.venv` (`just setup`, or `.ci/run`).

use std::path::{Path, PathBuf};

use musiclime::audio::decode::decode_file;
use musiclime::factorize::{factorize, ExplainedSpan, Factorization, FactorizationKind};
use musiclime::lyrics::{LyricFeatures, LyricsParams};
use musiclime::model::onnx::OnnxModel;
use musiclime::model::{instance_predictor, Classifier, ModelInput};
use serde_json::Value;

mod common;
use common::{assert_success, binary, read_json};

fn fixtures() -> PathBuf {
    common::fixture("onnx")
}

fn expected() -> Value {
    read_json(&fixtures().join("expected.json"))
}

/// The synthetic tracks `expected.json` was computed on.
fn synth_expected_tracks(dir: &Path) {
    let s = &expected()["synth"];
    let status = binary()
        .arg("synth")
        .arg("--out")
        .arg(dir)
        .args(["--tracks", &s["tracks"].to_string()])
        .args(["--seed", &s["seed"].to_string()])
        .args(["--classes", &s["classes"].to_string()])
        .args(["--seconds", &s["seconds"].to_string()])
        .args(["--sample-rate", &s["sample_rate"].to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn input(dir: &Path, id: &str) -> ModelInput {
    let audio = decode_file(&dir.join(id).join("mixture.wav")).unwrap();
    ModelInput {
        audio: audio.samples,
        sample_rate: audio.sample_rate,
        lyrics: std::fs::read_to_string(dir.join(id).join("lyrics.txt")).unwrap(),
    }
}

fn assert_close(got: &[f64], want: &Value, tolerance: f64, what: &str) {
    let want: Vec<f64> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= tolerance, "{what}: {got:?} vs {want:?}");
    }
}

#[test]
fn fixture_models_give_the_outputs_onnxruntime_gave_in_python() {
    let dir = tempfile::tempdir().unwrap();
    synth_expected_tracks(dir.path());
    let expected = expected();
    let tolerance = expected["tolerance"].as_f64().unwrap();
    let tracks = expected["tracks"].as_array().unwrap();
    let inputs: Vec<ModelInput> = tracks
        .iter()
        .map(|t| input(dir.path(), t["id"].as_str().unwrap()))
        .collect();
    for (yaml, key) in [
        ("multimodal.yaml", "multimodal_probs"),
        ("audio.yaml", "audio_probs"),
        ("lyrics.yaml", "lyrics_probs"),
        // The same model split into an audio encoder, a text encoder and a fusion head.
        ("split.yaml", "split_probs"),
    ] {
        let model = OnnxModel::load(&fixtures().join(yaml)).unwrap();
        let probs = model.predict(&inputs).unwrap();
        for (i, track) in tracks.iter().enumerate() {
            let row: Vec<f64> = probs.row(i).to_vec();
            assert_close(
                &row,
                &track[key],
                tolerance,
                &format!("{yaml} {}", track["id"]),
            );
        }
    }
    // Unimodal models say which input they read.
    assert_eq!(
        OnnxModel::load(&fixtures().join("audio.yaml"))
            .unwrap()
            .reads(),
        (true, false)
    );
    assert_eq!(
        OnnxModel::load(&fixtures().join("lyrics.yaml"))
            .unwrap()
            .reads(),
        (false, true)
    );
}

#[test]
fn attention_outputs_are_the_planted_function_of_the_input() {
    let dir = tempfile::tempdir().unwrap();
    synth_expected_tracks(dir.path());
    let model = OnnxModel::load(&fixtures().join("multimodal.yaml")).unwrap();
    let track = &expected()["tracks"][0];
    let maps = model
        .attention(&[input(dir.path(), track["id"].as_str().unwrap())], true)
        .unwrap();
    let text = maps[0].iter().find(|m| m.name == "attn_text").unwrap();
    // softmax over the 32 keys of 3·[token is a class word] − 10000·[padding].
    let ids: Vec<u64> = track["input_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let vocab: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("tokenizer.json")).unwrap())
            .unwrap();
    let class_words: Vec<u64> = musiclime::synth::CLASS_WORDS
        .iter()
        .flatten()
        .map(|w| vocab["model"]["vocab"][*w].as_u64().unwrap())
        .collect();
    let scores: Vec<f64> = (0..32)
        .map(|k| match ids.get(k) {
            Some(id) if class_words.contains(id) => 3.0,
            Some(_) => 0.0,
            None => -10_000.0,
        })
        .collect();
    let total: f64 = scores.iter().map(|s| s.exp()).sum();
    for (k, w) in text.first_token.iter().enumerate() {
        assert!((w - scores[k].exp() / total).abs() < 1e-5, "key {k}: {w}");
    }
    let audio = maps[0].iter().find(|m| m.name == "attn_audio").unwrap();
    assert_eq!(audio.first_token.len(), 313);
    assert!((audio.first_token.iter().sum::<f64>() - 1.0).abs() < 1e-4);
}

#[test]
fn the_fast_path_agrees_with_composing_inputs() {
    let dir = tempfile::tempdir().unwrap();
    synth_expected_tracks(dir.path());
    let id = expected()["tracks"][1]["id"].as_str().unwrap().to_string();
    let audio = decode_file(&dir.path().join(&id).join("mixture.wav")).unwrap();
    let factorization = factorize(
        &audio,
        FactorizationKind::Stems,
        Some(&dir.path().join(&id).join("stems")),
        10,
        &ExplainedSpan::whole_clip(&audio),
        &id,
    )
    .unwrap();
    let text = std::fs::read_to_string(dir.path().join(&id).join("lyrics.txt")).unwrap();
    let lyrics = LyricFeatures::new(&text, &LyricsParams::default()).unwrap();
    for yaml in ["multimodal.yaml", "audio.yaml"] {
        let model = OnnxModel::load(&fixtures().join(yaml)).unwrap();
        let n = factorization.len() + lyrics.len();
        let masks: Vec<Vec<bool>> = (0..8)
            .map(|r| (0..n).map(|j| (j * 7 + r * 3) % 5 != 0 || r == 0).collect())
            .collect();
        let fast = instance_predictor(&model, &factorization, &lyrics, Default::default()).unwrap();
        let fast_probs = fast.run(fast.prepare(&masks, 0).unwrap()).unwrap();
        let composed: Vec<ModelInput> = masks
            .iter()
            .map(|m| ModelInput {
                audio: factorization.compose(&m[..factorization.len()]),
                sample_rate: audio.sample_rate,
                lyrics: lyrics.compose(&m[factorization.len()..]),
            })
            .collect();
        let naive = model.predict(&composed).unwrap();
        let worst = (&fast_probs - &naive)
            .iter()
            .fold(0.0f64, |m, d| m.max(d.abs()));
        assert!(worst < 1e-4, "{yaml}: max |fast - naive| = {worst}");
    }
}

fn explain(data: &Path, id: &str, model: &Path, out: &Path, threads: &str) -> std::process::Output {
    binary()
        .env("RAYON_NUM_THREADS", threads)
        .arg("explain")
        .arg("--audio")
        .arg(data.join(id).join("mixture.wav"))
        .arg("--lyrics")
        .arg(data.join(id).join("lyrics.txt"))
        .arg("--stems")
        .arg(data.join(id).join("stems"))
        .arg("--model")
        .arg(model)
        .args(["--num-samples", "500", "--seed", "4", "--batch-size", "50"])
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn explain_recovers_the_planted_features_of_onnx_models_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    synth_expected_tracks(dir.path());
    let expected = expected();
    for yaml in ["multimodal.yaml", "audio.yaml", "lyrics.yaml"] {
        let (mut hits, mut wanted) = (0, 0);
        for track in expected["tracks"].as_array().unwrap() {
            let id = track["id"].as_str().unwrap();
            let out = dir.path().join(format!("{yaml}-{id}"));
            let output = explain(dir.path(), id, &fixtures().join(yaml), &out, "2");
            assert_success(&output);
            let explanation: Value = serde_json::from_str(
                &std::fs::read_to_string(out.join("explanation.json")).unwrap(),
            )
            .unwrap();
            let label = explanation["predicted_label"].as_u64().unwrap();
            let weights = explanation["labels"][label.to_string()]["weights"]
                .as_array()
                .unwrap();
            let features = explanation["features"].as_array().unwrap();
            let modalities: Vec<(&str, &str)> = match yaml {
                "audio.yaml" => vec![("audio", "planted_audio")],
                "lyrics.yaml" => vec![("lyrics", "planted_words")],
                _ => vec![("audio", "planted_audio"), ("lyrics", "planted_words")],
            };
            if yaml == "lyrics.yaml" && label != track["label"].as_u64().unwrap() {
                // The lyrics of every fourth track name another class; their words are not the
                // planted ones for the label.
                continue;
            }
            assert_eq!(label, track["label"].as_u64().unwrap(), "{yaml} {id}");
            for (modality, key) in modalities {
                let want: Vec<&str> = track[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                let ranked: Vec<&str> = weights
                    .iter()
                    .filter(|w| {
                        features[w["index"].as_u64().unwrap() as usize]["modality"] == modality
                    })
                    .map(|w| w["feature"].as_str().unwrap())
                    .take(want.len())
                    .collect();
                hits += ranked.iter().filter(|f| want.contains(f)).count();
                wanted += want.len();
            }
            // One thread gives the same bytes.
            if id == "track000" {
                let again = dir.path().join(format!("{yaml}-{id}-1thread"));
                let output = explain(dir.path(), id, &fixtures().join(yaml), &again, "1");
                assert!(output.status.success());
                assert_eq!(
                    std::fs::read(out.join("explanation.json")).unwrap(),
                    std::fs::read(again.join("explanation.json")).unwrap(),
                    "{yaml}: 1 and 2 threads differ"
                );
            }
        }
        let precision = hits as f64 / wanted as f64;
        assert!(
            precision >= 0.9,
            "{yaml}: precision@k of planted features {precision}"
        );
    }
}

fn assert_rejected(yaml: &str, mentions: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = binary()
        .args([
            "synth",
            "--tracks",
            "1",
            "--seconds",
            "10",
            "--classes",
            "4",
        ])
        .arg("--out")
        .arg(&data)
        .status()
        .unwrap();
    assert!(s.success());
    let out = dir.path().join("out");
    let output = explain(&data, "track000", &fixtures().join(yaml), &out, "2");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{yaml}: {stderr}");
    for m in mentions {
        assert!(stderr.contains(m), "{yaml}: `{m}` not in: {stderr}");
    }
    assert!(
        !out.join("explanation.json").exists(),
        "{yaml}: wrote output"
    );
}

#[test]
fn bad_specs_and_broken_models_are_rejected_with_the_file_named() {
    assert_rejected(
        "wrong_input_name.yaml",
        &["lyrics_tokens.onnx", "`ids`", "input_ids"],
    );
    assert_rejected(
        "wrong_classes.yaml",
        &["wrong_classes.yaml", "3 classes", "[50, 4]"],
    );
    assert_rejected(
        "missing_tokenizer.yaml",
        &["does_not_exist.json", "not found"],
    );
    assert_rejected(
        "wrong_dtype.yaml",
        &["float_ids.onnx", "input_ids", "Float32"],
    );
    assert_rejected("nan_output.yaml", &["nan_output.yaml", "NaN", "probs"]);
    assert_rejected(
        "unnormalised.yaml",
        &["unnormalised.yaml", "sum to", "logits"],
    );
    // A model file that is not there, and a spec with a typo in a key.
    let dir = tempfile::tempdir().unwrap();
    let spec = std::fs::read_to_string(fixtures().join("lyrics.yaml")).unwrap();
    let missing = dir.path().join("missing.yaml");
    std::fs::write(
        &missing,
        spec.replace("lyrics_tokens.onnx", "nowhere.onnx").replace(
            "tokenizer.json",
            &fixtures().join("tokenizer.json").display().to_string(),
        ),
    )
    .unwrap();
    let typo = dir.path().join("typo.yaml");
    std::fs::write(&typo, spec.replace("max_length", "max_lenght")).unwrap();
    // Parameters that give a shape the graph does not take: 32 mel bands for a 64-band input.
    let multimodal = std::fs::read_to_string(fixtures().join("multimodal.yaml")).unwrap();
    let shape = dir.path().join("shape.yaml");
    std::fs::write(
        &shape,
        multimodal
            .replace("n_mels: 64", "n_mels: 32")
            .replace(
                "planted_multimodal.onnx",
                &fixtures()
                    .join("planted_multimodal.onnx")
                    .display()
                    .to_string(),
            )
            .replace(
                "tokenizer.json",
                &fixtures().join("tokenizer.json").display().to_string(),
            ),
    )
    .unwrap();
    for (path, mention) in [
        (&missing, "nowhere.onnx"),
        (&typo, "max_lenght"),
        (&shape, "[batch, 32, 313]"),
    ] {
        let output = binary()
            .args(["explain", "--audio", "x.wav", "--lyrics", "x.txt", "--out"])
            .arg(dir.path().join("out"))
            .arg("--model")
            .arg(path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(mention), "{stderr}");
    }
}
