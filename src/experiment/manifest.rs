//! `run.json`: what a run is (its config and the config's hash, the crate version, the git
//! commit, the seeds and the instances) and how it went. Read and written only through
//! [`RunManifest`].

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::config::ExperimentConfig;
use crate::error::{Error, Result};
use crate::fs::write_atomically;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Checked and planned, no unit computed yet (`run --prepare`, `musiclime slurm`): shards
    /// may start.
    Prepared,
    /// Units are being computed.
    Running,
    /// Every unit is in the store and the tables are written.
    Finished,
}

/// The contents of `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// The config as it was run.
    pub config: ExperimentConfig,
    /// The config file's path.
    pub config_file: String,
    /// [`config_hash`] of `config`: stored units belong to this config only.
    pub config_hash: String,
    /// The crate version that ran it.
    pub musiclime_version: String,
    /// The git commit of the working directory, when known.
    pub git_commit: Option<String>,
    /// The config's seed (a unit's seed derives from it, its instance and its repeat).
    pub seed: u64,
    /// Number of readable instances.
    pub instances: usize,
    /// Their ids, in run order.
    pub instance_ids: Vec<String>,
    /// Units of the plan (instances × explainers × grid cells × repeats).
    pub units: usize,
    /// How many shards the run was prepared for (`musiclime slurm --shards N`), so that a
    /// report can say which shard's units are missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<usize>,
    /// Instances skipped (`on_error: skip`) and why (once finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<Vec<(String, String)>>,
    /// Units taken from the store instead of computed (once finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_units: Option<usize>,
    /// Wall time of the run in seconds (once finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_seconds: Option<f64>,
    /// Where the run stands.
    pub status: RunStatus,
    /// The seconds of audio each model that declares a window reads (model.yaml
    /// `window_seconds`), by config name: with the explainers' `audio_window` (default `model`)
    /// this says which part of each clip was explained.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub model_windows: std::collections::BTreeMap<String, f64>,
    /// The ONNX separators the explainers name (as the config writes them) and the directory
    /// their stems are cached in.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub separators: std::collections::BTreeMap<String, String>,
}

/// The fingerprint of a config (FNV-1a 64 of its canonical JSON, without `slurm:`): stable across processes and
/// machines, so a resumed run or another shard can tell whether stored units are its own.
pub fn config_hash(config: &ExperimentConfig) -> Result<String> {
    // Where a run computes (`slurm:`) does not change what it computes.
    let computed = ExperimentConfig {
        slurm: None,
        ..config.clone()
    };
    let canonical =
        serde_json::to_string(&computed).map_err(|e| Error::serialization("the config", e))?;
    Ok(format!(
        "{:016x}",
        crate::fingerprint::fnv1a(canonical.bytes())
    ))
}

impl RunManifest {
    /// The manifest of a run about to start (status `running`).
    pub fn new(
        config: &ExperimentConfig,
        config_path: &Path,
        instance_ids: Vec<String>,
        units: usize,
    ) -> Result<RunManifest> {
        Ok(RunManifest {
            config: config.clone(),
            config_file: config_path.display().to_string(),
            config_hash: config_hash(config)?,
            musiclime_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: git_commit(),
            seed: config.seed,
            instances: instance_ids.len(),
            instance_ids,
            units,
            shards: None,
            failures: None,
            resumed_units: None,
            wall_seconds: None,
            status: RunStatus::Running,
            model_windows: Default::default(),
            separators: Default::default(),
        })
    }

    /// Reads `path`; `None` when it does not exist.
    pub fn read(path: &Path) -> Result<Option<RunManifest>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::in_file(
                path,
                format!("not a run manifest of this musiclime ({e}); rerun the experiment with --fresh, or set another `output`"),
            )
        })
    }

    /// Writes it to `path`, atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text =
            serde_json::to_string_pretty(self).map_err(|e| Error::serialization("run.json", e))?;
        write_atomically(path, text.as_bytes())
    }
}

/// The working directory's git commit, when it is a git checkout.
fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
