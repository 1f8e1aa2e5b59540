//! `musiclime aggregate`: the MusicLIME authors' published per-class sums give the global
//! importances of our Python port of spec §6 (`tests/fixtures/paper_aggregates/
//! aggregate_reference.py`) to 1e-9, for every published file; merging lyric words by lemma
//! reproduces the reference merge (`tests/fixtures/lemmas/expected_merged.csv`) and, with the
//! raw rankings, every word of the authors' published figures; class names reach tables and
//! charts; bad tables and flags exit with status 2 and write nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;
use common::{assert_success, binary};

fn fixtures() -> PathBuf {
    common::fixture("paper_aggregates")
}

fn lemma_fixtures() -> PathBuf {
    common::fixture("lemmas")
}

/// The published sums files (every `.csv` but the class names).
fn sums_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .filter(|p| p.file_name().is_some_and(|f| f != "class_names.csv"))
        .collect();
    files.sort();
    files
}

/// Runs `musiclime aggregate --sums SUMS --out OUT` with `extra` flags.
fn aggregate_sums(sums: &Path, extra: &[&str], out: &Path) {
    let output = binary()
        .args(["aggregate", "--sums"])
        .arg(sums)
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert_success(&output);
}

/// A fresh folder under the test target's temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    dir
}

/// `musiclime aggregate --sums tests/fixtures/paper_aggregates` (names from its
/// class_names.csv, no merging), run once for the tests that read it: charts make each run
/// cost seconds in a test build.
fn paper_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = scratch("aggregate-paper");
        aggregate_sums(&fixtures(), &[], &out);
        out
    })
}

/// `genre_multimodal_feature_5000.csv` with `--merge-words lemma`, run once.
fn genre_lemma_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let out = scratch("aggregate-genre-lemma");
        let sums = fixtures().join("genre_multimodal_feature_5000.csv");
        aggregate_sums(&sums, &["--merge-words", "lemma"], &out);
        out
    })
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
    let files = sums_files();
    assert_eq!(files.len(), 11, "every published file");
    for file in files {
        let out = paper_run().join(file.file_stem().unwrap());
        let name = file.file_name().unwrap();
        let expected = read_csv(&fixtures().join("expected").join(name));
        let got = read_csv(&out.join("global.csv"));
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
        assert!(out.join("global.parquet").is_file() && out.join("top_k.csv").is_file());
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
    let single = tempfile::tempdir().unwrap();
    aggregate_sums(&fixtures().join("emotion_feature.csv"), &[], single.path());
    let count = sums_files().len();
    assert_eq!(std::fs::read_dir(paper_run()).unwrap().count(), count);
    for table in ["global.csv", "top_k.csv", "top_words.csv"] {
        assert_eq!(
            std::fs::read(paper_run().join("emotion_feature").join(table)).unwrap(),
            std::fs::read(single.path().join(table)).unwrap(),
            "{table}: the class_names.csv beside a single file names its classes too"
        );
    }
}

#[test]
fn the_embedded_lemma_table_gives_the_fixture_lemma_of_every_published_word() {
    let english = musiclime::lemmas::Lemmas::english();
    let rows = read_csv(&lemma_fixtures().join("lemmas.csv"));
    assert_eq!(rows.len(), 7011);
    for row in &rows {
        assert_eq!(english.lemma(&row["word"]), row["lemma"], "{}", row["word"]);
    }
}

#[test]
fn lemma_merging_reproduces_the_reference_merge() {
    let got = read_csv(&genre_lemma_run().join("top_words.csv"));
    let expected = read_csv(&lemma_fixtures().join("expected_merged.csv"));
    assert_eq!(got.len(), expected.len(), "9 classes x 20 words");
    for (have, want) in got.iter().zip(&expected) {
        let at = format!("class {} rank {}", want["label"], want["rank"]);
        assert_eq!(
            (
                &have["label"],
                &have["rank"],
                &have["feature"],
                &have["count"]
            ),
            (
                &want["label"],
                &want["rank"],
                &want["lemma"],
                &want["count"]
            ),
            "{at}"
        );
        for (column, reference) in [
            ("weight_sum", "weight_sum"),
            ("average_importance", "average"),
        ] {
            let (a, b): (f64, f64) = (
                have[column].parse().unwrap(),
                want[reference].parse().unwrap(),
            );
            assert!((a - b).abs() <= 1e-9, "{at} {column}: {a} vs {b}");
        }
    }
}

#[test]
fn merged_genre_and_raw_emotion_and_audioset_rankings_reproduce_the_published_figures() {
    let published = read_csv(&lemma_fixtures().join("published_top20.csv"));
    assert_eq!(published.len(), 500, "25 figures x 20 words");
    let mut tasks: Vec<&str> = published.iter().map(|r| r["task_file"].as_str()).collect();
    tasks.dedup();
    let mut positions = 0;
    for task in tasks {
        // Only the genre figures merge words (by lemma); the others rank the raw features.
        let out = if task == "genre_multimodal_feature_5000.csv" {
            genre_lemma_run().to_path_buf()
        } else {
            paper_run().join(task.trim_end_matches(".csv"))
        };
        let ours: HashMap<(String, String), HashMap<String, String>> =
            read_csv(&out.join("top_words.csv"))
                .into_iter()
                .map(|r| ((r["label"].clone(), r["rank"].clone()), r))
                .collect();
        for want in published.iter().filter(|r| r["task_file"] == task) {
            let have = &ours[&(want["label"].clone(), want["rank"].clone())];
            assert_eq!(
                (&have["feature"], &have["class"]),
                (&want["word"], &want["class_name"]),
                "{}, rank {}",
                want["figure"],
                want["rank"]
            );
            positions += 1;
        }
    }
    assert_eq!(positions, 500);
}

#[test]
fn class_names_appear_in_tables_and_chart_titles() {
    let genre = paper_run().join("genre_multimodal_feature_5000");
    for table in ["global.csv", "top_k.csv", "top_words.csv"] {
        let rows = read_csv(&genre.join(table));
        assert!(
            rows.iter()
                .any(|r| r["label"] == "6" && r["class"] == "punk"),
            "{table}"
        );
        assert!(rows
            .iter()
            .all(|r| r["label"] != "6" || r["class"] == "punk"));
    }
    let chart = |path: PathBuf| std::fs::read_to_string(path).unwrap();
    assert!(chart(genre.join("charts/class6.svg")).contains("class 6 (punk)"));
    let figure = chart(genre.join("charts/figure_class6.svg"));
    assert!(figure.contains("class 6 (punk): audio"), "heat map title");
    assert!(
        figure.contains("class 6 (punk): top 20 words\n</text>"),
        "{figure}"
    );
    let merged = chart(genre_lemma_run().join("charts/figure_class6.svg"));
    assert!(merged.contains("class 6 (punk): top 20 words (merged by lemma)"));
    // audio-only and lyrics-only files get a one-panel figure
    let audio = chart(paper_run().join("emotion_audio_feature/charts/figure_class0.svg"));
    assert!(audio.contains("class 0 (Angry): audio") && !audio.contains("top 20"));
    let lyrics = chart(paper_run().join("audioset_lyrics_feature/charts/figure_class6.svg"));
    assert!(lyrics.contains("class 6 (rock/alternative rock/punk): top 20 words"));
    assert!(!lyrics.contains(": audio"));
    let dir = tempfile::tempdir().unwrap();
    // --class-names names the classes of one explanations table
    let explanations = dir.path().join("explanations.csv");
    std::fs::write(
        &explanations,
        "instance,label,feature,weight\nt0,1,drums3,0.4\nt1,0,fire,0.3\n",
    )
    .unwrap();
    let out = dir.path().join("named");
    let output = binary()
        .args(["aggregate", "--explanations"])
        .arg(&explanations)
        .args(["--class-names", "calm,angry", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&output);
    let global = read_csv(&out.join("global.csv"));
    assert!(global
        .iter()
        .any(|r| r["label"] == "1" && r["class"] == "angry"));
    assert!(chart(out.join("charts/figure_class1.svg")).contains("class 1 (angry): audio"));
}

#[test]
fn bad_lemma_tables_class_names_and_merge_rules_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sums = fixtures().join("genre_multimodal_feature_5000.csv");
    let not_lemmas = dir.path().join("not_lemmas.csv");
    std::fs::write(&not_lemmas, "word,lemma,pos\nran,run,v\n").unwrap();
    let three_fields = dir.path().join("three_fields.csv");
    std::fs::write(&three_fields, "word,lemma\nran,run\nsat,sit,v\n").unwrap();
    let names_dir = dir.path().join("sums");
    std::fs::create_dir(&names_dir).unwrap();
    std::fs::copy(&sums, names_dir.join("genre.csv")).unwrap();
    std::fs::write(
        names_dir.join("class_names.csv"),
        "file,label,name\nother.csv,0,rock\n",
    )
    .unwrap();
    let short_names = dir.path().join("short");
    std::fs::create_dir(&short_names).unwrap();
    std::fs::copy(&sums, short_names.join("genre.csv")).unwrap();
    std::fs::write(
        short_names.join("class_names.csv"),
        "file,label,name\ngenre.csv,0,rock\n",
    )
    .unwrap();
    let sums = sums.to_str().unwrap();
    let all = fixtures();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--sums",
                sums,
                "--merge-words",
                "lemma",
                "--lemmas",
                not_lemmas.to_str().unwrap(),
            ],
            "not_lemmas.csv",
        ),
        (
            vec![
                "--sums",
                sums,
                "--merge-words",
                "lemma",
                "--lemmas",
                three_fields.to_str().unwrap(),
            ],
            "line 3",
        ),
        (
            vec!["--sums", sums, "--lemmas", three_fields.to_str().unwrap()],
            "--lemmas",
        ),
        (
            vec!["--sums", sums, "--class-names", "rock,pop,punk"],
            "--class-names",
        ),
        (vec!["--sums", sums, "--merge-words", "foo"], "foo"),
        (vec!["--sums", names_dir.to_str().unwrap()], "other.csv"),
        (vec!["--sums", short_names.to_str().unwrap()], "class 1"),
        (
            vec!["--sums", all.to_str().unwrap(), "--class-names", "a,b"],
            "--class-names",
        ),
    ];
    for (i, (flags, mentions)) in cases.into_iter().enumerate() {
        let out = dir.path().join(format!("out{i}"));
        let output = binary()
            .arg("aggregate")
            .args(&flags)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(mentions), "{flags:?}: {stderr}");
        assert!(!out.exists(), "{flags:?}: nothing written");
    }
}
