//! `musiclime synth`: the synthetic benchmark written to a directory.

use std::path::PathBuf;

use musiclime::error::Result;
use musiclime::synth::SynthParams;

#[derive(clap::Args)]
pub(super) struct SynthArgs {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Number of tracks.
    #[arg(long, default_value_t = SynthParams::default().tracks)]
    tracks: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = SynthParams::default().seed)]
    seed: u64,
    /// Track length in seconds.
    #[arg(long, default_value_t = SynthParams::default().seconds)]
    seconds: f64,
    /// Sample rate in Hz.
    #[arg(long, default_value_t = SynthParams::default().sample_rate)]
    sample_rate: u32,
    /// Number of classes (2 to 4).
    #[arg(long, default_value_t = SynthParams::default().classes)]
    classes: usize,
}

impl SynthArgs {
    /// The flags as the library's synthesis parameters.
    fn params(&self) -> SynthParams {
        SynthParams {
            tracks: self.tracks,
            seed: self.seed,
            seconds: self.seconds,
            sample_rate: self.sample_rate,
            classes: self.classes,
        }
    }
}

/// Writes the tracks, their manifest and their planted ground truth.
pub(super) fn run(args: SynthArgs) -> Result<()> {
    let params = args.params();
    params.write(&args.out)?;
    println!(
        "wrote {} tracks, manifest.csv and ground_truth.json to {}",
        params.tracks,
        args.out.display()
    );
    Ok(())
}
