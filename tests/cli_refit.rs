//! `musiclime refit` end to end: output format and parity through the binary, and bad input
//! (exit code 2, a message naming the file, nothing written).

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde_json::Value;

mod common;
use common::{assert_success, binary};

fn fixture(name: &str) -> PathBuf {
    common::fixture("lime_parity").join(name)
}

/// Writes a Parquet file with the given columns (no validation: for bad-input tests).
fn write_raw(path: &Path, columns: Vec<Column>) {
    let height = columns.first().map(|c| c.len()).unwrap_or(0);
    let mut df = DataFrame::new(height, columns).expect("frame");
    let file = std::fs::File::create(path).expect("create");
    ParquetWriter::new(file).finish(&mut df).expect("write");
}

fn good_columns() -> Vec<Column> {
    vec![
        Column::new("mask_0".into(), vec![1i64, 0, 1, 0]),
        Column::new("mask_1".into(), vec![1i64, 1, 0, 0]),
        Column::new("prob_0".into(), vec![0.9f64, 0.4, 0.7, 0.1]),
        Column::new("prob_1".into(), vec![0.1f64, 0.6, 0.3, 0.9]),
    ]
}

/// Runs refit with `--out` and checks exit code 2, a message naming `mentions`, and no output.
fn assert_rejected(neighborhood: &Path, extra: &[&str], mentions: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.json");
    let output = binary()
        .arg("refit")
        .arg("--neighborhood")
        .arg(neighborhood)
        .args(extra)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(mentions),
        "stderr should mention {mentions:?}: {stderr}"
    );
    assert!(!out.exists(), "nothing may be written on error");
    assert!(
        std::fs::read_dir(dir.path()).expect("dir").next().is_none(),
        "no temporary files left"
    );
}

#[test]
fn refit_prints_lime_identical_json() {
    let text = std::fs::read_to_string(fixture("cases.json")).expect("cases");
    let meta: Value = serde_json::from_str(&text).expect("json");
    let case = meta["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| {
            c["feature_selection"] == "lasso_path"
                && c["num_features"] == 6
                && c["file"].as_str().unwrap().contains("n2000")
        })
        .expect("a lasso case");
    let output = binary()
        .args([
            "refit",
            "--labels",
            "0,3",
            "--feature-selection",
            "lasso_path",
            "--num-features",
            "6",
        ])
        .arg("--kernel-width")
        .arg(case["kernel_width"].to_string())
        .arg("--distance-scale")
        .arg(case["distance_scale"].to_string())
        .arg("--neighborhood")
        .arg(fixture(case["file"].as_str().expect("file")))
        .output()
        .expect("run");
    assert_success(&output);
    let got: Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    let labels = got["labels"].as_object().expect("labels object");
    assert_eq!(
        labels.keys().collect::<Vec<_>>(),
        vec!["0", "3"],
        "labels in the requested order"
    );
    for label in ["0", "3"] {
        let want = &case["labels"][label];
        let have = &got["labels"][label];
        for key in ["intercept", "score", "local_pred"] {
            let (a, b) = (want[key].as_f64().unwrap(), have[key].as_f64().unwrap());
            assert!((a - b).abs() < 1e-6, "label {label} {key}: {b} vs lime {a}");
        }
        let want_w = want["weights"].as_array().unwrap();
        let have_w = have["weights"].as_array().unwrap();
        assert_eq!(want_w.len(), have_w.len());
        for (a, b) in want_w.iter().zip(have_w) {
            assert_eq!(a[0], b[0], "same features in the same order");
            assert!((a[1].as_f64().unwrap() - b[1].as_f64().unwrap()).abs() < 1e-6);
        }
    }
    assert_eq!(got["features"].as_array().unwrap().len(), 40);
}

#[test]
fn refit_writes_out_file_and_reads_the_sidecar() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("n.parquet");
    write_raw(&path, good_columns());
    std::fs::write(
        dir.path().join("n.parquet.features.json"),
        r#"{"features": [{"name": "vocals0", "modality": "audio", "source": "vocals", "segment": 0}, {"name": "love", "modality": "lyrics", "word": "love", "occurrences": 2}], "classes": ["rock", "pop"]}"#,
    )
    .unwrap();
    let out = dir.path().join("e.json");
    let status = binary()
        .args(["refit", "--top-labels", "2", "--neighborhood"])
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let got: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(got["labels"]["0"]["name"], "rock");
    assert_eq!(got["features"][1]["word"], "love");
    assert_eq!(got["features"][0]["modality"], "audio");
}

#[test]
fn bad_neighbourhoods_are_rejected_with_exit_code_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let case = |name: &str, columns: Vec<Column>| {
        let path = dir.path().join(name);
        write_raw(&path, columns);
        path
    };
    let mut empty = good_columns();
    for c in empty.iter_mut() {
        *c = c.slice(0, 0);
    }
    assert_rejected(&case("empty.parquet", empty), &[], "no rows");

    let mut non_binary = good_columns();
    non_binary[1] = Column::new("mask_1".into(), vec![1i64, 2, 0, 0]);
    assert_rejected(&case("nonbinary.parquet", non_binary), &[], "mask_1");

    let mut row0 = good_columns();
    row0[0] = Column::new("mask_0".into(), vec![0i64, 0, 1, 0]);
    assert_rejected(&case("row0.parquet", row0), &[], "row 0 must be all ones");

    let mut nan = good_columns();
    nan[3] = Column::new("prob_1".into(), vec![0.1f64, f64::NAN, 0.3, 0.9]);
    assert_rejected(&case("nan.parquet", nan), &[], "prob_1 is NaN in row 1");

    let mut inf = good_columns();
    inf[2] = Column::new("prob_0".into(), vec![0.1f64, 0.2, f64::INFINITY, 0.9]);
    assert_rejected(&case("inf.parquet", inf), &[], "inf.parquet");

    let mut typo = good_columns();
    typo.push(Column::new("distances".into(), vec![0.0f64, 0.1, 0.2, 0.3]));
    assert_rejected(
        &case("typo.parquet", typo),
        &[],
        "unknown column `distances`",
    );

    let good = case("good.parquet", good_columns());
    assert_rejected(&good, &["--labels", "5"], "label 5 is out of range");
    assert_rejected(&good, &["--top-labels", "3"], "top_labels");
    assert_rejected(
        &good,
        &["--feature-selection", "lasso"],
        "unknown method `lasso`",
    );
    assert_rejected(&good, &["--kernel-width", "0"], "kernel_width");
    assert_rejected(&dir.path().join("missing.parquet"), &[], "missing.parquet");

    std::fs::write(dir.path().join("not_parquet.parquet"), b"hello").unwrap();
    assert_rejected(
        &dir.path().join("not_parquet.parquet"),
        &[],
        "not_parquet.parquet",
    );

    let sidecar_case = case("sidecar.parquet", good_columns());
    std::fs::write(
        dir.path().join("sidecar.parquet.features.json"),
        b"{\"features\": [{\"name\": 3}]}",
    )
    .unwrap();
    assert_rejected(&sidecar_case, &[], "sidecar.parquet.features.json");
}
