//! The model's window: a 30 s clip through a model that reads 10.255 s (the tiny exported AST
//! of `tests/fixtures/transformers`, 1024 Kaldi frames). Declared in model.yaml
//! (`window_seconds`, written by the export), the window is what is explained by default, with a warning; `all`
//! explains the whole clip and warns that the segments after the window are noise; an
//! undeclared fixed-length input still gets a note; a window outside the clip is refused
//! before anything is written.
//!
//! ONNX Runtime comes from the project's `.venv` (`just setup`, or `.ci/run`).

use std::path::{Path, PathBuf};

use musiclime::audio::decode::decode_file;
use musiclime::audio::wav::{write_wav, WavEncoding};
use musiclime::audio::Audio;
use serde_json::Value;

mod common;
use common::{assert_success, binary, read_json};

/// Seconds of audio the tiny AST reads: 1023 frame shifts of 10 ms plus one 25 ms frame.
const AST_WINDOW: f64 = 10.255;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transformers")
}

/// A 30 s clip: the 6 s fixture recording five times over.
fn long_clip(dir: &Path) -> PathBuf {
    let clip = decode_file(&fixtures().join("music_b_16k.flac")).unwrap();
    let samples: Vec<f32> = (0..5).flat_map(|_| clip.samples.clone()).collect();
    let path = dir.join("long.wav");
    write_wav(
        &path,
        &Audio::new(samples, clip.sample_rate),
        WavEncoding::Float32,
    )
    .unwrap();
    path
}

/// The tiny AST's model.yaml, its graphs by absolute path, declaring its window or not.
fn ast_yaml(dir: &Path, declared: bool) -> PathBuf {
    let ast = fixtures().join("ast");
    let text = std::fs::read_to_string(ast.join("model.yaml"))
        .unwrap()
        .replace("{onnx: ", &format!("{{onnx: {}/", ast.display()));
    let declaration = format!("window_seconds: {AST_WINDOW}\n");
    assert!(
        text.contains(&declaration),
        "the export declares the window"
    );
    let text = match declared {
        true => text,
        false => text.replace(&declaration, ""),
    };
    let path = dir.join("ast.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn explain(model: &Path, audio: &Path, window: &str, out: &Path) -> std::process::Output {
    let lyrics = out.with_extension("txt");
    std::fs::write(&lyrics, "unused by an audio model").unwrap();
    binary()
        .arg("explain")
        .arg("--audio")
        .arg(audio)
        .arg("--lyrics")
        .arg(&lyrics)
        .arg("--model")
        .arg(model)
        .args([
            "--method",
            "lime_audio",
            "--temporal-only",
            "--segments",
            "6",
        ])
        .args(["--num-samples", "40", "--audio-window", window])
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn span_of(out: &Path) -> (f64, f64) {
    let explanation = read_json(&out.join("explanation.json"));
    let span = &explanation["instance"]["audio_window"];
    (
        span["start_s"].as_f64().unwrap(),
        span["end_s"].as_f64().unwrap(),
    )
}

#[test]
fn a_model_that_declares_its_window_is_explained_on_it_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let audio = long_clip(dir.path());
    let model = ast_yaml(dir.path(), true);

    // Default: the first 10.255 s, divided into the 6 segments; a warning says so.
    let out = dir.path().join("model");
    let output = explain(&model, &audio, "model", &out);
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("explaining the first 10.26 s of the 30.00 s clip"),
        "{stderr}"
    );
    let (start, end) = span_of(&out);
    assert_eq!(start, 0.0);
    assert!((end - AST_WINDOW).abs() < 1e-9, "{end}");

    // `all`: the whole clip, and a warning that what lies past the window is noise.
    let out = dir.path().join("all");
    let output = explain(&model, &audio, "all", &out);
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("segments after 10.26 s cannot change its output"),
        "{stderr}"
    );
    assert_eq!(span_of(&out), (0.0, 30.0));

    // A span inside the clip: explained from its start, no warning (it fits the window).
    let out = dir.path().join("span");
    let output = explain(&model, &audio, "12..22", &out);
    assert_success(&output);
    assert!(!String::from_utf8_lossy(&output.stderr).contains("warning"));
    assert_eq!(span_of(&out), (12.0, 22.0));

    // Outside the clip: exit 2 naming the file and the clip's length, nothing written.
    let out = dir.path().join("outside");
    let output = explain(&model, &audio, "25..31", &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("long.wav") && stderr.contains("30.000 s long"),
        "{stderr}"
    );
    assert!(!out.exists());
    // Not a window at all: refused by the flag parser.
    let output = explain(&model, &audio, "first", &dir.path().join("bad"));
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_fixed_length_input_without_a_declared_window_gets_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let audio = long_clip(dir.path());
    let model = ast_yaml(dir.path(), false);
    let out = dir.path().join("out");
    let output = explain(&model, &audio, "model", &out);
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("holds the first 10.26 s of audio, the clip is 30.00 s")
            && stderr.contains("window_seconds: 10.255"),
        "{stderr}"
    );
    assert_eq!(span_of(&out), (0.0, 30.0));
}

#[test]
fn a_run_records_the_window_and_refuses_one_outside_a_clip_before_any_model_call() {
    let dir = tempfile::tempdir().unwrap();
    let audio = long_clip(dir.path());
    let model = ast_yaml(dir.path(), true);
    std::fs::write(dir.path().join("lyrics.txt"), "unused").unwrap();
    let manifest = dir.path().join("manifest.csv");
    std::fs::write(
        &manifest,
        format!("id,audio,lyrics\nlong,{},lyrics.txt\n", audio.display()),
    )
    .unwrap();
    let config = |window: &str, out: &str| {
        let path = dir.path().join(format!("{out}.yaml"));
        std::fs::write(
            &path,
            format!(
                "dataset:\n  manifest: {}\nmodels:\n  ast: {}\nexplainers:\n  - {{name: lime, method: lime_audio, model: ast, factorization: temporal, segments: 6, num_samples: 40{window}}}\nmetrics: [deletion_auc]\noutput: {}\n",
                manifest.display(),
                model.display(),
                dir.path().join(out).display()
            ),
        )
        .unwrap();
        path
    };
    let output = binary().arg("run").arg(config("", "run")).output().unwrap();
    assert_success(&output);
    let run: Value = read_json(&dir.path().join("run/run.json"));
    assert_eq!(run["model_windows"]["ast"].as_f64(), Some(AST_WINDOW));
    for entry in std::fs::read_dir(dir.path().join("run/store")).unwrap() {
        let record = read_json(&entry.unwrap().path());
        assert_eq!(
            record["audio_window"],
            serde_json::json!([0.0, AST_WINDOW]),
            "{record}"
        );
    }

    let refused = binary()
        .arg("run")
        .arg(config(", audio_window: '20..40'", "refused"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("explainer `lime`") && stderr.contains("ends after the clip"),
        "{stderr}"
    );
    assert!(!dir.path().join("refused/store").exists());
}

#[test]
fn a_window_in_a_grid_cell_and_ground_truth_on_part_of_a_clip_are_refused_before_any_model_call() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, extra: &str, metrics: &str| {
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!(
                "dataset:\n  synthetic: {{tracks: 1, seed: 3, seconds: 4.0}}\nmodels:\n  planted: builtin:planted\nexplainers:\n  - {{name: lime, method: lime_audio, model: planted, num_samples: 40}}\n{extra}metrics: [{metrics}]\noutput: {}\n",
                dir.path().join(name).display()
            ),
        )
        .unwrap();
        path
    };
    // A grid cell's window ends after the 4 s clip.
    let config = write(
        "grid",
        "grid:\n  audio_window: ['0..2', '2..6']\n",
        "deletion_auc",
    );
    let refused = binary().arg("run").arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("audio_window 2..6 ends after the clip"),
        "{stderr}"
    );
    assert!(!dir.path().join("grid/store").exists());

    // Planted features name segments of the whole clip: not comparable with a window's.
    let config = write(
        "truth",
        "grid:\n  audio_window: ['0..2']\n",
        "precision_at_k_audio",
    );
    let refused = binary().arg("run").arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("precision_at_k_audio") && stderr.contains("audio_window: all"),
        "{stderr}"
    );
}

#[test]
fn a_model_whose_window_changed_since_the_stored_results_needs_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let audio = long_clip(dir.path());
    std::fs::write(dir.path().join("lyrics.txt"), "unused").unwrap();
    std::fs::write(
        dir.path().join("manifest.csv"),
        format!("id,audio,lyrics\nlong,{},lyrics.txt\n", audio.display()),
    )
    .unwrap();
    let model = ast_yaml(dir.path(), false);
    let config = dir.path().join("run.yaml");
    std::fs::write(
        &config,
        format!(
            "dataset:\n  manifest: manifest.csv\nmodels:\n  ast: {}\nexplainers:\n  - {{name: lime, method: lime_audio, model: ast, factorization: temporal, segments: 3, num_samples: 20}}\nmetrics: [deletion_auc]\noutput: {}\n",
            model.display(),
            dir.path().join("out").display()
        ),
    )
    .unwrap();
    assert_success(&binary().arg("run").arg(&config).output().unwrap());
    // The model.yaml now declares its window: the stored whole-clip units do not fit.
    ast_yaml(dir.path(), true);
    let refused = binary().arg("run").arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("window_seconds") && stderr.contains("--fresh"),
        "{stderr}"
    );
    let fresh = binary()
        .arg("run")
        .arg(&config)
        .arg("--fresh")
        .output()
        .unwrap();
    assert_success(&fresh);
}
