//! Writing mono WAV files (32-bit float or 16-bit integer) with `hound`, atomically.

use std::io::Cursor;
use std::path::Path;

use super::Audio;
use crate::error::{Error, Result};
use crate::fs::write_atomically;

/// Sample encoding of a written WAV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavEncoding {
    /// IEEE float, 32 bits (lossless for our signals).
    Float32,
    /// Signed integer, 16 bits (clipped to [-1, 1]).
    Int16,
}

/// Writes `audio` to `path` as a mono WAV file; the file appears complete or not at all.
pub fn write_wav(path: &Path, audio: &Audio, encoding: WavEncoding) -> Result<()> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: audio.sample_rate,
        bits_per_sample: match encoding {
            WavEncoding::Float32 => 32,
            WavEncoding::Int16 => 16,
        },
        sample_format: match encoding {
            WavEncoding::Float32 => hound::SampleFormat::Float,
            WavEncoding::Int16 => hound::SampleFormat::Int,
        },
    };
    let encode_error = |e: hound::Error| Error::in_file(path, format!("could not encode WAV: {e}"));
    let mut bytes = Cursor::new(Vec::new());
    {
        let mut writer = hound::WavWriter::new(&mut bytes, spec).map_err(encode_error)?;
        for &s in &audio.samples {
            match encoding {
                WavEncoding::Float32 => writer.write_sample(s).map_err(encode_error)?,
                WavEncoding::Int16 => writer
                    .write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16)
                    .map_err(encode_error)?,
            }
        }
        writer.finalize().map_err(encode_error)?;
    }
    write_atomically(path, &bytes.into_inner())
}
