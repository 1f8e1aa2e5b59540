//! Decoding audio files with `symphonia`: WAV (8/16/24/32-bit integer and 32-bit float),
//! FLAC, MP3, Ogg/Vorbis and the other formats symphonia's `all` feature brings, mixed down to
//! mono as the mean of the channels.

use std::fs::File;
use std::path::Path;

use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use super::Audio;
use crate::error::{Error, Result};

/// Decodes `path` to a mono signal at its own sample rate.
///
/// Errors name the file: unreadable, not audio, unsupported codec, corrupt or truncated data,
/// or no samples at all.
pub fn decode_file(path: &Path) -> Result<Audio> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let stream = MediaSourceStream::new(Box::new(file), MediaSourceStreamOptions::default());
    let mut hint = Hint::new();
    if let Some(extension) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(extension);
    }
    let bad = |what: &str, e: SymphoniaError| -> Error {
        let detail = match e {
            SymphoniaError::Unsupported(feature) => format!("unsupported {feature}"),
            other => other.to_string(),
        };
        Error::in_file(
            path,
            format!("{what}: {detail}; convert it to WAV, FLAC, MP3 or Ogg/Vorbis"),
        )
    };
    let mut reader = symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(|e| bad("not a readable audio file", e))?;
    let track = reader
        .default_track(TrackType::Audio)
        .ok_or_else(|| Error::in_file(path, "the file has no audio track"))?;
    let track_id = track.id;
    let promised_frames = track.num_frames;
    let params = match &track.codec_params {
        Some(CodecParameters::Audio(params)) => params.clone(),
        _ => return Err(Error::in_file(path, "the file's first track is not audio")),
    };
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| bad("cannot decode this codec", e))?;

    let mut mono: Vec<f32> = Vec::new();
    let mut planes: Vec<Vec<f32>> = Vec::new();
    let mut sample_rate = params.sample_rate;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                break
            }
            Err(e) => return Err(bad("corrupt audio data", e)),
        };
        if packet.track_id != track_id {
            continue;
        }
        let decoded = decoder
            .decode(&packet)
            .map_err(|e| bad("corrupt audio data", e))?;
        sample_rate = Some(decoded.spec().rate());
        decoded.copy_to_vecs_planar::<f32>(&mut planes);
        let channels = planes.len().max(1) as f32;
        let frames = decoded.frames();
        let start = mono.len();
        mono.resize(start + frames, 0.0);
        for plane in &planes {
            for (m, s) in mono[start..].iter_mut().zip(plane.iter()) {
                *m += s;
            }
        }
        for m in &mut mono[start..] {
            *m /= channels;
        }
    }
    let sample_rate = sample_rate
        .filter(|r| *r > 0)
        .ok_or_else(|| Error::in_file(path, "the file does not state its sample rate"))?;
    if mono.is_empty() {
        return Err(Error::in_file(
            path,
            "the file contains no audio samples (zero length)",
        ));
    }
    if let Some(promised) = promised_frames {
        // Lossy decoders may trim a few frames of encoder delay and padding; a shortfall beyond
        // that means the file was cut short.
        if (mono.len() as u64) + 4096 < promised {
            return Err(Error::in_file(
                path,
                format!(
                    "the file is truncated: its header promises {promised} frames but only {} could be decoded",
                    mono.len()
                ),
            ));
        }
    }
    if let Some(i) = mono.iter().position(|s| !s.is_finite()) {
        return Err(Error::in_file(
            path,
            format!("sample {i} is not a finite number; the file is corrupt"),
        ));
    }
    Ok(Audio::new(mono, sample_rate))
}
