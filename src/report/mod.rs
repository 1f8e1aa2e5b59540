//! Paper-ready output: tables ([`tables`]) written as Parquet, CSV, Markdown and LaTeX, and
//! charts ([`charts`], [`run_charts`]) as SVG and PNG, and the run's index ([`index`]).

pub mod charts;
pub mod index;
pub mod run_charts;
pub mod tables;
