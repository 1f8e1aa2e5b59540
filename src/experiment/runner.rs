//! The experiment runner, as a short story: check everything before the first model call
//! ([`preflight`](super::preflight)), plan the units (instance × explainer × grid cell ×
//! repeat), take each from the result store or run it ([`unit`](super::unit)), write the
//! report (tables, charts, index), and record the run in `run.json`
//! ([`manifest`](super::manifest)).
//!
//! Order and seeds are fixed by the config (each unit's seed derives from the config's seed, the
//! instance id and the repeat: `ExperimentConfig::unit_seed`), every unit's
//! result depends only on its inputs and seed, and the tables are built from the stored records
//! in config order, so a resumed run's tables are byte-identical to an uninterrupted one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::config::{ExperimentConfig, ExplainerConfig, GridCell};
use super::manifest::{config_hash, RunManifest, RunStatus};
use super::preflight::{preflight, Checked};
use super::report::write_report;
use super::shard::Shard;
use super::stems_cache::SeparatorRef;
use super::store::ResultStore;
use super::unit::{run_unit, InstanceCache, RunContext, Unit};
use crate::error::{Error, Result};
use crate::metrics::MetricSet;
use crate::model::onnx::spec::ExecutionProvider;
use crate::model::onnx::LoadOptions;
use crate::model::Classifier;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Ignore (delete) stored results and start over.
    pub fresh: bool,
    /// Draw progress bars on stderr (only when it is a terminal).
    pub progress: bool,
    /// Execution providers for every ONNX model (overrides the config and the model.yaml).
    pub execution_providers: Option<Vec<ExecutionProvider>>,
    /// Run only this shard's units (into the store of a prepared run; no tables, no run.json).
    pub shard: Option<Shard>,
    /// Check everything and write `run.json` (and a synthetic dataset), computing no unit, so
    /// that shards can start.
    pub prepare_only: bool,
}

impl RunOptions {
    /// How the config's models are loaded: the execution providers of these options, else the
    /// config's.
    pub(crate) fn load_options(&self, config: &ExperimentConfig) -> LoadOptions {
        LoadOptions {
            execution_providers: self
                .execution_providers
                .clone()
                .or_else(|| config.execution_providers.clone()),
            ..LoadOptions::default()
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The output directory.
    pub output: PathBuf,
    /// Units in the experiment.
    pub units: usize,
    /// Units taken from the store instead of computed.
    pub resumed: usize,
    /// Instances skipped (`on_error: skip`) with the reason.
    pub failures: Vec<(String, String)>,
}

/// Checks a config without running it (the same checks as [`run`], writing nothing); returns
/// a one-paragraph summary, or every problem found.
pub fn validate(config_path: &Path, options: &RunOptions) -> Result<String> {
    let config = ExperimentConfig::load(config_path)?;
    let checked = preflight(
        &config,
        config_path,
        &options.load_options(&config),
        false,
        None,
    )?;
    checked.stop_on_problems(config_path)?;
    let n = match checked.instances_known {
        true => checked.checked.instances.len().to_string(),
        false => "the synthetic".into(),
    };
    Ok(format!(
        "{} is valid: {n} instances x {} explainers x {} grid cells x {} repeats; output in {}",
        config_path.display(),
        config.explainers.len(),
        config.grid_cells().len(),
        config.repeats,
        config.output_dir().display()
    ))
}

/// Runs the experiment in `config_path`; returns what it did.
pub fn run(config_path: &Path, options: &RunOptions) -> Result<RunReport> {
    let config = ExperimentConfig::load(config_path)?;
    run_config(config, config_path, options)
}

/// Runs an experiment config that is already loaded (and checked), e.g. one changed in code;
/// `config_path` names it in messages and anchors its relative paths.
pub(crate) fn run_config(
    config: ExperimentConfig,
    config_path: &Path,
    options: &RunOptions,
) -> Result<RunReport> {
    let output = config.output_dir();
    let store = ResultStore::new(&output.join("store"));
    let manifest_path = output.join("run.json");
    match &options.shard {
        Some(shard) => check_shard_output(&config, config_path, &output, options.fresh, shard)?,
        None => prepare_output(&config, config_path, &output, &store, options.fresh)?,
    }
    // Everything that can fail on bad input is checked before the first model call.
    let load = options.load_options(&config);
    let checked = preflight(&config, config_path, &load, true, options.shard.as_ref())?;
    checked.stop_on_problems(config_path)?;
    let Checked {
        instances,
        skipped,
        models,
        truth,
    } = checked.checked;
    let metrics = MetricSet::parse(&config.metrics)
        .map_err(|m| Error::in_file(config_path, format!("unknown metric `{m}`")))?;
    let cells = config.grid_cells();
    let plan = plan(&config, &cells)?;
    let units = instances.len() * plan.len() * config.repeats;
    let mut manifest = RunManifest::new(
        &config,
        config_path,
        instances.iter().map(|i| i.id.clone()).collect(),
        units,
    )?;
    let separators =
        record_models_and_separators(&mut manifest, &models, config_path, &manifest_path, options)?;
    if options.prepare_only {
        manifest.status = RunStatus::Prepared;
        manifest.failures = Some(skipped.clone());
        manifest.write(&manifest_path)?;
        return Ok(RunReport {
            output,
            units,
            resumed: 0,
            failures: skipped,
        });
    }
    // A shard writes only its units: run.json belongs to the prepared run.
    if options.shard.is_none() {
        manifest.write(&manifest_path)?;
    }
    let hash = manifest.config_hash.as_str();
    let context = RunContext {
        separators: &separators,
        config_hash: hash,
        config: &config,
        cells: &cells,
        models: &models,
        metrics: &metrics,
        truth: &truth,
        output: &output,
    };
    let progress = Progress::new(options.progress, units);
    let started = Instant::now();
    let mut records = Vec::with_capacity(units);
    let mut resumed = 0;
    for instance in &instances {
        let mut cache = InstanceCache::new(instance)?;
        for (cell, explainer) in &plan {
            for repeat in 0..config.repeats {
                let path = store.path(&instance.id, &explainer.name, *cell, repeat);
                if let Some(record) = store.load_of(&path, hash)? {
                    records.push(record);
                    resumed += 1;
                    progress.unit_done();
                    continue;
                }
                let unit = Unit {
                    explainer,
                    cell: *cell,
                    repeat,
                };
                let bar = progress.unit_bar(
                    &instance.id,
                    explainer.num_samples.ceiling(explainer.max_samples),
                );
                let record = run_unit(
                    &context,
                    &mut cache,
                    &unit,
                    &mut |done| bar.set_position(done as u64),
                    &mut |note| progress.note(&note),
                )?;
                progress.unit_finished(bar);
                store.save(&path, &record)?;
                records.push(record);
            }
        }
    }
    progress.finish();
    if options.shard.is_some() {
        return Ok(RunReport {
            output,
            units,
            resumed,
            failures: skipped,
        });
    }
    write_report(&output, &config, &cells, &records, &skipped)?;
    manifest.failures = Some(skipped.clone());
    manifest.resumed_units = Some(resumed);
    manifest.wall_seconds = Some(started.elapsed().as_secs_f64());
    manifest.status = RunStatus::Finished;
    manifest.write(&manifest_path)?;
    Ok(RunReport {
        output,
        units,
        resumed,
        failures: skipped,
    })
}

/// `--fresh` clears the store and earlier outputs; otherwise a store computed from another
/// config is refused.
fn prepare_output(
    config: &ExperimentConfig,
    config_path: &Path,
    output: &Path,
    store: &ResultStore,
    fresh: bool,
) -> Result<()> {
    if fresh {
        store.clear()?;
        // tables, charts and listenable audio of earlier runs would otherwise linger
        for dir in ["tables", "charts", "audio"] {
            let dir = output.join(dir);
            if dir.is_dir() {
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
        }
        return Ok(());
    }
    let hash = config_hash(config)?;
    if let Some(previous) = RunManifest::read(&output.join("run.json"))? {
        if previous.config_hash != hash {
            return Err(Error::in_file(
                config_path,
                format!("changed since the results stored in {} were computed; rerun with --fresh (`run_fresh()` in a notebook) or set another `output`", output.display()),
            ));
        }
    }
    Ok(())
}

/// Records in `manifest` the windows the models declare (refusing a resumed run whose stored
/// results were computed with other windows) and the run's ONNX separators; returns those.
fn record_models_and_separators(
    manifest: &mut RunManifest,
    models: &BTreeMap<String, Box<dyn Classifier>>,
    config_path: &Path,
    manifest_path: &Path,
    options: &RunOptions,
) -> Result<BTreeMap<PathBuf, SeparatorRef>> {
    manifest.model_windows = models
        .iter()
        .filter_map(|(name, model)| Some((name.clone(), model.window_seconds()?)))
        .collect();
    if !options.fresh && options.shard.is_none() {
        check_model_windows(manifest, manifest_path, config_path)?;
    }
    let separators = super::stems_cache::separators(&manifest.config, config_path)?;
    manifest.separators = separators
        .iter()
        .map(|(written, s)| (written.display().to_string(), s.cache.display().to_string()))
        .collect();
    Ok(separators)
}

/// The windows the models declare must be the ones the stored results were computed with: the
/// config's hash does not see a model.yaml that gained (or changed) `window_seconds`, and units
/// of the whole clip would mix with units of the window.
fn check_model_windows(manifest: &RunManifest, path: &Path, config_path: &Path) -> Result<()> {
    match RunManifest::read(path)? {
        Some(previous) if previous.model_windows != manifest.model_windows => {
            Err(Error::in_file(
                config_path,
                format!(
                    "the models' windows (model.yaml `window_seconds`) are {:?} now but were {:?} when the results in {} were computed; rerun with --fresh, or set another `output`",
                    manifest.model_windows,
                    previous.model_windows,
                    path.parent().unwrap_or(path).display()
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// A shard runs only inside a prepared run: `run.json` must exist and hold this config's hash
/// (exactly the check a resumed run makes), and `--fresh` would delete other shards' units.
fn check_shard_output(
    config: &ExperimentConfig,
    config_path: &Path,
    output: &Path,
    fresh: bool,
    shard: &Shard,
) -> Result<()> {
    if fresh {
        return Err(Error::input(
            "--fresh",
            format!("shard {shard} would delete the units of every other shard; start over with `musiclime run --fresh --prepare` (or `musiclime slurm --fresh`) first"),
        ));
    }
    let manifest = RunManifest::read(&output.join("run.json"))?.ok_or_else(|| {
        Error::in_file(
            config_path,
            format!("shard {shard}: {} holds no prepared run; prepare it first with `musiclime run {} --prepare` (or `musiclime slurm`)", output.display(), config_path.display()),
        )
    })?;
    if manifest.config_hash != config_hash(config)? {
        return Err(Error::in_file(
            config_path,
            format!("shard {shard}: changed since the run in {} was prepared; prepare it again (with --fresh) or set another `output`", output.display()),
        ));
    }
    Ok(())
}

/// The units of each instance, in run order: grid cells outer, explainers inner, each
/// explainer with its cell's values applied (repeats run innermost).
fn plan(config: &ExperimentConfig, cells: &[GridCell]) -> Result<Vec<(usize, ExplainerConfig)>> {
    let mut plan = Vec::new();
    for (c, cell) in cells.iter().enumerate() {
        for explainer in &config.explainers {
            plan.push((c, explainer.with_cell(cell)?));
        }
    }
    Ok(plan)
}

/// Progress bars on stderr: one for the run's units, one for the samples of the unit running.
struct Progress {
    multi: MultiProgress,
    overall: ProgressBar,
    visible: bool,
}

fn bar_style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Progress {
    fn new(visible: bool, units: usize) -> Self {
        let multi = MultiProgress::with_draw_target(if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let overall = multi.add(ProgressBar::new(units as u64));
        overall.set_style(bar_style(
            "{msg:>12} [{bar:40}] {pos}/{len} units, ETA {eta}",
        ));
        overall.set_message("overall");
        Progress {
            multi,
            overall,
            visible: visible && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }

    fn unit_bar(&self, instance: &str, samples: usize) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(samples as u64));
        bar.set_style(bar_style("{msg:>12} [{bar:40}] {pos}/{len} samples"));
        bar.set_message(instance.to_string());
        bar
    }

    fn unit_finished(&self, bar: ProgressBar) {
        bar.finish_and_clear();
        self.multi.remove(&bar);
        self.unit_done();
    }

    fn unit_done(&self) {
        self.overall.inc(1);
    }

    /// A note above the bars, or a plain line on stderr when there are no bars (not a
    /// terminal: a log file, a SLURM job), where indicatif would print nothing.
    fn note(&self, text: &str) {
        match self.visible {
            true => {
                let _ = self.multi.println(format!("note: {text}"));
            }
            false => eprintln!("note: {text}"),
        }
    }

    fn finish(&self) {
        self.overall.finish_and_clear();
    }
}
