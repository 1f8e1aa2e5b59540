//! Config-driven experiments: the YAML schema ([`config`]), datasets ([`dataset`]), the
//! resumable result store ([`store`]), the runner ([`runner`]), the metrics of each unit
//! ([`unit_metrics`]) and the tables ([`tables`]).

pub mod config;
pub mod dataset;
pub mod runner;
pub mod store;
pub mod tables;
pub mod unit_metrics;
