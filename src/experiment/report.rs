//! A run's output from its records: tables, charts and the index (`write_report`), and
//! `musiclime report RUN_DIR`, which regenerates them from the result store without loading
//! any model.

use std::path::{Path, PathBuf};

use super::charts::{write_run_charts, RunData};
use super::config::{ExperimentConfig, GridCell};
use super::manifest::{RunManifest, RunStatus};
use super::shard::shard_of;
use super::store::{ResultStore, UnitRecord};
use super::tables::write_tables;
use crate::error::{Error, Result};
use crate::fs::write_atomically;
use crate::report::index::write_index;

/// Writes the tables, the charts and `index.md` / `index.html` under `output`.
pub fn write_report(
    output: &Path,
    config: &ExperimentConfig,
    cells: &[GridCell],
    records: &[UnitRecord],
    failures: &[(String, String)],
) -> Result<()> {
    let data = write_tables(output, config, cells, records, failures)?;
    let charts = write_run_charts(
        &output.join("charts"),
        &RunData {
            config,
            cells,
            records,
            summaries: &data.summaries,
            accuracy: &data.accuracy,
            global: &data.global,
        },
    )?;
    write_index(output, config.name(), &data.written, &charts)
}

/// What `report` regenerated.
#[derive(Debug)]
pub struct ReportSummary {
    /// The run directory.
    pub output: PathBuf,
    /// Units read from the store.
    pub units: usize,
    /// Units of the plan missing from the store (only with `partial`).
    pub missing: usize,
}

/// Regenerates a run's tables, charts and index from `run_dir/run.json` and its store (the
/// merge of a sharded run). Every unit of the plan must be there, computed by the run's
/// config; with `partial`, what is there is reported and every table and the index say
/// they are partial.
pub fn report(run_dir: &Path, partial: bool) -> Result<ReportSummary> {
    let manifest_path = run_dir.join("run.json");
    let mut manifest = RunManifest::read(&manifest_path)?.ok_or_else(|| {
        Error::in_file(
            run_dir,
            "has no run.json: it is not a run's output directory (run the experiment first)",
        )
    })?;
    let config = manifest.config.clone();
    let cells = config.grid_cells();
    let store = ResultStore::new(&run_dir.join("store"));
    let mut records = Vec::new();
    let mut missing: Vec<(String, usize)> = Vec::new();
    for id in &manifest.instance_ids {
        let mut absent = 0;
        for c in 0..cells.len() {
            for explainer in &config.explainers {
                for repeat in 0..config.repeats {
                    let path = store.path(id, &explainer.name, c, repeat);
                    match store.load_of(&path, &manifest.config_hash)? {
                        Some(r) => records.push(r),
                        None => absent += 1,
                    }
                }
            }
        }
        if absent > 0 {
            missing.push((id.clone(), absent));
        }
    }
    let missing_units: usize = missing.iter().map(|(_, n)| n).sum();
    if missing_units > 0 && !partial {
        return Err(Error::in_file(
            run_dir,
            format!(
                "{missing_units} of {} units are not in the store: {}; run what is missing (`musiclime run CONFIG`, or the shards named), or pass --partial to report what is there",
                manifest.units,
                missing_list(&missing, manifest.shards)
            ),
        ));
    }
    if records.is_empty() {
        return Err(Error::in_file(
            run_dir,
            "its store holds no finished units; run the experiment first",
        ));
    }
    let failures = manifest.failures.clone().unwrap_or_default();
    write_report(run_dir, &config, &cells, &records, &failures)?;
    if missing_units > 0 {
        let note = format!(
            "Partial: {} of {} units ({})",
            records.len(),
            manifest.units,
            missing_list(&missing, manifest.shards)
        );
        mark_partial(run_dir, &note)?;
    } else if manifest.status != RunStatus::Finished {
        manifest.status = RunStatus::Finished;
        manifest.write(&manifest_path)?;
    }
    Ok(ReportSummary {
        output: run_dir.to_path_buf(),
        units: records.len(),
        missing: missing_units,
    })
}

/// Missing units per shard (`shard 2/3: 4 units missing`) when the run was prepared for
/// shards, else per instance (the first ten).
fn missing_list(missing: &[(String, usize)], shards: Option<usize>) -> String {
    match shards {
        Some(count) => {
            let mut per_shard = std::collections::BTreeMap::new();
            for (id, n) in missing {
                *per_shard.entry(shard_of(id, count)).or_insert(0) += n;
            }
            per_shard
                .iter()
                .map(|(k, n)| format!("shard {k}/{count}: {n} units missing"))
                .collect::<Vec<_>>()
                .join(", ")
        }
        None => {
            let mut listed: Vec<String> = missing
                .iter()
                .take(10)
                .map(|(id, n)| format!("{id}: {n} units missing"))
                .collect();
            if missing.len() > 10 {
                listed.push(format!("and {} more instances", missing.len() - 10));
            }
            listed.join(", ")
        }
    }
}

/// Puts `note` at the top of every Markdown and LaTeX table and of `index.md`.
fn mark_partial(run_dir: &Path, note: &str) -> Result<()> {
    let tables = run_dir.join("tables");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&tables)
        .map_err(|e| Error::io(&tables, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md" || x == "tex"))
        .collect();
    files.push(run_dir.join("index.md"));
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
        let marked = match file.extension().is_some_and(|x| x == "tex") {
            true => format!("% {note}\n{text}"),
            false => format!("> **{note}**\n\n{text}"),
        };
        write_atomically(&file, marked.as_bytes())?;
    }
    Ok(())
}
