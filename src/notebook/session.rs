//! The notebook API: load an experiment config, change it in code, run it and get tables and
//! charts back; or explain one track and look at (and listen to) the explanation.
//!
//! ```no_run
//! use musiclime::prelude::*;
//! # fn main() -> musiclime::error::Result<()> {
//! let run = Experiment::load("configs/quickstart.yaml")?
//!     .set("dataset.synthetic.tracks", 4)?
//!     .set("grid.num_samples", [300])?
//!     .set("output", "reports/notebook_quickstart")?
//!     .run()?;
//! let summary = run.summary()?; // a Polars DataFrame
//!
//! let tracks = synth_tracks("reports/notebook_tracks", 2, 7)?;
//! let explained = Explainer::new("builtin:multimodal").num_samples(500).explain(&tracks[0])?;
//! let top = explained.listen(3)?; // the 3 most important audio components, as an audio player
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::display::{AudioClip, RunResult, Table};
use crate::audio::decode::decode_file;
use crate::error::{Error, Result};
use crate::experiment::config::{ExperimentConfig, ExplainerConfig, Method, NumSamples};
use crate::experiment::runner::{run_config, RunOptions};
use crate::explainer::{explain_track, explained_span, ExplainOutcome, TrackParts};
use crate::explanation::{Explanation, LabelChoice};
use crate::factorize::{
    factorize_track, AudioWindow, Factorization, FactorizationKind, SourceSegments,
};
use crate::lyrics::{LyricFeatures, LyricsParams};
use crate::model::load_model;
use crate::separator::separate_into_segments;
use crate::synth::SynthParams;

/// An experiment config loaded for changing in code before it runs.
#[derive(Debug, Clone)]
pub struct Experiment {
    path: PathBuf,
    value: serde_norway::Value,
    changed: bool,
}

impl Experiment {
    /// Reads and checks the config at `path`. Its model and manifest paths stay relative to
    /// it; `output` (default `reports/<name>`) is relative to the working directory, which in a
    /// notebook is the notebook's folder, so set it (`.set("output", …)`).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        // checked as written first, so errors point at the file's own lines
        ExperimentConfig::load(&path)?;
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let value: serde_norway::Value = serde_norway::from_str(&text)
            .map_err(|e| Error::in_file(&path, format!("not valid YAML: {e}")))?;
        Ok(Experiment {
            path,
            value,
            changed: false,
        })
    }

    /// Sets the config key `key` (dot-separated; a list index or `*` for every element, e.g.
    /// `explainers.*.num_samples`, `explainers.0.segments`, `grid.num_samples`) to `value`.
    /// The changed config is checked like a config file after every call, so a change that
    /// needs two keys at once (say `dataset.synthetic` to `dataset.manifest`) replaces their
    /// parent: `.set("dataset", json!({"manifest": "…"}))`. An explainer parameter that the
    /// grid sweeps is an error (the grid would override it): set `grid.<parameter>` instead.
    pub fn set(mut self, key: &str, value: impl Serialize) -> Result<Self> {
        let value = serde_norway::to_value(value)
            .map_err(|e| Error::input(key, format!("not a config value: {e}")))?;
        let parts: Vec<&str> = key.split('.').collect();
        if let ["explainers", _, parameter, ..] = parts.as_slice() {
            let swept = self
                .value
                .get("grid")
                .and_then(|g| g.get(*parameter))
                .is_some();
            if swept {
                return Err(Error::input(
                    key,
                    format!("`{parameter}` is swept by the config's grid, which overrides it; set `grid.{parameter}` instead (e.g. a list of one value)"),
                ));
            }
        }
        set_path(&mut self.value, &parts, &value, key)?;
        self.changed = true;
        self.config()?;
        Ok(self)
    }

    /// The config as it stands (checked).
    pub fn config(&self) -> Result<ExperimentConfig> {
        let text = serde_norway::to_string(&self.value)
            .map_err(|e| Error::in_file(&self.path, e.to_string()))?;
        // after `set`, positions refer to the changed config, not to the file's lines
        let origin = if self.changed {
            PathBuf::from(format!("{} (as changed in code)", self.path.display()))
        } else {
            self.path.clone()
        };
        let mut config = ExperimentConfig::parse(&text, &origin)?;
        if config.name.is_none() {
            config.name = self
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned());
        }
        config.check(&origin)?;
        Ok(config)
    }

    /// Runs the experiment (resuming from its store when the config is unchanged).
    pub fn run(&self) -> Result<RunResult> {
        self.run_with(false)
    }

    /// Runs the experiment from scratch, ignoring stored results.
    pub fn run_fresh(&self) -> Result<RunResult> {
        self.run_with(true)
    }

    fn run_with(&self, fresh: bool) -> Result<RunResult> {
        let report = run_config(
            self.config()?,
            &self.path,
            &RunOptions {
                fresh,
                progress: false,
                ..RunOptions::default()
            },
        )?;
        Ok(RunResult {
            output: report.output,
            units: report.units,
            resumed: report.resumed,
            failures: report.failures,
        })
    }
}

/// Sets `parts` below `node` to `value`, creating mappings as needed.
fn set_path(
    node: &mut serde_norway::Value,
    parts: &[&str],
    value: &serde_norway::Value,
    key: &str,
) -> Result<()> {
    use serde_norway::Value;
    let Some((first, rest)) = parts.split_first() else {
        *node = value.clone();
        return Ok(());
    };
    if *first == "*" && !matches!(node, Value::Sequence(_)) {
        return Err(Error::input(
            key,
            "`*` stands for every element of a list, but this value is not a list",
        ));
    }
    match node {
        Value::Sequence(items) => {
            if *first == "*" {
                for item in items.iter_mut() {
                    set_path(item, rest, value, key)?;
                }
                return Ok(());
            }
            let len = items.len();
            let item = first
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get_mut(i))
                .ok_or_else(|| {
                    Error::input(
                        key,
                        format!("`{first}` is not an index of this list of {len} (or `*`)"),
                    )
                })?;
            set_path(item, rest, value, key)
        }
        Value::Null => {
            *node = Value::Mapping(Default::default());
            set_path(node, parts, value, key)
        }
        Value::Mapping(map) => {
            let k = Value::String(first.to_string());
            let child = map.entry(k).or_insert(Value::Null);
            set_path(child, rest, value, key)
        }
        _ => Err(Error::input(
            key,
            format!("cannot set `{first}` inside a value that is neither a mapping nor a list"),
        )),
    }
}

/// One song to explain: audio, lyrics and (optionally) its stems.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// A name for tables and titles.
    pub id: String,
    /// The audio file.
    pub audio: PathBuf,
    /// The lyrics file.
    pub lyrics: PathBuf,
    /// A directory of stems (`vocals.wav`, `drums.wav`, `bass.wav`, `other.wav`).
    pub stems: Option<PathBuf>,
}

/// Writes `tracks` synthetic tracks (seed `seed`, 10 s, 16 kHz, 4 classes) into `dir` and
/// returns them; their planted truth is in `dir/ground_truth.json`.
pub fn synth_tracks(dir: impl AsRef<Path>, tracks: usize, seed: u64) -> Result<Vec<Track>> {
    let dir = dir.as_ref();
    let params = SynthParams {
        tracks,
        seed,
        classes: 4,
        ..SynthParams::default()
    };
    Ok(params
        .write(dir)?
        .into_iter()
        .map(|t| Track {
            audio: dir.join(&t.id).join("mixture.wav"),
            lyrics: dir.join(&t.id).join("lyrics.txt"),
            stems: Some(dir.join(&t.id).join("stems")),
            id: t.id,
        })
        .collect())
}

/// Explains tracks with one model and method: a builder over the explainer parameters of an
/// experiment config, with the same defaults. Like `musiclime explain` (and unlike a config,
/// which asks for the matching method), MusicLIME on a model that reads one modality perturbs
/// that modality; a unimodal method on a model that does not read its modality is an error.
#[derive(Debug, Clone)]
pub struct Explainer {
    model: String,
    config: ExplainerConfig,
    /// `None`: stems when the track has them, else HPSS (as `musiclime explain`).
    factorization: Option<FactorizationKind>,
    /// An ONNX separator (its separator.yaml) whose stems are explained instead.
    separator: Option<PathBuf>,
    seed: u64,
}

impl Explainer {
    /// MusicLIME on `model` (`builtin:…` or the path of a `model.yaml`) with the config
    /// defaults (1000 samples, 10 segments), on stems when the track has them, else HPSS.
    pub fn new(model: impl Into<String>) -> Self {
        Explainer {
            model: model.into(),
            config: ExplainerConfig::new("notebook", Method::Musiclime, "model"),
            factorization: None,
            separator: None,
            seed: 0,
        }
    }

    /// How the audio is split into sources (default: stems when the track has them, else
    /// HPSS); stems for a track without them is an error when it is explained.
    pub fn factorization(mut self, kind: FactorizationKind) -> Self {
        self.factorization = Some(kind);
        self
    }

    /// Separate each track with an ONNX separator (the path of its separator.yaml, e.g.
    /// `just spleeter`'s) and explain its stems × segments, as `musiclime explain --separator`.
    pub fn separator(mut self, path: impl AsRef<Path>) -> Self {
        self.separator = Some(path.as_ref().to_path_buf());
        self
    }

    /// `musiclime` (default), `lime_audio` or `lime_lyrics`.
    pub fn method(mut self, method: Method) -> Self {
        self.config.method = method;
        self
    }

    /// Neighbourhood size.
    pub fn num_samples(mut self, n: usize) -> Self {
        self.config.num_samples = NumSamples::Fixed(n);
        self
    }

    /// `num_samples: auto`: rounds of samples up to `max_samples` rows, stopping once every
    /// explained label's top-k features are stable with probability `stability` (e.g. 0.95) or
    /// its top-k weights are narrow (the config's `auto_relative_width`, 0.1 by default).
    pub fn auto_samples(mut self, max_samples: usize, stability: f64) -> Self {
        self.config.num_samples = NumSamples::Auto;
        self.config.max_samples = max_samples;
        self.config.auto_stability = stability;
        self
    }

    /// Time segments per source.
    pub fn segments(mut self, n: usize) -> Self {
        self.config.segments = n;
        self
    }

    /// Which part of each track is explained: `model` (the default: the window the model
    /// reads), `all`, or a span in seconds.
    pub fn audio_window(mut self, window: AudioWindow) -> Self {
        self.config.audio_window = window;
        self
    }

    /// Sampler seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Which labels to explain (the predicted one is always added).
    pub fn labels(mut self, choice: LabelChoice) -> Self {
        (
            self.config.labels,
            self.config.top_labels,
            self.config.threshold,
        ) = match choice {
            LabelChoice::Labels(l) => (Some(l), None, None),
            LabelChoice::TopLabels(k) => (None, Some(k), None),
            LabelChoice::Threshold(t) => (None, None, Some(t)),
        };
        self
    }

    /// Explains `track`.
    pub fn explain(&self, track: &Track) -> Result<TrackExplanation> {
        let model = load_model(&self.model)?;
        let audio = decode_file(&track.audio)?;
        let origin = track.audio.display().to_string();
        let (span, note) =
            explained_span(model.as_ref(), self.config.audio_window, &audio, &origin)?;
        if let Some(note) = note {
            eprintln!("warning: {note}");
        }
        let factorization = match &self.separator {
            Some(path) => {
                let (factorization, note) =
                    separate_into_segments(path, &audio, self.config.segments, &span)?;
                if let Some(note) = note {
                    eprintln!("warning: {note}");
                }
                factorization
            }
            None => factorize_track(
                &audio,
                self.factorization,
                track.stems.as_deref(),
                self.config.segments,
                &span,
                &origin,
            )?,
        };
        let text =
            std::fs::read_to_string(&track.lyrics).map_err(|e| Error::io(&track.lyrics, e))?;
        let lyrics = LyricFeatures::new(&text, &LyricsParams::default())?;
        let lyrics_source = track.lyrics.display().to_string();
        let parts = TrackParts {
            audio: &factorization,
            lyrics: &lyrics,
            lyrics_source: &lyrics_source,
            origin: "Explainer::method",
        };
        let params = self.config.explain_params(self.seed);
        let outcome = explain_track(model.as_ref(), parts, &params, &mut |_| {})?.outcome;
        Ok(TrackExplanation {
            track: track.clone(),
            model: self.model.clone(),
            outcome,
            factorization,
        })
    }
}

/// The explanation of one track, with what is needed to listen to it.
pub struct TrackExplanation {
    /// The track.
    pub track: Track,
    /// The model spec.
    pub model: String,
    /// The explanation, the neighbourhood and the predicted label.
    pub outcome: ExplainOutcome,
    factorization: SourceSegments,
}

impl TrackExplanation {
    /// The explanation.
    pub fn explanation(&self) -> &Explanation {
        &self.outcome.explanation
    }

    /// The explanation's weights as a table: label, class, rank, feature, modality, weight.
    pub fn weights(&self) -> Result<Table> {
        use polars::prelude::{Column, DataFrame};
        let e = self.explanation();
        let (mut label, mut class, mut rank, mut feature, mut modality, mut weight) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for l in &e.labels {
            for (r, (j, w)) in l.fit.weights.iter().enumerate() {
                label.push(l.label as u32);
                class.push(l.name.clone().unwrap_or_default());
                rank.push(r as u32 + 1);
                feature.push(e.features[*j].name.clone());
                modality.push(e.features[*j].modality.as_str().to_string());
                weight.push(*w);
            }
        }
        let frame = DataFrame::new(
            label.len(),
            vec![
                Column::new("label".into(), label),
                Column::new("class".into(), class),
                Column::new("rank".into(), rank),
                Column::new("feature".into(), feature),
                Column::new("modality".into(), modality),
                Column::new("weight".into(), weight),
            ],
        )
        .map_err(Error::table)?;
        Ok(Table::new(format!("weights: {}", self.track.id), frame))
    }

    /// The `top_k` audio components with the largest positive weights for the predicted
    /// label, mixed: what the explanation says the model listened to.
    pub fn listen(&self, top_k: usize) -> Result<AudioClip> {
        let mask = self.top_mask(top_k)?;
        let kept = mask.iter().filter(|on| **on).count();
        Ok(AudioClip {
            title: format!(
                "{}: the top {kept} components (positive weights, at most {top_k})",
                self.track.id
            ),
            samples: self.factorization.compose(&mask),
            sample_rate: self.factorization.sample_rate(),
        })
    }

    /// Everything but the `top_k` components (the complement of [`listen`](Self::listen)).
    pub fn listen_rest(&self, top_k: usize) -> Result<AudioClip> {
        let top = self.top_mask(top_k)?;
        let kept = top.iter().filter(|on| **on).count();
        let mask: Vec<bool> = top.iter().map(|on| !on).collect();
        Ok(AudioClip {
            title: format!("{}: all but the top {kept} components", self.track.id),
            samples: self.factorization.compose(&mask),
            sample_rate: self.factorization.sample_rate(),
        })
    }

    fn top_mask(&self, top_k: usize) -> Result<Vec<bool>> {
        let predicted = self
            .explanation()
            .labels
            .iter()
            .find(|l| l.label == self.outcome.predicted_label)
            .ok_or_else(|| Error::Internal("the predicted label was not explained".into()))?;
        self.outcome
            .top_audio_mask(predicted, self.factorization.len(), top_k)
            .ok_or_else(|| {
                Error::input(
                    &self.track.id,
                    "the explanation has no audio components to listen to (lime_lyrics)",
                )
            })
    }

    /// The explanation as HTML (see [`Explanation::to_html`]), titled by track and model.
    pub fn to_html(&self) -> String {
        format!(
            "<div><p><b>{}</b> explained for <code>{}</code>; predicted class {}</p>{}</div>",
            crate::report::tables::html_escape(&self.track.id),
            crate::report::tables::html_escape(&self.model),
            self.outcome.predicted_label,
            self.explanation().to_html()
        )
    }

    /// Shows the explanation in the notebook.
    #[cfg(feature = "notebook")]
    pub fn evcxr_display(&self) {
        evcxr_runtime::mime_type("text/html").text(self.to_html());
    }
}
