//! The experiment config (YAML). Unknown keys are rejected, and every error names the key path,
//! the line and the column.
//!
//! ```yaml
//! name: quickstart                 # optional; default: the file's stem
//! seed: 0                          # base seed of every unit's seed (see `unit_seed`)
//! dataset:
//!   synthetic: {tracks: 6, seed: 1, seconds: 10, classes: 3}   # or  manifest: data/manifest.csv
//!   limit: 6                       # optional: first N instances (after shuffling, if asked)
//!   shuffle_seed: 3                # optional
//!   split: test                    # optional: rows of the manifest's `split` column
//! models:
//!   planted: builtin:planted
//! explainers:
//!   - {name: musiclime, method: musiclime, model: planted, num_samples: 1000}
//!   - {name: lime_audio, method: lime_audio, model: planted}
//! repeats: 3
//! metrics: [score, local_error, precision_at_k_audio]   # see metrics::catalogue
//! grid:
//!   num_samples: [250, 1000]
//! output: reports/quickstart       # default: reports/<name>
//! on_error: stop                   # or skip
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::explainer::adaptive::AdaptiveSampling;
pub use crate::explainer::adaptive::NumSamples;
pub use crate::explainer::Method;
pub use crate::factorize::{AudioWindow, FactorizationKind};
use crate::synth::SynthParams;

/// A whole experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name of the experiment (default: the config file's stem).
    #[serde(default)]
    pub name: Option<String>,
    /// Base seed: the unit of instance `i` in repeat `r` samples with
    /// [`unit_seed`](Self::unit_seed)`(i, r)`.
    #[serde(default)]
    pub seed: u64,
    /// The instances to explain.
    pub dataset: DatasetConfig,
    /// Models by name: `builtin:<name>`, or the path of a `model.yaml` (relative to the config).
    pub models: BTreeMap<String, String>,
    /// The explainers to compare.
    pub explainers: Vec<ExplainerConfig>,
    /// Repeats with different seeds (for stability).
    #[serde(default = "one")]
    pub repeats: usize,
    /// Metrics to compute: `score` (surrogate weighted R²), `local_error` (|f(x) − g(x)|).
    #[serde(default = "default_metrics")]
    pub metrics: Vec<String>,
    /// Explainer parameters swept as lists; the runner runs their Cartesian product.
    #[serde(default)]
    pub grid: BTreeMap<String, Vec<serde_norway::Value>>,
    /// Output directory (default `reports/<name>`), relative to the working directory.
    #[serde(default)]
    pub output: Option<PathBuf>,
    /// What to do with an instance whose files are missing or corrupt.
    #[serde(default)]
    pub on_error: OnError,
    /// ONNX Runtime execution providers for every ONNX model, in order of preference
    /// (overrides each model.yaml's `execution_providers`; `--execution-providers` overrides
    /// this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_providers: Option<Vec<crate::model::onnx::spec::ExecutionProvider>>,
    /// How the run's report compares explainers: a reference explainer and a compact paper
    /// table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportConfig>,
    /// Listenable explanations (opt-in): for the first grid cell and repeat, a WAV of the top-k
    /// positive audio components and one of the remainder, under `<output>/audio/`.
    #[serde(default)]
    pub listen: Option<ListenConfig>,
    /// How `musiclime slurm` launches the run on a SLURM cluster (its flags override these).
    /// Not part of the config's hash: where a run computes does not change its results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<SlurmConfig>,
}

/// `slurm:` — the defaults of `musiclime slurm` for this config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmConfig {
    /// Shards (array tasks).
    #[serde(default)]
    pub shards: Option<usize>,
    /// At most this many tasks at once (`--array=1-N%K`).
    #[serde(default)]
    pub parallel: Option<usize>,
    /// `--partition`.
    #[serde(default)]
    pub partition: Option<String>,
    /// `--time` of each task (e.g. `04:00:00`).
    #[serde(default)]
    pub time: Option<String>,
    /// `--cpus-per-task`.
    #[serde(default)]
    pub cpus: Option<usize>,
    /// `--gpus` per task.
    #[serde(default)]
    pub gpus: Option<usize>,
    /// Further `#SBATCH` arguments, verbatim (e.g. `--account=abc`, `--mem=16G`).
    #[serde(default)]
    pub sbatch_args: Vec<String>,
}

/// `report:` — how explainers are compared in the tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// Compare each explainer with this one in `comparisons` (default: every pair).
    #[serde(default)]
    pub reference: Option<String>,
    /// A compact table for a paper: `tables/paper.{md,tex,...}`.
    #[serde(default)]
    pub table: Option<PaperTable>,
}

/// `report.table:` — explainers as rows, chosen metrics as columns, `mean ± CI` over
/// instances, the significantly best in bold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperTable {
    /// Metrics (each one of the config's `metrics`), in column order.
    pub metrics: Vec<String>,
    /// Explainers to show, in the config's order (default: all).
    #[serde(default)]
    pub explainers: Option<Vec<String>>,
}

/// `listen:` — which audio components make the listenable explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenConfig {
    /// Components with the largest positive weights that go into `<…>_top.wav`.
    pub top_k: usize,
}

fn one() -> usize {
    1
}

fn default_metrics() -> Vec<String> {
    vec!["score".into(), "local_error".into()]
}

/// What to do with bad instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// Stop before any work starts.
    #[default]
    Stop,
    /// Skip the instance and list it in the `failures` table.
    Skip,
}

/// Where the instances come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// A manifest (CSV or JSONL) with `id`, `audio`, `lyrics` (path or inline text), optional
    /// `label` and `stems`; paths are relative to the manifest (and the manifest to the config).
    #[serde(default)]
    pub manifest: Option<PathBuf>,
    /// Or the synthetic benchmark, generated into `<output>/data`.
    #[serde(default)]
    pub synthetic: Option<SynthParams>,
    /// Use only the first `limit` instances.
    #[serde(default)]
    pub limit: Option<usize>,
    /// Shuffle the instances with this seed before `limit`.
    #[serde(default)]
    pub shuffle_seed: Option<u64>,
    /// Keep only the manifest rows whose `split` column has this value (e.g. `test`).
    #[serde(default)]
    pub split: Option<String>,
    /// Planted ground truth for a manifest (`{"<id>": {"audio": [...], "words": [...]}}`, as
    /// `musiclime synth` writes it); synthetic datasets have theirs.
    #[serde(default)]
    pub ground_truth: Option<PathBuf>,
}

/// One explainer and its parameters (each may be swept in `grid`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainerConfig {
    /// Unique name, used in tables.
    pub name: String,
    /// `musiclime`, `lime_audio`, `lime_lyrics`, `lime_separate`, `random`, `oracle`,
    /// `oracle_audio` or `oracle_lyrics`.
    pub method: Method,
    /// A key of `models`.
    pub model: String,
    /// Neighbourhood size: a number of rows, or `auto` (rounds of `auto_round` rows up to
    /// `max_samples`, stopping once the explanation is stable).
    #[serde(default = "default_num_samples")]
    pub num_samples: NumSamples,
    // The `auto` keys are written only when they differ from their defaults, so that a config
    // that does not use them keeps the hash (and the result store) it had before they existed.
    /// `num_samples: auto`: the most rows drawn.
    #[serde(
        default = "default_max_samples",
        skip_serializing_if = "is_default_max_samples"
    )]
    pub max_samples: usize,
    /// `num_samples: auto`: rows per round.
    #[serde(
        default = "default_auto_round",
        skip_serializing_if = "is_default_auto_round"
    )]
    pub auto_round: usize,
    /// `num_samples: auto`: stop once every explained label's top-k features are stable with
    /// this posterior probability.
    #[serde(
        default = "default_auto_stability",
        skip_serializing_if = "is_default_auto_stability"
    )]
    pub auto_stability: f64,
    /// `num_samples: auto`: or once each top-k weight's 95% credible half-width is at most
    /// this fraction of the largest |weight| (`null`: the stability target only).
    #[serde(
        default = "default_auto_relative_width",
        skip_serializing_if = "is_default_auto_relative_width"
    )]
    pub auto_relative_width: Option<f64>,
    /// `num_samples: auto`: and, when given, once each top-k half-width is at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_half_width: Option<f64>,
    /// Number of time segments.
    #[serde(default = "default_segments")]
    pub segments: usize,
    /// Source separation: `stems` (the manifest's), `hpss`, `temporal`, or `{separator:
    /// PATH}` (an ONNX separator.yaml, relative to the config: stems computed once per track
    /// and cached under the run's `stems/`).
    #[serde(default)]
    pub factorization: FactorizationChoice,
    /// Which part of each clip is explained (segments divide it): `model` (the window the
    /// model declares it reads; the whole clip when it declares none), `all`, or `START..END`
    /// in seconds. Written only when not `model`, so older configs keep their hash.
    #[serde(default, skip_serializing_if = "AudioWindow::is_default")]
    pub audio_window: AudioWindow,
    /// Exponential kernel width.
    #[serde(default = "default_kernel_width")]
    pub kernel_width: f64,
    /// Factor on cosine distances.
    #[serde(default = "default_distance_scale")]
    pub distance_scale: f64,
    /// `lime` or `kernelshap`.
    #[serde(default = "default_kernel")]
    pub kernel: crate::neighborhood::kernel::Kernel,
    /// Feature selection method.
    #[serde(default = "default_feature_selection")]
    pub feature_selection: crate::surrogate::FeatureSelection,
    /// Maximum features per explanation.
    #[serde(default = "default_num_features")]
    pub num_features: usize,
    /// `paper`, `lime_text` or `crossed` (split models).
    #[serde(default = "default_sampler")]
    pub sampler: crate::neighborhood::sampler::SamplerKind,
    /// `sampler: crossed`: the number of audio masks (default: the square root of
    /// `num_samples`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_masks: Option<usize>,
    /// Explicit labels, by class index or name (the predicted label is always added).
    #[serde(default)]
    pub labels: Option<Vec<crate::explanation::LabelRef>>,
    /// Or the top K labels.
    #[serde(default)]
    pub top_labels: Option<usize>,
    /// Or every class scoring at least this (multi-label taggers: every predicted tag), in
    /// [0, 1]; the predicted label is always added.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Perturbed samples composed together.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// The most model items (clips × patches) in one model run (default: the model's
    /// `max_batch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_batch: Option<usize>,
    /// Run each distinct model item once (default `true`; `false` for comparisons only).
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub memoise: bool,
}

/// An explainer's `factorization`: a built-in one by name, or an ONNX separator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FactorizationChoice {
    /// `stems`, `hpss` or `temporal`.
    Builtin(FactorizationKind),
    /// `{separator: PATH}`: the stems of an ONNX separator (a separator.yaml).
    Separator {
        /// The separator.yaml, relative to the config.
        separator: std::path::PathBuf,
    },
}

impl Default for FactorizationChoice {
    fn default() -> Self {
        FactorizationChoice::Builtin(FactorizationKind::default())
    }
}

fn default_true() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

// Every default comes from the library's parameter structs: a config, the command line and a
// notebook explain with the same settings unless told otherwise.
fn default_num_samples() -> NumSamples {
    NumSamples::Fixed(crate::neighborhood::sampler::SamplerParams::default().num_samples)
}
fn default_max_samples() -> usize {
    crate::explainer::adaptive::DEFAULT_CEILING
}
fn default_auto_round() -> usize {
    AdaptiveSampling::default().round
}
fn default_auto_stability() -> f64 {
    AdaptiveSampling::default().stability
}
fn default_auto_relative_width() -> Option<f64> {
    AdaptiveSampling::default().relative_width
}
fn is_default_max_samples(n: &usize) -> bool {
    *n == default_max_samples()
}
fn is_default_auto_round(n: &usize) -> bool {
    *n == default_auto_round()
}
fn is_default_auto_stability(p: &f64) -> bool {
    *p == default_auto_stability()
}
fn is_default_auto_relative_width(r: &Option<f64>) -> bool {
    *r == default_auto_relative_width()
}
fn default_segments() -> usize {
    crate::factorize::DEFAULT_SEGMENTS
}
fn default_kernel_width() -> f64 {
    crate::neighborhood::kernel::KernelParams::default().kernel_width
}
fn default_distance_scale() -> f64 {
    crate::neighborhood::kernel::KernelParams::default().distance_scale
}
fn default_kernel() -> crate::neighborhood::kernel::Kernel {
    crate::neighborhood::kernel::KernelParams::default().kernel
}
fn default_feature_selection() -> crate::surrogate::FeatureSelection {
    crate::surrogate::SurrogateParams::default().feature_selection
}
fn default_sampler() -> crate::neighborhood::sampler::SamplerKind {
    crate::neighborhood::sampler::SamplerParams::default().sampler
}
fn default_num_features() -> usize {
    crate::surrogate::SurrogateParams::default().num_features
}
fn default_batch_size() -> usize {
    crate::explainer::ExplainParams::default().batch_size
}

/// One cell of the grid: the swept parameters' values, and its name (`num_samples=250`).
#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    /// `key=value` pairs joined by `,` (or `default` when there is no grid).
    pub name: String,
    /// The swept parameters and their values, in key order.
    pub values: Vec<(String, serde_norway::Value)>,
}

impl ExperimentConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<ExperimentConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut config = Self::parse(&text, path)?;
        if config.name.is_none() {
            config.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        config.check(path)?;
        Ok(config)
    }

    /// Parses YAML text; `path` is used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<ExperimentConfig> {
        let deserializer = serde_norway::Deserializer::from_str(text);
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            let bare_key = key.clone();
            let at = inner
                .location()
                .map(|l| format!("line {}, column {}", l.line(), l.column()))
                .unwrap_or_else(|| "unknown position".into());
            let key = if key == "." {
                "the top level".to_string()
            } else {
                format!("`{key}`")
            };
            // serde_norway appends the position to its message; it is already in front.
            let message = inner.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message);
            let message = message
                .strip_prefix(&format!("{bare_key}: "))
                .unwrap_or(message)
                .to_string();
            Error::in_file(path, format!("{at}: at {key}: {message}"))
        })
    }

    /// The sampler seed of one unit: FNV-1a 64 of the config's `seed`, the instance id and the
    /// repeat (explainers and grid cells of one instance and repeat share it, a paired design).
    /// Every instance draws its own masks, and a unit's seed depends neither on the order of the
    /// instances nor on how a run is split.
    pub fn unit_seed(&self, instance: &str, repeat: usize) -> u64 {
        crate::fingerprint::fnv1a(
            self.seed
                .to_le_bytes()
                .into_iter()
                .chain(instance.bytes())
                .chain([0xff])
                .chain((repeat as u64).to_le_bytes()),
        )
    }

    /// The seed of an instance, whatever the repeat: FNV-1a 64 of the config's `seed` and the
    /// instance id (the tie-break permutation of top-k and ground-truth rankings derives from
    /// it, so that ties are broken the same way in every repeat).
    pub(crate) fn instance_seed(&self, instance: &str) -> u64 {
        crate::fingerprint::fnv1a(
            self.seed
                .to_le_bytes()
                .into_iter()
                .chain(instance.bytes())
                .chain([0xfc]),
        )
    }

    /// Every seed of the unit of `instance` in `repeat`, by purpose (sampler, fidelity order,
    /// faithfulness subsets, robustness, ties; see [`crate::seeds`]).
    pub fn unit_seeds(&self, instance: &str, repeat: usize) -> crate::seeds::UnitSeeds {
        crate::seeds::UnitSeeds::new(
            self.unit_seed(instance, repeat),
            self.instance_seed(instance),
        )
    }

    /// The cap on items per run for every run of model `model` that belongs to no one
    /// explainer (attention maps, clip scores): the smallest `max_batch` any explainer of the
    /// model sets, in any grid cell (`None`: the model's own).
    pub(crate) fn max_batch_of(&self, model: &str) -> Option<usize> {
        let cells = self.grid_cells();
        self.explainers
            .iter()
            .filter(|e| e.model == model)
            .flat_map(|e| cells.iter().filter_map(move |c| e.with_cell(c).ok()))
            .filter_map(|e| e.max_batch)
            .min()
    }

    /// The experiment's name.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("experiment")
    }

    /// The output directory.
    pub(crate) fn output_dir(&self) -> PathBuf {
        self.output
            .clone()
            .unwrap_or_else(|| PathBuf::from("reports").join(self.name()))
    }

    /// Checks cross-references and ranges; `path` names the file in messages.
    pub fn check(&self, path: &Path) -> Result<()> {
        let bad = |key: String, message: String| {
            Err(Error::in_file(path, format!("at `{key}`: {message}")))
        };
        match (&self.dataset.manifest, &self.dataset.synthetic) {
            (None, None) => {
                return bad(
                    "dataset".into(),
                    "give either `manifest` or `synthetic`".into(),
                )
            }
            (Some(_), Some(_)) => {
                return bad(
                    "dataset".into(),
                    "give `manifest` or `synthetic`, not both".into(),
                )
            }
            (None, Some(synth)) => synth
                .check()
                .or_else(|e| bad("dataset.synthetic".into(), e.to_string()))?,
            _ => {}
        }
        if self.models.is_empty() {
            return bad(
                "models".into(),
                "name at least one model, e.g. `planted: builtin:planted`".into(),
            );
        }
        if self.explainers.is_empty() {
            return bad("explainers".into(), "list at least one explainer".into());
        }
        if self.repeats == 0 {
            return bad("repeats".into(), "must be at least 1".into());
        }
        if let Some(list) = &self.execution_providers {
            crate::model::onnx::spec::check_execution_providers(list, "execution_providers")
                .or_else(|e| bad("execution_providers".into(), e.to_string()))?;
        }
        if matches!(&self.listen, Some(l) if l.top_k == 0) {
            return bad("listen.top_k".into(), "must be at least 1".into());
        }
        for metric in &self.metrics {
            match crate::metrics::info(metric) {
                None => {
                    let known: Vec<&str> = crate::metrics::catalogue().map(|m| m.name).collect();
                    return bad(
                        "metrics".into(),
                        format!("unknown metric `{metric}`; known: {}", known.join(", ")),
                    );
                }
                Some(info)
                    if info.needs_ground_truth
                        && self.dataset.synthetic.is_none()
                        && self.dataset.ground_truth.is_none() =>
                {
                    return bad(
                        "metrics".into(),
                        format!("`{metric}` needs planted ground truth: use a synthetic dataset or give `dataset.ground_truth`"),
                    );
                }
                Some(_) => {}
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, explainer) in self.explainers.iter().enumerate() {
            if !names.insert(&explainer.name) {
                return bad(
                    format!("explainers[{i}].name"),
                    format!("`{}` is used twice; names must be unique", explainer.name),
                );
            }
            if let Err(message) = explainer.check_labels() {
                return bad(format!("explainers[{i}]"), message);
            }
            if !self.models.contains_key(&explainer.model) {
                let known: Vec<&String> = self.models.keys().collect();
                return bad(
                    format!("explainers[{i}].model"),
                    format!(
                        "unknown model `{}`; the config defines {known:?}",
                        explainer.model
                    ),
                );
            }
        }
        if let Some(report) = &self.report {
            self.check_report(report)
                .or_else(|(key, message)| bad(key, message))?;
        }
        for (key, values) in &self.grid {
            if values.is_empty() {
                return bad(format!("grid.{key}"), "give at least one value".into());
            }
        }
        for cell in self.grid_cells() {
            for (i, explainer) in self.explainers.iter().enumerate() {
                let swept = explainer.with_cell(&cell).map_err(|e| {
                    Error::in_file(path, format!("at `grid` for `explainers[{i}]`: {e}"))
                })?;
                if let Err(message) = swept.check_labels().and_then(|()| swept.check_params()) {
                    let at = match cell.values.is_empty() {
                        true => format!("explainers[{i}]"),
                        false => format!("grid ({}) for `explainers[{i}]`", cell.name),
                    };
                    return bad(at, message);
                }
            }
        }
        Ok(())
    }

    /// `report:` names configured explainers and metrics, and a reference needs someone to be
    /// compared with.
    fn check_report(&self, report: &ReportConfig) -> std::result::Result<(), (String, String)> {
        let explainers: Vec<&String> = self.explainers.iter().map(|e| &e.name).collect();
        if let Some(reference) = &report.reference {
            if !explainers.contains(&reference) {
                return Err((
                    "report.reference".into(),
                    format!("`{reference}` is not an explainer of this config; the explainers are {explainers:?}"),
                ));
            }
            if explainers.len() < 2 {
                return Err((
                    "report.reference".into(),
                    "a paired comparison needs at least two explainers; add another explainer or remove `reference`".into(),
                ));
            }
        }
        if let Some(table) = &report.table {
            if let (Some(reference), Some(listed)) = (&report.reference, &table.explainers) {
                if !listed.contains(reference) {
                    return Err((
                        "report.table.explainers".into(),
                        format!("does not list the reference `{reference}`, so the table could not show what each baseline is compared with; add `{reference}` to `report.table.explainers` or name a listed explainer as `report.reference`"),
                    ));
                }
            }
            if table.metrics.is_empty() {
                return Err((
                    "report.table.metrics".into(),
                    "list at least one metric".into(),
                ));
            }
            if let Some(m) = table.metrics.iter().find(|m| !self.metrics.contains(m)) {
                return Err((
                    "report.table.metrics".into(),
                    format!(
                        "`{m}` is not one of the config's `metrics` ({:?}); add it there first",
                        self.metrics
                    ),
                ));
            }
            if let Some(e) = table
                .explainers
                .iter()
                .flatten()
                .find(|e| !explainers.contains(e))
            {
                return Err((
                    "report.table.explainers".into(),
                    format!("`{e}` is not an explainer of this config; the explainers are {explainers:?}"),
                ));
            }
        }
        Ok(())
    }

    /// The Cartesian product of the grid, in key order (one `default` cell without a grid).
    pub(crate) fn grid_cells(&self) -> Vec<GridCell> {
        let mut cells: Vec<Vec<(String, serde_norway::Value)>> = vec![Vec::new()];
        for (key, values) in &self.grid {
            cells = cells
                .into_iter()
                .flat_map(|cell| {
                    values.iter().map(move |v| {
                        let mut next = cell.clone();
                        next.push((key.clone(), v.clone()));
                        next
                    })
                })
                .collect();
        }
        cells
            .into_iter()
            .map(|values| GridCell {
                name: if values.is_empty() {
                    "default".into()
                } else {
                    values
                        .iter()
                        .map(|(k, v)| format!("{k}={}", value_text(v)))
                        .collect::<Vec<_>>()
                        .join(",")
                },
                values,
            })
            .collect()
    }
}

/// A YAML scalar as plain text (`250`, `lasso_path`, `0.25`).
pub(crate) fn value_text(value: &serde_norway::Value) -> String {
    match value {
        serde_norway::Value::String(s) => s.clone(),
        other => serde_norway::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

impl ExplainerConfig {
    /// The explainer `name` of `model` by `method`, every other parameter at its default (the
    /// defaults of a config entry that gives only these three).
    pub fn new(name: &str, method: Method, model: &str) -> ExplainerConfig {
        ExplainerConfig {
            name: name.to_string(),
            method,
            model: model.to_string(),
            num_samples: default_num_samples(),
            max_samples: default_max_samples(),
            auto_round: default_auto_round(),
            auto_stability: default_auto_stability(),
            auto_relative_width: default_auto_relative_width(),
            auto_half_width: None,
            segments: default_segments(),
            factorization: FactorizationChoice::default(),
            audio_window: AudioWindow::default(),
            kernel_width: default_kernel_width(),
            distance_scale: default_distance_scale(),
            kernel: default_kernel(),
            feature_selection: default_feature_selection(),
            num_features: default_num_features(),
            sampler: default_sampler(),
            audio_masks: None,
            labels: None,
            top_labels: None,
            threshold: None,
            batch_size: default_batch_size(),
            max_batch: None,
            memoise: default_true(),
        }
    }

    /// The modality its method explains.
    pub fn modality(&self) -> crate::neighborhood::sampler::PerturbedModality {
        self.method.modality()
    }

    /// The parameters of one explanation by this explainer with `seed`.
    pub(crate) fn explain_params(&self, seed: u64) -> crate::explainer::ExplainParams {
        use crate::neighborhood::kernel::KernelParams;
        use crate::neighborhood::sampler::SamplerParams;
        crate::explainer::ExplainParams {
            modality: self.modality(),
            strategy: self.method.strategy(),
            sampler: SamplerParams {
                num_samples: self.num_samples.ceiling(self.max_samples),
                sampler: self.sampler,
                seed,
                audio_masks: self.audio_masks,
            },
            batch_size: self.batch_size,
            run: crate::model::RunSettings {
                max_batch: self.max_batch,
                memoise: self.memoise,
            },
            refit: crate::explanation::RefitParams {
                kernel: KernelParams {
                    kernel: self.kernel,
                    kernel_width: self.kernel_width,
                    distance_scale: self.distance_scale,
                },
                surrogate: crate::surrogate::SurrogateParams {
                    feature_selection: self.feature_selection,
                    num_features: self.num_features,
                    ..Default::default()
                },
                labels: self.label_choice(),
            },
            adaptive: self.adaptive(),
        }
    }

    /// Its stopping rule when `num_samples: auto`.
    fn adaptive(&self) -> Option<AdaptiveSampling> {
        self.num_samples.adaptive(AdaptiveSampling {
            round: self.auto_round,
            stability: self.auto_stability,
            relative_width: self.auto_relative_width,
            half_width: self.auto_half_width,
        })
    }

    /// Every parameter of its explanations ([`crate::explainer::ExplainParams::check`]), the
    /// error naming the key.
    fn check_params(&self) -> std::result::Result<(), String> {
        self.explain_params(0).check().map_err(|e| match e {
            Error::Param { name, message } => format!("`{name}` {message}"),
            Error::Input { message, .. } => message,
            other => other.to_string(),
        })
    }

    /// At most one of `labels`, `top_labels` and `threshold`, each in range.
    fn check_labels(&self) -> std::result::Result<(), String> {
        let choices = [
            self.labels.is_some(),
            self.top_labels.is_some(),
            self.threshold.is_some(),
        ];
        if choices.iter().filter(|c| **c).count() > 1 {
            return Err("give at most one of `labels`, `top_labels` and `threshold`".into());
        }
        match self.label_choice().check("") {
            Err(Error::Input { message, .. }) => Err(message),
            Err(other) => Err(other.to_string()),
            Ok(()) => Ok(()),
        }
    }

    /// Which labels this explainer explains (`labels`, `top_labels` or `threshold`; default:
    /// the predicted label).
    pub(crate) fn label_choice(&self) -> crate::explanation::LabelChoice {
        crate::explanation::LabelChoice::from_options(
            self.labels.clone(),
            self.top_labels,
            self.threshold,
        )
    }

    /// This explainer with the grid cell's values applied (type-checked like the config).
    pub(crate) fn with_cell(&self, cell: &GridCell) -> Result<ExplainerConfig> {
        if cell.values.is_empty() {
            return Ok(self.clone());
        }
        let mut value =
            serde_norway::to_value(self).map_err(|e| Error::serialization("an explainer", e))?;
        let map = value
            .as_mapping_mut()
            .ok_or_else(|| Error::Internal("explainer is not a mapping".into()))?;
        for (key, v) in &cell.values {
            if matches!(key.as_str(), "name" | "method" | "model") {
                return Err(Error::param(
                    "grid",
                    format!(
                        "`{key}` cannot be swept; sweep explainer parameters such as num_samples"
                    ),
                ));
            }
            map.insert(serde_norway::Value::String(key.clone()), v.clone());
        }
        serde_norway::from_value(value).map_err(|e| Error::param("grid", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "
dataset:
  synthetic: {tracks: 2, seed: 1, seconds: 2}
models:
  planted: builtin:planted
explainers:
  - {name: ml, method: musiclime, model: planted}
  - {name: la, method: lime_audio, model: planted, num_samples: 300}
grid:
  num_samples: [100, 200]
  feature_selection: [auto, lasso_path]
";

    #[test]
    fn unit_seeds_differ_by_instance_repeat_and_config_seed_and_nothing_else() {
        let config = ExperimentConfig::parse(GOOD, Path::new("c.yaml")).unwrap();
        let mut reseeded = ExperimentConfig::parse(GOOD, Path::new("c.yaml")).unwrap();
        reseeded.seed += 1;
        let seed = config.unit_seed("track000", 0);
        assert_eq!(seed, config.unit_seed("track000", 0));
        assert_ne!(seed, config.unit_seed("track001", 0));
        assert_ne!(seed, config.unit_seed("track000", 1));
        assert_ne!(seed, reseeded.unit_seed("track000", 0));
        // The id and the repeat are kept apart: "a" repeat 1 is not "a\x01" repeat 0.
        assert_ne!(config.unit_seed("a", 1), config.unit_seed("a\u{1}", 0));
    }

    #[test]
    fn a_good_config_parses_with_defaults_and_expands_its_grid() {
        let config = ExperimentConfig::parse(GOOD, Path::new("c.yaml")).unwrap();
        config.check(Path::new("c.yaml")).unwrap();
        assert_eq!(config.repeats, 1);
        assert_eq!(config.explainers[0].num_samples, NumSamples::Fixed(1000));
        let cells = config.grid_cells();
        assert_eq!(cells.len(), 4);
        assert_eq!(cells[0].name, "feature_selection=auto,num_samples=100");
        let applied = config.explainers[1].with_cell(&cells[3]).unwrap();
        assert_eq!(applied.num_samples, NumSamples::Fixed(200));
        assert_eq!(
            applied.feature_selection,
            crate::surrogate::FeatureSelection::LassoPath
        );
    }

    #[test]
    fn a_typo_names_the_key_path_line_and_column() {
        let text = GOOD.replace("num_samples: 300", "num_sample: 300");
        let error = ExperimentConfig::parse(&text, Path::new("c.yaml"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("c.yaml"), "{error}");
        assert!(error.contains("line 8"), "{error}");
        assert!(error.contains("explainers[1]"), "{error}");
        assert!(error.contains("num_sample"), "{error}");
    }

    #[test]
    fn wrong_types_and_bad_references_are_reported() {
        let text = GOOD.replace("num_samples: 300", "num_samples: many");
        let error = ExperimentConfig::parse(&text, Path::new("c.yaml"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("explainers[1].num_samples"), "{error}");
        let text = GOOD.replace("model: planted, num", "model: plant, num");
        let config = ExperimentConfig::parse(&text, Path::new("c.yaml")).unwrap();
        let error = config.check(Path::new("c.yaml")).unwrap_err().to_string();
        assert!(error.contains("unknown model `plant`"), "{error}");
        let text = GOOD.replace(
            "feature_selection: [auto, lasso_path]",
            "feature_selection: [auto, lasso]",
        );
        let config = ExperimentConfig::parse(&text, Path::new("c.yaml")).unwrap();
        assert!(config.check(Path::new("c.yaml")).is_err());
    }

    #[test]
    fn every_parameter_is_checked_before_any_unit() {
        for (setting, key) in [
            ("kernel_width: 0", "kernel_width"),
            ("num_features: 0", "num_features"),
            ("max_batch: 0", "max_batch"),
            ("batch_size: 0", "batch_size"),
            ("distance_scale: -1", "distance_scale"),
            ("top_labels: 0", "top_labels"),
            ("num_samples: 1", "num_samples"),
        ] {
            let text = GOOD
                .replace("num_samples: 300}", &format!("{setting}}}"))
                .replace("  num_samples: [100, 200]\n", "");
            let config = ExperimentConfig::parse(&text, Path::new("c.yaml")).unwrap();
            let error = config.check(Path::new("c.yaml")).unwrap_err().to_string();
            assert!(error.contains(key), "{setting}: {error}");
            assert!(error.contains("explainers[1]"), "{setting}: {error}");
        }
    }

    #[test]
    fn configs_without_auto_keys_serialise_as_before() {
        let explainer = ExplainerConfig::new("ml", Method::Musiclime, "m");
        let text = serde_norway::to_string(&explainer).unwrap();
        assert!(
            !text.contains("max_samples") && !text.contains("auto_"),
            "{text}"
        );
        assert!(text.contains("num_samples: 1000"), "{text}");
        let mut auto = explainer.clone();
        auto.num_samples = NumSamples::Auto;
        auto.auto_round = 100;
        let text = serde_norway::to_string(&auto).unwrap();
        assert!(text.contains("num_samples: auto") && text.contains("auto_round: 100"));
        let back: ExplainerConfig = serde_norway::from_str(&text).unwrap();
        assert_eq!(back, auto);
    }

    #[test]
    fn a_models_cap_is_the_smallest_any_of_its_explainers_sets() {
        let text = GOOD
            .replace("model: planted}", "model: planted, max_batch: 6}")
            .replace(
                "num_samples: [100, 200]",
                "num_samples: [100, 200]\n  max_batch: [4, 9]",
            );
        let config = ExperimentConfig::parse(&text, Path::new("c.yaml")).unwrap();
        assert_eq!(config.max_batch_of("planted"), Some(4));
        let plain = ExperimentConfig::parse(GOOD, Path::new("c.yaml")).unwrap();
        assert_eq!(plain.max_batch_of("planted"), None);
    }
}
