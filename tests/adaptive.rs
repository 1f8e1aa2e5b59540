//! `num_samples: auto`: an explanation drawn in rounds stops where its posterior says it is
//! stable, is exactly the fixed-size explanation of the rows it used, and works (and resumes)
//! in a run; bad targets are refused before any work.

mod common;

use std::path::Path;

use common::{assert_success, binary, read_json};
use musiclime::explainer::adaptive::AdaptiveSampling;
use musiclime::explainer::{explain_track, ExplainOutcome, ExplainParams, TrackParts};
use musiclime::model::builtin;
use musiclime::synth::SynthParams;

/// Explains synthetic track 0 with `model` and `params`.
fn explain(model: &str, params: &ExplainParams) -> ExplainOutcome {
    let synth = SynthParams {
        tracks: 1,
        seconds: 2.0,
        ..SynthParams::default()
    };
    let (audio, lyrics) = common::synthetic_track(&synth, 0, 5);
    let model = builtin(model).unwrap();
    let parts = TrackParts {
        audio: &audio,
        lyrics: &lyrics,
        lyrics_source: "track000",
        origin: "test",
    };
    params.check().unwrap();
    let explained = explain_track(model.as_ref(), parts, params, &mut |_| {}).unwrap();
    explained.outcome
}

#[test]
fn auto_stops_where_stable_and_equals_the_fixed_run_of_that_size() {
    let mut auto = ExplainParams::default();
    auto.sampler.num_samples = 3000;
    auto.batch_size = 25;
    auto.adaptive = Some(AdaptiveSampling {
        round: 50,
        stability: 0.99,
        relative_width: None,
        half_width: None,
    });
    let adaptive = explain("builtin:interaction", &auto);
    let used = adaptive.explanation.num_samples;
    assert!(used > 50 && used < 3000, "stopped at {used} rows");
    assert_eq!(used % 50, 0, "rounds end on multiples of the round");
    for label in &adaptive.explanation.labels {
        let p = label
            .fit
            .uncertainty
            .as_ref()
            .unwrap()
            .top_k_stable
            .unwrap();
        assert!(p >= 0.99, "label {} stopped at p = {p}", label.label);
    }
    // One round fewer would not have met the target: the fixed run of used − 50 rows.
    let mut fewer = auto.clone();
    fewer.adaptive = None;
    fewer.sampler.num_samples = used - 50;
    let before = explain("builtin:interaction", &fewer);
    assert!(before
        .explanation
        .labels
        .iter()
        .any(|l| { l.fit.uncertainty.as_ref().unwrap().top_k_stable.unwrap() < 0.99 }));
    // The fixed run of `used` rows: the same masks, outputs and explanation.
    let mut fixed = auto.clone();
    fixed.adaptive = None;
    fixed.sampler.num_samples = used;
    let same = explain("builtin:interaction", &fixed);
    assert_eq!(same.neighborhood.masks, adaptive.neighborhood.masks);
    assert_eq!(same.neighborhood.probs, adaptive.neighborhood.probs);
    assert_eq!(same.explanation, adaptive.explanation);
    // Memoisation holds across rounds: every distinct row ran once.
    assert_eq!(same.counts.items_run, adaptive.counts.items_run);
}

#[test]
fn auto_runs_to_the_ceiling_when_the_target_is_never_met() {
    let mut auto = ExplainParams::default();
    auto.sampler.num_samples = 120;
    auto.batch_size = 40;
    auto.adaptive = Some(AdaptiveSampling {
        round: 40,
        stability: 1.0,
        relative_width: Some(1e-9),
        half_width: Some(1e-12),
    });
    let outcome = explain("builtin:interaction", &auto);
    assert_eq!(outcome.explanation.num_samples, 120);
}

fn write_config(dir: &Path, explainer: &str, extra: &str) -> std::path::PathBuf {
    let path = dir.join("config.yaml");
    std::fs::write(
        &path,
        format!(
            "name: auto\noutput: {out}\ndataset:\n  synthetic: {{tracks: 4, seed: 3, seconds: 2, classes: 2}}\nmodels:\n  m: builtin:interaction\nexplainers:\n  - {explainer}\nrepeats: 2\nmetrics: [samples_used, posterior_top_k_stable, posterior_half_width, jaccard_at_5]\n{extra}",
            out = dir.join("out").display()
        ),
    )
    .unwrap();
    path
}

fn table(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join("out/tables").join(name)).unwrap()
}

#[test]
fn a_run_with_auto_records_its_samples_and_resumes_after_kill_9_identically() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "{name: ml, method: musiclime, model: m, num_samples: auto, max_samples: 1000, auto_round: 100, batch_size: 50, auto_stability: 0.99, auto_relative_width: 0.05}",
        "",
    );
    let out = binary().arg("run").arg(&config).output().unwrap();
    assert_success(&out);
    let summary = table(dir.path(), "summary.csv");
    let metrics = table(dir.path(), "metrics.csv");
    assert!(summary.contains("samples_used"), "{summary}");
    // Every unit recorded where it stopped: a multiple of the round, at most the ceiling.
    let mut used = Vec::new();
    for line in metrics.lines().filter(|l| l.contains("samples_used")) {
        let value: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
        assert!(value % 100.0 == 0.0 && value <= 1000.0, "{line}");
        used.push(value);
    }
    assert_eq!(used.len(), 8, "{metrics}");
    // Killed in the middle of a run from nothing, then run again: the same tables.
    std::fs::remove_dir_all(dir.path().join("out")).unwrap();
    let mut child = binary()
        .arg("run")
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let store = dir.path().join("out/store");
    let started = std::time::Instant::now();
    while started.elapsed().as_secs() < 120 {
        if stored_units(&store) >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let stored = stored_units(&store);
    assert!(
        stored < 8,
        "the run finished before it was killed ({stored} units)"
    );
    let out = binary().arg("run").arg(&config).output().unwrap();
    assert_success(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("({stored} from the store)")),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(table(dir.path(), "summary.csv"), summary);
    assert_eq!(table(dir.path(), "metrics.csv"), metrics);
    let run = read_json(&dir.path().join("out/run.json"));
    assert!(
        run.to_string().contains("auto"),
        "run.json keeps num_samples: auto"
    );
}

#[test]
fn bad_auto_settings_are_refused_by_validate_naming_the_key() {
    let cases = [
        ("sampler: crossed, audio_masks: 10", "num_samples"),
        ("max_samples: 100, auto_round: 250", "max_samples"),
        ("auto_stability: 1.5", "auto_stability"),
        ("auto_half_width: -0.1", "auto_half_width"),
        ("auto_round: 1", "auto_round"),
        ("auto_relative_width: 0", "auto_relative_width"),
    ];
    for (setting, key) in cases {
        let dir = tempfile::tempdir().unwrap();
        let explainer =
            format!("{{name: ml, method: musiclime, model: m, num_samples: auto, {setting}}}");
        let config = write_config(dir.path(), &explainer, "");
        let out = binary().arg("validate").arg(&config).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{setting}: {stderr}");
        assert!(stderr.contains(key), "{setting}: {stderr}");
    }
    for method in ["random", "lime_separate", "oracle"] {
        let dir = tempfile::tempdir().unwrap();
        let explainer = format!("{{name: x, method: {method}, model: m, num_samples: auto}}");
        let config = write_config(dir.path(), &explainer, "");
        let out = binary().arg("validate").arg(&config).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(method), "{stderr}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = binary()
        .args([
            "explain",
            "--num-samples",
            "lots",
            "--audio",
            "a",
            "--lyrics",
            "b",
            "--out",
        ])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("neither a number of samples nor `auto`"),
        "{stderr}"
    );
}

#[test]
fn tied_features_do_not_keep_auto_sampling_when_the_weights_are_narrow() {
    // The planted model weighs a few features and ties the rest near zero, so its top-5 set
    // stays uncertain at any size; the width target settles it early.
    let mut auto = ExplainParams::default();
    auto.sampler.num_samples = 2000;
    auto.batch_size = 50;
    auto.adaptive = Some(AdaptiveSampling {
        round: 100,
        stability: 1.0,
        relative_width: Some(0.1),
        half_width: None,
    });
    let outcome = explain("builtin:planted", &auto);
    let used = outcome.explanation.num_samples;
    assert!(used < 2000, "ran to the ceiling");
    for label in &outcome.explanation.labels {
        let u = label.fit.uncertainty.as_ref().unwrap();
        let scale = label
            .fit
            .weights
            .iter()
            .map(|(_, w)| w.abs())
            .fold(0.0, f64::max);
        assert!(u.half_widths[..u.k].iter().all(|h| *h <= 0.1 * scale));
    }
    // Without the width target it would not have stopped there.
    let mut strict = auto.clone();
    strict.adaptive = Some(AdaptiveSampling {
        relative_width: None,
        ..auto.adaptive.clone().unwrap()
    });
    assert!(explain("builtin:planted", &strict).explanation.num_samples > used);
}

#[test]
fn few_features_or_a_constant_target_settle_by_width_not_by_a_trivial_stability() {
    // Three features (fewer than k = 5): the top-k set is trivially stable, so only the
    // widths may settle the label; an unreachable width runs to the ceiling.
    let mut auto = ExplainParams::default();
    auto.sampler.num_samples = 300;
    auto.batch_size = 50;
    auto.refit.surrogate.num_features = 3;
    auto.refit.surrogate.feature_selection = musiclime::surrogate::FeatureSelection::HighestWeights;
    auto.adaptive = Some(AdaptiveSampling {
        round: 100,
        stability: 0.5,
        relative_width: Some(1e-9),
        half_width: None,
    });
    let outcome = explain("builtin:interaction", &auto);
    assert_eq!(outcome.explanation.num_samples, 300);
    // A constant target has no uncertainty: stable with probability 1, settled at once.
    use musiclime::surrogate::posterior::WeightPosterior;
    use musiclime::surrogate::ridge::WeightedDesign;
    use musiclime::surrogate::WeightSort;
    let x =
        ndarray::Array2::from_shape_fn((40, 8), |(i, j)| ((i * 7 + j * 3) % 5 < 2) as u8 as f64);
    let y = ndarray::Array1::from_elem(40, 0.5);
    let w = ndarray::Array1::from_elem(40, 1.0);
    let design = WeightedDesign::new(x.view(), y.view(), w.view());
    let columns: Vec<usize> = (0..8).collect();
    let fit = design.fit(&columns, 1.0);
    let posterior = WeightPosterior::of(&design, &columns, &fit, 1.0, 40).unwrap();
    assert_eq!(posterior.top_k_stability(5, WeightSort::Abs, 1000, 1), 1.0);
    // Without a ridge penalty the weights' flat prior takes k more degrees of freedom.
    let x = ndarray::Array2::from_shape_fn((40, 3), |(i, j)| ((i * 5 + j * 7) % 3) as f64);
    let y = ndarray::Array1::from_shape_fn(40, |i| (i % 4) as f64);
    let design = WeightedDesign::new(x.view(), y.view(), w.view());
    let fit = design.fit(&[0, 1, 2], 0.0);
    let flat = WeightPosterior::of(&design, &[0, 1, 2], &fit, 0.0, 40).unwrap();
    assert_eq!(flat.dof, 36);
    assert!(WeightPosterior::of(&design, &[0, 1, 2], &fit, 0.0, 4).is_none());
}

/// Units in a result store: its records, not the temporary file of a write the kill cut short.
fn stored_units(store: &std::path::Path) -> usize {
    std::fs::read_dir(store).map_or(0, |entries| {
        entries
            .filter_map(|e| e.ok())
            .filter(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.ends_with(".json") && !name.starts_with('.')
            })
            .count()
    })
}
