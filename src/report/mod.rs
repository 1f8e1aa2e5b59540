//! Paper-ready output: tables ([`tables`]) written as Parquet, CSV, Markdown and LaTeX.

pub mod tables;
