//! Config-driven experiments: the YAML schema ([`config`]), datasets ([`dataset`]), the
//! resumable result store ([`store`]), the runner ([`runner`]), the metrics of each unit
//! ([`unit_metrics`]), the statistics of a run ([`summary`]), its tables ([`tables`]) and
//! charts ([`charts`]), global importances written as tables and charts ([`global`]), and the
//! report (tables, charts and index, [`report`]).

pub mod charts;
pub mod config;
pub mod dataset;
pub mod global;
pub mod report;
pub mod runner;
pub mod store;
pub mod summary;
pub mod tables;
pub mod unit_metrics;
