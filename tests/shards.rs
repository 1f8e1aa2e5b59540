//! Sharded runs without a cluster: `musiclime slurm` (scripts only) prepares a run, each
//! `run --shard K/N` writes only its instances' units, `report` merges them into tables
//! byte-identical to a single-process run, lists what is missing per shard, or reports a
//! partial run with `--partial`; bad shards, disagreeing SLURM variables, changed configs and
//! mixed stores exit 2 and write nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod common;
use common::{assert_success, binary};

fn write_config(dir: &Path, output: &str, seed: u64) -> PathBuf {
    let text = format!(
        "dataset:\n  synthetic: {{tracks: 6, seed: 4, seconds: 2.0}}\nseed: {seed}\nmodels:\n  planted: builtin:planted\nexplainers:\n  - {{name: musiclime, method: musiclime, model: planted, num_samples: 60}}\n  - {{name: lime_lyrics, method: lime_lyrics, model: planted, num_samples: 60}}\nrepeats: 2\nmetrics: [score, deletion_auc, jaccard_at_3]\nreport: {{reference: musiclime}}\noutput: {}\n",
        dir.join(output).display()
    );
    let path = dir.join(format!("{output}.yaml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn musiclime(args: &[&str], config: &Path) -> std::process::Output {
    binary()
        .args(&args[..1])
        .arg(config)
        .args(&args[1..])
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap()
}

/// Every file under `dir`, relative to it.
fn files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

/// The tables that depend only on the config (`timings` holds wall times).
fn tables(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = files(&dir.join("tables"))
        .into_iter()
        .filter(|p| !p.to_string_lossy().starts_with("timings."))
        .map(|p| {
            let bytes = std::fs::read(dir.join("tables").join(&p)).unwrap();
            (p.display().to_string(), bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn shards_merge_into_the_tables_of_a_single_process_run() {
    let dir = tempfile::tempdir().unwrap();
    let single = write_config(dir.path(), "single", 0);
    assert_success(&musiclime(&["run"], &single));

    let sharded = write_config(dir.path(), "sharded", 0);
    let out = dir.path().join("sharded");
    let prepared = musiclime(&["slurm", "--shards", "3"], &sharded);
    assert_success(&prepared);
    assert!(out.join("slurm/shards.sbatch").is_file());
    assert!(out.join("run.json").is_file());
    assert!(!out.join("store").exists(), "preparing computes no unit");

    // Shard 1 writes its units and nothing else.
    let before = files(&out);
    assert_success(&musiclime(&["run", "--shard", "1/3"], &sharded));
    let added: Vec<PathBuf> = files(&out).difference(&before).cloned().collect();
    assert!(!added.is_empty());
    assert!(added.iter().all(|p| p.starts_with("store")), "{added:?}");

    // Merging now names the shards that are missing, exits 2 and writes no table.
    let early = musiclime(&["report"], &out);
    let stderr = String::from_utf8_lossy(&early.stderr);
    assert_eq!(early.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("shard 2/3") && stderr.contains("shard 3/3"),
        "{stderr}"
    );
    assert!(!stderr.contains("shard 1/3"), "{stderr}");
    assert!(!out.join("tables").exists());

    // --partial reports what is there and says so.
    let partial = musiclime(&["report", "--partial"], &out);
    assert_success(&partial);
    let summary = std::fs::read_to_string(out.join("tables/summary.md")).unwrap();
    assert!(summary.starts_with("> **Partial:"), "{summary}");

    // A rerun of a finished shard computes nothing; the other shards finish the run.
    let again = musiclime(&["run", "--shard", "1/3"], &sharded);
    assert_success(&again);
    let stdout = String::from_utf8_lossy(&again.stdout);
    let units: usize = stdout.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(
        stdout.contains(&format!("({units} from the store)")),
        "{stdout}"
    );
    assert_success(&musiclime(&["run", "--shard", "3/3"], &sharded));
    assert_success(&musiclime(&["run", "--shard", "2/3"], &sharded));
    assert_success(&musiclime(&["report"], &out));
    let merged = tables(&out);
    let reference = tables(&dir.path().join("single"));
    assert_eq!(
        merged.iter().map(|(n, _)| n).collect::<Vec<_>>(),
        reference.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    for ((name, got), (_, want)) in merged.iter().zip(&reference) {
        assert!(got == want, "{name} differs from the single-process run");
    }
}

#[test]
fn bad_shards_changed_configs_and_mixed_stores_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "run", 0);
    let out = dir.path().join("run");

    // A shard of a run nobody prepared.
    let unprepared = musiclime(&["run", "--shard", "1/2"], &config);
    assert_eq!(unprepared.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unprepared.stderr).contains("--prepare"));
    assert!(!out.exists());

    assert_success(&musiclime(&["run", "--prepare"], &config));
    let prepared = files(&out);
    for (shard, expected) in [("0/3", "--shard"), ("4/3", "--shard"), ("a/b", "--shard")] {
        let output = musiclime(&["run", "--shard", shard], &config);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{shard}: {stderr}");
        assert!(stderr.contains(expected), "{shard}: {stderr}");
    }
    // SLURM variables that disagree with the flag.
    let output = binary()
        .arg("run")
        .arg(&config)
        .args(["--shard", "1/3"])
        .env("SLURM_ARRAY_TASK_ID", "2")
        .env("SLURM_ARRAY_TASK_MIN", "1")
        .env("SLURM_ARRAY_TASK_COUNT", "3")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("disagrees"), "{stderr}");
    // A shard started with a changed config.
    let changed = write_config(dir.path(), "run", 1);
    let output = musiclime(&["run", "--shard", "1/3"], &changed);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("changed since"), "{stderr}");
    // `slurm --submit` without sbatch on PATH.
    let empty = tempfile::tempdir().unwrap();
    let output = binary()
        .arg("slurm")
        .arg(&config)
        .args(["--shards", "3", "--submit"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("sbatch") && stderr.contains("leave out --submit"),
        "{stderr}"
    );
    assert_eq!(files(&out), prepared, "a refused command wrote something");

    // A store holding a unit of another config: the merge names the file.
    let original = write_config(dir.path(), "run", 0);
    assert_success(&musiclime(&["run"], &original));
    let other = write_config(dir.path(), "other", 1);
    assert_success(&musiclime(&["run"], &other));
    let unit = files(&out.join("store")).into_iter().next().unwrap();
    std::fs::copy(
        dir.path().join("other/store").join(&unit),
        out.join("store").join(&unit),
    )
    .unwrap();
    let tables_before = std::fs::read(out.join("tables/summary.csv")).unwrap();
    let output = musiclime(&["report"], &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&unit.display().to_string()) && stderr.contains("another config"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(out.join("tables/summary.csv")).unwrap(),
        tables_before
    );
}
