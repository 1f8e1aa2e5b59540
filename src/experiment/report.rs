//! A run's output from its records: tables, charts and the index (`write_report`), and
//! `musiclime report RUN_DIR`, which regenerates them from the result store without loading
//! any model.

use std::path::{Path, PathBuf};

use super::charts::{write_run_charts, RunData};
use super::config::{ExperimentConfig, GridCell};
use super::manifest::RunManifest;
use super::store::{ResultStore, UnitRecord};
use super::tables::write_tables;
use crate::error::{Error, Result};
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
    /// Units of the plan missing from the store (the run did not finish them).
    pub missing: usize,
}

/// Regenerates a run's tables, charts and index from `run_dir/run.json` and its store.
pub fn report(run_dir: &Path) -> Result<ReportSummary> {
    let manifest_path = run_dir.join("run.json");
    let manifest = RunManifest::read(&manifest_path)?.ok_or_else(|| {
        Error::in_file(
            run_dir,
            "has no run.json: it is not a run's output directory (run the experiment first)",
        )
    })?;
    let config = manifest.config;
    let ids = manifest.instance_ids;
    let failures = manifest.failures.unwrap_or_default();
    let cells = config.grid_cells();
    let store = ResultStore::new(&run_dir.join("store"));
    let mut records = Vec::new();
    let mut missing = 0;
    for id in &ids {
        for c in 0..cells.len() {
            for explainer in &config.explainers {
                for repeat in 0..config.repeats {
                    match store.load(&store.path(id, &explainer.name, c, repeat)) {
                        Some(r) => records.push(r),
                        None => missing += 1,
                    }
                }
            }
        }
    }
    if records.is_empty() {
        return Err(Error::in_file(
            run_dir,
            "its store holds no finished units; run the experiment first",
        ));
    }
    write_report(run_dir, &config, &cells, &records, &failures)?;
    Ok(ReportSummary {
        output: run_dir.to_path_buf(),
        units: records.len(),
        missing,
    })
}
