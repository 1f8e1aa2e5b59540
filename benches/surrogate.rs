//! Criterion benchmarks of the non-model stages of one explanation at paper scale
//! (n = 5000 samples, d = 240 features): sampling, kernel weights, and one surrogate fit per
//! feature-selection method. Run with `cargo bench --bench surrogate`.

use criterion::{criterion_group, criterion_main, Criterion};
use musiclime::prelude::*;
use ndarray::{Array1, Array2};
use std::hint::black_box;

const N: usize = 5000;
const D: usize = 240;

/// A planted target: a sparse linear function of the masks squashed by a logistic.
fn neighbourhood() -> (Array2<f64>, Array1<f64>, Array1<f64>) {
    let masks = SamplerParams {
        num_samples: N,
        seed: 1,
        ..Default::default()
    }
    .sample(D)
    .expect("sample");
    let data = masks.mapv(f64::from);
    let target = data
        .rows()
        .into_iter()
        .map(|r| {
            let z = 0.8 * r[3] - 0.6 * r[17] + 0.5 * r[100] + 0.3 * r[239] - 0.7;
            1.0 / (1.0 + (-z).exp())
        })
        .collect();
    let weights = KernelParams::default()
        .weights(data.view(), None)
        .expect("weights");
    (data, target, weights)
}

fn bench(c: &mut Criterion) {
    c.bench_function("sample paper 5000x240", |b| {
        let params = SamplerParams {
            num_samples: N,
            seed: 7,
            ..Default::default()
        };
        b.iter(|| black_box(params.sample(D).expect("sample")))
    });
    let (data, target, weights) = neighbourhood();
    c.bench_function("kernel weights 5000x240", |b| {
        let params = KernelParams::default();
        b.iter(|| black_box(params.weights(data.view(), None).expect("weights")))
    });
    let mut group = c.benchmark_group("surrogate fit 5000x240");
    group.sample_size(20);
    for (name, method, k) in [
        ("none", FeatureSelection::None, 100_000),
        (
            "auto (highest_weights, all)",
            FeatureSelection::Auto,
            100_000,
        ),
        (
            "forward_selection k=6",
            FeatureSelection::ForwardSelection,
            6,
        ),
        ("lasso_path k=10", FeatureSelection::LassoPath, 10),
    ] {
        let params = SurrogateParams {
            feature_selection: method,
            num_features: k,
            ..Default::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    params
                        .fit(data.view(), target.view(), weights.view())
                        .expect("fit"),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
