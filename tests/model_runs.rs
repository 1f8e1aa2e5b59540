//! How musiclime runs real models: exact memoisation of model items (patches, clips, encoder
//! inputs) leaves every explanation unchanged; one ONNX Runtime run never holds more than
//! `max_batch` items, so memory stays bounded for a model with large activations; the crossed
//! sampler encodes each audio and lyric mask once on a split model; execution providers fall
//! back or fail as asked; bad input exits 2 with nothing written.
//!
//! The musicnn-shaped fixture tagger (`tests/fixtures/musicnn_shaped`, random weights, the real
//! MTT musicnn's shapes and about 50 MB of ONNX Runtime memory per 3 s patch) stands in for a
//! real CNN tagger. ONNX Runtime comes from the project's `.venv` (`just setup`, or `.ci/run`).

use std::path::Path;
use std::process::Output;

use serde_json::Value;

mod common;
use common::{assert_success, binary, fixture, read_json};

/// Synthetic tracks (the planted benchmark) in `dir`.
fn synth(dir: &Path, tracks: usize, seconds: f64, classes: usize) {
    let status = binary()
        .arg("synth")
        .arg("--out")
        .arg(dir)
        .args(["--tracks", &tracks.to_string()])
        .args(["--seed", "5"])
        .args(["--seconds", &seconds.to_string()])
        .args(["--classes", &classes.to_string()])
        .args(["--sample-rate", "16000"])
        .status()
        .unwrap();
    assert!(status.success());
}

/// `musiclime explain` of track 0 of `data` with `model`, writing into `out`.
fn explain(data: &Path, model: &Path, out: &Path, extra: &[&str]) -> Output {
    let track = data.join("track000");
    binary()
        .arg("explain")
        .arg("--audio")
        .arg(track.join("mixture.wav"))
        .arg("--lyrics")
        .arg(track.join("lyrics.txt"))
        .arg("--stems")
        .arg(track.join("stems"))
        .arg("--model")
        .arg(model)
        .arg("--out")
        .arg(out)
        .arg("--profile")
        .arg(out.with_extension("profile.json"))
        .args(extra)
        .output()
        .unwrap()
}

/// The model items a finished explanation reports.
fn items(out: &Path) -> Value {
    let profile = read_json(&out.with_extension("profile.json"));
    assert_eq!(
        profile["model_items"],
        read_json(&out.join("explanation.json"))["model_items"]
    );
    profile["model_items"].clone()
}

/// Two explanations agree: every label's score within 1e-6 and the same features in the same
/// order with weights within 1e-6.
fn assert_same_explanation(a: &Path, b: &Path) {
    let (a, b) = (
        read_json(&a.join("explanation.json")),
        read_json(&b.join("explanation.json")),
    );
    let labels = a["labels"].as_object().unwrap();
    assert_eq!(labels.len(), b["labels"].as_object().unwrap().len());
    for (label, la) in labels {
        let lb = &b["labels"][label];
        let score = (la["score"].as_f64().unwrap() - lb["score"].as_f64().unwrap()).abs();
        assert!(score <= 1e-6, "label {label}: scores differ by {score}");
        let (wa, wb) = (
            la["weights"].as_array().unwrap(),
            lb["weights"].as_array().unwrap(),
        );
        let names =
            |w: &[Value]| -> Vec<String> { w.iter().map(|x| x["feature"].to_string()).collect() };
        assert_eq!(
            names(wa),
            names(wb),
            "label {label}: features or order differ"
        );
        for (x, y) in wa.iter().zip(wb) {
            let d = (x["weight"].as_f64().unwrap() - y["weight"].as_f64().unwrap()).abs();
            assert!(
                d <= 1e-6,
                "label {label} {}: weights differ by {d}",
                x["feature"]
            );
        }
    }
}

#[test]
fn memoised_patches_give_the_unmemoised_explanation_with_fewer_model_items() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 1, 12.0, 3);
    let model = fixture("musicnn_shaped/musicnn_shaped.yaml");
    let memo = dir.path().join("memo");
    let plain = dir.path().join("plain");
    // Four segments of 3 s, about one patch each: a patch depends on the 4 to 8 components
    // of the one or two segments it overlaps, so at most 2^8 distinct inputs per patch.
    let common = [
        "--modality",
        "audio",
        "--segments",
        "4",
        "--num-samples",
        "300",
        "--top-labels",
        "3",
    ];
    let out = explain(dir.path(), &model, &memo, &common);
    assert_success(&out);
    let out = explain(
        dir.path(),
        &model,
        &plain,
        &[&common[..], &["--no-memoise"]].concat(),
    );
    assert_success(&out);
    assert_same_explanation(&memo, &plain);
    // 12 s at 16 kHz, hop 256: 751 frames, patches of 187 at 0, 187, 374, 561 and 564.
    let (memo_items, plain_items) = (items(&memo), items(&plain));
    assert_eq!(plain_items["items_run"], 300 * 5);
    assert_eq!(plain_items["items_saved"], 0);
    let run = memo_items["items_run"].as_u64().unwrap();
    assert_eq!(run + memo_items["items_saved"].as_u64().unwrap(), 300 * 5);
    assert!(run < 300 * 5 / 2, "{run} of 1500 items were run");
}

#[test]
fn a_split_models_patched_audio_encoder_is_memoised_per_patch_with_the_same_explanation() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 1, 12.0, 3);
    // The real multimodal model's shape: its audio encoder reads 3 s patches, whose outputs are
    // averaged per clip before the fusion; the text encoder and the fusion run per clip.
    let model = fixture("real_multimodal/model.yaml");
    let memo = dir.path().join("memo");
    let plain = dir.path().join("plain");
    let common = [
        "--segments",
        "4",
        "--num-samples",
        "200",
        "--top-labels",
        "2",
    ];
    assert_success(&explain(dir.path(), &model, &memo, &common));
    let no_memo = [&common[..], &["--no-memoise"]].concat();
    assert_success(&explain(dir.path(), &model, &plain, &no_memo));
    assert_same_explanation(&memo, &plain);
    // 12 s: patches at 0, 187, 374, 561 and 564; one fusion item per sample.
    let (memo_items, plain_items) = (items(&memo), items(&plain));
    assert_eq!(plain_items["items_run"], 200);
    assert_eq!(plain_items["encoder_items_run"], 200 * (5 + 1));
    let run = memo_items["encoder_items_run"].as_u64().unwrap();
    assert_eq!(
        run + memo_items["encoder_items_saved"].as_u64().unwrap(),
        200 * 6
    );
    // Every sample has its own lyrics mask (200 text items); a patch depends only on the
    // components of the one or two segments it overlaps, so most patches repeat.
    assert!(run < 200 + 1000 / 2, "{run} of 1200 encoder items were run");
}

#[test]
fn one_model_run_never_holds_more_than_max_batch_items() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 1, 12.0, 3);
    let model = fixture("musicnn_shaped/musicnn_shaped.yaml");
    // 16 samples × 5 patches = 80 items composed together: about 4 GB of activations in one
    // run; capped at 4 items per run, a few hundred MB.
    let capped = dir.path().join("capped");
    let args = [
        "--modality",
        "audio",
        "--num-samples",
        "40",
        "--batch-size",
        "16",
        "--max-batch",
        "4",
        "--no-memoise",
    ];
    let out = explain(dir.path(), &model, &capped, &args);
    assert_success(&out);
    let profile = read_json(&capped.with_extension("profile.json"));
    assert_eq!(profile["model_items"]["largest_run"], 4);
    let peak = profile["peak_mb"].as_f64().unwrap();
    assert!(
        peak < 1000.0,
        "peak resident memory {peak} MB with max_batch 4"
    );
    // The default cap (8) applies whatever the batch size.
    let default = dir.path().join("default");
    let out = explain(
        dir.path(),
        &model,
        &default,
        &[
            "--modality",
            "audio",
            "--num-samples",
            "20",
            "--batch-size",
            "64",
        ],
    );
    assert_success(&out);
    assert_eq!(items(&default)["largest_run"], 8);
}

#[test]
fn identical_inputs_of_an_unpatched_model_run_once() {
    // Three time segments and no words to perturb: at most 2^3 distinct inputs, however many
    // samples.
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 1, 10.0, 4);
    let model = fixture("onnx/audio.yaml");
    let out_dir = dir.path().join("few");
    let track = dir.path().join("track000");
    let out = binary()
        .arg("explain")
        .arg("--audio")
        .arg(track.join("mixture.wav"))
        .arg("--lyrics")
        .arg(track.join("lyrics.txt"))
        .arg("--temporal-only")
        .args(["--segments", "3", "--num-samples", "200"])
        .arg("--model")
        .arg(&model)
        .arg("--out")
        .arg(&out_dir)
        .arg("--profile")
        .arg(out_dir.with_extension("profile.json"))
        .output()
        .unwrap();
    assert_success(&out);
    let counts = items(&out_dir);
    assert!(counts["items_run"].as_u64().unwrap() <= 8, "{counts}");
    assert_eq!(
        counts["items_run"].as_u64().unwrap() + counts["items_saved"].as_u64().unwrap(),
        200
    );
}

#[test]
fn crossed_sampling_encodes_each_mask_once_and_equals_the_uncached_run() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 1, 10.0, 4);
    let model = fixture("onnx/split.yaml");
    let cached = dir.path().join("cached");
    let uncached = dir.path().join("uncached");
    let args = [
        "--sampler",
        "crossed",
        "--num-samples",
        "400",
        "--audio-masks",
        "20",
    ];
    assert_success(&explain(dir.path(), &model, &cached, &args));
    assert_success(&explain(
        dir.path(),
        &model,
        &uncached,
        &[&args[..], &["--no-memoise"]].concat(),
    ));
    assert_same_explanation(&cached, &uncached);
    let counts = items(&cached);
    // 20 audio masks and 20 lyric masks, each encoded once; the fusion runs on every row.
    assert_eq!(counts["encoder_items_run"], 40);
    assert_eq!(counts["items_run"], 400);
    assert_eq!(items(&uncached)["encoder_items_run"], 800);
    // A unimodal explainer on a split model encodes the lyrics it holds whole once.
    let audio_only = dir.path().join("audio_only");
    assert_success(&explain(
        dir.path(),
        &model,
        &audio_only,
        &["--modality", "audio", "--num-samples", "100"],
    ));
    let counts = items(&audio_only);
    let run = counts["encoder_items_run"].as_u64().unwrap();
    assert!(run <= 101, "{counts}");
}

#[test]
fn execution_providers_fall_back_to_the_cpu_or_fail_when_strict() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 1, 10.0, 4);
    let model = fixture("onnx/audio.yaml");
    // The CPU-only onnxruntime wheel has no CUDA: [cuda, cpu] warns once and runs on the CPU.
    let out_dir = dir.path().join("fallback");
    let out = explain(
        dir.path(),
        &model,
        &out_dir,
        &["--num-samples", "20", "--execution-providers", "cuda,cpu"],
    );
    assert_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert!(
        stderr.contains("cuda") && stderr.contains("running on cpu"),
        "{stderr}"
    );
    // [cuda] alone is strict.
    let strict = dir.path().join("strict");
    let out = explain(
        dir.path(),
        &model,
        &strict,
        &["--num-samples", "20", "--execution-providers", "cuda"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("execution_providers") && stderr.contains("onnxruntime-gpu"),
        "{stderr}"
    );
    assert!(!strict.exists());
    // The same in a model.yaml.
    let yaml = std::fs::read_to_string(&model).unwrap().replace(
        "onnx: audio_fbank.onnx",
        "onnx: audio_fbank.onnx\nexecution_providers: [cuda]",
    );
    let written = dir.path().join("strict_cuda.yaml");
    std::fs::write(&written, &yaml).unwrap();
    // paths in a model.yaml are relative to it: copy the graph beside the copy
    std::fs::copy(
        fixture("onnx/audio_fbank.onnx"),
        dir.path().join("audio_fbank.onnx"),
    )
    .unwrap();
    let out = explain(
        dir.path(),
        &written,
        &dir.path().join("strict2"),
        &["--num-samples", "20"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_model_run_settings_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 1, 10.0, 4);
    let split = fixture("onnx/split.yaml");
    let single = fixture("onnx/multimodal.yaml");
    let cases: Vec<(&Path, Vec<&str>, &str)> = vec![
        (&single, vec!["--max-batch", "0"], "max_batch"),
        (
            &single,
            vec!["--sampler", "crossed", "--num-samples", "100"],
            "split it into",
        ),
        (
            &split,
            vec![
                "--sampler",
                "crossed",
                "--modality",
                "audio",
                "--num-samples",
                "100",
            ],
            "one modality",
        ),
        (
            &split,
            vec!["--sampler", "crossed", "--num-samples", "1000"],
            "audio_masks",
        ),
        (
            &split,
            vec![
                "--sampler",
                "crossed",
                "--num-samples",
                "100",
                "--audio-masks",
                "7",
            ],
            "audio_masks",
        ),
        (&single, vec!["--audio-masks", "10"], "audio_masks"),
        (&single, vec!["--sampler", "lime"], "--sampler"),
        (&single, vec!["--execution-providers", "tpu"], "tpu"),
    ];
    for (i, (model, args, expected)) in cases.into_iter().enumerate() {
        let out_dir = dir.path().join(format!("bad{i}"));
        let out = explain(dir.path(), model, &out_dir, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!out_dir.exists(), "{args:?} wrote {}", out_dir.display());
    }
    // max_batch: 0 in a model.yaml names the file and the key.
    let yaml = std::fs::read_to_string(&single)
        .unwrap()
        .replace("classes:", "max_batch: 0\nclasses:");
    let bad = fixture("onnx").join("planted_multimodal.onnx");
    std::fs::copy(&bad, dir.path().join("planted_multimodal.onnx")).unwrap();
    std::fs::copy(
        fixture("onnx/tokenizer.json"),
        dir.path().join("tokenizer.json"),
    )
    .unwrap();
    let written = dir.path().join("zero.yaml");
    std::fs::write(&written, yaml).unwrap();
    let out = explain(dir.path(), &written, &dir.path().join("zero_out"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("zero.yaml") && stderr.contains("max_batch"),
        "{stderr}"
    );
}

#[test]
fn a_config_reports_model_items_in_its_timings_and_rejects_crossed_on_a_single_graph() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("crossed.yaml");
    let write = |sampler_model: &str| {
        std::fs::write(
            &config,
            format!(
                "name: crossed
dataset:
  synthetic: {{tracks: 2, seed: 5, seconds: 10.0, classes: 4}}
models:
  split: {split}
  single: {single}
explainers:
  - {{name: crossed, method: musiclime, model: {sampler_model}, sampler: crossed, num_samples: 100, max_batch: 8}}
  - {{name: paper, method: musiclime, model: split, num_samples: 100}}
metrics: [score, precision_at_k_audio, precision_at_k_lyrics]
output: {out}
",
                split = fixture("onnx/split.yaml").display(),
                single = fixture("onnx/multimodal.yaml").display(),
                out = dir.path().join("out").display(),
            ),
        )
        .unwrap();
    };
    write("single");
    for verb in ["validate", "run"] {
        let out = binary().arg(verb).arg(&config).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{verb}: {stderr}");
        assert!(
            stderr.contains("explainers[0].sampler") && stderr.contains("split"),
            "{verb}: {stderr}"
        );
    }
    assert!(!dir.path().join("out").join("store").exists());
    write("split");
    let out = binary().arg("run").arg(&config).output().unwrap();
    assert_success(&out);
    let timings = std::fs::read_to_string(dir.path().join("out/tables/timings.csv")).unwrap();
    let header: Vec<&str> = timings.lines().next().unwrap().split(',').collect();
    for column in [
        "model_seconds",
        "model_items_run",
        "model_items_saved",
        "encoder_items_run",
        "encoder_items_saved",
    ] {
        assert!(header.contains(&column), "{header:?}");
    }
    let encoder = header
        .iter()
        .position(|c| *c == "encoder_items_run")
        .unwrap();
    let explainer = header.iter().position(|c| *c == "explainer").unwrap();
    for line in timings.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let runs: u64 = cells[encoder].parse().unwrap();
        match cells[explainer] {
            "crossed" => assert_eq!(runs, 20, "{line}"),
            _ => assert!(runs > 100, "{line}"),
        }
    }
}
