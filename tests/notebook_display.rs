//! The notebook API and rich display, without Jupyter: what `evcxr_display` sends is the
//! `to_html` (and chart SVG/PNG) checked here. `just notebooks` executes the real notebooks.

use base64::Engine;
use musiclime::prelude::*;

fn decode_data_url(html: &str, prefix: &str) -> Vec<u8> {
    let start = html.find(prefix).expect("a data URL") + prefix.len();
    let end = start + html[start..].find('"').unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(&html[start..end])
        .expect("valid base64")
}

#[test]
fn an_explained_track_shows_tables_charts_and_audio_players() {
    let dir = tempfile::tempdir().unwrap();
    let tracks = synth_tracks(dir.path().join("tracks"), 1, 7).unwrap();
    let explained = Explainer::new("builtin:multimodal")
        .num_samples(200)
        .explain(&tracks[0])
        .unwrap();
    let html = explained.to_html();
    assert!(
        html.contains("track000") && html.contains("<table"),
        "{html}"
    );
    let png = decode_data_url(&html, "data:image/png;base64,");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    // every explained label's top features are listed
    let e = explained.explanation();
    let top = &e.features[e.labels[0].fit.weights[0].0].name;
    assert!(html.contains(top.as_str()));
    let chart = e.chart(e.labels[0].label).unwrap();
    assert!(chart.svg.starts_with("<svg") && chart.svg.contains("audio weights"));

    let clip = explained.listen(3).unwrap();
    let player = clip.to_html().unwrap();
    assert!(player.contains("<audio controls"));
    let wav = decode_data_url(&player, "data:audio/wav;base64,");
    let reader = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
    assert_eq!(reader.spec().sample_rate, 16_000);
    assert_eq!(reader.len() as usize, clip.samples.len());
    let rest = explained.listen_rest(3).unwrap();
    let whole: f32 = clip
        .samples
        .iter()
        .zip(&rest.samples)
        .map(|(a, b)| (a + b).abs())
        .sum();
    assert!(whole > 0.0, "top and rest together are the track");

    let weights = explained.weights().unwrap();
    assert_eq!(
        weights.frame.height(),
        e.labels.iter().map(|l| l.fit.weights.len()).sum::<usize>()
    );
    let table = weights.to_html();
    assert!(table.contains("<th>weight</th>") && table.contains("rows)"));
}

#[test]
fn an_experiment_is_changed_in_code_run_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/quickstart.yaml");
    let run = Experiment::load(&config)
        .unwrap()
        // The quickstart's paper table names metrics this run leaves out.
        .set("report", None::<()>)
        .unwrap()
        .set("dataset.synthetic.tracks", 2)
        .unwrap()
        .set("grid", serde_json::json!({"segments": [5, 10]}))
        .unwrap()
        .set("explainers.*.num_samples", 60)
        .unwrap()
        .set("repeats", 1)
        .unwrap()
        .set("metrics", ["score", "deletion_auc", "precision_at_k_audio"])
        .unwrap()
        .set("output", dir.path().join("out"))
        .unwrap()
        .run_fresh()
        .unwrap();
    let summary = run.summary().unwrap();
    assert!(summary.height() >= 2, "{summary}");
    assert!(summary
        .get_column_names()
        .iter()
        .any(|c| c.as_str() == "deletion_auc_mean"));
    // a bare DataFrame shows itself too (the prelude's DataFrameDisplay)
    summary.evcxr_display();
    let html = run.to_html();
    assert!(
        html.contains("<table") && html.contains("deletion_auc"),
        "{html}"
    );
    assert!(
        html.contains("data:image/png;base64,"),
        "comparison charts inline"
    );
    assert!(run.chart_names().iter().any(|n| n.starts_with("compare_")));
    let chart = run.chart(&run.chart_names()[0]).unwrap();
    assert!(chart.size.0 > 100 && chart.size.1 > 100);

    // mistakes say which key is wrong
    let base = Experiment::load(&config).unwrap();
    let err = base
        .clone()
        .set("explainers.*.num_sampels", 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("num_sampels"), "{err}");
    let err = base
        .clone()
        .set("explainers.9.segments", 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`9` is not an index"), "{err}");
    // the quickstart grid sweeps num_samples, which would override an explainer's value
    let err = base
        .clone()
        .set("explainers.*.num_samples", 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("set `grid.num_samples`"), "{err}");
    let err = base
        .set("models.*", "builtin:audio")
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a list"), "{err}");
    // the method must read what the model reads
    let tracks = synth_tracks(dir.path().join("tracks"), 1, 3).unwrap();
    let err = Explainer::new("builtin:audio")
        .method(Method::LimeLyrics)
        .num_samples(50)
        .explain(&tracks[0])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("does not read the lyrics"), "{err}");
}

#[test]
fn an_explainer_explains_the_stems_of_an_onnx_separator() {
    let dir = tempfile::tempdir().unwrap();
    let tracks = synth_tracks(dir.path().join("tracks"), 1, 7).unwrap();
    let separator = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/separator/separator.yaml"
    );
    let explained = Explainer::new("builtin:multimodal")
        .separator(separator)
        .segments(4)
        .num_samples(100)
        .explain(&tracks[0])
        .unwrap();
    let names: Vec<&str> = explained
        .explanation()
        .features
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert!(
        names.contains(&"vocals0") && names.contains(&"accompaniment3"),
        "{names:?}"
    );
}
