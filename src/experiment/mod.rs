//! Config-driven experiments: the YAML schema ([`config`]), datasets ([`dataset`]), the
//! resumable result store ([`store`]), the runner ([`runner`]), the metrics of each unit
//! ([`unit_metrics`]), the tables ([`tables`]) and the report (tables, charts and index,
//! [`report`]).

pub mod config;
pub mod dataset;
pub mod report;
pub mod runner;
pub mod store;
pub mod tables;
pub mod unit_metrics;
