//! Config-driven experiments: the YAML schema ([`config`]), datasets ([`dataset`]), the
//! resumable result store ([`store`]) and the runner ([`runner`]).

pub mod config;
pub mod dataset;
pub mod runner;
pub mod store;
