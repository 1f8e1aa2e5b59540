//! ONNX separators (`separator.yaml`): the tiny spectrogram-mask separator of
//! `tests/fixtures/separator` (made by its generate.py with a PyTorch reference of the whole
//! separation) gives PyTorch's stems; `musiclime separate` writes them as WAV; bad separators
//! (a missing graph, wrong stems or bins, a sample rate the graph was not exported for, NaN) are
//! refused with the file named, exit 2, and nothing written.
//!
//! ONNX Runtime comes from the project's `.venv` (`just setup`, or `.ci/run`).

use std::path::{Path, PathBuf};

use musiclime::audio::decode::decode_file;
use musiclime::frontend::npy::read_npy;
use musiclime::separator::OnnxSeparator;

mod common;
use common::{assert_success, binary};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/separator")
}

fn clip() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/frontend/music_16k.flac")
}

/// Signal-to-distortion ratio of `estimate` against `reference`, in dB.
fn sdr(reference: &[f32], estimate: &[f32]) -> f64 {
    let (mut signal, mut error) = (0.0f64, 0.0f64);
    for (r, e) in reference.iter().zip(estimate) {
        signal += (*r as f64).powi(2);
        error += (*r as f64 - *e as f64).powi(2);
    }
    10.0 * (signal / error.max(1e-30)).log10()
}

#[test]
fn the_tiny_separator_gives_pytorchs_stems() {
    let audio = decode_file(&clip())
        .unwrap()
        .crop(0.0, Some(2.0), "clip")
        .unwrap();
    let mut separator = OnnxSeparator::load(&fixtures().join("separator.yaml")).unwrap();
    let separated = separator.separate(&audio).unwrap();
    let (shape, expected) = read_npy(&fixtures().join("expected.npy")).unwrap();
    assert_eq!(shape, [2, audio.samples.len()]);
    for (s, (name, stem)) in separated.stems.iter().enumerate() {
        assert_eq!(stem.len(), audio.samples.len(), "{name}");
        let want = &expected[s * shape[1]..(s + 1) * shape[1]];
        // float32 STFTs on both sides (realfft here, pocketfft in PyTorch): 100+ dB apart.
        let db = sdr(want, stem);
        assert!(db >= 80.0, "{name}: SDR {db:.1} dB against PyTorch");
    }
    // 96 of 257 bins are modelled: the rest of the mixture is in no stem, and that is said.
    assert!(separated.residual_db > -15.0 && separated.residual_db < -10.0);
    let note = separated.residual_note(&fixtures().join("separator.yaml"));
    assert!(note.unwrap().contains("within -11.6 dB"));
}

/// Open-Unmix's form: reflect padding, `[channels, bins, frames]`, the whole clip as one
/// chunk through a recurrent graph, and the mixture's phase (`Separator(niter=0)`).
#[test]
fn an_open_unmix_form_separator_gives_pytorchs_stems() {
    assert_open_unmix_stems("unmix_separator.yaml", "expected_unmix.npy", 80.0);
}

/// The same with Open-Unmix's multichannel Wiener filter: 2 EM iterations on windows of 100
/// frames against openunmix's own `filtering.wiener` in float64 (129–133 dB when measured;
/// openunmix's float32 run is 80–86 dB from its float64 one, generated.json).
#[test]
fn open_unmixs_wiener_filter_gives_openunmixs_stems() {
    assert_open_unmix_stems(
        "unmix_wiener_separator.yaml",
        "expected_unmix_wiener.npy",
        100.0,
    );
    // The filter changes the stems: they are not the unfiltered ones.
    let (_, plain) = read_npy(&fixtures().join("expected_unmix.npy")).unwrap();
    let (_, filtered) = read_npy(&fixtures().join("expected_unmix_wiener.npy")).unwrap();
    assert!(sdr(&plain, &filtered) < 40.0);
}

/// Demucs's form (`kind: waveform`): chunks of samples overlapping by 25 %, cross-faded,
/// against the same chunking in PyTorch.
#[test]
fn a_waveform_separator_gives_pytorchs_stems() {
    assert_stems_match(
        "waveform_separator.yaml",
        "expected_wave.npy",
        &["vocals", "accompaniment"],
        80.0,
    );
}

fn assert_open_unmix_stems(yaml: &str, expected: &str, min_sdr: f64) {
    assert_stems_match(yaml, expected, &["vocals", "drums", "other"], min_sdr);
}

/// The fixture separator `yaml` on the first 2 s of the clip gives the stems `names`, each
/// within `min_sdr` dB of PyTorch's (`expected`, [stems, samples]).
fn assert_stems_match(yaml: &str, expected: &str, names: &[&str], min_sdr: f64) {
    let audio = decode_file(&clip())
        .unwrap()
        .crop(0.0, Some(2.0), "clip")
        .unwrap();
    let separated = OnnxSeparator::load(&fixtures().join(yaml))
        .unwrap()
        .separate(&audio)
        .unwrap();
    let (shape, expected) = read_npy(&fixtures().join(expected)).unwrap();
    assert_eq!(shape, [names.len(), audio.samples.len()]);
    let got: Vec<&str> = separated.stems.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(got, names);
    for (s, (name, stem)) in separated.stems.iter().enumerate() {
        let db = sdr(&expected[s * shape[1]..(s + 1) * shape[1]], stem);
        assert!(db >= min_sdr, "{name}: SDR {db:.1} dB against PyTorch");
    }
}

fn separate(separator: &Path, out: &Path) -> std::process::Output {
    binary()
        .arg("separate")
        .arg("--audio")
        .arg(clip())
        .arg("--separator")
        .arg(separator)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn separate_writes_the_stems_and_refuses_bad_separators() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("stems");
    let output = separate(&fixtures().join("separator.yaml"), &out);
    assert_success(&output);
    let mixture = decode_file(&clip()).unwrap();
    for stem in ["vocals", "accompaniment"] {
        let audio = decode_file(&out.join(format!("{stem}.wav"))).unwrap();
        assert_eq!(audio.sample_rate, mixture.sample_rate);
        assert_eq!(audio.samples.len(), mixture.samples.len());
    }
    assert!(String::from_utf8_lossy(&output.stderr).contains("warning: the stems of"));

    let spec = std::fs::read_to_string(fixtures().join("separator.yaml")).unwrap();
    let onnx = fixtures().join("tiny.onnx").display().to_string();
    let wave = std::fs::read_to_string(fixtures().join("waveform_separator.yaml"))
        .unwrap()
        .replace(
            "tiny_wave.onnx",
            &fixtures().join("tiny_wave.onnx").display().to_string(),
        );
    let bad = |name: &str, text: String| {
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        path
    };
    let cases = [
        (
            bad("missing", spec.replace("tiny.onnx", "gone.onnx")),
            "gone.onnx not found",
        ),
        (
            bad(
                "three",
                spec.replace("tiny.onnx", &onnx)
                    .replace("[vocals, accompaniment]", "[vocals, drums, bass]"),
            ),
            "the graph's `estimates`",
        ),
        (
            bad("one", spec.replace("[vocals, accompaniment]", "[vocals]")),
            "a separator yields at least two",
        ),
        (
            bad(
                "bins",
                spec.replace("tiny.onnx", &onnx)
                    .replace("bins: 96", "bins: 128"),
            ),
            "fix stems, channels, frames or stft.bins",
        ),
        (
            bad("typo", spec.replace("max_batch", "max_batches")),
            "unknown field `max_batches`",
        ),
        (
            bad(
                "rate",
                spec.replace("tiny.onnx", &onnx)
                    .replace("sample_rate: 16000", "sample_rate: 44100"),
            ),
            "was exported for 16000 Hz",
        ),
        (fixtures().join("nan_separator.yaml"), "must be finite"),
        (
            bad("overlap", wave.replace("overlap: 0.25", "overlap: 1.0")),
            "`overlap` is 1",
        ),
        (
            bad(
                "wave_stft",
                format!("{wave}stft: {{n_fft: 512, hop: 128, bins: 96}}\n"),
            ),
            "describe a spectrogram separator",
        ),
    ];
    for (yaml, needle) in cases {
        let out = dir.path().join("refused");
        let output = separate(&yaml, &out);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{}: {stderr}",
            yaml.display()
        );
        assert!(stderr.contains(needle), "{}: {stderr}", yaml.display());
        let name = yaml.file_name().unwrap().to_string_lossy().to_string();
        assert!(stderr.contains(&name), "{stderr}");
        assert!(!out.exists(), "{}", yaml.display());
    }
}

/// A run whose explainers factorize with an ONNX separator separates each track once, across
/// explainers, grid cells and repeats, caches the stems under the run's `stems/`, records the
/// separator in run.json, and a later run reuses them.
#[test]
fn a_run_separates_each_track_once_and_reuses_the_stems() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::write(dir.path().join("a.txt"), "fire and rain").unwrap();
    std::fs::write(dir.path().join("b.txt"), "ocean and wind").unwrap();
    std::fs::write(
        dir.path().join("manifest.csv"),
        format!(
            "id,audio,lyrics\na,{},a.txt\nb,{},b.txt\n",
            clip().display(),
            repo.join("tests/fixtures/transformers/music_b_16k.flac")
                .display()
        ),
    )
    .unwrap();
    let separator = fixtures().join("separator.yaml");
    let config = dir.path().join("run.yaml");
    std::fs::write(
        &config,
        format!(
            "dataset:\n  manifest: manifest.csv\nmodels:\n  planted: builtin:planted\nexplainers:\n  - {{name: musiclime, method: musiclime, model: planted, num_samples: 30, factorization: {{separator: {sep}}}}}\n  - {{name: lime_audio, method: lime_audio, model: planted, num_samples: 30, factorization: {{separator: {sep}}}}}\ngrid:\n  segments: [3, 4]\nrepeats: 2\nmetrics: [deletion_auc]\noutput: {}\n",
            dir.path().join("out").display(),
            sep = separator.display()
        ),
    )
    .unwrap();
    let output = binary().arg("run").arg(&config).output().unwrap();
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // 2 tracks × 2 explainers × 2 cells × 2 repeats = 16 units, 2 separations.
    assert_eq!(stderr.matches("separated by").count(), 2, "{stderr}");
    let run: serde_json::Value = common::read_json(&dir.path().join("out/run.json"));
    let cache = run["separators"][separator.display().to_string()]
        .as_str()
        .unwrap()
        .to_string();
    for id in ["a", "b"] {
        let stems = Path::new(&cache).join(id);
        assert!(stems.join("vocals.wav").is_file() && stems.join("stems.json").is_file());
    }
    let records = std::fs::read_dir(dir.path().join("out/store"))
        .unwrap()
        .count();
    assert_eq!(records, 16);
    let features = std::fs::read_to_string(dir.path().join("out/tables/metrics.csv")).unwrap();
    assert!(features.contains("deletion_auc"));

    // Again from scratch (--fresh clears the results, not the stems): nothing is separated.
    let again = binary()
        .arg("run")
        .arg(&config)
        .arg("--fresh")
        .output()
        .unwrap();
    assert_success(&again);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("separated by"));

    // A separator that does not load stops the run before any work, naming it.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("separator.yaml", "nan.onnx");
    std::fs::write(&config, text).unwrap();
    let refused = binary()
        .arg("run")
        .arg(&config)
        .arg("--fresh")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("factorization: {separator:"), "{stderr}");
}

/// `explain --separator separator.yaml` factorizes with the separator's stems × segments.
#[test]
fn explain_takes_an_onnx_separator() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("lyrics.txt"), "fire and rain").unwrap();
    let out = dir.path().join("out");
    let output = binary()
        .arg("explain")
        .arg("--audio")
        .arg(clip())
        .arg("--lyrics")
        .arg(dir.path().join("lyrics.txt"))
        .arg("--separator")
        .arg(fixtures().join("separator.yaml"))
        .args(["--segments", "5", "--num-samples", "40", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_success(&output);
    let explanation = common::read_json(&out.join("explanation.json"));
    let names: Vec<String> = explanation["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["modality"] == "audio")
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(
        names.contains(&"vocals0".to_string()) && names.contains(&"accompaniment4".to_string())
    );
}
