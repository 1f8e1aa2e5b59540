//! # musiclime
//!
//! Explain multimodal (audio + lyrics) music classifiers with MusicLIME (Sotirou et al.,
//! ICASSP 2025) and measure whether the explanations can be trusted.
//!
//! Every stage is a plain value in and a plain value out (see `docs/architecture.md`):
//! lyric features ([`lyrics`]), the feature space ([`features`]), neighbourhood sampling,
//! distances and kernels, and Parquet storage ([`neighborhood`]), the local surrogate with
//! lime-exact feature selection ([`surrogate`]), and the [`explanation::Explanation`] value.

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
