//! `musiclime aggregate`: the MusicLIME authors' published per-class sums give the global
//! importances of our Python port of spec §6 (`tests/fixtures/paper_aggregates/
//! aggregate_reference.py`) to 1e-9, for every published file; bad tables exit with status 2.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod common;
use common::{assert_success, binary};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/paper_aggregates")
}

fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut lines = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>()
        .into_iter();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            // Feature names in the published data contain no commas or quotes.
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(|v| v.trim_matches('"').to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn published_sums_reproduce_the_reference_aggregation() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 11, "every published file");
    for file in files {
        let out = tempfile::tempdir().unwrap();
        let status = binary()
            .arg("aggregate")
            .arg("--sums")
            .arg(&file)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        assert_success(&status);
        let name = file.file_name().unwrap();
        let expected = read_csv(&fixtures().join("expected").join(name));
        let got = read_csv(&out.path().join("global.csv"));
        assert_eq!(got.len(), expected.len(), "{name:?}");
        let index: HashMap<(String, String), &HashMap<String, String>> = got
            .iter()
            .map(|r| ((r["label"].clone(), r["feature"].clone()), r))
            .collect();
        for want in &expected {
            let have = index[&(want["label"].clone(), want["feature"].clone())];
            assert_eq!(have["count"], want["count"]);
            for column in [
                "weight_sum",
                "lime_importance",
                "average_importance",
                "homogeneity_weighted_importance",
            ] {
                let (a, b): (f64, f64) =
                    (have[column].parse().unwrap(), want[column].parse().unwrap());
                assert!(
                    (a - b).abs() <= 1e-9,
                    "{name:?} {} {} {column}: {a} vs {b}",
                    want["label"],
                    want["feature"]
                );
            }
        }
        assert!(
            out.path().join("global.parquet").is_file() && out.path().join("top_k.csv").is_file()
        );
    }
}

#[test]
fn bad_tables_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("missing.csv", "label,feature,count\n0,a,1\n", "weight_sum"),
        (
            "nan.csv",
            "label,feature,weight_sum,count\n0,a,NaN,1\n",
            "finite",
        ),
        (
            "label.csv",
            "label,feature,weight_sum,count\n-1,a,0.5,1\n",
            "class index",
        ),
        ("empty.csv", "label,feature,weight_sum,count\n", "no rows"),
    ];
    for (name, text, mentions) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = dir.path().join(format!("out-{name}"));
        let output = binary()
            .arg("aggregate")
            .arg("--sums")
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains(mentions),
            "{name}: {stderr}"
        );
        assert!(!out.exists(), "{name}: nothing written");
    }
    let explanations = dir.path().join("explanations.csv");
    std::fs::write(
        &explanations,
        "instance,label,feature,weight\nt0,1,drums3,0.4\nt1,1,drums3,-0.2\nt1,1,fire,0.3\n",
    )
    .unwrap();
    let out = dir.path().join("from-explanations");
    let output = binary()
        .arg("aggregate")
        .arg("--explanations")
        .arg(&explanations)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(output.status.success());
    let global = std::fs::read_to_string(out.join("global.csv")).unwrap();
    assert!(
        global.contains("1,drums3,1,0.4"),
        "positive weights only: {global}"
    );
}

#[test]
fn a_directory_of_published_sums_gives_one_folder_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let sums =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/paper_aggregates");
    let output = binary()
        .args(["aggregate", "--sums"])
        .arg(&sums)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_success(&output);
    let single = tempfile::tempdir().unwrap();
    let status = binary()
        .args(["aggregate", "--sums"])
        .arg(sums.join("emotion_feature.csv"))
        .arg("--out")
        .arg(single.path())
        .status()
        .unwrap();
    assert!(status.success());
    let count = std::fs::read_dir(&sums)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "csv")
        })
        .count();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), count);
    assert_eq!(
        std::fs::read(dir.path().join("emotion_feature/global.csv")).unwrap(),
        std::fs::read(single.path().join("global.csv")).unwrap()
    );
}
