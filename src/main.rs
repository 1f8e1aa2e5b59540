//! The `musiclime` command line. Parses arguments, calls the library, maps errors to exit
//! codes (2: bad input, 1: internal failure). Nothing is written when a command fails.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use musiclime::aggregate;
use musiclime::audio::decode::decode_file;
use musiclime::error::{Error, Result};
use musiclime::experiment::config::{ExplainerConfig, Method};
use musiclime::experiment::runner::{run, validate, RunOptions};
use musiclime::experiment::shard::Shard;
use musiclime::explainer::{explain_track, ExplainParams, TrackParts};
use musiclime::explanation::{refit, LabelChoice, LabelRef, RefitParams};
use musiclime::factorize::{factorize_track, FactorizationKind, DEFAULT_SEGMENTS};
use musiclime::frontend::npy::write_npy;
use musiclime::frontend::AudioFrontend;
use musiclime::fs::write_atomically;
use musiclime::lyrics::{LyricFeatures, LyricsParams};
use musiclime::model::load_model_with;
use musiclime::model::onnx::spec::{ExecutionProvider, ModelSpec};
use musiclime::model::onnx::LoadOptions;
use musiclime::neighborhood::io::{read_neighborhood, write_neighborhood};
use musiclime::neighborhood::kernel::{Kernel, KernelParams};
use musiclime::neighborhood::sampler::{SamplerKind, SamplerParams};
use musiclime::surrogate::{FeatureSelection, SurrogateParams, WeightSort};
use musiclime::synth::SynthParams;

#[derive(Parser)]
#[command(
    name = "musiclime",
    version,
    about = "Explain multimodal (audio + lyrics) music classifiers with MusicLIME"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit surrogates on a saved neighbourhood (Parquet) without calling any model.
    Refit(RefitArgs),
    /// Explain one song (audio file + lyrics file) with MusicLIME.
    Explain(Box<ExplainArgs>),
    /// Write the synthetic benchmark: tracks with planted class evidence and their ground truth.
    Synth(SynthArgs),
    /// Run an experiment config: every explainer on every instance, then the tables.
    Run(RunArgs),
    /// Check an experiment config (keys, files, models, instances) without running it.
    Validate(ValidateArgs),
    /// Aggregate local explanations (or published per-class sums) into global importances.
    Aggregate(AggregateArgs),
    /// Regenerate a run's tables, charts and index from its stored results (no model is
    /// loaded): also the merge of a sharded run.
    Report(ReportArgs),
    /// Prepare a run and write (with --submit: submit) a SLURM array of its shards plus a
    /// dependent merge job.
    Slurm(SlurmArgs),
    /// Write exactly what a model's audio input receives for one file (float32 .npy with a
    /// batch axis of 1), to diff against the Python pipeline.
    Frontend(FrontendArgs),
}

#[derive(clap::Args)]
struct ReportArgs {
    /// The run's output directory (holding run.json and store/).
    run_dir: PathBuf,
    /// Report the units that are there even when some are missing (every table and the
    /// index then say they are partial).
    #[arg(long)]
    partial: bool,
}

#[derive(clap::Args)]
struct SlurmArgs {
    /// The experiment config (YAML); its `slurm:` key gives defaults for every flag below.
    config: PathBuf,
    /// Shards, i.e. array tasks (each takes the instances whose id hashes to it).
    #[arg(long)]
    shards: Option<usize>,
    /// Run at most this many tasks at once (`--array=1-N%K`).
    #[arg(long)]
    parallel: Option<usize>,
    /// The partition (queue).
    #[arg(long)]
    partition: Option<String>,
    /// Time limit of each task, as SLURM writes it (e.g. `04:00:00`).
    #[arg(long)]
    time: Option<String>,
    /// CPUs per task.
    #[arg(long)]
    cpus: Option<usize>,
    /// GPUs per task.
    #[arg(long)]
    gpus: Option<usize>,
    /// A further `#SBATCH` argument, verbatim (repeatable), e.g. `--sbatch-arg=--mem=16G`.
    #[arg(long = "sbatch-arg", allow_hyphen_values = true)]
    sbatch_args: Vec<String>,
    /// Submit the scripts with `sbatch` (else only write them).
    #[arg(long)]
    submit: bool,
    /// Delete stored results and prepare the run from scratch.
    #[arg(long)]
    fresh: bool,
}

#[derive(clap::Args)]
struct FrontendArgs {
    /// The audio file.
    #[arg(long)]
    audio: PathBuf,
    /// The model spec (model.yaml) whose audio input to compute.
    #[arg(long)]
    model: PathBuf,
    /// Output .npy file.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
#[group(required = true, multiple = false, id = "input")]
struct AggregateInput {
    /// A table (CSV or Parquet) with columns instance,label,feature,weight.
    #[arg(long)]
    explanations: Option<PathBuf>,
    /// Pre-accumulated sums (CSV or Parquet) with columns label,feature,weight_sum,count, or a
    /// directory of such files (one output folder per file).
    #[arg(long)]
    sums: Option<PathBuf>,
}

#[derive(clap::Args)]
struct AggregateArgs {
    #[command(flatten)]
    input: AggregateInput,
    /// Accumulate every weight's magnitude, not only the positive ones.
    #[arg(long)]
    all_weights: bool,
    /// Features per class in the top-k table.
    #[arg(long, default_value_t = 10)]
    top_k: usize,
    /// Class names in class-index order, comma-separated (class 0 first), for one file. A
    /// directory of sums takes its names from a class_names.csv (file,label,name) beside them.
    #[arg(long, value_delimiter = ',')]
    class_names: Option<Vec<String>>,
    /// Merge lyric words before aggregating: none (every feature string on its own), lower
    /// (by lower case) or lemma (by lower case and lemma, as the paper's genre figures).
    /// Audio components are never merged.
    #[arg(long, default_value = "none")]
    merge_words: musiclime::lemmas::MergeWords,
    /// A word,lemma table to use with --merge-words lemma instead of the embedded English one.
    #[arg(long)]
    lemmas: Option<PathBuf>,
    /// Output directory (global.csv, global.parquet, top_k.csv, ...).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The experiment config (YAML).
    config: PathBuf,
    /// Ignore stored results and start over.
    #[arg(long)]
    fresh: bool,
    /// ONNX Runtime execution providers in order of preference, e.g. `cuda,cpu` (overrides
    /// the config and every model.yaml; a list without `cpu` fails when none is available).
    #[arg(long, value_delimiter = ',')]
    execution_providers: Option<Vec<ExecutionProvider>>,
    /// Run only shard K of N (1-based; the instances whose id hashes to it) into the store of
    /// a prepared run, writing nothing else. Inside a SLURM array task it defaults to the
    /// task's position in the array.
    #[arg(long, value_name = "K/N", conflicts_with = "prepare")]
    shard: Option<String>,
    /// Check everything and write run.json (and a synthetic dataset), computing no unit, so
    /// that shards can start.
    #[arg(long)]
    prepare: bool,
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// The experiment config (YAML).
    config: PathBuf,
    /// ONNX Runtime execution providers in order of preference (as for `run`).
    #[arg(long, value_delimiter = ',')]
    execution_providers: Option<Vec<ExecutionProvider>>,
}

#[derive(clap::Args)]
struct SurrogateArgs {
    /// Classes to explain, comma-separated, by index or name (e.g. `0,2` or `guitar,drums`).
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["top_labels", "threshold"])]
    labels: Option<Vec<LabelRef>>,
    /// Explain the K classes with the highest output on row 0 (default 1).
    #[arg(long, conflicts_with = "threshold")]
    top_labels: Option<usize>,
    /// Explain every class (tag) whose output on row 0 is at least T, in [0, 1] (multi-label
    /// taggers: every predicted tag).
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    threshold: Option<f64>,
    /// Maximum number of features per explanation (default: all).
    #[arg(long, default_value_t = SurrogateParams::default().num_features)]
    num_features: usize,
    /// auto | none | highest_weights | forward_selection | lasso_path
    #[arg(long, default_value = SurrogateParams::default().feature_selection.name())]
    feature_selection: String,
    /// Width of the exponential kernel.
    #[arg(long, default_value_t = KernelParams::default().kernel_width)]
    kernel_width: f64,
    /// Factor on computed cosine distances (1: MusicLIME; 100: lime's text explainer).
    #[arg(long, default_value_t = KernelParams::default().distance_scale)]
    distance_scale: f64,
    /// lime | kernelshap
    #[arg(long, default_value = KernelParams::default().kernel.name())]
    kernel: String,
    /// Order of the weights: abs (by |weight|) or signed.
    #[arg(long, default_value = SurrogateParams::default().sort.name())]
    sort: String,
}

impl SurrogateArgs {
    fn params(&self) -> Result<RefitParams> {
        let kernel = Kernel::parse(&self.kernel)?;
        Ok(RefitParams {
            kernel: KernelParams {
                kernel,
                kernel_width: self.kernel_width,
                distance_scale: self.distance_scale,
            },
            surrogate: SurrogateParams {
                feature_selection: FeatureSelection::parse(&self.feature_selection)?,
                num_features: self.num_features,
                sort: WeightSort::parse(&self.sort)?,
                ..SurrogateParams::default()
            },
            labels: {
                let labels =
                    LabelChoice::from_options(self.labels.clone(), self.top_labels, self.threshold);
                labels.check(match labels {
                    LabelChoice::Threshold(_) => "--threshold",
                    LabelChoice::TopLabels(_) => "--top-labels",
                    LabelChoice::Labels(_) => "--labels",
                })?;
                labels
            },
        })
    }
}

#[derive(clap::Args)]
struct ExplainArgs {
    /// The song's audio (WAV, FLAC, MP3, Ogg/Vorbis).
    #[arg(long)]
    audio: PathBuf,
    /// The song's lyrics (UTF-8 text).
    #[arg(long)]
    lyrics: PathBuf,
    /// Precomputed stems: a directory with vocals/drums/bass/other audio files.
    #[arg(long, conflicts_with_all = ["separator", "temporal_only"])]
    stems: Option<PathBuf>,
    /// Built-in separator (no model weights): hpss (the default when no stems are given).
    #[arg(long, conflicts_with = "temporal_only")]
    separator: Option<String>,
    /// Split the audio in time only (components T1..Tn).
    #[arg(long)]
    temporal_only: bool,
    /// Number of time segments.
    #[arg(long, default_value_t = DEFAULT_SEGMENTS)]
    segments: usize,
    /// The model: builtin:planted, builtin:multimodal, builtin:audio, builtin:lyrics, or the
    /// path of a model.yaml describing an ONNX model.
    #[arg(long, default_value = "builtin:planted")]
    model: String,
    /// Perturbed modality: both | audio | lyrics.
    #[arg(long, default_value = "both")]
    modality: String,
    /// The method, as configs name it (musiclime, lime_audio, lime_lyrics, lime_separate,
    /// random, oracle, oracle_audio, oracle_lyrics); overrides --modality.
    #[arg(long)]
    method: Option<String>,
    /// Neighbourhood size (row 0 included).
    #[arg(long, default_value_t = SamplerParams::default().num_samples)]
    num_samples: usize,
    /// Perturbed samples composed together (prepared while the model runs the previous ones).
    #[arg(long, default_value_t = ExplainParams::default().batch_size)]
    batch_size: usize,
    /// The most model items (clips × patches) one model run receives (default: the model's
    /// `max_batch`, 8 unless its model.yaml says otherwise); bounds the model's memory.
    #[arg(long)]
    max_batch: Option<usize>,
    /// Run every model item, even ones seen before in this explanation (for comparisons; the
    /// explanation is the same).
    #[arg(long)]
    no_memoise: bool,
    /// paper | lime_text | crossed (split models: A audio masks × T lyric masks).
    #[arg(long, default_value = "paper")]
    sampler: String,
    /// `--sampler crossed`: the number of audio masks A (default: the square root of
    /// --num-samples).
    #[arg(long)]
    audio_masks: Option<usize>,
    /// ONNX Runtime execution providers in order of preference, e.g. `cuda,cpu`.
    #[arg(long, value_delimiter = ',')]
    execution_providers: Option<Vec<ExecutionProvider>>,
    /// Seed of the sampler.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    surrogate: SurrogateArgs,
    /// Output directory (explanation.json, neighborhood.parquet and its sidecar).
    #[arg(long)]
    out: PathBuf,
    /// Also write timings as JSON here: wall_s, model_s (time in model calls), non_model_s,
    /// peak_mb (peak resident memory), samples_per_s, num_samples, model_items (items run and
    /// saved by memoisation, the largest run).
    #[arg(long)]
    profile: Option<PathBuf>,
}

#[derive(clap::Args)]
struct SynthArgs {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Number of tracks.
    #[arg(long, default_value_t = 12)]
    tracks: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Track length in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = 16_000)]
    sample_rate: u32,
    /// Number of classes (2 to 4).
    #[arg(long, default_value_t = 3)]
    classes: usize,
}

#[derive(clap::Args)]
struct RefitArgs {
    /// Neighbourhood file: mask_0.., prob_0.. and optional distance columns (row 0 = instance).
    #[arg(long)]
    neighborhood: PathBuf,
    #[command(flatten)]
    surrogate: SurrogateArgs,
    /// Write the JSON here (atomically) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn run_refit(args: RefitArgs) -> Result<()> {
    let params = args.surrogate.params()?;
    let neighborhood = read_neighborhood(&args.neighborhood)?;
    let explanation = refit(
        &neighborhood,
        &params,
        &args.neighborhood.display().to_string(),
    )?;
    let json = pretty(&explanation.to_json())?;
    match args.out {
        Some(path) => {
            write_atomically(&path, json.as_bytes())?;
            eprint!("{}", explanation.summary(8));
            eprintln!("wrote {}", path.display());
            Ok(())
        }
        None => {
            print!("{json}");
            Ok(())
        }
    }
}

fn pretty(value: &serde_json::Value) -> Result<String> {
    let mut json =
        serde_json::to_string_pretty(value).map_err(|e| Error::serialization("JSON", e))?;
    json.push('\n');
    Ok(json)
}

fn read_lyrics(path: &std::path::Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::in_file(
            path,
            format!(
                "is not UTF-8 text (invalid byte at offset {}); re-save the lyrics as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// The LIME method that perturbs `modality` (`--modality`).
fn method_of_modality(modality: &str) -> Result<Method> {
    match modality {
        "both" => Ok(Method::Musiclime),
        "audio" => Ok(Method::LimeAudio),
        "lyrics" | "lyrical" => Ok(Method::LimeLyrics),
        other => Err(Error::input(
            "--modality",
            format!("unknown modality `{other}`; use both, audio or lyrics"),
        )),
    }
}

/// The explainer the flags describe, with the same defaults as a config entry.
fn explainer_of(args: &ExplainArgs) -> Result<ExplainerConfig> {
    let method = match args.method.as_deref() {
        Some(name) => Method::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
                Error::input(
                    "--method",
                    format!("unknown method `{name}`; use one of {}", known.join(", ")),
                )
            })?,
        None => method_of_modality(&args.modality)?,
    };
    let mut explainer = ExplainerConfig::new("explain", method, &args.model);
    explainer.sampler = match args.sampler.as_str() {
        "paper" => SamplerKind::Paper,
        "lime_text" => SamplerKind::LimeText,
        "crossed" => SamplerKind::Crossed,
        other => {
            return Err(Error::input(
                "--sampler",
                format!("unknown sampler `{other}`; use paper, lime_text or crossed"),
            ))
        }
    };
    explainer.num_samples = args.num_samples;
    explainer.segments = args.segments;
    explainer.audio_masks = args.audio_masks;
    explainer.batch_size = args.batch_size;
    explainer.max_batch = args.max_batch;
    explainer.memoise = !args.no_memoise;
    Ok(explainer)
}

/// The factorization the flags ask for (`None`: stems when given, else HPSS).
fn factorization_of(args: &ExplainArgs) -> Result<Option<FactorizationKind>> {
    match (args.temporal_only, args.separator.as_deref()) {
        (true, _) => Ok(Some(FactorizationKind::Temporal)),
        (false, Some("hpss")) => Ok(Some(FactorizationKind::Hpss)),
        (false, None) => Ok(None),
        (false, Some(other)) => Err(Error::input(
            "--separator",
            format!(
                "unknown separator `{other}`; the built-in one is `hpss` (or give --stems DIR)"
            ),
        )),
    }
}

fn run_explain(args: ExplainArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let explainer = explainer_of(&args)?;
    let mut params = explainer.explain_params(args.seed);
    params.refit = args.surrogate.params()?;
    let model = load_model_with(
        &args.model,
        &LoadOptions {
            execution_providers: args.execution_providers.clone(),
            max_batch: args.max_batch,
            ..LoadOptions::default()
        },
    )?;
    let text = read_lyrics(&args.lyrics)?;
    let lyrics = LyricFeatures::new(&text, &LyricsParams::default())?;
    let audio = decode_file(&args.audio)?;
    let origin = args.audio.display().to_string();
    let factorization = factorize_track(
        &audio,
        factorization_of(&args)?,
        args.stems.as_deref(),
        args.segments,
        &origin,
    )?;
    let bar =
        ProgressBar::with_draw_target(Some(args.num_samples as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} samples, ETA {eta}")
            .map_err(|e| Error::Internal(format!("progress bar template: {e}")))?
            .progress_chars("=> "),
    );
    bar.set_message(format!("explaining with {}", model.name()));
    let lyrics_source = args.lyrics.display().to_string();
    let track = TrackParts {
        audio: &factorization,
        lyrics: &lyrics,
        lyrics_source: &lyrics_source,
        origin: "--modality",
    };
    let explained = explain_track(model.as_ref(), track, &params, &mut |done| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    if let Some(note) = &explained.lyrics_note {
        eprintln!("warning: {note}");
    }
    let note = explained.input_note.clone();
    if let Some(note) = &note {
        eprintln!("note: {note}");
    }
    let params = explained.params;
    let outcome = explained.outcome;
    let instance = serde_json::json!({
        "audio": args.audio.display().to_string(),
        "lyrics": args.lyrics.display().to_string(),
        "stems": args.stems.as_ref().map(|p| p.display().to_string()),
        "model": model.name(),
        "multilabel": model.multilabel(),
        "modality": params.modality,
        "seed": args.seed,
        "notes": note.into_iter().collect::<Vec<_>>(),
    });
    let json = pretty(&outcome.to_json(instance))?;
    // The neighbourhood first, the explanation last: explanation.json exists only when all is written.
    write_neighborhood(
        &args.out.join("neighborhood.parquet"),
        &outcome.neighborhood,
    )?;
    write_atomically(&args.out.join("explanation.json"), json.as_bytes())?;
    if let Some(path) = &args.profile {
        let wall = started.elapsed().as_secs_f64();
        let profile = serde_json::json!({
            "implementation": "rust",
            "model": model.name(),
            "num_samples": args.num_samples,
            "wall_s": wall,
            "model_s": outcome.model_seconds,
            "non_model_s": wall - outcome.model_seconds,
            "peak_mb": peak_resident_mb(),
            "samples_per_s": args.num_samples as f64 / wall,
            "model_items": outcome.counts,
        });
        write_atomically(path, pretty(&profile)?.as_bytes())?;
    }
    print!("{}", outcome.explanation.summary(8));
    println!("wrote {}", args.out.display());
    Ok(())
}

fn run_experiment(args: RunArgs) -> Result<()> {
    let flag = args.shard.as_deref().map(Shard::parse).transpose()?;
    let shard = match args.prepare {
        true => None,
        false => Shard::resolve(flag, &|name| std::env::var(name).ok())?,
    };
    let options = RunOptions {
        fresh: args.fresh,
        progress: true,
        execution_providers: args.execution_providers,
        shard,
        prepare_only: args.prepare,
    };
    let report = run(&args.config, &options)?;
    for (id, problem) in &report.failures {
        eprintln!("skipped {id}: {problem}");
    }
    match (shard, args.prepare) {
        (_, true) => println!(
            "prepared {} units in {}; start the shards with `musiclime run {} --shard K/N`",
            report.units,
            report.output.display(),
            args.config.display()
        ),
        (Some(shard), _) => println!(
            "shard {shard}: {} units ({} from the store) in {}",
            report.units,
            report.resumed,
            report.output.join("store").display()
        ),
        (None, _) => println!(
            "{} units ({} from the store); tables in {}",
            report.units,
            report.resumed,
            report.output.join("tables").display()
        ),
    }
    Ok(())
}

fn validate_experiment(args: ValidateArgs) -> Result<()> {
    let options = RunOptions {
        execution_providers: args.execution_providers,
        ..RunOptions::default()
    };
    let summary = validate(&args.config, &options)?;
    println!("{summary}");
    Ok(())
}

fn run_aggregate(args: AggregateArgs) -> Result<()> {
    use musiclime::experiment::global::{write_global, GlobalOutput};
    use musiclime::lemmas::{Lemmas, MergeWords};
    let owned;
    let lemmas = match (&args.lemmas, args.merge_words) {
        (Some(path), MergeWords::Lemma) => {
            owned = Lemmas::read(path)?;
            &owned
        }
        (Some(_), _) => {
            return Err(Error::input(
                "--lemmas",
                "a lemma table is used only with --merge-words lemma",
            ))
        }
        (None, MergeWords::Lemma) => Lemmas::english(),
        (None, _) => {
            owned = Lemmas::default();
            &owned
        }
    };
    // Everything is read and checked before anything is written.
    let class_names = args.class_names.as_deref();
    let inputs = match (&args.input.explanations, &args.input.sums) {
        (Some(path), _) => vec![aggregate::read_explanations_input(
            path,
            args.all_weights,
            class_names,
        )?],
        (None, Some(path)) => aggregate::read_sums_input(path, class_names)?,
        (None, None) => {
            return Err(Error::input(
                "aggregate",
                "give --explanations FILE or --sums FILE",
            ))
        }
    };
    if let Some(list) = class_names {
        let classes = inputs[0].sums.labels().last().map_or(0, |l| l + 1);
        if list.len() > classes {
            eprintln!(
                "warning: --class-names gives {} names; the data's classes are 0..={}, so the last {} are unused",
                list.len(),
                classes.saturating_sub(1),
                list.len() - classes
            );
        }
    }
    let words = match args.merge_words {
        MergeWords::None => "words",
        MergeWords::Lower => "words (merged by lower case)",
        MergeWords::Lemma => "words (merged by lemma)",
    };
    let several = inputs.len() > 1 || inputs.iter().any(|i| i.folder.is_some());
    for input in inputs {
        let sums = match args.merge_words {
            MergeWords::None => input.sums,
            merge => input.sums.merge_words(|w| merge.key(w, lemmas)),
        };
        let global = aggregate::aggregate(&sums);
        let out = match &input.folder {
            Some(folder) => args.out.join(folder),
            None => args.out.clone(),
        };
        let output = GlobalOutput {
            top_k: args.top_k,
            names: &input.names,
            words,
        };
        write_global(&out, &global, output)?;
        if several {
            println!(
                "{}: {} (class, feature) importances in {}",
                input.file.display(),
                global.len(),
                out.display()
            );
        } else {
            println!(
                "{} (class, feature) importances; tables in {}",
                global.len(),
                out.display()
            );
        }
    }
    Ok(())
}

/// Peak resident memory of this process in MB (Linux `VmHWM`), when known.
fn peak_resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn run_report(args: ReportArgs) -> Result<()> {
    let summary = musiclime::experiment::report::report(&args.run_dir, args.partial)?;
    if summary.missing > 0 {
        eprintln!(
            "warning: partial report: {} units of the plan are not in the store",
            summary.missing
        );
    }
    println!(
        "{} units; tables, charts and index.md in {}",
        summary.units,
        summary.output.display()
    );
    Ok(())
}

fn run_slurm(args: SlurmArgs) -> Result<()> {
    use musiclime::experiment::config::SlurmConfig;
    let flags = SlurmConfig {
        shards: args.shards,
        parallel: args.parallel,
        partition: args.partition,
        time: args.time,
        cpus: args.cpus,
        gpus: args.gpus,
        sbatch_args: args.sbatch_args,
    };
    let options = RunOptions {
        fresh: args.fresh,
        ..RunOptions::default()
    };
    let launch = musiclime::experiment::slurm::launch(&args.config, &flags, &options, args.submit)?;
    println!(
        "prepared {} units in {} shards; wrote {} and {}",
        launch.units,
        launch.shards,
        launch.shards_script.display(),
        launch.merge_script.display()
    );
    match &launch.jobs {
        Some((array, merge)) => {
            println!("submitted array job {array} and merge job {merge} (afterok:{array})")
        }
        None => println!(
            "submit with: A=$(sbatch --parsable {}) && sbatch --dependency=afterok:${{A%%;*}} {}",
            launch.shards_script.display(),
            launch.merge_script.display()
        ),
    }
    Ok(())
}

fn run_frontend(args: FrontendArgs) -> Result<()> {
    let spec = ModelSpec::load(&args.model)?;
    let input = spec.inputs.iter().find_map(|i| i.audio()).ok_or_else(|| {
        Error::in_file(
            &args.model,
            "has no audio input (waveform, log_mel or kaldi_fbank); nothing to compute",
        )
    })?;
    let frontend = AudioFrontend::new(&input).map_err(|e| match e {
        Error::Input {
            source_name,
            message,
        } => Error::in_file(&args.model, format!("`{source_name}`: {message}")),
        other => other,
    })?;
    // A patched model pads short clips to one patch; the whole clip's features are written
    // (the model cuts them into `patching.frames`-frame patches).
    let frontend = match spec.patching {
        Some(p) => frontend.with_min_frames(p.frames),
        None => frontend,
    };
    let audio = decode_file(&args.audio)?;
    let features = frontend.features(
        &audio.samples,
        audio.sample_rate,
        &args.audio.display().to_string(),
    )?;
    let len = frontend.fitted_len(audio.samples.len(), audio.sample_rate);
    let shape: Vec<usize> = std::iter::once(1).chain(frontend.shape(len)).collect();
    write_npy(&args.out, &shape, &features)?;
    println!(
        "wrote {} ({} input `{}`, shape {shape:?})",
        args.out.display(),
        args.model.display(),
        frontend.name()
    );
    Ok(())
}

fn run_synth(args: SynthArgs) -> Result<()> {
    let params = SynthParams {
        tracks: args.tracks,
        seed: args.seed,
        seconds: args.seconds,
        sample_rate: args.sample_rate,
        classes: args.classes,
    };
    params.write(&args.out)?;
    println!(
        "wrote {} tracks, manifest.csv and ground_truth.json to {}",
        args.tracks,
        args.out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Refit(args) => run_refit(args),
        Command::Explain(args) => run_explain(*args),
        Command::Synth(args) => run_synth(args),
        Command::Run(args) => run_experiment(args),
        Command::Validate(args) => validate_experiment(args),
        Command::Aggregate(args) => run_aggregate(args),
        Command::Frontend(args) => run_frontend(args),
        Command::Report(args) => run_report(args),
        Command::Slurm(args) => run_slurm(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}
