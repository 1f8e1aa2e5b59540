//! `musiclime slurm`: a run as a SLURM job array of shards plus a merge job.
//!
//! The run is prepared here first (every check, `run.json`, a synthetic dataset), so a bad
//! config fails on the login node, not in N array tasks. Then two scripts go to
//! `<output>/slurm/`: `shards.sbatch`, an array `1-N` whose task K runs `musiclime run CONFIG
//! --shard K/N`, and `merge.sbatch`, which runs `musiclime report <output>`; with `submit`
//! both are submitted, the merge with `--dependency=afterok:<array job>`.

use std::path::{Path, PathBuf};

use super::config::{ExperimentConfig, SlurmConfig};
use super::manifest::RunManifest;
use super::runner::{run_config, RunOptions};
use crate::error::{Error, Result};
use crate::fs::write_atomically;

/// What `musiclime slurm` wrote (and submitted).
#[derive(Debug, Clone)]
pub struct SlurmLaunch {
    /// The shards' array script.
    pub shards_script: PathBuf,
    /// The merge script.
    pub merge_script: PathBuf,
    /// Array tasks (shards).
    pub shards: usize,
    /// Units of the run.
    pub units: usize,
    /// `(array job id, merge job id)` when submitted.
    pub jobs: Option<(String, String)>,
}

/// The settings of a launch: the config's `slurm:` with the command line's flags on top.
pub(crate) fn merged_settings(config: &ExperimentConfig, flags: &SlurmConfig) -> SlurmConfig {
    let base = config.slurm.clone().unwrap_or_default();
    SlurmConfig {
        shards: flags.shards.or(base.shards),
        parallel: flags.parallel.or(base.parallel),
        partition: flags.partition.clone().or(base.partition),
        time: flags.time.clone().or(base.time),
        cpus: flags.cpus.or(base.cpus),
        gpus: flags.gpus.or(base.gpus),
        sbatch_args: [base.sbatch_args, flags.sbatch_args.clone()].concat(),
    }
}

/// Prepares the run of `config_path` for `settings.shards` shards, writes the two scripts and,
/// with `submit`, submits them with `sbatch` (which must be on `PATH`: checked before anything
/// is written).
pub fn launch(
    config_path: &Path,
    flags: &SlurmConfig,
    options: &RunOptions,
    submit: bool,
) -> Result<SlurmLaunch> {
    let config = ExperimentConfig::load(config_path)?;
    let settings = merged_settings(&config, flags);
    let shards = settings.shards.ok_or_else(|| {
        Error::input(
            "--shards",
            "how many shards? pass --shards N or set `slurm: {shards: N}` in the config",
        )
    })?;
    if shards == 0 || settings.parallel == Some(0) {
        return Err(Error::input(
            "--shards",
            "--shards and --parallel must be at least 1",
        ));
    }
    if submit && find_on_path("sbatch").is_none() {
        return Err(Error::input(
            "--submit",
            "`sbatch` is not on PATH; run this on a SLURM login node, or leave out --submit to only write the scripts (then copy them there and run `sbatch` as their header says)",
        ));
    }
    let exe = std::env::current_exe().map_err(|e| Error::io(Path::new("musiclime"), e))?;
    let config_abs = absolute(config_path)?;
    let workdir = absolute(Path::new("."))?;
    let output = workdir.join(config.output_dir());
    let prepare = RunOptions {
        prepare_only: true,
        shard: None,
        progress: false,
        ..options.clone()
    };
    let prepared = run_config(config.clone(), config_path, &prepare)?;
    let manifest_path = output.join("run.json");
    if let Some(mut manifest) = RunManifest::read(&manifest_path)? {
        manifest.shards = Some(shards);
        manifest.write(&manifest_path)?;
    }
    let dir = output.join("slurm");
    let paths = ScriptPaths {
        exe: &exe,
        config: &config_abs,
        workdir: &workdir,
        output: &output,
        logs: &dir.join("logs"),
    };
    std::fs::create_dir_all(paths.logs).map_err(|e| Error::io(paths.logs, e))?;
    let shards_script = dir.join("shards.sbatch");
    let merge_script = dir.join("merge.sbatch");
    write_atomically(
        &shards_script,
        shards_sbatch(config.name(), &settings, shards, &paths).as_bytes(),
    )?;
    write_atomically(
        &merge_script,
        merge_sbatch(config.name(), &settings, &paths).as_bytes(),
    )?;
    let jobs = match submit {
        true => {
            let array = sbatch(&[], &shards_script)?;
            let merge = sbatch(&[format!("--dependency=afterok:{array}")], &merge_script)?;
            Some((array, merge))
        }
        false => None,
    };
    Ok(SlurmLaunch {
        shards_script,
        merge_script,
        shards,
        units: prepared.units,
        jobs,
    })
}

/// Absolute paths the scripts name.
struct ScriptPaths<'a> {
    exe: &'a Path,
    config: &'a Path,
    workdir: &'a Path,
    output: &'a Path,
    logs: &'a Path,
}

/// The `#SBATCH` lines every script shares: name, working directory, log, resources.
fn header(name: &str, log: &Path, workdir: &Path, settings: &SlurmConfig) -> Vec<String> {
    let mut lines = vec![
        "#!/bin/bash".to_string(),
        format!("#SBATCH --job-name={}", sbatch_word(name)),
        format!("#SBATCH --chdir={}", sbatch_path(workdir)),
        format!("#SBATCH --output={}", sbatch_path(log)),
    ];
    if let Some(p) = &settings.partition {
        lines.push(format!("#SBATCH --partition={}", sbatch_word(p)));
    }
    if let Some(t) = &settings.time {
        lines.push(format!("#SBATCH --time={}", sbatch_word(t)));
    }
    if let Some(c) = settings.cpus {
        lines.push(format!("#SBATCH --cpus-per-task={c}"));
    }
    if let Some(g) = settings.gpus {
        lines.push(format!("#SBATCH --gpus={g}"));
    }
    for arg in &settings.sbatch_args {
        lines.push(format!("#SBATCH {arg}"));
    }
    lines
}

/// The array script: task K runs shard K of N.
fn shards_sbatch(name: &str, settings: &SlurmConfig, shards: usize, paths: &ScriptPaths) -> String {
    let mut lines = header(
        &format!("{name}-shards"),
        &paths.logs.join("shard-%a.out"),
        paths.workdir,
        settings,
    );
    let throttle = settings
        .parallel
        .map(|k| format!("%{k}"))
        .unwrap_or_default();
    lines.insert(2, format!("#SBATCH --array=1-{shards}{throttle}"));
    lines.extend([
        String::new(),
        "# One shard of a musiclime run (written by `musiclime slurm`). Submit with".into(),
        "#   A=$(sbatch --parsable shards.sbatch)".into(),
        "#   sbatch --dependency=afterok:${A%%;*} merge.sbatch".into(),
        "# Rerun one shard K alone with: sbatch --array=K shards.sbatch".into(),
        "set -euo pipefail".into(),
        "if [ -n \"${SLURM_CPUS_PER_TASK:-}\" ]; then export RAYON_NUM_THREADS=$SLURM_CPUS_PER_TASK; fi".into(),
        format!(
            "exec {} run {} --shard \"${{SLURM_ARRAY_TASK_ID}}/{shards}\"",
            quote(paths.exe),
            quote(paths.config)
        ),
        String::new(),
    ]);
    lines.join("\n")
}

/// The merge script: tables, charts and index from the store, once every shard is done.
fn merge_sbatch(name: &str, settings: &SlurmConfig, paths: &ScriptPaths) -> String {
    let merge = SlurmConfig {
        gpus: None,
        ..settings.clone()
    };
    let mut lines = header(
        &format!("{name}-merge"),
        &paths.logs.join("merge-%j.out"),
        paths.workdir,
        &merge,
    );
    lines.extend([
        String::new(),
        "# Merges the shards of a musiclime run (written by `musiclime slurm`).".into(),
        "set -euo pipefail".into(),
        format!("exec {} report {}", quote(paths.exe), quote(paths.output)),
        String::new(),
    ]);
    lines.join("\n")
}

/// Submits `script` with `args`; the job id (`--parsable`, cluster name dropped).
fn sbatch(args: &[String], script: &Path) -> Result<String> {
    let output = std::process::Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .arg(script)
        .output()
        .map_err(|e| Error::io(script, e))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let id = stdout
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    if !output.status.success() || id.is_empty() {
        return Err(Error::in_file(
            script,
            format!(
                "sbatch refused it: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    Ok(id)
}

/// The first `name` in the directories of `PATH`.
fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path, e))
}

/// `path` single-quoted for bash.
fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

/// A path for an `#SBATCH` line: bare, or in double quotes when it holds white space.
fn sbatch_path(path: &Path) -> String {
    let text = path.display().to_string();
    match text.contains(char::is_whitespace) {
        true => format!("\"{text}\""),
        false => text,
    }
}

/// A value for an `#SBATCH` line (which sbatch splits at white space): spaces become `_`.
fn sbatch_word(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_array_script_runs_shard_k_of_n_with_the_resources_asked_for() {
        let settings = SlurmConfig {
            shards: Some(3),
            parallel: Some(2),
            partition: Some("gpu".into()),
            time: Some("04:00:00".into()),
            cpus: Some(8),
            gpus: Some(1),
            sbatch_args: vec!["--account=lab".into()],
        };
        let paths = ScriptPaths {
            exe: Path::new("/opt/bin/musiclime"),
            config: Path::new("/home/me/it's.yaml"),
            workdir: Path::new("/home/me"),
            output: Path::new("/home/me/reports/x"),
            logs: Path::new("/home/me/reports/x/slurm/logs"),
        };
        let script = shards_sbatch("my run", &settings, 3, &paths);
        for line in [
            "#SBATCH --array=1-3%2",
            "#SBATCH --job-name=my_run-shards",
            "#SBATCH --partition=gpu",
            "#SBATCH --time=04:00:00",
            "#SBATCH --cpus-per-task=8",
            "#SBATCH --gpus=1",
            "#SBATCH --account=lab",
            "#SBATCH --output=/home/me/reports/x/slurm/logs/shard-%a.out",
            r#"exec '/opt/bin/musiclime' run '/home/me/it'\''s.yaml' --shard "${SLURM_ARRAY_TASK_ID}/3""#,
        ] {
            assert!(
                script.lines().any(|l| l == line),
                "{line} missing:\n{script}"
            );
        }
        let merge = merge_sbatch("my run", &settings, &paths);
        assert!(merge.contains("exec '/opt/bin/musiclime' report '/home/me/reports/x'"));
        assert!(!merge.contains("--gpus"), "{merge}");
    }
}
