//! A comparison nobody can call rigged: tests with a known answer on the built-in models with
//! known contributions (`builtin:additive` and its variants). The closed form of the ranking rule
//! itself is tested in `metrics::fidelity`.

use std::collections::BTreeMap;
use std::path::Path;

use musiclime::explainer::{explain_instance, ExplainParams, Strategy};
use musiclime::factorize::SourceSegments;
use musiclime::lyrics::LyricFeatures;
use musiclime::metrics::fidelity::{deletion, fidelity_order, permutation_ranks, Spaces};
use musiclime::metrics::Space;
use musiclime::model::{builtin, instance_predictor};
use musiclime::neighborhood::sampler::PerturbedModality;
use musiclime::synth::SynthParams;

mod common;
use common::{assert_success, binary};

/// Track `index` of a small synthetic set, as 4 sources × 10 segments, and its lyrics.
fn track(index: usize) -> (SourceSegments, LyricFeatures) {
    let params = SynthParams {
        tracks: 4,
        seed: 11,
        seconds: 2.0,
        sample_rate: 16_000,
        classes: 3,
    };
    common::synthetic_track(&params, index, 10)
}

fn params(strategy: Strategy, modality: PerturbedModality, seed: u64) -> ExplainParams {
    let mut p = ExplainParams {
        strategy,
        modality,
        ..ExplainParams::default()
    };
    p.sampler.seed = seed;
    p.sampler.num_samples = 300;
    p
}

/// The explanation of a track by `strategy` over `modality`, the sampler seeded with `seed`.
fn explain(
    model: &dyn musiclime::model::Classifier,
    audio: &SourceSegments,
    lyrics: &LyricFeatures,
    strategy: Strategy,
    modality: PerturbedModality,
    seed: u64,
) -> musiclime::explainer::ExplainOutcome {
    let params = params(strategy, modality, seed);
    explain_instance(audio, lyrics, model, &params, &mut |_| {}).unwrap()
}

/// The dense weights over the space of `outcome`'s predicted label.
fn dense_weights(outcome: &musiclime::explainer::ExplainOutcome) -> Vec<f64> {
    let label = outcome
        .explanation
        .labels
        .iter()
        .find(|l| l.label == outcome.predicted_label)
        .unwrap();
    let mut w = vec![0.0; outcome.space_len];
    for &(j, v) in &label.fit.weights {
        w[outcome.feature_indices[j]] = v;
    }
    w
}

/// The deletion AUC (10 steps) of an additive model with contributions `c` and output `p_all`
/// on the whole instance, removing features in `order`: the closed form.
fn closed_form_deletion(c: &[f64], p_all: f64, order: &[usize]) -> f64 {
    let d = c.len();
    let mut counts: Vec<usize> = (0..=10).map(|s| (s * d + 5) / 10).collect();
    counts.dedup();
    let p: Vec<f64> = counts
        .iter()
        .map(|&m| p_all - order[..m].iter().map(|&j| c[j]).sum::<f64>())
        .collect();
    (1..p.len())
        .map(|i| 0.5 * (counts[i] - counts[i - 1]) as f64 / d as f64 * (p[i] + p[i - 1]))
        .sum()
}

#[test]
fn the_oracle_gives_exact_contributions_and_the_audio_oracle_scores_its_closed_form() {
    let model = builtin("builtin:additive").unwrap();
    for index in 0..3 {
        let (audio, lyrics) = track(index);
        let full = explain(
            model.as_ref(),
            &audio,
            &lyrics,
            Strategy::Oracle,
            PerturbedModality::Both,
            1,
        );
        let c = dense_weights(&full);
        let label = full.predicted_label;
        let p_all = full.explanation.labels[0].model_output;
        // Additive: the instance without any feature is p_all − Σ c.
        let predictor =
            instance_predictor(model.as_ref(), &audio, &lyrics, Default::default()).unwrap();
        let none = predictor
            .run(
                predictor
                    .prepare(&[vec![false; full.space_len]], 0)
                    .unwrap(),
            )
            .unwrap()[[0, label]];
        let total: f64 = c.iter().sum();
        assert!(
            (p_all - total - none).abs() < 1e-6,
            "{p_all} − {total} vs {none}"
        );
        let audio_only = explain(
            model.as_ref(),
            &audio,
            &lyrics,
            Strategy::Oracle,
            PerturbedModality::Audio,
            1,
        );
        let w = dense_weights(&audio_only);
        let lyric_features = full.space_len - audio_only.feature_indices.len();
        assert!(lyric_features > 0);
        for seed in [3, 4] {
            let label_weights = &audio_only
                .explanation
                .labels
                .iter()
                .find(|l| l.label == label)
                .unwrap()
                .fit
                .weights;
            let spaces = Spaces::new(
                predictor.as_ref(),
                full.space_len,
                &audio_only.feature_indices,
                label_weights,
                label,
                seed,
            );
            let (probe, order, _) = spaces.get(Space::Union);
            let measured = deletion(probe, order, 10).unwrap().0;
            let expected_order = fidelity_order(&w, &permutation_ranks(full.space_len, seed));
            assert_eq!(order, expected_order.as_slice());
            let expected = closed_form_deletion(&c, p_all, &expected_order);
            assert!(
                (measured - expected).abs() < 1e-6,
                "{measured} vs {expected}"
            );
            // The unrestricted oracle's order is the best there is.
            let best = closed_form_deletion(
                &c,
                p_all,
                &fidelity_order(&c, &permutation_ranks(full.space_len, seed)),
            );
            assert!(best <= measured + 1e-12);
        }
    }
}

#[test]
fn the_random_explainer_scores_the_midpoint_of_the_whole_and_the_empty_instance() {
    // A random order removes on average m/D of the total contribution after m steps, so the
    // expected deletion AUC of an additive model is (p_all + p_none) / 2.
    let model = builtin("builtin:additive").unwrap();
    let (audio, lyrics) = track(1);
    let predictor =
        instance_predictor(model.as_ref(), &audio, &lyrics, Default::default()).unwrap();
    let mut aucs = Vec::new();
    let (mut p_all, mut p_none) = (0.0, 0.0);
    for seed in 0..300u64 {
        let outcome = musiclime::explainer::explain_instance_with(
            predictor.as_ref(),
            &audio,
            &lyrics,
            model.as_ref(),
            &params(Strategy::Random, PerturbedModality::Both, seed),
            &mut |_| {},
        )
        .unwrap();
        let label = outcome.predicted_label;
        let weights = &outcome.explanation.labels[0].fit.weights;
        let spaces = Spaces::new(
            predictor.as_ref(),
            outcome.space_len,
            &outcome.feature_indices,
            weights,
            label,
            seed + 1000,
        );
        let (probe, order, _) = spaces.get(Space::Union);
        let (auc, curve) = deletion(probe, order, 10).unwrap();
        p_all = curve.values[0];
        p_none = *curve.values.last().unwrap();
        aucs.push(auc);
    }
    let n = aucs.len() as f64;
    let mean = aucs.iter().sum::<f64>() / n;
    let sd = (aucs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let expected = (p_all + p_none) / 2.0;
    assert!(
        (mean - expected).abs() < 4.0 * sd / n.sqrt(),
        "mean {mean} vs {expected} (sd {sd})"
    );
}

/// `metrics.csv` of a run: (explainer, metric) → instance → mean over repeats.
fn metric_values(out: &Path) -> BTreeMap<(String, String), BTreeMap<String, f64>> {
    let text = std::fs::read_to_string(out.join("tables/metrics.csv")).unwrap();
    let mut sums: BTreeMap<(String, String), BTreeMap<String, (f64, usize)>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let Ok(v) = f[5].parse::<f64>() else { continue };
        let e = sums
            .entry((f[1].to_string(), f[4].to_string()))
            .or_default()
            .entry(f[0].to_string())
            .or_default();
        e.0 += v;
        e.1 += 1;
    }
    sums.into_iter()
        .map(|(k, m)| {
            (
                k,
                m.into_iter().map(|(i, (s, n))| (i, s / n as f64)).collect(),
            )
        })
        .collect()
}

const MODELS: &str =
    "models:\n  additive: builtin:additive\n  mute_lyrics: builtin:additive_mute_lyrics\n";

fn write_config(dir: &Path, explainers: &str, extra: &str) -> std::path::PathBuf {
    let text = format!(
        "seed: 0\ndataset:\n  synthetic: {{tracks: 8, seed: 5, seconds: 2.0, sample_rate: 16000, classes: 2}}\n{MODELS}explainers:\n{explainers}repeats: 1\nmetrics: [deletion_auc, insertion_auc, comprehensiveness_top_10, sufficiency_top_10]\ngrid:\n  num_samples: [400]\noutput: {}\n{extra}",
        dir.join("out").display()
    );
    let path = dir.join("fairness.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn oracle_best_null_and_control_ties_through_the_runner() {
    let dir = tempfile::tempdir().unwrap();
    let explainers = "  - {name: oracle, method: oracle, model: additive}\n  - {name: musiclime, method: musiclime, model: additive}\n  - {name: lime_separate, method: lime_separate, model: additive}\n  - {name: lime_audio, method: lime_audio, model: additive}\n  - {name: random, method: random, model: additive}\n  - {name: null_musiclime, method: musiclime, model: mute_lyrics}\n  - {name: null_lime_audio, method: lime_audio, model: mute_lyrics}\n";
    let path = write_config(dir.path(), explainers, "");
    assert_success(&binary().arg("run").arg(&path).output().unwrap());
    let values = metric_values(&dir.path().join("out"));
    let of = |e: &str, m: &str| values[&(e.to_string(), m.to_string())].clone();
    // The oracle: lowest deletion and highest insertion AUC on every instance.
    for other in ["musiclime", "lime_separate", "lime_audio", "random"] {
        for (instance, oracle) in of("oracle", "deletion_auc") {
            assert!(
                oracle <= of(other, "deletion_auc")[&instance] + 1e-9,
                "{other} {instance}"
            );
        }
        for (instance, oracle) in of("oracle", "insertion_auc") {
            assert!(
                oracle >= of(other, "insertion_auc")[&instance] - 1e-9,
                "{other} {instance}"
            );
        }
    }
    // Null: the lyrics carry no weight, so joint perturbation and audio-only LIME tie; the
    // control ties MusicLIME where there is no interaction.
    for (a, b) in [
        ("null_musiclime", "null_lime_audio"),
        ("musiclime", "lime_separate"),
    ] {
        for metric in [
            "deletion_auc",
            "insertion_auc",
            "comprehensiveness_top_10",
            "sufficiency_top_10",
        ] {
            let (x, y) = (of(a, metric), of(b, metric));
            let diffs: Vec<f64> = x.iter().map(|(i, v)| v - y[i]).collect();
            let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
            assert!(
                mean.abs() < 0.01,
                "{a} vs {b} on {metric}: mean difference {mean}"
            );
        }
    }
    // Random is the floor: worse than MusicLIME on average.
    let mean = |m: BTreeMap<String, f64>| m.values().sum::<f64>() / m.len() as f64;
    assert!(mean(of("random", "deletion_auc")) > mean(of("musiclime", "deletion_auc")));
    // Nothing compares explainers of two models.
    let comparisons =
        std::fs::read_to_string(dir.path().join("out/tables/comparisons.csv")).unwrap();
    for line in comparisons.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(
            f[3].starts_with("null_"),
            f[4].starts_with("null_"),
            "{line}"
        );
    }
}

#[test]
fn an_explainer_on_another_model_leaves_the_paper_table_unchanged() {
    let report = "report:\n  reference: musiclime\n  table:\n    metrics: [deletion_auc, insertion_auc]\n    explainers: [musiclime, lime_audio, lime_separate]\n";
    let base = "  - {name: musiclime, method: musiclime, model: additive}\n  - {name: lime_audio, method: lime_audio, model: additive}\n  - {name: lime_separate, method: lime_separate, model: additive}\n";
    let mut tables = Vec::new();
    for extra in ["", "  - {name: elsewhere, method: lime_audio, model: mute_lyrics}\n  - {name: unlisted, method: random, model: additive}\n"] {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), &format!("{base}{extra}"), report);
        assert_success(&binary().arg("run").arg(&path).output().unwrap());
        let paper = std::fs::read_to_string(dir.path().join("out/tables/paper.md")).unwrap();
        assert!(paper.contains("n = 8 instances"), "{paper}");
        assert!(paper.contains("deletion_auc Δ"), "{paper}");
        tables.push(paper);
    }
    assert_eq!(tables[0], tables[1]);
}

#[test]
fn validate_refuses_a_control_without_both_modalities_and_an_unlisted_reference() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "  - {name: musiclime, method: musiclime, model: additive}\n  - {name: sep, method: lime_separate, model: audio_only}\n",
            "",
            "lime_separate",
        ),
        (
            "  - {name: musiclime, method: musiclime, model: additive}\n  - {name: lime_audio, method: lime_audio, model: additive}\n",
            "report:\n  reference: musiclime\n  table:\n    metrics: [deletion_auc]\n    explainers: [lime_audio]\n",
            "does not list the reference",
        ),
        (
            "  - {name: musiclime, method: musiclime, model: additive}\n  - {name: oracle, method: oracle, model: xor}\n",
            "",
            "exact contributions",
        ),
    ];
    for (explainers, report, expected) in cases {
        let path = write_config(dir.path(), explainers, report);
        let text = std::fs::read_to_string(&path).unwrap().replace(
            MODELS,
            &format!("{MODELS}  audio_only: builtin:audio\n  xor: builtin:interaction\n"),
        );
        std::fs::write(&path, text).unwrap();
        for command in ["validate", "run"] {
            let output = binary().arg(command).arg(&path).output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
            assert!(stderr.contains(expected), "{command}: {stderr}");
            assert!(
                !dir.path().join("out/tables").exists(),
                "{command} wrote tables"
            );
        }
    }
}

#[test]
fn lime_separate_joins_two_halves_and_the_fidelity_order_ignores_the_sampler() {
    let model = builtin("builtin:additive").unwrap();
    let (audio, lyrics) = track(2);
    let exact = explain(
        model.as_ref(),
        &audio,
        &lyrics,
        Strategy::Oracle,
        PerturbedModality::Both,
        1,
    );
    let separate = explain(
        model.as_ref(),
        &audio,
        &lyrics,
        Strategy::Separate,
        PerturbedModality::Both,
        1,
    );
    // Audio features first, then the words, each at its index of the space.
    assert_eq!(
        separate.feature_indices,
        (0..separate.space_len).collect::<Vec<_>>()
    );
    assert_eq!(separate.explanation.features, exact.explanation.features);
    assert_eq!(separate.explanation.num_samples, 300);
    // On an additive model each half recovers its modality's contributions.
    let (c, w) = (dense_weights(&exact), dense_weights(&separate));
    let worst = c
        .iter()
        .zip(&w)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 0.01, "worst weight error {worst}");
    let label = &separate.explanation.labels[0];
    assert!(label.fit.score.is_nan());
    let sum: f64 = label.fit.weights.iter().map(|(_, v)| v).sum();
    assert!((label.fit.intercept + sum - label.fit.local_pred).abs() < 1e-9);
    assert!((label.fit.local_pred - label.model_output).abs() < 0.01);
    // The oracle's weights do not depend on the sampler seed, and neither does the order the
    // fidelity metrics use: it follows the unit's fidelity-order seed alone.
    let again = explain(
        model.as_ref(),
        &audio,
        &lyrics,
        Strategy::Oracle,
        PerturbedModality::Both,
        99,
    );
    let config = musiclime::experiment::config::ExperimentConfig::parse(
        "dataset: {synthetic: {tracks: 1}}\nmodels: {m: builtin:additive}\nexplainers: [{name: o, method: oracle, model: m}]\n",
        Path::new("c.yaml"),
    )
    .unwrap();
    let seeds = config.unit_seeds("track002", 0);
    let predictor =
        instance_predictor(model.as_ref(), &audio, &lyrics, Default::default()).unwrap();
    let order = |o: &musiclime::explainer::ExplainOutcome| {
        let weights = &o.explanation.labels[0].fit.weights;
        let spaces = Spaces::new(
            predictor.as_ref(),
            o.space_len,
            &o.feature_indices,
            weights,
            o.predicted_label,
            seeds.fidelity_order,
        );
        spaces.get(Space::Union).1.to_vec()
    };
    assert_ne!(seeds.sampler, seeds.fidelity_order);
    assert_eq!(order(&exact), order(&again));
}
