//! Config-driven experiments. In the order a run goes through them: the YAML schema
//! ([`config`]), datasets ([`dataset`]), the checks before any model call ([`preflight`]),
//! the runner ([`runner`]), its shards ([`shard`]) and their SLURM launch ([`slurm`]), one unit of work and the cache an instance's units share
//! ([`unit`](mod@unit)), the separators' stems cache ([`stems_cache`]) with its metrics ([`unit_metrics`]), the resumable result store ([`store`]) and
//! `run.json` ([`manifest`]); then the statistics of a run ([`summary`]), its tables
//! ([`tables`]) and charts ([`charts`]), global importances as tables and charts
//! ([`global`]), and the report that writes them all with the index ([`report`]).

pub mod charts;
pub mod config;
pub mod dataset;
pub mod global;
pub mod manifest;
pub mod preflight;
pub mod report;
pub mod runner;
pub mod shard;
pub mod slurm;
pub mod stems_cache;
pub mod store;
pub mod summary;
pub mod tables;
pub mod unit;
pub mod unit_metrics;
