//! Models exported from PyTorch / transformers (`experiments/export/`): the tiny AST, RoBERTa
//! and late-fusion fixtures of `tests/fixtures/transformers` read the features, give the
//! probabilities and the first-token attention rows PyTorch gave (`expected.json`, written by
//! `experiments/export/make_fixtures.py` with pinned versions), and run end to end: `explain`
//! through the split stages and an experiment with attention-agreement metrics and crossed
//! sampling.
//!
//! ONNX Runtime comes from the project's `.venv` (`just setup`, or `.ci/run`).

use std::path::{Path, PathBuf};

use musiclime::audio::decode::decode_file;
use musiclime::frontend::npy::read_npy;
use musiclime::model::onnx::OnnxModel;
use musiclime::model::{Classifier, ModelInput};
use serde_json::Value;

mod common;
use common::{assert_success, binary, floats, read_json, worst_difference};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/transformers")
}

fn expected() -> Value {
    read_json(&fixtures().join("expected.json"))
}

fn case_input(case: &Value) -> ModelInput {
    let audio = decode_file(&repo().join(case["audio"].as_str().unwrap())).unwrap();
    ModelInput {
        audio: audio.samples,
        sample_rate: audio.sample_rate,
        lyrics: case["lyrics"].as_str().unwrap().to_string(),
    }
}

#[test]
fn the_ast_input_is_what_transformers_feature_extractor_gives() {
    let features = &expected()["features"];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fbank.npy");
    let output = binary()
        .args(["frontend", "--audio"])
        .arg(repo().join(features["audio"].as_str().unwrap()))
        .arg("--model")
        .arg(fixtures().join("ast/model.yaml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&output);
    let (shape, got) = read_npy(&out).unwrap();
    let (want_shape, want) =
        read_npy(&fixtures().join(features["file"].as_str().unwrap())).unwrap();
    // The frontend writes the model's input with its batch axis.
    assert_eq!(shape, [&[1], &want_shape[..]].concat());
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-3,
        "fbank differs from ASTFeatureExtractor by {worst}"
    );
}

#[test]
fn exported_models_give_pytorchs_probabilities_and_attention_rows() {
    let expected = expected();
    let tolerance = 1e-4;
    for (name, model) in expected["models"].as_object().unwrap() {
        let classifier =
            OnnxModel::load(&fixtures().join(model["model"].as_str().unwrap())).unwrap();
        let classes: Vec<String> = model["classes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(classifier.class_names(), classes, "{name}");
        let cases = model["cases"].as_array().unwrap();
        let inputs: Vec<ModelInput> = cases.iter().map(case_input).collect();
        let probabilities = classifier.predict(&inputs).unwrap();
        let attention = classifier.attention(&inputs, false).unwrap();
        for (i, case) in cases.iter().enumerate() {
            let got = probabilities.row(i).to_vec();
            let worst = worst_difference(&got, &floats(&case["probabilities"]));
            assert!(
                worst <= tolerance,
                "{name} case {i}: probabilities off by {worst}"
            );
            let maps = &attention[i];
            let rows = case["attention_first_token"].as_object().unwrap();
            assert_eq!(maps.len(), rows.len(), "{name} case {i}");
            for map in maps {
                let want = floats(&rows[&map.name]);
                let worst = worst_difference(&map.first_token, &want);
                assert!(
                    worst <= tolerance,
                    "{name} case {i}: {} first-token row off by {worst}",
                    map.name
                );
            }
        }
    }
}

fn lyrics_file(dir: &Path) -> PathBuf {
    let path = dir.join("lyrics.txt");
    std::fs::copy(fixtures().join("lyrics/the_star.txt"), &path).unwrap();
    path
}

#[test]
fn explain_runs_the_late_fusion_model_through_its_split_stages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = binary()
        .arg("explain")
        .arg("--audio")
        .arg(fixtures().join("music_b_16k.flac"))
        .arg("--lyrics")
        .arg(lyrics_file(dir.path()))
        .arg("--model")
        .arg(fixtures().join("late_fusion/model.yaml"))
        .args(["--separator", "hpss", "--num-samples", "60", "--seed", "3"])
        .args(["--sampler", "crossed", "--audio-masks", "12"])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&output);
    let explanation: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("explanation.json")).unwrap())
            .unwrap();
    let features = explanation["features"].as_array().unwrap();
    assert!(
        features.iter().any(|f| f["modality"] == "audio"),
        "{explanation}"
    );
    assert!(
        features.iter().any(|f| f["modality"] == "lyrics"),
        "{explanation}"
    );
    // Crossed sampling on a split model runs each encoder once per distinct half-mask.
    let items = &explanation["model_items"];
    let encoder_runs = items["encoder_items_run"].as_u64().unwrap();
    assert!(encoder_runs > 0 && encoder_runs < 2 * 60, "{items}");
}

#[test]
fn an_experiment_on_the_late_fusion_model_scores_attention_agreement_on_both_modalities() {
    let dir = tempfile::tempdir().unwrap();
    let lyrics = lyrics_file(dir.path());
    let manifest = dir.path().join("manifest.csv");
    std::fs::write(
        &manifest,
        format!(
            "id,audio,lyrics,label\nb,{},{},0\n",
            fixtures().join("music_b_16k.flac").display(),
            lyrics.display()
        ),
    )
    .unwrap();
    let config = dir.path().join("experiment.yaml");
    std::fs::write(
        &config,
        format!(
            "dataset:\n  manifest: {}\nmodels:\n  fusion: {}\nexplainers:\n  - {{name: musiclime, method: musiclime, model: fusion, factorization: hpss, num_samples: 60, sampler: crossed, audio_masks: 12}}\nmetrics: [deletion_auc, attention_spearman_audio, attention_spearman_lyrics, rollout_spearman_audio, rollout_spearman_lyrics]\noutput: {}\n",
            manifest.display(),
            fixtures().join("late_fusion/model.yaml").display(),
            dir.path().join("out").display()
        ),
    )
    .unwrap();
    let output = binary().arg("run").arg(&config).output().unwrap();
    assert_success(&output);
    let metrics = std::fs::read_to_string(dir.path().join("out/tables/metrics.csv")).unwrap();
    for metric in [
        "deletion_auc",
        "attention_spearman_audio",
        "attention_spearman_lyrics",
        "rollout_spearman_audio",
        "rollout_spearman_lyrics",
    ] {
        let line = metrics
            .lines()
            .find(|l| l.contains(&format!(",{metric},")))
            .unwrap_or_else(|| panic!("{metric} missing:\n{metrics}"));
        let value: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
        assert!(value.is_finite() && (-1.0..=1.0).contains(&value), "{line}");
    }

    // The unimodal RoBERTa has no audio attention: asking for it stops the run before any
    // model call, naming the metric.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            &fixtures()
                .join("late_fusion/model.yaml")
                .display()
                .to_string(),
            &fixtures().join("roberta/model.yaml").display().to_string(),
        )
        .replace("method: musiclime", "method: lime_lyrics")
        .replace(", sampler: crossed, audio_masks: 12", "")
        .replace("/out\n", "/refused\n");
    std::fs::write(&config, text).unwrap();
    let refused = binary().arg("run").arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("attention_spearman_audio"), "{stderr}");
    assert!(!dir.path().join("refused/store").exists());
}

#[test]
fn a_users_max_batch_bounds_every_model_run() {
    use musiclime::explainer::{explain_instance, ExplainParams};
    use musiclime::factorize::SourceSegments;
    use musiclime::lyrics::{LyricFeatures, LyricsParams};
    use musiclime::model::onnx::LoadOptions;
    let expected = expected();
    for name in ["late_fusion", "ast"] {
        let model = &expected["models"][name];
        let path = fixtures().join(model["model"].as_str().unwrap());
        let cases = model["cases"].as_array().unwrap();
        let inputs: Vec<ModelInput> = cases.iter().chain(cases).map(case_input).collect();
        // Without a cap, one run takes every item (6 clips, more with patches).
        let uncapped = OnnxModel::load(&path).unwrap();
        uncapped.predict(&inputs).unwrap();
        assert!(
            uncapped.largest_run() > 2,
            "{name}: {}",
            uncapped.largest_run()
        );
        let load = |max_batch| {
            let options = LoadOptions {
                max_batch: Some(max_batch),
                ..LoadOptions::default()
            };
            OnnxModel::load_with(&path, &options).unwrap()
        };
        // Scores (what clip scores run), attention maps, and an explanation's model runs.
        let capped = load(2);
        capped.predict(&inputs).unwrap();
        assert!(
            capped.largest_run() <= 2,
            "{name} scores: {}",
            capped.largest_run()
        );
        let capped = load(2);
        capped.attention(&inputs[..3], false).unwrap();
        assert!(
            capped.largest_run() <= 2,
            "{name} attention: {}",
            capped.largest_run()
        );
        let capped = load(2);
        let input = &inputs[0];
        let len = input.audio.len();
        let bounds: Vec<(usize, usize)> =
            (0..4).map(|s| (s * len / 4, (s + 1) * len / 4)).collect();
        let audio = SourceSegments::temporal(input.audio.clone(), bounds, input.sample_rate);
        let lyrics = LyricFeatures::new(&input.lyrics, &LyricsParams::default()).unwrap();
        let mut params = ExplainParams::default();
        params.sampler.num_samples = 20;
        params.batch_size = 8;
        if !capped.reads().1 {
            params.modality = musiclime::neighborhood::sampler::PerturbedModality::Audio;
        }
        let outcome = explain_instance(&audio, &lyrics, &capped, &params, &mut |_| {}).unwrap();
        assert!(
            outcome.counts.largest_run <= 2,
            "{name}: {:?}",
            outcome.counts
        );
        assert!(
            capped.largest_run() <= 2,
            "{name} explanation: {}",
            capped.largest_run()
        );
    }
}

/// The paper user's three steps on a tiny checkpoint in the authors' form (exported with the
/// paper preset by make_fixtures.py: 44.1 kHz features, the authors' cleaning, 256 tokens, the
/// paper's 9 genres): validate, then run MusicLIME and its baselines on a 44.1 kHz clip.
#[test]
fn the_paper_preset_export_validates_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let repo = repo();
    let manifest = dir.path().join("manifest.csv");
    std::fs::write(
        &manifest,
        format!(
            "id,audio,lyrics,label\nclip,{},{},8\n",
            repo.join("tests/fixtures/frontend/music_44k.flac")
                .display(),
            repo.join("tests/fixtures/paper_normaliser/auld_lang_syne.txt")
                .display()
        ),
    )
    .unwrap();
    let yaml = std::fs::read_to_string(fixtures().join("paper/model.yaml")).unwrap();
    assert!(yaml.contains("sample_rate: 44100") && yaml.contains("max_length: 256"));
    assert!(yaml.contains("classes: [alternative rock,") && yaml.contains("rhythm music, rock]"));
    let config = dir.path().join("paper.yaml");
    std::fs::write(
        &config,
        format!(
            "dataset:\n  manifest: {}\nmodels:\n  multimodal: {}\nexplainers:\n  - {{name: musiclime, method: musiclime, model: multimodal, factorization: hpss, num_samples: 60}}\n  - {{name: lime_audio, method: lime_audio, model: multimodal, factorization: hpss, num_samples: 60}}\n  - {{name: lime_lyrics, method: lime_lyrics, model: multimodal, factorization: hpss, num_samples: 60}}\nmetrics: [deletion_auc]\noutput: {}\n",
            manifest.display(),
            fixtures().join("paper/model.yaml").display(),
            dir.path().join("out").display()
        ),
    )
    .unwrap();
    assert_success(&binary().arg("validate").arg(&config).output().unwrap());
    assert_success(&binary().arg("run").arg(&config).output().unwrap());
    let metrics = std::fs::read_to_string(dir.path().join("out/tables/metrics.csv")).unwrap();
    for explainer in ["musiclime", "lime_audio", "lime_lyrics"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.contains(explainer) && l.contains(",deletion_auc,")),
            "{explainer}: {metrics}"
        );
    }
}
