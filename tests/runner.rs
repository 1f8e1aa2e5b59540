//! `musiclime run` / `validate`: tables, one summary row per explainer × cell, resumption with
//! byte-identical tables, and bad configs or manifests.

use std::path::Path;

mod common;
use common::{assert_success, binary, synth};

fn config(dir: &Path, dataset: &str, extra: &str) -> std::path::PathBuf {
    let text = format!(
        "dataset:\n{dataset}\nmodels:\n  planted: builtin:planted\nexplainers:\n  - {{name: musiclime, method: musiclime, model: planted}}\n  - {{name: lime_lyrics, method: lime_lyrics, model: planted}}\nrepeats: 2\ngrid:\n  num_samples: [60, 120]\n  feature_selection: [auto, lasso_path]\noutput: {}\n{extra}",
        dir.join("out").display()
    );
    let path = dir.join("experiment.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

const SYNTHETIC: &str = "  synthetic: {tracks: 2, seed: 4, seconds: 2.0}";

fn run(config: &Path, extra: &[&str]) -> std::process::Output {
    binary()
        .arg("run")
        .arg(config)
        .args(extra)
        .output()
        .expect("run")
}

#[test]
fn a_grid_run_writes_every_table_and_resumes_byte_identically() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = "metrics: [score, local_error, precision_at_k_audio, auroc_lyrics, complexity]\n";
    let path = config(dir.path(), SYNTHETIC, metrics);
    let validate = binary().arg("validate").arg(&path).output().unwrap();
    assert_success(&validate);
    let output = run(&path, &[]);
    assert_success(&output);
    let tables = dir.path().join("out/tables");
    for name in [
        "explanations",
        "metrics",
        "summary",
        "accuracy",
        "timings",
        "global",
    ] {
        for ext in ["parquet", "csv", "md", "tex"] {
            assert!(
                tables.join(format!("{name}.{ext}")).is_file(),
                "{name}.{ext}"
            );
        }
    }
    let summary = std::fs::read_to_string(tables.join("summary.csv")).unwrap();
    // Header + 2 explainers x 4 cells.
    assert_eq!(summary.lines().count(), 1 + 8, "{summary}");
    assert!(summary
        .lines()
        .next()
        .unwrap()
        .starts_with("explainer,cell,feature_selection,num_samples,n,score_mean"));
    let run_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/run.json")).unwrap())
            .unwrap();
    assert_eq!(run_json["status"], "finished");
    assert_eq!(run_json["units"], 2 * 2 * 4 * 2);

    // Lose half the stored units (as if killed), run again: identical tables.
    let before_summary = std::fs::read(tables.join("summary.csv")).unwrap();
    let before_explanations = std::fs::read(tables.join("explanations.parquet")).unwrap();
    let store = dir.path().join("out/store");
    let mut files: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files.iter().step_by(2) {
        std::fs::remove_file(f).unwrap();
    }
    std::fs::write(files[1].with_extension("json.tmp-123"), b"{ half written").unwrap();
    let again = run(&path, &[]);
    assert_success(&again);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("(16 from the store)"), "{stdout}");
    assert_eq!(
        std::fs::read(tables.join("summary.csv")).unwrap(),
        before_summary
    );
    assert_eq!(
        std::fs::read(tables.join("explanations.parquet")).unwrap(),
        before_explanations
    );

    // A changed config refuses to mix with stored results unless --fresh.
    let changed = config(dir.path(), SYNTHETIC, &format!("{metrics}seed: 5\n"));
    let refused = run(&changed, &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--fresh"));
    assert!(run(&changed, &["--fresh"]).status.success());
}

#[test]
fn config_typos_name_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), SYNTHETIC, "repeets: 3\n");
    let output = binary().arg("validate").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("experiment.yaml")
            && stderr.contains("line 13, column 1")
            && stderr.contains("repeets"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists(), "nothing written");
}

#[test]
fn bad_manifest_rows_stop_the_run_or_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let status = binary()
        .args(["synth", "--tracks", "2", "--seconds", "2", "--out"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(data.join("track001/mixture.wav"), b"not audio").unwrap();
    let manifest = format!("  manifest: {}", data.join("manifest.csv").display());
    let path = config(dir.path(), &manifest, "");
    let output = run(&path, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("track001") && stderr.contains("on_error: skip"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("out/store").exists(),
        "no model was called"
    );

    let path = config(dir.path(), &manifest, "on_error: skip\n");
    let output = run(&path, &[]);
    assert_success(&output);
    let failures = std::fs::read_to_string(dir.path().join("out/tables/failures.csv")).unwrap();
    assert!(failures.contains("track001"), "{failures}");
}

#[test]
fn split_selects_rows_and_unimodal_models_need_their_own_method() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let status = binary()
        .args(["synth", "--tracks", "3", "--seconds", "2", "--out"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest = std::fs::read_to_string(data.join("manifest.csv")).unwrap();
    let mut with_split = String::new();
    for (i, line) in manifest.lines().enumerate() {
        let split = if i == 0 {
            "split"
        } else if i == 2 {
            "test"
        } else {
            "train"
        };
        with_split.push_str(&format!("{line},{split}\n"));
    }
    std::fs::write(data.join("split.csv"), with_split).unwrap();
    let dataset = format!(
        "  manifest: {}\n  split: test",
        data.join("split.csv").display()
    );
    let path = config(dir.path(), &dataset, "");
    let output = binary().arg("validate").arg(&path).output().unwrap();
    assert_success(&output);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 instances"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    let text = std::fs::read_to_string(&path).unwrap().replace(
        "planted: builtin:planted",
        "planted: builtin:planted\n  audio: builtin:audio",
    ) + "";
    let text = text.replace(
        "{name: lime_lyrics, method: lime_lyrics, model: planted}",
        "{name: wrong, method: musiclime, model: audio}",
    );
    std::fs::write(&path, text).unwrap();
    let output = binary().arg("validate").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("reads only the audio") && stderr.contains("lime_audio"),
        "{stderr}"
    );
}

#[test]
fn labels_outside_a_models_classes_and_onnx_models_are_checked_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let status = binary()
        .args(["synth", "--tracks", "2", "--seconds", "2", "--out"])
        .arg(&data)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest = std::fs::read_to_string(data.join("manifest.csv")).unwrap();
    let mut lines: Vec<String> = manifest.lines().map(str::to_string).collect();
    // Set the `label` column of the second track to a class no model has.
    let label = lines[0].split(',').position(|c| c == "label").unwrap();
    let mut row: Vec<String> = lines[2].split(',').map(str::to_string).collect();
    row[label] = "7".into();
    lines[2] = row.join(",");
    std::fs::write(data.join("bad_label.csv"), lines.join("\n") + "\n").unwrap();
    let dataset = format!("  manifest: {}", data.join("bad_label.csv").display());
    let path = config(dir.path(), &dataset, "");
    for command in ["validate", "run"] {
        let output = binary().arg(command).arg(&path).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains("label 7") && stderr.contains("planted"),
            "{stderr}"
        );
    }
    assert!(
        !dir.path().join("out/store").exists(),
        "no model was called"
    );

    // An ONNX model.yaml (relative to the config) whose parameters do not fit its graph.
    let fixtures = common::fixture("onnx");
    let spec = std::fs::read_to_string(fixtures.join("lyrics.yaml"))
        .unwrap()
        .replace("max_length: 32", "max_length: 16")
        .replace(
            "lyrics_tokens.onnx",
            &fixtures.join("lyrics_tokens.onnx").display().to_string(),
        )
        .replace(
            "tokenizer.json",
            &fixtures.join("tokenizer.json").display().to_string(),
        );
    std::fs::write(dir.path().join("lyrics.yaml"), spec).unwrap();
    let text = format!(
        "dataset:\n{SYNTHETIC}\nmodels:\n  lyrics: lyrics.yaml\nexplainers:\n  - {{name: l, method: lime_lyrics, model: lyrics}}\noutput: {}\n",
        dir.path().join("out2").display()
    );
    let path = dir.path().join("onnx.yaml");
    std::fs::write(&path, text).unwrap();
    let output = binary().arg("validate").arg(&path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("models.lyrics")
            && stderr.contains("input_ids")
            && stderr.contains("[batch, 16]"),
        "{stderr}"
    );
}

#[test]
fn onnx_models_get_fidelity_stability_and_attention_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = common::fixture("onnx");
    let text = format!(
        "dataset:\n  synthetic: {{tracks: 1, seed: 3, seconds: 10.0, classes: 4}}\nmodels:\n  multimodal: {}\nexplainers:\n  - {{name: musiclime, method: musiclime, model: multimodal, num_samples: 150}}\nrepeats: 2\nmetrics: [deletion_auc, insertion_auc, comprehensiveness_at_3, sufficiency_at_3, faithfulness_correlation, jaccard_at_5, kendall_tau, spearman_rho, vsi, csi, attention_spearman_audio, attention_spearman_lyrics, attention_overlap_at_3_lyrics, rollout_spearman_lyrics, recall_at_5_audio]\noutput: {}\n",
        fixtures.join("multimodal.yaml").display(),
        dir.path().join("out").display()
    );
    let path = dir.path().join("onnx.yaml");
    std::fs::write(&path, text).unwrap();
    let output = run(&path, &[]);
    assert_success(&output);
    let summary = std::fs::read_to_string(dir.path().join("out/tables/summary.csv")).unwrap();
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let value = |name: &str| -> f64 {
        let i = header
            .iter()
            .position(|h| *h == format!("{name}_mean"))
            .unwrap();
        row[i].parse().unwrap_or(f64::NAN)
    };
    for finite in [
        "deletion_auc",
        "insertion_auc",
        "comprehensiveness_at_3",
        "faithfulness_correlation",
        "jaccard_at_5",
        "kendall_tau",
        "vsi",
        "csi",
        "attention_spearman_audio",
        "attention_spearman_lyrics",
        "recall_at_5_audio",
    ] {
        assert!(value(finite).is_finite(), "{finite} is {}", value(finite));
    }
    // The planted evidence sits in the top features, so removing them first lowers the
    // probability faster than adding them raises it from nothing.
    assert!(value("deletion_auc") < value("insertion_auc"));
    assert!(value("comprehensiveness_at_3") > 0.1);
    // The fixture's maps have a single query row, so rollout does not apply.
    assert!(value("rollout_spearman_lyrics").is_nan());
    let stability = std::fs::read_to_string(dir.path().join("out/tables/stability.csv")).unwrap();
    assert!(
        stability.contains("csi") && stability.contains("track000"),
        "{stability}"
    );
}

#[test]
fn robustness_metrics_reexplain_a_noisy_and_an_edited_copy() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "dataset:\n  synthetic: {{tracks: 2, seed: 8, seconds: 4.0}}\nmodels:\n  planted: builtin:planted\nexplainers:\n  - {{name: musiclime, method: musiclime, model: planted, num_samples: 300}}\nmetrics: [noise_jaccard_at_5, noise_weight_change, edit_jaccard_at_5, edit_weight_change]\noutput: {}\n",
        dir.path().join("out").display()
    );
    let path = dir.path().join("robust.yaml");
    std::fs::write(&path, text).unwrap();
    let output = run(&path, &[]);
    assert_success(&output);
    let metrics = std::fs::read_to_string(dir.path().join("out/tables/metrics.csv")).unwrap();
    let mut values = std::collections::HashMap::<String, Vec<f64>>::new();
    for line in metrics.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (name, value) = (fields[fields.len() - 2], fields[fields.len() - 1]);
        values
            .entry(name.to_string())
            .or_default()
            .push(value.parse().unwrap());
    }
    // The planted model's evidence is far above 30 dB noise and survives losing one word.
    for v in &values["noise_jaccard_at_5"] {
        assert!((0.5..=1.0).contains(v), "{v}");
    }
    for v in &values["edit_jaccard_at_5"] {
        assert!((0.0..=1.0).contains(v), "{v}");
    }
    for v in values["noise_weight_change"]
        .iter()
        .chain(&values["edit_weight_change"])
    {
        assert!(v.is_finite() && *v >= 0.0 && *v < 1.0, "{v}");
    }
}

#[test]
fn a_run_draws_every_chart_kind_and_report_regenerates_identical_svgs() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        SYNTHETIC,
        "metrics: [score, deletion_auc, insertion_auc, jaccard_at_3, precision_at_k_audio]\nlisten: {top_k: 2}\n",
    );
    let output = run(&path, &[]);
    assert_success(&output);
    let out = dir.path().join("out");
    let charts = out.join("charts");
    let names: Vec<String> = std::fs::read_dir(&charts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for kind in [
        "explanation_",
        "global_",
        "compare_",
        "curves_",
        "ablation_",
        "accuracy",
    ] {
        for ext in [".svg", ".png"] {
            assert!(
                names
                    .iter()
                    .any(|n| n.starts_with(kind) && n.ends_with(ext)),
                "no {kind}*{ext} in {names:?}"
            );
        }
    }
    // Listenable explanations: the top components and the remainder sum to the instance.
    let top = musiclime::audio::decode::decode_file(&out.join("audio/track000_musiclime_top.wav"))
        .unwrap();
    let rest =
        musiclime::audio::decode::decode_file(&out.join("audio/track000_musiclime_rest.wav"))
            .unwrap();
    assert_eq!(top.samples.len(), rest.samples.len());
    assert!(top.samples.iter().any(|x| *x != 0.0) && rest.samples.iter().any(|x| *x != 0.0));
    let index = std::fs::read_to_string(out.join("index.md")).unwrap();
    for n in names.iter().filter(|n| n.ends_with(".png")) {
        assert!(
            index.contains(&format!("charts/{n}")),
            "index.md does not link {n}"
        );
    }
    assert!(std::fs::read_to_string(out.join("index.html"))
        .unwrap()
        .contains("<img src=\"charts/"));
    let snapshot = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "svg" || x == "csv"))
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let (svgs, tables) = (snapshot(&charts), snapshot(&out.join("tables")));
    std::fs::remove_dir_all(&charts).unwrap();
    std::fs::remove_dir_all(out.join("tables")).unwrap();
    let report = binary().arg("report").arg(&out).output().unwrap();
    assert_success(&report);
    assert_eq!(
        snapshot(&charts),
        svgs,
        "report's SVGs differ from the run's"
    );
    let timings_free = |files: Vec<(String, Vec<u8>)>| -> Vec<(String, Vec<u8>)> {
        files
            .into_iter()
            .filter(|(n, _)| n != "timings.csv")
            .collect()
    };
    assert_eq!(
        timings_free(snapshot(&out.join("tables"))),
        timings_free(tables)
    );
    // A directory that is not a run is named in the error.
    let bad = binary().arg("report").arg(dir.path()).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("run.json"));
}

#[test]
fn validate_and_run_report_the_same_list_of_problems_before_any_model_call() {
    // Five problems at once: an instance without stems for a stems explainer, a wordless
    // instance for a lime_lyrics explainer, a unimodal model asked for both modalities, a label
    // that is not a class, and an explainer label name that is not a class.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synth(&data, &["--tracks", "2", "--seed", "4", "--seconds", "2"]);
    std::fs::write(
        data.join("problems.csv"),
        "id,audio,lyrics,label\na,track000/mixture.wav,fire and ice,0\nb,track001/mixture.wav,,9\n",
    )
    .unwrap();
    let config = dir.path().join("problems.yaml");
    std::fs::write(
        &config,
        format!(
            "dataset:\n  manifest: {}\nmodels:\n  audio: builtin:audio\n  planted: builtin:planted\nexplainers:\n  - {{name: stems, method: lime_audio, model: audio, factorization: stems}}\n  - {{name: words, method: lime_lyrics, model: planted, factorization: hpss}}\n  - {{name: both, method: musiclime, model: audio, factorization: hpss}}\n  - {{name: named, method: musiclime, model: planted, factorization: hpss, labels: [jazz]}}\noutput: {}\n",
            data.join("problems.csv").display(),
            dir.path().join("out").display()
        ),
    )
    .unwrap();
    let problems = |output: &std::process::Output| -> Vec<String> {
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|l| l.starts_with("  "))
            .map(str::to_string)
            .collect()
    };
    let validate = binary().arg("validate").arg(&config).output().unwrap();
    let listed = problems(&validate);
    let stderr = String::from_utf8_lossy(&validate.stderr);
    assert!(
        stderr.contains(&format!("{} problem(s)", listed.len())),
        "{stderr}"
    );
    for expected in [
        "needs stems",
        "has no lyric words",
        "reads only the audio",
        "label 9",
        "jazz",
    ] {
        assert!(
            listed.iter().any(|p| p.contains(expected)),
            "`{expected}` missing from {listed:#?}"
        );
    }
    let run = binary().arg("run").arg(&config).output().unwrap();
    assert_eq!(problems(&run), listed);
    assert!(!dir.path().join("out/store").exists());
    assert!(!dir.path().join("out/run.json").exists());
}

#[test]
fn every_instance_draws_its_own_masks_whatever_the_instance_order() {
    // Two ids for the same song: with one seed per repeat (the old rule) both drew the same
    // masks and got the same weights. Each unit's seed now derives from (seed, id, repeat), so
    // the two differ, and listing the instances in the other order changes no one's result.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synth(&data, &["--tracks", "1", "--seed", "4", "--seconds", "2"]);
    let explanations = |rows: &str, out: &str| -> Vec<String> {
        let manifest = dir.path().join(format!("{out}.csv"));
        std::fs::write(&manifest, format!("id,audio,lyrics,label\n{rows}")).unwrap();
        let config = dir.path().join(format!("{out}.yaml"));
        std::fs::write(
            &config,
            format!(
                "dataset:\n  manifest: {}\nmodels:\n  planted: builtin:planted\nexplainers:\n  - {{name: musiclime, method: musiclime, model: planted, num_samples: 80, factorization: hpss}}\nrepeats: 2\nmetrics: [score]\noutput: {}\n",
                manifest.display(),
                dir.path().join(out).display()
            ),
        )
        .unwrap();
        assert_success(&run(&config, &[]));
        let mut lines: Vec<String> =
            std::fs::read_to_string(dir.path().join(out).join("tables/explanations.csv"))
                .unwrap()
                .lines()
                .skip(1)
                .map(str::to_string)
                .collect();
        lines.sort();
        lines
    };
    let song = format!(
        "{}/track000/mixture.wav,fire and ice and rain,0",
        data.display()
    );
    let forward = explanations(&format!("a,{song}\nb,{song}\n"), "forward");
    let backward = explanations(&format!("b,{song}\na,{song}\n"), "backward");
    assert_eq!(forward, backward, "a result depends on the instance order");
    let weights_of = |id: &str, repeat: &str| -> Vec<String> {
        forward
            .iter()
            .filter(|l| l.starts_with(&format!("{id},")))
            .filter(|l| l.split(',').nth(3) == Some(repeat))
            .map(|l| l.split(',').skip(6).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert!(!weights_of("a", "0").is_empty());
    assert_ne!(
        weights_of("a", "0"),
        weights_of("b", "0"),
        "same masks for two instances"
    );
    assert_ne!(
        weights_of("a", "0"),
        weights_of("a", "1"),
        "same masks for two repeats"
    );
}

#[test]
fn comparisons_and_the_paper_table_come_from_the_report_key_and_bad_keys_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let report = "metrics: [deletion_auc, insertion_auc, sufficiency_at_3, precision_at_k_lyrics]\nreport:\n  reference: musiclime\n  table: {metrics: [deletion_auc, precision_at_k_lyrics], explainers: [lime_lyrics, musiclime]}\n";
    let path = config(dir.path(), SYNTHETIC, report);
    assert_success(&run(&path, &[]));
    let tables = dir.path().join("out/tables");
    let comparisons = std::fs::read_to_string(tables.join("comparisons.csv")).unwrap();
    let mut lines = comparisons.lines();
    assert_eq!(
        lines.next().unwrap(),
        "cell,metric,model,a,b,n,mean_diff,ci_low,ci_high,wilcoxon_statistic,p_value,p_holm,rank_biserial,better"
    );
    // musiclime against lime_lyrics only (the reference), per cell and metric, paired over
    // the two instances.
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4 * 4, "{comparisons}");
    assert!(
        rows.iter()
            .all(|r| r.contains(",planted,musiclime,lime_lyrics,2,")),
        "{comparisons}"
    );
    let paper = std::fs::read_to_string(tables.join("paper.md")).unwrap();
    assert!(
        paper.starts_with("| explainer | cell | model | deletion_auc ↓ | deletion_auc Δ | precision_at_k_lyrics ↑ | precision_at_k_lyrics Δ |"),
        "{paper}"
    );
    let rows = paper.lines().filter(|l| l.starts_with('|')).count();
    assert_eq!(rows, 2 + 2 * 4, "{paper}");
    assert!(paper.contains("n = 2 instances"), "{paper}");
    assert!(paper.contains(" ± "), "{paper}");
    let tex = std::fs::read_to_string(tables.join("paper.tex")).unwrap();
    assert!(tex.contains(r"$\pm$") && !tex.contains('±'), "{tex}");
    let summary = std::fs::read_to_string(tables.join("summary.csv")).unwrap();
    assert!(
        summary.lines().next().unwrap().contains("deletion_auc_n"),
        "{summary}"
    );

    // Each bad report key: exit 2 naming the key, before any model call.
    let single = "  - {name: only, method: musiclime, model: planted}\n";
    for (extra, key, single_explainer) in [
        ("report: {reference: nobody}\n", "report.reference", false),
        ("report: {reference: only}\n", "report.reference", true),
        (
            "report: {table: {metrics: [kendall_tau]}}\n",
            "report.table.metrics",
            false,
        ),
        (
            "report: {table: {metrics: [score], explainers: [lime_audio]}}\n",
            "report.table.explainers",
            false,
        ),
        (
            "metrics: [attention_spearman_audio]\n",
            "attention_spearman_audio",
            false,
        ),
    ] {
        let out = dir.path().join(format!("bad_{key}"));
        let explainers = if single_explainer {
            single.to_string()
        } else {
            "  - {name: musiclime, method: musiclime, model: planted}\n  - {name: lime_lyrics, method: lime_lyrics, model: planted}\n".to_string()
        };
        let text = format!(
            "dataset:\n{SYNTHETIC}\nmodels:\n  planted: builtin:planted\nexplainers:\n{explainers}metrics: [score]\noutput: {}\n{extra}",
            out.display()
        )
        .replace("metrics: [score]\noutput", if extra.starts_with("metrics") { "output" } else { "metrics: [score]\noutput" });
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, text).unwrap();
        let output = run(&bad, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra}: {stderr}");
        assert!(stderr.contains(key), "{extra}: {stderr}");
        assert!(
            !out.join("store").exists() && !out.join("run.json").exists(),
            "{extra}"
        );
    }
}

#[test]
fn a_changed_synthetic_dataset_is_generated_again() {
    // The generated tracks used to be reused whenever `<output>/data/manifest.csv` existed, so
    // `--fresh` after changing `synthetic.tracks` explained the old tracks.
    let dir = tempfile::tempdir().unwrap();
    let write = |tracks: usize| {
        let path = dir.path().join("synthetic.yaml");
        std::fs::write(
            &path,
            format!(
                "dataset:\n  synthetic: {{tracks: {tracks}, seed: 4, seconds: 2.0}}\nmodels:\n  planted: builtin:planted\nexplainers:\n  - {{name: musiclime, method: musiclime, model: planted, num_samples: 40}}\nmetrics: [score]\noutput: {}\n",
                dir.path().join("out").display()
            ),
        )
        .unwrap();
        path
    };
    assert_success(&run(&write(2), &[]));
    let output = run(&write(3), &["--fresh"]);
    assert_success(&output);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("3 units"), "{stdout}");
}
