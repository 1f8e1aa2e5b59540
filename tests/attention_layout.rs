//! Attention maps that know the model's token layout (`keys:` of an attention output): patch
//! keys of a `[frequency, time]` grid give each explanation time segment the share of their
//! weight that overlaps it, leading special keys count nowhere, a grid whose size does not
//! match the model's key count is refused naming `outputs.attention.<name>.keys`, and the
//! row-vector rollout equals the full matrix product it replaces.
//!
//! Expected values come from `tests/fixtures/attention_grid/generate.py` (a tiny ONNX model
//! whose attention output is a known patch-grid map, and the tiny AST fixture's PyTorch
//! attention row); the old full-product rollout is restated here as the reference. ONNX
//! Runtime comes from the project's `.venv` (`just setup`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use musiclime::audio::decode::decode_file;
use musiclime::error::Error;
use musiclime::features::{Feature, Modality};
use musiclime::lyrics::{LyricFeatures, LyricsParams};
use musiclime::metrics::attention::{unit_masses, AttentionSource};
use musiclime::model::attention::{reduce, AttentionMap};
use musiclime::model::onnx::OnnxModel;
use musiclime::model::ModelInput;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

mod common;
use common::{floats, read_json};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/attention_grid")
}

fn expected() -> Value {
    read_json(&fixtures().join("expected.json"))
}

#[track_caller]
fn assert_close(got: &[f64], want: &[f64], tolerance: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance,
            "{what}[{i}]: {g} vs {w} (tolerance {tolerance})\n got {got:?}\nwant {want:?}"
        );
    }
}

/// One audio component per `[start, end)` segment of `segments` (a JSON list of pairs).
fn segment_features(segments: &Value) -> Vec<Feature> {
    segments
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(s, pair)| {
            let pair = floats(pair);
            Feature::audio_component("mix", s, pair[0], pair[1])
        })
        .collect()
}

/// The attention masses per segment of `features` under `source` (weights do not matter).
fn segment_masses(
    maps: &[AttentionMap],
    source: AttentionSource,
    features: &[Feature],
) -> Vec<f64> {
    let lyrics = LyricFeatures::new("", &LyricsParams::default()).unwrap();
    let weights: Vec<(usize, f64)> = (0..features.len()).map(|j| (j, 1.0)).collect();
    unit_masses(maps, source, Modality::Audio, &weights, features, &lyrics)
        .unwrap()
        .1
}

/// The tiny model's input: a tone of the length `generate.py` chose.
fn tone(audio: &Value) -> ModelInput {
    let rate = audio["sample_rate"].as_u64().unwrap() as u32;
    let hz = audio["tone_hz"].as_f64().unwrap();
    let samples = (0..audio["samples"].as_u64().unwrap())
        .map(|i| (0.3 * (std::f64::consts::TAU * hz * i as f64 / f64::from(rate)).sin()) as f32)
        .collect();
    ModelInput {
        audio: samples,
        sample_rate: rate,
        lyrics: String::new(),
    }
}

/// The tiny model's attention map of its tone input, with rollout.
fn tiny_map(yaml: &str) -> AttentionMap {
    let model = OnnxModel::load(&fixtures().join(yaml)).unwrap();
    let mut maps = model
        .attention(&[tone(&expected()["tiny"]["audio"])], true)
        .unwrap();
    maps.pop().unwrap().pop().unwrap()
}

#[test]
fn grid_patches_give_each_time_segment_the_share_of_their_weight_that_overlaps_it() {
    let expected = expected();
    let tiny = &expected["tiny"];
    let tolerance = expected["tolerance"].as_f64().unwrap();
    let features = segment_features(&tiny["segments"]);
    for yaml in ["grid.yaml", "grid_time_major.yaml"] {
        let map = tiny_map(yaml);
        assert_eq!(map.special, 2, "{yaml}");
        assert_close(
            &map.first_token,
            &floats(&tiny["first_token"]),
            tolerance,
            &format!("{yaml} first_token"),
        );
        assert_close(
            map.rollout.as_deref().unwrap(),
            &floats(&tiny["rollout"]),
            tolerance,
            &format!("{yaml} rollout (NumPy's full product)"),
        );
        for (source, name) in [
            (AttentionSource::FirstToken, "first_token"),
            (AttentionSource::Rollout, "rollout"),
        ] {
            let got = segment_masses(std::slice::from_ref(&map), source, &features);
            assert_close(
                &got,
                &floats(&tiny["masses"][yaml][name]),
                tolerance,
                &format!("{yaml} {name} masses"),
            );
        }
    }
}

#[test]
fn the_ast_fixture_attention_per_second_is_what_its_patch_grid_gives() {
    let expected = expected();
    let ast = &expected["ast"];
    let model =
        OnnxModel::load(&fixtures().join(ast["model"].as_str().unwrap())).expect("keys fit");
    let audio = decode_file(&repo().join(ast["audio"].as_str().unwrap())).unwrap();
    let input = ModelInput {
        audio: audio.samples,
        sample_rate: audio.sample_rate,
        lyrics: String::new(),
    };
    let maps = model.attention(&[input], false).unwrap().pop().unwrap();
    assert_close(
        &maps[0].first_token,
        &floats(&ast["first_token"]),
        ast["first_token_tolerance"].as_f64().unwrap(),
        "AST first_token vs PyTorch",
    );
    let features = segment_features(&ast["segments"]);
    assert_close(
        &segment_masses(&maps, AttentionSource::FirstToken, &features),
        &floats(&ast["masses"]),
        ast["tolerance"].as_f64().unwrap(),
        "AST masses per second",
    );
}

#[test]
fn special_keys_get_no_mass_on_either_modality() {
    let tiny = &expected()["tiny"];
    let features = segment_features(&tiny["segments"]);
    let special = tiny["special"].as_u64().unwrap() as usize;
    // A grid map whose only weight is on the special keys gives every segment 0.
    let mut map = tiny_map("grid.yaml");
    for (k, w) in map.first_token.iter_mut().enumerate() {
        *w = if k < special { 1.0 } else { 0.0 };
    }
    let masses = segment_masses(&[map], AttentionSource::FirstToken, &features);
    assert!(masses.iter().all(|&m| m == 0.0), "{masses:?}");

    // Keys without a grid are spread evenly after the special ones: the same masses as the
    // map with the special keys cut off.
    let weights: Vec<f64> = (0..12).map(|k| 1.0 + k as f64).collect();
    let plain = |first_token: Vec<f64>, special: usize| AttentionMap {
        name: "a".into(),
        modality: Modality::Audio,
        first_token,
        rollout: None,
        token_offsets: None,
        key_seconds: Some(0.6),
        special,
        key_spans: None,
    };
    let with_special = plain(weights.clone(), 2);
    let without = plain(weights[2..].to_vec(), 0);
    assert_eq!(
        segment_masses(&[with_special], AttentionSource::FirstToken, &features),
        segment_masses(&[without], AttentionSource::FirstToken, &features)
    );

    // Lyrics: a leading special key counts for no word even when the tokenizer gave it the
    // first word's bytes.
    let text = "fire and ice";
    let lyrics = LyricFeatures::new(text, &LyricsParams::default()).unwrap();
    let words: Vec<Feature> = lyrics
        .features()
        .iter()
        .map(|f| Feature::named(f.text.clone(), Modality::Lyrics))
        .collect();
    let offsets = vec![(0, 4), (0, 4), (5, 8), (9, 12)];
    let lyric_map = |first_token: Vec<f64>, special: usize| AttentionMap {
        name: "t".into(),
        modality: Modality::Lyrics,
        first_token,
        rollout: None,
        token_offsets: Some(offsets.clone()),
        key_seconds: None,
        special,
        key_spans: None,
    };
    let masses = |map: AttentionMap| {
        let weights: Vec<(usize, f64)> = (0..words.len()).map(|j| (j, 1.0)).collect();
        unit_masses(
            &[map],
            AttentionSource::FirstToken,
            Modality::Lyrics,
            &weights,
            &words,
            &lyrics,
        )
        .unwrap()
        .1
    };
    assert_eq!(
        masses(lyric_map(vec![0.4, 0.3, 0.2, 0.1], 1)),
        masses(lyric_map(vec![0.0, 0.3, 0.2, 0.1], 0))
    );
}

/// `load`'s error, which must name the key and model.yaml and exit with status 2.
#[track_caller]
fn assert_refused(result: musiclime::error::Result<OnnxModel>, yaml: &str, key: &str) -> Error {
    let Err(e) = result else {
        panic!("{yaml} was accepted");
    };
    let message = e.to_string();
    assert!(message.contains(key), "{message}");
    assert!(message.contains(yaml), "{message}");
    assert_eq!(e.exit_code(), 2, "{message}");
    e
}

/// The first attention call's error, which must name the key and model.yaml and exit with
/// status 2.
#[track_caller]
fn assert_refused_at_first_call(yaml: &str, key: &str, input: ModelInput) {
    let model = OnnxModel::load(&fixtures().join(yaml)).unwrap();
    let Err(e) = model.attention(&[input], false) else {
        panic!("{yaml}: the attention call was accepted");
    };
    let message = e.to_string();
    assert!(message.contains(key) && message.contains(yaml), "{message}");
    assert_eq!(e.exit_code(), 2, "{message}");
}

#[test]
fn a_grid_that_does_not_match_the_key_count_is_refused_naming_the_key() {
    // Fixed key axes: refused at load, before any model call.
    let e = assert_refused(
        OnnxModel::load(&fixtures().join("wrong_grid.yaml")),
        "wrong_grid.yaml",
        "outputs.attention.attn.keys",
    );
    assert!(
        e.to_string().contains("14") && e.to_string().contains("16"),
        "{e}"
    );
    // A dynamic key axis: the model loads, and the first attention call is refused.
    assert_refused_at_first_call(
        "wrong_grid_dynamic.yaml",
        "outputs.attention.attn.keys",
        tone(&expected()["tiny"]["audio"]),
    );
    // The exported AST declares its key axes symbolic too (TorchScript's export names them).
    let audio = decode_file(&repo().join("tests/fixtures/frontend/music_16k.flac")).unwrap();
    assert_refused_at_first_call(
        "ast_wrong_grid.yaml",
        "outputs.attention.audio_attentions.keys",
        ModelInput {
            audio: audio.samples,
            sample_rate: audio.sample_rate,
            lyrics: String::new(),
        },
    );
}

/// The rollout's first row as the full product `Ã_{L−1} ⋯ Ã_0` of K × K matrices (O(L·K³)),
/// exactly as `model::attention::reduce` computed it before the row-vector form.
fn full_product_rollout(shape: &[usize], data: &[f32], axes: &[&str], b: usize) -> Vec<f64> {
    let mut strides = vec![1usize; shape.len()];
    for a in (0..shape.len().saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * shape[a + 1];
    }
    let dim = |name: &str| {
        axes.iter()
            .position(|a| *a == name)
            .map(|i| (shape[i], strides[i]))
    };
    let (layers, layer_stride) = dim("layers").unwrap_or((1, 0));
    let (heads, head_stride) = dim("heads").unwrap_or((1, 0));
    let (_, query_stride) = dim("query").unwrap_or((1, 0));
    let (keys, key_stride) = dim("key").unwrap();
    let batch_offset = dim("batch").map_or(0, |(_, s)| b * s);
    let at = |l: usize, h: usize, q: usize, k: usize| {
        data[batch_offset + l * layer_stride + h * head_stride + q * query_stride + k * key_stride]
            as f64
    };
    let row = |l: usize, q: usize| -> Vec<f64> {
        (0..keys)
            .map(|k| (0..heads).map(|h| at(l, h, q, k)).sum::<f64>() / heads as f64)
            .collect()
    };
    let mut joint: Vec<Vec<f64>> = (0..keys)
        .map(|i| (0..keys).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for l in 0..layers {
        let augmented: Vec<Vec<f64>> = (0..keys)
            .map(|q| {
                let mut r = row(l, q);
                r[q] += 1.0;
                r.iter_mut().for_each(|x| *x *= 0.5);
                let total: f64 = r.iter().sum();
                if total > 0.0 {
                    r.iter_mut().for_each(|x| *x /= total);
                }
                r
            })
            .collect();
        joint = (0..keys)
            .map(|i| {
                (0..keys)
                    .map(|j| (0..keys).map(|m| augmented[i][m] * joint[m][j]).sum())
                    .collect()
            })
            .collect();
    }
    joint.swap_remove(0)
}

/// Random attention: every `keys`-long row positive and summing to 1 (some rows sparse).
fn random_maps(rng: &mut ChaCha8Rng, len: usize, keys: usize) -> Vec<f32> {
    let mut data: Vec<f32> = (0..len)
        .map(|_| {
            if rng.random_bool(0.2) {
                0.0
            } else {
                rng.random::<f32>()
            }
        })
        .collect();
    for row in data.chunks_mut(keys) {
        let total: f32 = row.iter().sum();
        if total > 0.0 {
            row.iter_mut().for_each(|x| *x /= total);
        }
    }
    data
}

#[test]
fn the_row_vector_rollout_equals_the_full_matrix_product_on_random_maps() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let cases: [(&[&str], &[usize], usize); 5] = [
        (&["layers", "heads", "query", "key"], &[3, 4, 9, 9], 0),
        (
            &["layers", "batch", "heads", "query", "key"],
            &[2, 3, 2, 17, 17],
            1,
        ),
        (&["batch", "query", "key"], &[2, 5, 5], 1),
        (&["heads", "layers", "key", "query"], &[2, 4, 6, 6], 0),
        (&["layers", "query", "key"], &[5, 33, 33], 0),
    ];
    for (axes, shape, b) in cases {
        let keys = shape[axes.iter().position(|a| *a == "key").unwrap()];
        let data = random_maps(&mut rng, shape.iter().product(), keys);
        let (_, rollout) = reduce(shape, &data, axes, b, true).unwrap();
        let want = full_product_rollout(shape, &data, axes, b);
        assert_close(
            &rollout.unwrap(),
            &want,
            1e-12,
            &format!("{axes:?} {shape:?}"),
        );
    }
}

/// Times the row-vector rollout against the full product on a map of the tiny AST's size
/// (2 layers, 4 heads, 1214 keys). Run with
/// `cargo test --release --test attention_layout -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release with --nocapture"]
fn rollout_timing_on_a_1214_key_map() {
    let (layers, heads, keys) = (2, 4, 1214);
    let shape = [layers, 1, heads, keys, keys];
    let axes = ["layers", "batch", "heads", "query", "key"];
    let data = random_maps(
        &mut ChaCha8Rng::seed_from_u64(11),
        shape.iter().product(),
        keys,
    );
    let start = Instant::now();
    let (_, rollout) = reduce(&shape, &data, &axes, 0, true).unwrap();
    let row_vector = start.elapsed();
    let start = Instant::now();
    let full = full_product_rollout(&shape, &data, &axes, 0);
    let full_product = start.elapsed();
    assert_close(&rollout.unwrap(), &full, 1e-12, "1214 keys");
    println!(
        "rollout of [{layers} layers, {heads} heads, {keys} × {keys}]: row vector {:.2} ms, full product {:.2} ms ({:.0}× faster)",
        row_vector.as_secs_f64() * 1e3,
        full_product.as_secs_f64() * 1e3,
        full_product.as_secs_f64() / row_vector.as_secs_f64()
    );
}
