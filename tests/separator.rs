//! ONNX separators (`separator.yaml`): the tiny spectrogram-mask separator of
//! `tests/fixtures/separator` (made by its generate.py with a PyTorch reference of the whole
//! separation) gives PyTorch's stems; `musiclime separate` writes them as WAV; bad separators
//! are refused with the file named, exit 2, and nothing written.
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
        (fixtures().join("nan_separator.yaml"), "must be finite"),
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
