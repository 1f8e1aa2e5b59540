//! Criterion benchmark of the fast path against the naive path for a log-mel model input:
//! 30 s of 44.1 kHz audio in 40 components (4 sources × 10 segments), model input 16 kHz
//! log-mel (n_fft 1024, hop 512, 64 mels). The naive path composes each masked waveform,
//! resamples it and takes its STFT; the fast path transforms each component once and adds
//! spectra per mask. Both run on one thread, per mask, over the same 1000 masks.
//! Run with `cargo bench --bench frontend`; the cost of 1000 masks is
//! `precompute + 1000 × fast` against `1000 × naive`.

use criterion::{criterion_group, criterion_main, Criterion};
use musiclime::factorize::{segment_bounds, Factorization, Segmentation, SourceSegments};
use musiclime::frontend::components::ComponentSpectra;
use musiclime::frontend::{AudioFrontend, AudioInputSpec};
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
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool");
    let sources: Vec<(String, Vec<f32>)> = ["vocals", "drums", "bass", "other"]
        .iter()
        .zip([440.0, 3000.0, 60.0, 220.0])
        .map(|(n, f)| (n.to_string(), signal(f)))
        .collect();
    let len = sources[0].1.len();
    let bounds = segment_bounds(len, RATE, &Segmentation::FixedCount(10)).expect("bounds");
    let factorization = SourceSegments::new(sources, bounds, RATE);
    let spec: AudioInputSpec = serde_norway::from_str(
        "{name: mel, kind: log_mel, sample_rate: 16000, n_fft: 1024, hop_length: 512, n_mels: 64, log: log10_scaled, log_scale: 10000.0}",
    )
    .expect("spec");
    let frontend = AudioFrontend::new(&spec).expect("frontend");
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
        .map(|r| r.iter().map(|&m| m == 1).collect())
        .collect();
    let spectra = pool
        .install(|| ComponentSpectra::new(&frontend, &factorization))
        .expect("spectra");
    let mut group = c.benchmark_group("log-mel features, 30 s 44.1 kHz, 40 components");
    group.sample_size(10);
    let mut i = 0;
    group.bench_function("naive: compose, resample, STFT, mel (per mask)", |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            let wave = factorization.compose(&rows[i]);
            black_box(frontend.features(&wave, RATE, "bench").expect("features"))
        })
    });
    let mut j = 0;
    group.bench_function("fast: add component spectra, mel (per mask)", |b| {
        b.iter(|| {
            j = (j + 1) % rows.len();
            black_box(spectra.features(&rows[j]))
        })
    });
    group.bench_function(
        "fast: precompute 40 component spectra (once per instance)",
        |b| {
            b.iter(|| {
                pool.install(|| {
                    black_box(ComponentSpectra::new(&frontend, &factorization).expect("spectra"))
                })
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
