//! The `musiclime` command line: one file per verb. Each verb's flags become the library's
//! parameter structs in one step (its `Args::params`), defaults come from those structs'
//! `Default`, and the verb calls one library function; nothing here holds a pipeline.

mod aggregate;
mod experiment;
mod explain;
mod frontend;
mod refit;
mod separate;
mod synth;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use musiclime::error::{Error, Result};

#[derive(Parser)]
#[command(
    name = "musiclime",
    version,
    about = "Explain multimodal (audio + lyrics) music classifiers with MusicLIME"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fit surrogates on a saved neighbourhood (Parquet) without calling any model.
    Refit(refit::RefitArgs),
    /// Explain one song (audio file + lyrics file) with MusicLIME.
    Explain(Box<explain::ExplainArgs>),
    /// Write the synthetic benchmark: tracks with planted class evidence and their ground truth.
    Synth(synth::SynthArgs),
    /// Run an experiment config: every explainer on every instance, then the tables.
    Run(experiment::RunArgs),
    /// Check an experiment config (keys, files, models, instances) without running it.
    Validate(experiment::ValidateArgs),
    /// Aggregate local explanations (or published per-class sums) into global importances.
    Aggregate(aggregate::AggregateArgs),
    /// Regenerate a run's tables, charts and index from its stored results (no model is
    /// loaded): also the merge of a sharded run.
    Report(experiment::ReportArgs),
    /// Prepare a run and write (with --submit: submit) a SLURM array of its shards plus a
    /// dependent merge job.
    Slurm(experiment::SlurmArgs),
    /// Separate a song into stems with an ONNX separator (separator.yaml) and write them as WAV.
    Separate(separate::SeparateArgs),
    /// Write exactly what a model's audio input receives for one file (float32 .npy with a
    /// batch axis of 1), to diff against the Python pipeline.
    Frontend(frontend::FrontendArgs),
}

/// Parses the arguments, runs the verb and maps errors to exit codes (2: bad input, 1:
/// internal failure). Nothing is written when a command fails.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Refit(args) => refit::run(args),
        Command::Explain(args) => explain::run(*args),
        Command::Synth(args) => synth::run(args),
        Command::Run(args) => experiment::run(args),
        Command::Validate(args) => experiment::validate(args),
        Command::Aggregate(args) => aggregate::run(args),
        Command::Frontend(args) => frontend::run(args),
        Command::Separate(args) => separate::run(args),
        Command::Report(args) => experiment::report(args),
        Command::Slurm(args) => experiment::slurm(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// A value parser for a flag whose values are the library type's names as configs spell them
/// (its serde names), so that a flag and a config key accept the same words.
fn by_name<T: serde::de::DeserializeOwned>(
    what: &'static str,
) -> impl Fn(&str) -> std::result::Result<T, String> + Clone + Send + Sync + 'static {
    move |text: &str| {
        serde_norway::from_value(serde_norway::Value::String(text.to_string())).map_err(|e| {
            let message = e.to_string();
            match message.split_once("expected ") {
                Some((_, names)) => format!("unknown {what} `{text}`; use {names}"),
                None => format!("unknown {what} `{text}`: {message}"),
            }
        })
    }
}

/// A value parser from a library `parse` function (whose errors name the key).
fn parsed<T: 'static>(
    parse: fn(&str) -> Result<T>,
) -> impl Fn(&str) -> std::result::Result<T, String> + Clone + Send + Sync + 'static {
    move |text: &str| parse(text).map_err(|e| e.to_string())
}

/// `value` as pretty JSON with a final newline.
fn pretty(value: &serde_json::Value) -> Result<String> {
    let mut json =
        serde_json::to_string_pretty(value).map_err(|e| Error::serialization("JSON", e))?;
    json.push('\n');
    Ok(json)
}
