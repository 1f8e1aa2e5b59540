//! `musiclime frontend`: what a model's audio input receives for one file, as .npy.

use std::path::PathBuf;

use musiclime::audio::decode::decode_file;
use musiclime::error::{Error, Result};
use musiclime::frontend::npy::write_npy;
use musiclime::frontend::AudioFrontend;
use musiclime::model::onnx::spec::ModelSpec;

#[derive(clap::Args)]
pub(super) struct FrontendArgs {
    /// The audio file.
    #[arg(long)]
    audio: PathBuf,
    /// The model spec (model.yaml) whose audio input to compute.
    #[arg(long)]
    model: PathBuf,
    /// Output .npy file.
    #[arg(long)]
    out: PathBuf,
}

/// Computes the model's audio input for the file and writes it with a batch axis of 1.
pub(super) fn run(args: FrontendArgs) -> Result<()> {
    let spec = ModelSpec::load(&args.model)?;
    let input = spec.inputs.iter().find_map(|i| i.audio()).ok_or_else(|| {
        Error::in_file(
            &args.model,
            "has no audio input (waveform, log_mel or kaldi_fbank); nothing to compute",
        )
    })?;
    let frontend = AudioFrontend::new(&input).map_err(|e| match e {
        Error::Input {
            source_name,
            message,
        } => Error::in_file(&args.model, format!("`{source_name}`: {message}")),
        other => other,
    })?;
    // A patched model pads short clips to one patch; the whole clip's features are written
    // (the model cuts them into `patching.frames`-frame patches).
    let frontend = match spec.patching {
        Some(p) => frontend.with_min_frames(p.frames),
        None => frontend,
    };
    let audio = decode_file(&args.audio)?;
    let features = frontend.features(
        &audio.samples,
        audio.sample_rate,
        &args.audio.display().to_string(),
    )?;
    let len = frontend.fitted_len(audio.samples.len(), audio.sample_rate);
    let shape: Vec<usize> = std::iter::once(1).chain(frontend.shape(len)).collect();
    write_npy(&args.out, &shape, &features)?;
    println!(
        "wrote {} ({} input `{}`, shape {shape:?})",
        args.out.display(),
        args.model.display(),
        frontend.name()
    );
    Ok(())
}
