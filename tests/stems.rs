//! Loading precomputed stems: sum-of-sources identity, resampling to a common rate, and the
//! errors for a missing source or stems of different lengths.

use musiclime::audio::wav::{write_wav, WavEncoding};
use musiclime::audio::Audio;
use musiclime::factorize::SourceSegments;
use musiclime::factorize::{
    load_stems, segment_bounds, Factorization, Segmentation, DEFAULT_SOURCES,
};

fn tone(freq: f32, rate: u32, samples: usize, amplitude: f32) -> Audio {
    Audio::new(
        (0..samples)
            .map(|i| amplitude * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin())
            .collect(),
        rate,
    )
}

fn write_stems(dir: &std::path::Path, rates: [u32; 4], seconds: f32) {
    for ((name, rate), freq) in DEFAULT_SOURCES
        .iter()
        .zip(rates)
        .zip([300.0, 90.0, 55.0, 700.0])
    {
        let audio = tone(freq, rate, (rate as f32 * seconds) as usize, 0.2);
        write_wav(
            &dir.join(format!("{name}.wav")),
            &audio,
            WavEncoding::Float32,
        )
        .unwrap();
    }
}

#[test]
fn stems_compose_to_their_mixture() {
    let dir = tempfile::tempdir().unwrap();
    write_stems(dir.path(), [16_000; 4], 2.0);
    let stems = load_stems(dir.path(), &DEFAULT_SOURCES, None).unwrap();
    assert_eq!(stems.sample_rate, 16_000);
    let mixture = stems.mixture();
    let bounds = segment_bounds(mixture.len(), 16_000, &Segmentation::FixedCount(4)).unwrap();
    let factorization = SourceSegments::new(stems.sources.clone(), bounds, 16_000);
    assert_eq!(factorization.len(), 16);
    let all = factorization.compose(&[true; 16]);
    let worst = all
        .iter()
        .zip(&mixture)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-6,
        "sum of all components equals the mixture ({worst})"
    );
    assert_eq!(factorization.features()[1].name, "drums0");
}

#[test]
fn stems_at_other_rates_are_resampled_to_a_shared_length() {
    let dir = tempfile::tempdir().unwrap();
    write_stems(dir.path(), [16_000, 44_100, 22_050, 16_000], 1.0);
    let stems = load_stems(dir.path(), &DEFAULT_SOURCES, Some(16_000)).unwrap();
    assert!(stems.sources.iter().all(|(_, s)| s.len() == 16_000));
}

#[test]
fn missing_or_mismatched_stems_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    write_stems(dir.path(), [16_000; 4], 1.0);
    std::fs::remove_file(dir.path().join("bass.wav")).unwrap();
    let error = load_stems(dir.path(), &DEFAULT_SOURCES, None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("no `bass` stem"), "{error}");

    write_wav(
        &dir.path().join("bass.wav"),
        &tone(55.0, 16_000, 24_000, 0.2),
        WavEncoding::Float32,
    )
    .unwrap();
    let error = load_stems(dir.path(), &DEFAULT_SOURCES, None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("bass.wav") && error.contains("same length"),
        "{error}"
    );

    let error = load_stems(&dir.path().join("nowhere"), &DEFAULT_SOURCES, None)
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a directory"), "{error}");
}
