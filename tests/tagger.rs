//! Multi-label taggers end to end, on the fixture tagger of `tests/fixtures/tagger` (made by
//! its `generate.py` with the `onnx` package): patched, sigmoid-scored clip scores equal what
//! librosa + onnxruntime + NumPy computed by the same patch policy; per-tag ROC-AUC and PR-AUC
//! equal scikit-learn's; `explain` takes tag names and thresholds; `run` reports per-tag
//! accuracy and per-tag global importances, and `aggregate` carries the tag names; bad input
//! exits with status 2.
//!
//! ONNX Runtime comes from the project's `.venv` (`just setup`, or `.ci/run`).

use std::path::{Path, PathBuf};

use musiclime::audio::decode::decode_file;
use musiclime::factorize::{factorize, ExplainedSpan, Factorization, FactorizationKind};
use musiclime::lyrics::{LyricFeatures, LyricsParams};
use musiclime::metrics::ranking::{average_precision, macro_mean, roc_auc};
use musiclime::model::onnx::OnnxModel;
use musiclime::model::{instance_predictor, Classifier, ModelInput};

mod common;
use common::{assert_success, binary, floats, read_json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/tagger").join(name)
}

/// Writes synthetic tracks (16 kHz, 10 s, 4 classes) into `dir`.
fn synth(dir: &Path, tracks: usize, seed: u64) {
    let status = binary()
        .args(["synth", "--out"])
        .arg(dir)
        .args(["--tracks", &tracks.to_string(), "--seed", &seed.to_string()])
        .args([
            "--classes",
            "4",
            "--seconds",
            "10",
            "--sample-rate",
            "16000",
        ])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn patched_clip_scores_match_onnxruntime_on_the_naive_and_fast_paths() {
    let expected = read_json(&fixture("expected.json"));
    let tolerance = expected["tolerance"].as_f64().unwrap();
    let synth_dir = tempfile::tempdir().unwrap();
    for case in expected["cases"].as_array().unwrap() {
        let audio_path = match case["audio"].as_str() {
            Some(p) => root().join(p),
            None => {
                let s = &case["synth"];
                synth(synth_dir.path(), 1, s["seed"].as_u64().unwrap());
                synth_dir.path().join("track000/mixture.wav")
            }
        };
        let model_path = root().join(case["model"].as_str().unwrap());
        let model = OnnxModel::load(&model_path).unwrap();
        assert!(model.multilabel());
        let audio = decode_file(&audio_path).unwrap();
        let want = floats(&case["scores"]);
        let naive = model
            .predict(&[ModelInput {
                audio: audio.samples.clone(),
                sample_rate: audio.sample_rate,
                lyrics: String::new(),
            }])
            .unwrap();
        // the fast path, with every component kept, reads the same features
        let factorization = factorize(
            &audio,
            FactorizationKind::Temporal,
            None,
            4,
            &ExplainedSpan::whole_clip(&audio),
            &audio_path.display().to_string(),
        )
        .unwrap();
        let lyrics = LyricFeatures::new("", &LyricsParams::default()).unwrap();
        let fast = instance_predictor(&model, &factorization, &lyrics, Default::default()).unwrap();
        let keep = vec![vec![true; factorization.len()]];
        let fast = fast.run(fast.prepare(&keep, 0).unwrap()).unwrap();
        for (path, got) in [("naive", naive.row(0)), ("fast", fast.row(0))] {
            let worst = got
                .iter()
                .zip(&want)
                .fold(0.0f64, |m, (g, w)| m.max((g - w).abs()));
            println!(
                "{} with {}: {path} path, largest difference {worst:.2e}",
                audio_path.file_name().unwrap().to_string_lossy(),
                model_path.file_name().unwrap().to_string_lossy()
            );
            assert!(
                worst < tolerance,
                "{path}: {got:?} against onnxruntime's {want:?}"
            );
        }
        let padded = case["frames"] != case["unpadded_frames"];
        assert_eq!(
            model
                .input_note(audio.samples.len(), audio.sample_rate)
                .is_some(),
            padded,
            "a note is given exactly when the clip is padded"
        );
    }
}

#[test]
fn per_tag_roc_auc_and_average_precision_match_scikit_learn() {
    let reference = read_json(&fixture("ranking.json"));
    for case in reference["cases"].as_array().unwrap() {
        let truth: Vec<Vec<bool>> = case["truth"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64() == Some(1))
                    .collect()
            })
            .collect();
        let scores: Vec<Vec<f64>> = case["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect();
        let tags = truth[0].len();
        let (mut rocs, mut prs) = (Vec::new(), Vec::new());
        for k in 0..tags {
            let t: Vec<bool> = truth.iter().map(|r| r[k]).collect();
            let s: Vec<f64> = scores.iter().map(|r| r[k]).collect();
            let roc = roc_auc(&t, &s);
            let pr = average_precision(&t, &s);
            for (got, want) in [(roc, &case["roc_auc"][k]), (pr, &case["pr_auc"][k])] {
                match (got, want.as_f64()) {
                    (Some(g), Some(w)) => assert!((g - w).abs() < 1e-12, "{g} vs {w}"),
                    (None, None) => {}
                    other => panic!("{}: tag {k}: {other:?}", case["name"]),
                }
            }
            rocs.push(roc);
            prs.push(pr);
        }
        for (got, key) in [
            (macro_mean(&rocs), "macro_roc_auc"),
            (macro_mean(&prs), "macro_pr_auc"),
        ] {
            assert!((got.unwrap() - case[key].as_f64().unwrap()).abs() < 1e-12);
        }
    }
}

#[test]
fn explain_takes_tag_names_and_thresholds_and_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path(), 1, 23);
    let track = dir.path().join("track000");
    let mixture = track.join("mixture.wav");
    // The track's stems go with its mixture only: another clip is split by HPSS (the model
    // reads what the stems compose, so stems of another length would change what it reads).
    let explain = |model: &str, audio: &Path, extra: &[&str], out: &str| {
        let stems = track.join("stems");
        let stems: &[&std::ffi::OsStr] = if audio == mixture {
            &["--stems".as_ref(), stems.as_os_str()]
        } else {
            &[]
        };
        binary()
            .arg("explain")
            .arg("--model")
            .arg(fixture(model))
            .arg("--audio")
            .arg(audio)
            .arg("--lyrics")
            .arg(track.join("lyrics.txt"))
            .args(stems)
            .args(["--num-samples", "300"])
            .args(extra)
            .arg("--out")
            .arg(dir.path().join(out))
            .output()
            .unwrap()
    };
    // by name: the named tags, plus the predicted (highest-scoring) one
    let output = explain(
        "tagger.yaml",
        &mixture,
        &["--labels", "bass,other"],
        "named",
    );
    assert_success(&output);
    let e = read_json(&dir.path().join("named/explanation.json"));
    let names: Vec<&str> = e["labels"]
        .as_object()
        .unwrap()
        .values()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bass", "other", "drums"]);
    assert_eq!(e["instance"]["multilabel"], true);
    // the drums tag is explained by the planted loud drum segments
    let drums = &e["labels"]["0"]["weights"];
    let top: Vec<&str> = drums.as_array().unwrap()[..2]
        .iter()
        .map(|w| w["feature"].as_str().unwrap())
        .collect();
    let truth = read_json(&dir.path().join("ground_truth.json"));
    for feature in &top {
        assert!(
            truth["track000"]["audio"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t == feature),
            "{top:?} are not the planted {}",
            truth["track000"]["audio"]
        );
    }
    // by threshold: every tag scoring at least 0.5 (on this drums track: drums only)
    let output = explain(
        "tagger.yaml",
        &mixture,
        &["--threshold", "0.5"],
        "threshold",
    );
    assert!(output.status.success());
    let e = read_json(&dir.path().join("threshold/explanation.json"));
    let explained: Vec<&String> = e["labels"].as_object().unwrap().keys().collect();
    assert_eq!(explained, ["0"]);
    // a clip shorter than one patch is padded, and the user is told
    let output = explain(
        "tagger.yaml",
        &fixture("short_16k.wav"),
        &["--top-labels", "2"],
        "short",
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("padded with silence"), "{stderr}");
    let e = read_json(&dir.path().join("short/explanation.json"));
    assert!(e["instance"]["notes"][0]
        .as_str()
        .unwrap()
        .contains("shorter than one patch"));
    // bad input: exit 2, a message naming the problem, nothing written
    for (model, extra, mentions, out) in [
        (
            "tagger.yaml",
            &["--labels", "drums,guitar"][..],
            "`guitar` is not a class",
            "bad1",
        ),
        (
            "tagger.yaml",
            &["--threshold", "1.5"][..],
            "outside [0, 1]",
            "bad2",
        ),
        (
            "tagger.yaml",
            &["--threshold", "-0.2"][..],
            "outside [0, 1]",
            "bad3",
        ),
        ("nan_tagger.yaml", &[][..], "is NaN", "bad4"),
    ] {
        let output = explain(model, &mixture, extra, out);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(mentions), "{extra:?}: {stderr}");
        assert!(!dir.path().join(out).join("explanation.json").exists());
    }
}

#[test]
fn a_tagger_config_reports_per_tag_accuracy_and_global_importance() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let config = dir.path().join("tagger.yaml");
    let write_config = |explainer: &str| {
        std::fs::write(
            &config,
            format!(
                "dataset:\n  synthetic: {{tracks: 8, seed: 23, seconds: 10.0, sample_rate: 16000, classes: 4}}\nmodels:\n  tagger: {}\nexplainers:\n  - {explainer}\nmetrics: [deletion_auc, recall_at_2_audio]\noutput: {}\n",
                fixture("tagger.yaml").display(),
                out.display()
            ),
        )
        .unwrap();
    };
    // an unknown tag name is caught before any work
    write_config("{name: tags, method: lime_audio, model: tagger, factorization: stems, labels: [drums, guitar]}");
    let output = binary().arg("validate").arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`guitar` is not a class"), "{stderr}");
    write_config(
        "{name: tags, method: lime_audio, model: tagger, factorization: stems, threshold: 1.2}",
    );
    let output = binary().arg("validate").arg(&config).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("outside [0, 1]"));

    write_config("{name: tags, method: lime_audio, model: tagger, factorization: stems, num_samples: 200, labels: [vocals]}");
    let output = binary().arg("run").arg(&config).output().unwrap();
    assert_success(&output);
    let tables = out.join("tables");
    // the fixture tagger ranks every track's loud source first: ROC-AUC 1 for every tag
    let accuracy = std::fs::read_to_string(tables.join("tag_accuracy.csv")).unwrap();
    let lines: Vec<&str> = accuracy.lines().collect();
    assert_eq!(lines[0], "model,tag,n,positives,roc_auc,pr_auc");
    for tag in ["drums", "vocals", "bass", "other"] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("tagger,{tag},8,2,1.0,1.0"))),
            "{accuracy}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("tagger,(macro),8,,1.0,1.0")),
        "{accuracy}"
    );
    // every instance contributes to each tag it explains: vocals (asked) and its top tag
    let global = std::fs::read_to_string(tables.join("global.csv")).unwrap();
    let header: Vec<&str> = global.lines().next().unwrap().split(',').collect();
    let class = header.iter().position(|c| *c == "class").unwrap();
    let count = header.iter().position(|c| *c == "count").unwrap();
    let vocals_rows: Vec<Vec<&str>> = global
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|r| r[class] == "vocals")
        .collect();
    assert!(!vocals_rows.is_empty(), "{global}");
    for tag in ["drums", "vocals", "bass", "other"] {
        assert!(global.contains(&format!(",{tag},")), "{tag}: {global}");
    }
    // vocals is explained for all 8 instances; a feature of it counts up to 8 explanations
    assert!(vocals_rows
        .iter()
        .any(|r| r[count].parse::<u64>().unwrap() > 2));
    let explanations = tables.join("explanations.csv");
    assert!(std::fs::read_to_string(&explanations)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .contains(",class,"));
    // aggregate over the run's explanations keeps the tag names
    let aggregated = dir.path().join("aggregated");
    let output = binary()
        .arg("aggregate")
        .arg("--explanations")
        .arg(&explanations)
        .arg("--out")
        .arg(&aggregated)
        .output()
        .unwrap();
    assert_success(&output);
    let top = std::fs::read_to_string(aggregated.join("top_k.csv")).unwrap();
    assert!(top.starts_with("label,class,rank"), "{top}");
    for tag in ["drums", "vocals"] {
        assert!(top.contains(&format!(",{tag},")), "{top}");
    }
}

#[test]
fn the_magnatagatune_template_is_a_valid_model_spec() {
    use musiclime::model::onnx::spec::ModelSpec;
    let spec = ModelSpec::load(&root().join("configs/models/musicnn_mtt.yaml")).unwrap();
    assert_eq!(spec.classes.len(), 50);
    assert!(spec.multilabel());
    let patching = spec.patching.unwrap();
    assert_eq!((patching.frames, patching.hop()), (187, 187));
    // musicnn's patch is librosa.time_to_frames(3 s) + 1 = 187 centred frames: a little under
    // 3 s of audio (3 s itself gives 188)
    let frontend =
        musiclime::frontend::AudioFrontend::new(&spec.inputs[0].audio().unwrap()).unwrap();
    assert_eq!(frontend.time_frames(3 * 16_000), 188);
    assert_eq!(frontend.time_frames(3 * 16_000 - 256), 187);
    // and its experiment template parses and passes the config checks
    musiclime::experiment::config::ExperimentConfig::load(&root().join("configs/tagger_mtt.yaml"))
        .unwrap();
}
