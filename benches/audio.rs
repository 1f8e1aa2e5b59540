//! Criterion benchmarks of the audio stages: composing 1000 masks of a 30 s, 44.1 kHz track
//! with 40 components (4 sources × 10 segments), and HPSS separation of a 30 s track.
//! Run with `cargo bench --bench audio`.

use criterion::{criterion_group, criterion_main, Criterion};
use musiclime::audio::Audio;
use musiclime::factorize::{
    segment_bounds, Factorization, HpssParams, Segmentation, SourceSegments,
};
use musiclime::neighborhood::sampler::SamplerParams;
use std::hint::black_box;

const RATE: u32 = 44_100;
const SECONDS: usize = 30;

fn signal(freq: f32) -> Vec<f32> {
    (0..RATE as usize * SECONDS)
        .map(|i| 0.2 * (2.0 * std::f32::consts::PI * freq * i as f32 / RATE as f32).sin())
        .collect()
}

fn bench(c: &mut Criterion) {
    let sources: Vec<(String, Vec<f32>)> = ["vocals", "drums", "bass", "other"]
        .iter()
        .zip([440.0, 3000.0, 60.0, 220.0])
        .map(|(n, f)| (n.to_string(), signal(f)))
        .collect();
    let len = sources[0].1.len();
    let bounds = segment_bounds(len, RATE, &Segmentation::FixedCount(10)).expect("bounds");
    let factorization = SourceSegments::new(sources, bounds, RATE);
    let masks = SamplerParams {
        num_samples: 1000,
        seed: 1,
        ..Default::default()
    }
    .sample(40)
    .expect("masks");
    let rows: Vec<Vec<bool>> = masks
        .rows()
        .into_iter()
        .map(|r| r.iter().map(|b| *b == 1).collect())
        .collect();
    let mut group = c.benchmark_group("audio");
    group.sample_size(10);
    group.bench_function("compose 1000 masks, 30 s 44.1 kHz, 40 components", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            for row in &rows {
                factorization.compose_into(row, &mut out);
                black_box(&out);
            }
        })
    });
    let mixture = Audio::new(factorization.compose(&[true; 40]), RATE);
    group.bench_function("hpss 30 s 44.1 kHz", |b| {
        b.iter(|| black_box(HpssParams::default().separate(&mixture).expect("hpss")))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
