//! `musiclime separate`: a song's stems as WAV files, by an ONNX separator (people listen to
//! stems before they trust an explanation built on them).

use std::path::PathBuf;

use musiclime::audio::decode::decode_file;
use musiclime::error::Result;
use musiclime::separator::OnnxSeparator;

#[derive(clap::Args)]
pub(super) struct SeparateArgs {
    /// The song's audio (WAV, FLAC, MP3, Ogg/Vorbis).
    #[arg(long)]
    audio: PathBuf,
    /// The separator: a separator.yaml describing an ONNX graph.
    #[arg(long)]
    separator: PathBuf,
    /// Output directory: one `<stem>.wav` per stem (mono float32, at the song's rate) and
    /// `stems.json`; a stems directory `--stems DIR` reads.
    #[arg(long)]
    out: PathBuf,
    /// Also write the decoded mono mixture the stems come from (`mixture.wav`).
    #[arg(long)]
    write_mixture: bool,
}

/// Separates the song and writes its stems, all or nothing.
pub(super) fn run(args: SeparateArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let mut separator = OnnxSeparator::load(&args.separator)?;
    let audio = decode_file(&args.audio)?;
    let separated = separator.separate(&audio)?;
    if let Some(note) = separated.residual_note(&args.separator) {
        eprintln!("warning: {note}");
    }
    let mixture = args.write_mixture.then_some(&audio);
    separated.write(&args.out, &args.separator, mixture)?;
    let names: Vec<&str> = separated.stems.iter().map(|(n, _)| n.as_str()).collect();
    println!(
        "wrote {} ({}; {:.1} s of audio in {:.1} s; residual {:.1} dB)",
        args.out.display(),
        names.join(", "),
        audio.duration_s(),
        started.elapsed().as_secs_f64(),
        separated.residual_db
    );
    Ok(())
}
