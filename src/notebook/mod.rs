//! Notebook exploration (evcxr Jupyter): values that display themselves ([`display`]) and an
//! API for loading, changing and running experiments or explaining single tracks
//! ([`session`]). Everything is re-exported from [`crate::prelude`].

pub mod display;
pub mod session;

#[cfg(feature = "notebook")]
pub use display::DataFrameDisplay;
pub use display::{AudioClip, RunResult, Table};
pub use session::{synth_tracks, Experiment, Explainer, Track, TrackExplanation};
