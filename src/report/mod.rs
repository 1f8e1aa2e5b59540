//! Paper-ready output, knowing nothing of runs: tables ([`tables`]) written as Parquet, CSV,
//! Markdown and LaTeX, chart primitives ([`charts`]) rendered as SVG and PNG, and a run's index
//! ([`index`]).

pub mod charts;
pub mod index;
pub mod tables;
