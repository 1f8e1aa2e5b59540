//! The real multimodal model's shape (`just real-multimodal`: musicnn's MSD tagger over whole
//! clips, all-MiniLM-L6-v2, a zero-shot product of experts) in CI: the tiny random model of
//! `tests/fixtures/real_multimodal` (made by its generate.py with the real model's heads and
//! yamls) gives PyTorch's probabilities and attention rows, and `configs/real_multimodal.yaml`
//! runs end to end on it with the tiny separator fixture in place of Spleeter.
//!
//! ONNX Runtime comes from the project's `.venv` (`just setup`, or `.ci/run`).

use std::path::{Path, PathBuf};

use musiclime::audio::decode::decode_file;
use musiclime::model::onnx::OnnxModel;
use musiclime::model::{Classifier, ModelInput};
use serde_json::Value;

mod common;
use common::{assert_success, binary, fixture, floats, read_json, worst_difference};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn model_dir() -> PathBuf {
    fixture("real_multimodal")
}

fn case_input(case: &Value) -> ModelInput {
    let audio = decode_file(&repo().join(case["audio"].as_str().unwrap())).unwrap();
    let lyrics = std::fs::read_to_string(repo().join(case["lyrics"].as_str().unwrap())).unwrap();
    ModelInput {
        audio: audio.samples,
        sample_rate: audio.sample_rate,
        lyrics,
    }
}

#[test]
fn the_fixture_and_its_lyrics_expert_give_pytorchs_probabilities_and_attention_rows() {
    let expected = read_json(&model_dir().join("expected.json"));
    let cases = expected["cases"].as_array().unwrap();
    let inputs: Vec<ModelInput> = cases.iter().map(case_input).collect();
    for (name, file) in [("model", "model.yaml"), ("lyrics_only", "lyrics_only.yaml")] {
        let model = OnnxModel::load(&model_dir().join(file)).unwrap();
        let classes: Vec<&str> = expected["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(model.class_names(), classes, "{name}");
        let probabilities = model.predict(&inputs).unwrap();
        let attention = model.attention(&inputs, false).unwrap();
        for (i, case) in cases.iter().enumerate() {
            let want = floats(&case["probabilities"][name]);
            let worst = worst_difference(&probabilities.row(i).to_vec(), &want);
            assert!(
                worst <= 1e-4,
                "{name} case {i}: probabilities off by {worst}"
            );
            let want = floats(&case["attention_first_token"]["text_attentions"]);
            let worst = worst_difference(&attention[i][0].first_token, &want);
            assert!(
                worst <= 1e-4,
                "{name} case {i}: attention row off by {worst}"
            );
        }
    }
}

/// `configs/real_multimodal.yaml` with the fixture model, the tiny separator, two committed
/// clips with public-domain lyrics and 100 samples.
fn fixture_config(dir: &Path) -> PathBuf {
    let manifest = dir.join("manifest.csv");
    let lyrics = repo().join("tests/fixtures/transformers/lyrics");
    std::fs::write(
        &manifest,
        format!(
            "id,audio,lyrics\ngrace,{},{}\nbonnie,{},{}\n",
            repo()
                .join("tests/fixtures/frontend/music_16k.flac")
                .display(),
            lyrics.join("amazing_grace.txt").display(),
            repo()
                .join("tests/fixtures/transformers/music_b_16k.flac")
                .display(),
            lyrics.join("my_bonnie.txt").display(),
        ),
    )
    .unwrap();
    let text = std::fs::read_to_string(repo().join("configs/real_multimodal.yaml"))
        .unwrap()
        .replace(
            "../models/real_multimodal/recordings/manifest.csv",
            &manifest.display().to_string(),
        )
        .replace(
            "../models/real_multimodal/",
            &format!("{}/", model_dir().display()),
        )
        .replace(
            "../models/spleeter/separator.yaml",
            &fixture("separator/separator.yaml").display().to_string(),
        )
        .replace("audio_masks: 20", "audio_masks: 10")
        .replace("num_samples: [1000]", "num_samples: [100]")
        .replace(
            "output: reports/real_multimodal",
            &format!("output: {}", dir.join("out").display()),
        );
    assert!(
        !text.contains("../models"),
        "a path was not replaced:\n{text}"
    );
    let config = dir.join("real_multimodal.yaml");
    std::fs::write(&config, text).unwrap();
    config
}

#[test]
fn the_real_multimodal_config_runs_every_explainer_on_the_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let config = fixture_config(dir.path());
    let output = binary().arg("run").arg(&config).output().unwrap();
    assert_success(&output);
    let out = dir.path().join("out");
    let metrics = std::fs::read_to_string(out.join("tables/metrics.csv")).unwrap();
    let value = |explainer: &str, metric: &str| -> Vec<f64> {
        metrics
            .lines()
            .filter(|l| l.contains(&format!(",{explainer},")) && l.contains(&format!(",{metric},")))
            .map(|l| l.rsplit(',').next().unwrap().parse().unwrap_or(f64::NAN))
            .collect()
    };
    for explainer in [
        "musiclime",
        "musiclime_crossed",
        "lime_audio",
        "lime_lyrics",
        "lime_separate",
        "random",
        "lyrics_model",
    ] {
        let auc = value(explainer, "deletion_auc");
        assert_eq!(
            auc.len(),
            2,
            "{explainer}: one deletion_auc per track\n{metrics}"
        );
        assert!(auc.iter().all(|v| v.is_finite()), "{explainer}: {auc:?}");
    }
    // MiniLM's attention over the lyrics is read from the multimodal and the lyrics model.
    for explainer in ["musiclime", "lyrics_model"] {
        let rho = value(explainer, "attention_spearman_lyrics");
        assert!(
            rho.len() == 2 && rho.iter().all(|v| (-1.0..=1.0).contains(v)),
            "{explainer}: {rho:?}\n{metrics}"
        );
    }
    // The separator ran once per track, whatever the seven explainers.
    let stems = std::fs::read_dir(out.join("stems"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert_eq!(std::fs::read_dir(stems).unwrap().count(), 2);
    let paper = std::fs::read_to_string(out.join("tables/paper.md")).unwrap();
    assert!(
        paper.contains("musiclime") && paper.contains("lime_separate"),
        "{paper}"
    );
    // Crossed sampling on the split model: each encoder once per distinct half-mask (10 audio
    // and 10 lyric masks), the metrics' queries aside.
    let unit = read_json(&out.join("store/grace__musiclime_crossed__cell0__r0.json"));
    let runs = unit["model_items"]["encoder_items_run"]
        .as_u64()
        .unwrap_or(0);
    assert!(runs > 0 && runs < 100, "{}", unit["model_items"]);
}
