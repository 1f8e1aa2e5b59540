//! `musiclime explain`: one song explained by one method, written as explanation.json beside
//! its neighbourhood.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use musiclime::audio::decode::decode_file;
use musiclime::error::{Error, Result};
use musiclime::experiment::config::Method;
use musiclime::explainer::adaptive::{AdaptiveSampling, NumSamples, DEFAULT_CEILING};
use musiclime::explainer::{explain_track, explained_span, ExplainParams, TrackParts};
use musiclime::factorize::{factorize_track, AudioWindow, FactorizationKind, DEFAULT_SEGMENTS};
use musiclime::fs::write_atomically;
use musiclime::lyrics::{LyricFeatures, LyricsParams};
use musiclime::model::onnx::spec::ExecutionProvider;
use musiclime::model::onnx::LoadOptions;
use musiclime::model::{load_model_with, RunSettings};
use musiclime::neighborhood::io::write_neighborhood;
use musiclime::neighborhood::sampler::{PerturbedModality, SamplerKind, SamplerParams};
use musiclime::separator::separate_into_segments;

use super::refit::SurrogateArgs;
use super::{by_name, pretty};

/// The model `explain` uses when `--model` is not given.
const DEFAULT_MODEL: &str = "builtin:planted";

#[derive(clap::Args)]
pub(super) struct ExplainArgs {
    /// The song's audio (WAV, FLAC, MP3, Ogg/Vorbis).
    #[arg(long)]
    audio: PathBuf,
    /// The song's lyrics (UTF-8 text).
    #[arg(long)]
    lyrics: PathBuf,
    /// Precomputed stems: a directory with vocals/drums/bass/other audio files.
    #[arg(long, conflicts_with_all = ["separator", "temporal_only"])]
    stems: Option<PathBuf>,
    /// The separator: `hpss` (built in, no model weights; the default when no stems are given)
    /// or a separator.yaml describing an ONNX separator (e.g. `just spleeter`'s).
    #[arg(long, conflicts_with = "temporal_only")]
    separator: Option<String>,
    /// Split the audio in time only (components T1..Tn).
    #[arg(long)]
    temporal_only: bool,
    /// Number of time segments.
    #[arg(long, default_value_t = DEFAULT_SEGMENTS)]
    segments: usize,
    /// Which part of the song is explained (segments divide it): `model` (the window the
    /// model declares it reads, the whole clip when it declares none), `all`, or START..END
    /// in seconds.
    #[arg(long, default_value_t = AudioWindow::default())]
    audio_window: AudioWindow,
    /// The model: builtin:planted, builtin:multimodal, builtin:audio, builtin:lyrics, the other
    /// built-in models, or the path of a model.yaml describing an ONNX model.
    #[arg(long, default_value = DEFAULT_MODEL)]
    model: String,
    /// Perturbed modality: both (the default) | audio | lyrics.
    #[arg(long, value_parser = by_name::<PerturbedModality>("modality"))]
    modality: Option<PerturbedModality>,
    /// The method, as configs name it (musiclime, lime_audio, lime_lyrics, lime_separate,
    /// random, oracle, oracle_audio, oracle_lyrics); overrides --modality.
    #[arg(long, value_parser = by_name::<Method>("method"))]
    method: Option<Method>,
    /// Neighbourhood size (row 0 included), or `auto`: rounds of --auto-round rows up to
    /// --max-samples, stopping once every explained label's top-k features are stable.
    #[arg(long, default_value_t = NumSamples::Fixed(SamplerParams::default().num_samples))]
    num_samples: NumSamples,
    /// `--num-samples auto`: the most rows drawn.
    #[arg(long, default_value_t = DEFAULT_CEILING)]
    max_samples: usize,
    /// `--num-samples auto`: rows per round.
    #[arg(long, default_value_t = AdaptiveSampling::default().round)]
    auto_round: usize,
    /// `--num-samples auto`: the posterior probability that the top-k features are stable at
    /// which sampling stops.
    #[arg(long, default_value_t = AdaptiveSampling::default().stability)]
    auto_stability: f64,
    /// `--num-samples auto`: or stop once each top-k weight's 95% credible half-width is at
    /// most this fraction of the largest |weight| (default 0.1; `off`: the stability target
    /// only, as `auto_relative_width: null` in a config).
    #[arg(long, value_parser = relative_width)]
    auto_relative_width: Option<RelativeWidth>,
    /// `--num-samples auto`: also wait until each top-k weight's 95% credible half-width is at
    /// most this.
    #[arg(long)]
    auto_half_width: Option<f64>,
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
    /// paper (the default) | lime_text | crossed (split models: A audio masks × T lyric masks).
    #[arg(long, value_parser = by_name::<SamplerKind>("sampler"))]
    sampler: Option<SamplerKind>,
    /// `--sampler crossed`: the number of audio masks A (default: the square root of
    /// --num-samples).
    #[arg(long)]
    audio_masks: Option<usize>,
    /// ONNX Runtime execution providers in order of preference, e.g. `cuda,cpu`.
    #[arg(long, value_delimiter = ',')]
    execution_providers: Option<Vec<ExecutionProvider>>,
    /// Seed of the sampler.
    #[arg(long, default_value_t = SamplerParams::default().seed)]
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

impl ExplainArgs {
    /// The flags as the library's explanation parameters, checked before any model is loaded.
    fn params(&self) -> Result<ExplainParams> {
        let defaults = ExplainParams::default();
        let method = self
            .method
            .unwrap_or_else(|| Method::lime_of(self.modality.unwrap_or(defaults.modality)));
        let params = ExplainParams {
            modality: method.modality(),
            strategy: method.strategy(),
            sampler: SamplerParams {
                num_samples: self.num_samples.ceiling(self.max_samples),
                sampler: self.sampler.unwrap_or(defaults.sampler.sampler),
                seed: self.seed,
                audio_masks: self.audio_masks,
            },
            batch_size: self.batch_size,
            run: RunSettings {
                max_batch: self.max_batch,
                memoise: !self.no_memoise,
            },
            refit: self.surrogate.params()?,
            adaptive: self.num_samples.adaptive(AdaptiveSampling {
                round: self.auto_round,
                stability: self.auto_stability,
                relative_width: match self.auto_relative_width {
                    None => AdaptiveSampling::default().relative_width,
                    Some(RelativeWidth(width)) => width,
                },
                half_width: self.auto_half_width,
            }),
        };
        params.check()?;
        Ok(params)
    }

    /// The ONNX separator the flags name (a `--separator` ending in .yaml or .yml).
    fn onnx_separator(&self) -> Option<&Path> {
        self.separator
            .as_deref()
            .filter(|s| s.ends_with(".yaml") || s.ends_with(".yml"))
            .map(Path::new)
    }

    /// The factorization the flags ask for (`None`: stems when given, else HPSS).
    fn factorization(&self) -> Result<Option<FactorizationKind>> {
        match (self.temporal_only, self.separator.as_deref()) {
            (true, _) => Ok(Some(FactorizationKind::Temporal)),
            (false, Some("hpss")) => Ok(Some(FactorizationKind::Hpss)),
            (false, None) => Ok(None),
            (false, Some(other)) => Err(Error::input(
                "--separator",
                format!(
                    "unknown separator `{other}`; the built-in one is `hpss`, an ONNX separator is the path of its separator.yaml (or give --stems DIR)"
                ),
            )),
        }
    }
}

/// Explains the song and writes the neighbourhood, then explanation.json (and the profile).
pub(super) fn run(args: ExplainArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let params = args.params()?;
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
    let (span, note) = explained_span(model.as_ref(), args.audio_window, &audio, &origin)?;
    if let Some(note) = note {
        eprintln!("warning: {note}");
    }
    let factorization = match args.onnx_separator() {
        Some(path) => {
            let (factorization, note) = separate_into_segments(path, &audio, args.segments, &span)?;
            if let Some(note) = note {
                eprintln!("warning: {note}");
            }
            factorization
        }
        None => factorize_track(
            &audio,
            args.factorization()?,
            args.stems.as_deref(),
            args.segments,
            &span,
            &origin,
        )?,
    };
    let bar = progress_bar(params.sampler.num_samples, model.name())?;
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
    let outcome = explained.outcome;
    let instance = serde_json::json!({
        "audio": args.audio.display().to_string(),
        "lyrics": args.lyrics.display().to_string(),
        "stems": args.stems.as_ref().map(|p| p.display().to_string()),
        "separator": args.separator,
        "audio_window": span,
        "model": model.name(),
        "multilabel": model.multilabel(),
        "modality": explained.params.modality,
        "seed": args.seed,
        "num_samples": serde_json::to_value(args.num_samples)
            .map_err(|e| Error::serialization("JSON", e))?,
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
            "num_samples": outcome.explanation.num_samples,
            "wall_s": wall,
            "model_s": outcome.model_seconds,
            "non_model_s": wall - outcome.model_seconds,
            "peak_mb": peak_resident_mb(),
            "samples_per_s": outcome.explanation.num_samples as f64 / wall,
            "model_items": outcome.counts,
        });
        write_atomically(path, pretty(&profile)?.as_bytes())?;
    }
    print!("{}", outcome.explanation.summary(8));
    println!("wrote {}", args.out.display());
    Ok(())
}

/// `--auto-relative-width`: a fraction, or `off`.
#[derive(Debug, Clone, Copy)]
struct RelativeWidth(Option<f64>);

/// Parses `--auto-relative-width`.
fn relative_width(text: &str) -> std::result::Result<RelativeWidth, String> {
    match text {
        "off" => Ok(RelativeWidth(None)),
        number => number
            .parse()
            .map(|w| RelativeWidth(Some(w)))
            .map_err(|_| format!("`{number}` is neither a fraction (e.g. 0.1) nor `off`")),
    }
}

/// A progress bar over `samples` on standard error.
fn progress_bar(samples: usize, model: &str) -> Result<ProgressBar> {
    let bar = ProgressBar::with_draw_target(Some(samples as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} samples, ETA {eta}")
            .map_err(|e| Error::Internal(format!("progress bar template: {e}")))?
            .progress_chars("=> "),
    );
    bar.set_message(format!("explaining with {model}"));
    Ok(bar)
}

/// The lyrics file as text; not UTF-8 is an error naming the file and the first bad byte.
fn read_lyrics(path: &Path) -> Result<String> {
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

/// Peak resident memory of this process in MB (Linux `VmHWM`), when known.
fn peak_resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
