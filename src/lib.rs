//! # musiclime
//!
//! Explain multimodal (audio + lyrics) music classifiers with MusicLIME (Sotirou et al.,
//! ICASSP 2025) and measure whether the explanations can be trusted.
//!
//! Every stage is a plain value in and a plain value out (see `docs/architecture.md`):
//! lyric features ([`lyrics`]), the feature space ([`features`]), neighbourhood sampling,
//! distances and kernels, and Parquet storage ([`neighborhood`]), the local surrogate with
//! lime-exact feature selection ([`surrogate`]), and the [`explanation::Explanation`] value.
//!
//! The five types a user meets first:
//! - [`factorize::SourceSegments`]: a track's audio as sources × time segments;
//! - [`lyrics::LyricFeatures`]: its lyrics as words;
//! - [`model::Classifier`]: the model (`builtin:…`, or an ONNX `model.yaml` through
//!   [`model::load_model`]);
//! - [`explainer::ExplainParams`]: how to explain (method, samples, kernel, surrogate, labels),
//!   checked by [`explainer::ExplainParams::check`];
//! - [`explainer::ExplainOutcome`]: the [`explanation::Explanation`], its neighbourhood and the
//!   predicted label, from [`explainer::explain_track`].
//!
//! ```
//! use musiclime::explainer::{explain_track, ExplainParams, TrackParts};
//! use musiclime::factorize::SourceSegments;
//! use musiclime::lyrics::{LyricFeatures, LyricsParams};
//! use musiclime::model::builtin;
//! use musiclime::synth::SynthParams;
//!
//! # fn main() -> musiclime::error::Result<()> {
//! // A one-second synthetic track: four stems cut into four segments, and its lyrics.
//! let synth = SynthParams { tracks: 1, seconds: 1.0, ..SynthParams::default() };
//! let track = synth.track(0);
//! let len = track.stems[0].1.len();
//! let bounds = (0..4).map(|s| (s * len / 4, (s + 1) * len / 4)).collect();
//! let audio = SourceSegments::new(track.stems, bounds, synth.sample_rate);
//! let lyrics = LyricFeatures::new(&track.lyrics, &LyricsParams::default())?;
//! // A model whose contributions are known, explained by MusicLIME with 200 samples.
//! let model = builtin("builtin:additive")?;
//! let mut params = ExplainParams::default();
//! params.sampler.num_samples = 200;
//! params.check()?;
//! let parts = TrackParts { audio: &audio, lyrics: &lyrics, lyrics_source: "track000", origin: "example" };
//! let explained = explain_track(model.as_ref(), parts, &params, &mut |_| {})?;
//! let explanation = &explained.outcome.explanation;
//! assert_eq!(explanation.features.len(), 16 + lyrics.len());
//! println!("{}", explanation.summary(5));
//! # Ok(())
//! # }
//! ```

pub mod aggregate;
pub mod audio;
pub mod error;
pub mod experiment;
pub mod explainer;
pub mod explanation;
pub mod factorize;
pub mod features;
pub mod fingerprint;
pub mod frontend;
pub mod fs;
pub mod lemmas;
pub mod lyrics;
pub mod metrics;
pub mod model;
pub mod neighborhood;
pub mod notebook;
pub mod report;
pub mod seeds;
pub mod separator;
pub mod statistics;
pub mod surrogate;
pub mod synth;

/// Polars, re-exported so notebooks can name and use the DataFrames musiclime returns.
pub use polars;

/// The types a notebook or a downstream crate needs most, in one import.
pub mod prelude {
    pub use crate::error::{Error, Result};
    pub use crate::experiment::config::Method;
    pub use crate::explanation::{refit, Explanation, LabelChoice, LabelExplanation, RefitParams};
    pub use crate::features::{Feature, FeatureSpace, Modality};
    pub use crate::lyrics::{LyricFeatures, LyricUnit, LyricsParams};
    pub use crate::neighborhood::io::{read_neighborhood, write_neighborhood};
    pub use crate::neighborhood::kernel::{Kernel, KernelParams};
    pub use crate::neighborhood::sampler::{
        perturb, Perturbations, PerturbedModality, SamplerKind, SamplerParams,
    };
    pub use crate::neighborhood::Neighborhood;
    #[cfg(feature = "notebook")]
    pub use crate::notebook::DataFrameDisplay;
    pub use crate::notebook::{
        synth_tracks, AudioClip, Experiment, Explainer, RunResult, Table, Track, TrackExplanation,
    };
    pub use crate::report::charts::Chart;
    pub use crate::surrogate::{FeatureSelection, SurrogateFit, SurrogateParams, WeightSort};
    pub use polars::prelude::DataFrame;
}
