//! Decoding every supported encoding of one known signal (fixtures and the script that made
//! them in `tests/fixtures/audio/`), mixing down to mono, and rejecting bad files.

use std::path::{Path, PathBuf};

use musiclime::audio::decode::decode_file;
use musiclime::audio::resample::resample;
use musiclime::audio::wav::{write_wav, WavEncoding};
use musiclime::audio::Audio;

mod common;

fn fixture(name: &str) -> PathBuf {
    common::fixture("audio").join(name)
}

fn reference() -> Vec<f32> {
    let bytes = std::fs::read(fixture("reference_mono.f32")).expect("reference");
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn max_error(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn lossless_encodings_decode_to_the_exact_mono_mixdown() {
    let want = reference();
    for (name, tolerance) in [
        ("wav_u8.wav", 1.0 / 64.0),
        ("wav_i16.wav", 1e-4),
        ("wav_i24.wav", 1e-6),
        ("wav_i32.wav", 1e-6),
        ("wav_f32.wav", 1e-7),
        ("flac_i16.flac", 1e-4),
        ("flac_i24.flac", 1e-6),
    ] {
        let audio = decode_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(audio.sample_rate, 16_000, "{name}");
        assert_eq!(audio.samples.len(), want.len(), "{name}");
        let error = max_error(&audio.samples, &want);
        assert!(error <= tolerance, "{name}: max error {error}");
    }
}

/// Normalised cross-correlation at the best lag within ±`max_lag` samples.
fn best_correlation(a: &[f32], b: &[f32], max_lag: i64) -> f32 {
    let mut best = f32::MIN;
    for lag in -max_lag..=max_lag {
        let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
        for (i, x) in a.iter().enumerate() {
            let j = i as i64 + lag;
            if j < 0 || j >= b.len() as i64 {
                continue;
            }
            let y = b[j as usize];
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }
        if aa > 0.0 && bb > 0.0 {
            best = best.max(ab / (aa * bb).sqrt());
        }
    }
    best
}

#[test]
fn lossy_encodings_decode_to_the_same_sound() {
    let want = reference();
    for name in ["mp3.mp3", "vorbis.ogg"] {
        let audio = decode_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(audio.sample_rate, 16_000, "{name}");
        let length_difference = (audio.samples.len() as i64 - want.len() as i64).abs();
        assert!(
            length_difference <= 2304,
            "{name}: {} samples",
            audio.samples.len()
        );
        let correlation =
            best_correlation(&audio.samples[..6000.min(audio.samples.len())], &want, 1200);
        assert!(correlation > 0.95, "{name}: correlation {correlation}");
    }
}

#[test]
fn wav_written_by_us_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let audio = Audio::new(reference(), 16_000);
    let path = dir.path().join("x.wav");
    write_wav(&path, &audio, WavEncoding::Float32).unwrap();
    assert_eq!(decode_file(&path).unwrap(), audio);
    write_wav(&path, &audio, WavEncoding::Int16).unwrap();
    assert!(max_error(&decode_file(&path).unwrap().samples, &audio.samples) < 1e-4);
    // Resampled content survives a round trip too.
    let resampled = resample(&audio, 22_050).unwrap();
    write_wav(&path, &resampled, WavEncoding::Float32).unwrap();
    assert_eq!(decode_file(&path).unwrap().sample_rate, 22_050);
}

fn assert_rejected(path: &Path, mentions: &str) {
    let error = decode_file(path)
        .expect_err("bad audio must be rejected")
        .to_string();
    assert!(
        error.contains(&path.display().to_string()),
        "names the file: {error}"
    );
    assert!(error.contains(mentions), "says {mentions:?}: {error}");
}

#[test]
fn bad_audio_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    assert_rejected(&empty, "not a readable audio file");

    let garbage = dir.path().join("garbage.mp3");
    std::fs::write(
        &garbage,
        (0..4000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    assert!(decode_file(&garbage).is_err());

    let wav = std::fs::read(fixture("wav_i16.wav")).unwrap();
    let truncated = dir.path().join("truncated.wav");
    std::fs::write(&truncated, &wav[..wav.len() / 3]).unwrap();
    assert_rejected(&truncated, "truncated");

    let header_only = dir.path().join("header_only.wav");
    std::fs::write(&header_only, &wav[..44]).unwrap();
    assert!(decode_file(&header_only).is_err());

    let text = dir.path().join("lyrics.flac");
    std::fs::write(&text, "these are lyrics, not audio\n".repeat(50)).unwrap();
    assert_rejected(&text, "not a readable audio file");

    assert_rejected(&dir.path().join("missing.wav"), "No such file");
}

#[test]
fn an_unsupported_codec_is_named() {
    // A WAV header declaring format tag 0x0161 (Windows Media Audio), which no decoder handles.
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36u32 + 1000).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&0x0161u16.to_le_bytes()); // format tag
    bytes.extend_from_slice(&1u16.to_le_bytes()); // channels
    bytes.extend_from_slice(&16_000u32.to_le_bytes());
    bytes.extend_from_slice(&32_000u32.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&1000u32.to_le_bytes());
    bytes.extend(std::iter::repeat_n(0u8, 1000));
    let path = dir.path().join("wma.wav");
    std::fs::write(&path, bytes).unwrap();
    let error = decode_file(&path).expect_err("unsupported").to_string();
    assert!(
        error.contains("wma.wav") && error.contains("unsupported"),
        "{error}"
    );
}
