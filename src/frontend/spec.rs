//! The audio input kinds of a model spec (`model.yaml`, `inputs[]` with `kind: waveform`,
//! `log_mel` or `kaldi_fbank`), with the defaults of the libraries they mirror.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A named axis of one instance's features (the batch axis always comes first and is not
/// listed). `channels` is an axis of size 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// Mel bands.
    Mels,
    /// Analysis frames (time).
    Frames,
    /// Waveform samples (time).
    Samples,
    /// An axis of size 1.
    Channels,
}

/// Window functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// Hann; periodic for log-mel (librosa), symmetric for Kaldi (torchaudio's `hanning`).
    Hann,
    /// Alias of `hann`, as torchaudio spells it.
    Hanning,
    /// Hamming (0.54, 0.46); periodic for log-mel, symmetric for Kaldi.
    Hamming,
    /// Kaldi's default: symmetric Hann raised to the power 0.85.
    Povey,
    /// All ones.
    Rectangular,
}

/// Padding of the signal's ends for centred frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadMode {
    /// Zeros.
    Constant,
    /// Mirror without repeating the edge sample (NumPy's `reflect`).
    Reflect,
}

/// The mel scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MelScale {
    /// Slaney's Auditory Toolbox scale (librosa's default): linear below 1 kHz, log above.
    Slaney,
    /// `2595 log10(1 + f / 700)`.
    Htk,
}

/// Normalisation of the mel filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MelNorm {
    /// Each filter scaled to constant energy per Hz (librosa's `norm="slaney"`).
    Slaney,
    /// Peak 1.
    None,
}

/// Log compression of mel energies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// No compression.
    None,
    /// `ln(max(x, amin))`.
    Ln,
    /// `log10(1 + log_scale · x)`.
    Log10Scaled,
    /// `10 log10(max(x, amin))` (librosa's `power_to_db` with `ref=1`), then `top_db` clipping.
    Db,
}

/// `kind: waveform`: the mono samples at `sample_rate`, optionally padded or cropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaveformSpec {
    /// The ONNX input name.
    pub name: String,
    /// Sample rate the model expects (the audio is resampled to it).
    pub sample_rate: u32,
    /// Pad with zeros at the end, or crop, to this many seconds.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// Axes per instance: `[samples]` (default) or with a `channels` axis.
    #[serde(default = "default_waveform_layout")]
    pub layout: Vec<Axis>,
}

fn default_waveform_layout() -> Vec<Axis> {
    vec![Axis::Samples]
}

/// `kind: log_mel`: librosa's `melspectrogram` followed by a log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogMelSpec {
    /// The ONNX input name.
    pub name: String,
    /// Sample rate the model expects (the audio is resampled to it).
    pub sample_rate: u32,
    /// Pad with zeros at the end, or crop, to this many seconds (before the STFT).
    #[serde(default)]
    pub seconds: Option<f64>,
    /// FFT length.
    pub n_fft: usize,
    /// Hop between frames, in samples.
    pub hop_length: usize,
    /// Window length (zero-padded, centred, to `n_fft`); default `n_fft`.
    #[serde(default)]
    pub win_length: Option<usize>,
    /// Window function (periodic); default `hann`.
    #[serde(default = "default_hann")]
    pub window: WindowKind,
    /// Centre frames by padding `n_fft / 2` on both ends; default true.
    #[serde(default = "default_true")]
    pub center: bool,
    /// How centring pads; default `constant` (librosa ≥ 0.10).
    #[serde(default = "default_constant")]
    pub pad_mode: PadMode,
    /// Number of mel bands; default 128.
    #[serde(default = "default_n_mels")]
    pub n_mels: usize,
    /// Lowest band edge in Hz; default 0.
    #[serde(default)]
    pub fmin: f64,
    /// Highest band edge in Hz; default `sample_rate / 2`.
    #[serde(default)]
    pub fmax: Option<f64>,
    /// Exponent of the magnitude: 2 for power (default), 1 for magnitude.
    #[serde(default = "default_power")]
    pub power: f64,
    /// Mel scale; default `slaney`.
    #[serde(default = "default_slaney_scale")]
    pub mel_scale: MelScale,
    /// Filter normalisation; default `slaney`.
    #[serde(default = "default_slaney_norm")]
    pub mel_norm: MelNorm,
    /// Log compression; default `none`.
    #[serde(default = "default_log")]
    pub log: LogKind,
    /// Scale inside `log10_scaled`; default 1.
    #[serde(default = "default_one")]
    pub log_scale: f64,
    /// Floor for `ln` and `db`; default 1e-10.
    #[serde(default = "default_amin")]
    pub amin: f64,
    /// For `db`: clip at this many dB below the spectrogram's maximum; default none.
    #[serde(default)]
    pub top_db: Option<f64>,
    /// Axes per instance; default `[mels, frames]`.
    #[serde(default = "default_mel_layout")]
    pub layout: Vec<Axis>,
}

/// `kind: kaldi_fbank`: `torchaudio.compliance.kaldi.fbank` without dither or energy, as AST
/// uses it, then padding/cropping to `target_frames` and `(x - mean) / std`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KaldiFbankSpec {
    /// The ONNX input name.
    pub name: String,
    /// Sample rate the model expects; default 16000.
    #[serde(default = "default_16k")]
    pub sample_rate: u32,
    /// Pad with zeros at the end, or crop, to this many seconds (before framing).
    #[serde(default)]
    pub seconds: Option<f64>,
    /// Frame length in ms; default 25.
    #[serde(default = "default_frame_length")]
    pub frame_length_ms: f64,
    /// Frame shift in ms; default 10.
    #[serde(default = "default_frame_shift")]
    pub frame_shift_ms: f64,
    /// Window (symmetric); default `povey`.
    #[serde(default = "default_povey")]
    pub window: WindowKind,
    /// Pre-emphasis coefficient; default 0.97.
    #[serde(default = "default_preemphasis")]
    pub preemphasis: f64,
    /// Subtract each frame's mean; default true.
    #[serde(default = "default_true")]
    pub remove_dc_offset: bool,
    /// Number of mel bins; default 128.
    #[serde(default = "default_n_mels")]
    pub n_mels: usize,
    /// Lowest mel edge in Hz; default 20.
    #[serde(default = "default_low_freq")]
    pub low_freq: f64,
    /// Highest mel edge in Hz; `0` means Nyquist, negative values count down from it.
    #[serde(default)]
    pub high_freq: f64,
    /// Only frames that fit entirely in the signal; default true.
    #[serde(default = "default_true")]
    pub snip_edges: bool,
    /// Zero-pad frames to a power of two before the FFT; default true.
    #[serde(default = "default_true")]
    pub round_to_power_of_two: bool,
    /// Pad with zero rows, or crop, to this many frames (after the log).
    #[serde(default)]
    pub target_frames: Option<usize>,
    /// Subtracted after padding (with `std`).
    #[serde(default)]
    pub mean: Option<f64>,
    /// Divides after subtracting `mean`.
    #[serde(default)]
    pub std: Option<f64>,
    /// Axes per instance; default `[frames, mels]`.
    #[serde(default = "default_fbank_layout")]
    pub layout: Vec<Axis>,
}

fn default_true() -> bool {
    true
}
fn default_hann() -> WindowKind {
    WindowKind::Hann
}
fn default_povey() -> WindowKind {
    WindowKind::Povey
}
fn default_constant() -> PadMode {
    PadMode::Constant
}
fn default_n_mels() -> usize {
    128
}
fn default_power() -> f64 {
    2.0
}
fn default_slaney_scale() -> MelScale {
    MelScale::Slaney
}
fn default_slaney_norm() -> MelNorm {
    MelNorm::Slaney
}
fn default_log() -> LogKind {
    LogKind::None
}
fn default_one() -> f64 {
    1.0
}
fn default_amin() -> f64 {
    1e-10
}
fn default_mel_layout() -> Vec<Axis> {
    vec![Axis::Mels, Axis::Frames]
}
fn default_fbank_layout() -> Vec<Axis> {
    vec![Axis::Frames, Axis::Mels]
}
fn default_16k() -> u32 {
    16_000
}
fn default_frame_length() -> f64 {
    25.0
}
fn default_frame_shift() -> f64 {
    10.0
}
fn default_preemphasis() -> f64 {
    0.97
}
fn default_low_freq() -> f64 {
    20.0
}

/// Checks that `layout` names each of `required` once, plus any number of `channels`.
pub(crate) fn check_layout(input: &str, layout: &[Axis], required: &[Axis]) -> Result<()> {
    for axis in required {
        if layout.iter().filter(|a| *a == axis).count() != 1 {
            return Err(Error::input(
                format!("inputs.{input}.layout"),
                format!(
                    "must name `{}` exactly once, got {layout:?}",
                    axis_name(*axis)
                ),
            ));
        }
    }
    if let Some(bad) = layout
        .iter()
        .find(|a| **a != Axis::Channels && !required.contains(a))
    {
        return Err(Error::input(
            format!("inputs.{input}.layout"),
            format!(
                "`{}` is not an axis of this input; use {:?} and `channels`",
                axis_name(*bad),
                required
            ),
        ));
    }
    Ok(())
}

fn axis_name(axis: Axis) -> &'static str {
    match axis {
        Axis::Mels => "mels",
        Axis::Frames => "frames",
        Axis::Samples => "samples",
        Axis::Channels => "channels",
    }
}
