//! `separator.yaml`: a source separator given as an ONNX graph. Paths are relative to the file.
//!
//! ```yaml
//! kind: spectrogram_mask        # magnitudes in, each stem's magnitude estimate out
//! onnx: spleeter_2stems.onnx
//! stems: [vocals, accompaniment]
//! sample_rate: 44100
//! channels: 2                   # the mono mixture goes to every channel; stems = channel mean
//! stft: {n_fft: 4096, hop: 1024, bins: 1024}   # periodic Hann, centred, zero padding
//! frames: 512                   # frames per chunk (the model's fixed time axis)
//! input: magnitude              # [batch, channels, frames, bins]
//! output: estimates             # [batch, stems, channels, frames, bins]
//! mask: {power: 2, eps: 1.0e-10}
//! max_batch: 2                  # chunks per ONNX Runtime run
//! ```
//!
//! A waveform separator (Demucs's form) reads samples and writes each stem's samples:
//!
//! ```yaml
//! kind: waveform
//! onnx: demucs.onnx
//! stems: [drums, bass, other, vocals]
//! sample_rate: 44100
//! channels: 2
//! segment: 343980               # samples per chunk (the graph's fixed time axis)
//! overlap: 0.25                 # chunks overlap by this fraction, cross-faded (triangle weights)
//! input: mix                    # [batch, channels, segment]
//! output: sources               # [batch, stems, channels, segment]
//! max_batch: 1
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::audio::stft::CentrePadding;
use crate::error::{Error, Result};

/// How the graph separates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeparatorKind {
    /// The graph reads STFT magnitudes and writes each stem's magnitude estimate; musiclime
    /// turns them into ratio masks on the complex STFT and inverts it (Spleeter, Open-Unmix).
    SpectrogramMask,
    /// The graph reads a chunk of samples and writes each stem's samples (Demucs); chunks
    /// overlap and are cross-faded with triangle weights.
    Waveform,
}

/// The STFT a spectrogram separator reads.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StftSpec {
    /// FFT length (and periodic Hann window length).
    pub n_fft: usize,
    /// Hop between frames.
    pub hop: usize,
    /// The lowest bins the model reads; the bins above are in no stem (their mask is 0).
    pub bins: usize,
    /// How the signal is extended at its ends: `constant` (zeros, Spleeter's) or `reflect`
    /// (Open-Unmix's).
    #[serde(default)]
    pub pad: CentrePadding,
}

/// The order of a chunk's two spectrogram axes in the graph's input and output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpectrogramLayout {
    /// `[..., frames, bins]` (Spleeter).
    #[default]
    FramesBins,
    /// `[..., bins, frames]` (Open-Unmix).
    BinsFrames,
}

/// How the estimates become each stem's complex spectrogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskKind {
    /// The ratio of the estimates: `(e_s^power + eps / 2) / (Σ e^power + eps)` of the mixture
    /// (Spleeter; Open-Unmix with `softmask`).
    #[default]
    Ratio,
    /// The estimate's magnitude with the mixture's phase (Open-Unmix's `separate` without
    /// Wiener iterations, `niter=0`): the stems need not sum to the mixture.
    MixturePhase,
}

/// The mask: by default the ratio `(e_s^power + eps / 2) / (Σ e^power + eps)` of each bin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskSpec {
    /// `ratio` (default) or `mixture_phase`.
    #[serde(default)]
    pub kind: MaskKind,
    /// Power of the estimates (2: a Wiener-like ratio of energies).
    #[serde(default = "default_power")]
    pub power: f64,
    /// Added to keep empty bins finite.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// `mixture_phase` only: Open-Unmix's multichannel Wiener filter after the estimates (its
    /// `Separator` default: 1 iteration on windows of 300 frames); absent: none (`niter=0`).
    #[serde(default)]
    pub wiener: Option<WienerSpec>,
}

/// `mask.wiener`: expectation-maximisation steps of Open-Unmix's Wiener filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WienerSpec {
    /// EM iterations (Open-Unmix's `niter`, default 1).
    #[serde(default = "default_wiener_iterations")]
    pub iterations: usize,
    /// Frames filtered together (Open-Unmix's `wiener_win_len`, default 300).
    #[serde(default = "default_wiener_window")]
    pub window_frames: usize,
}

fn default_wiener_iterations() -> usize {
    1
}
fn default_wiener_window() -> usize {
    300
}

fn default_power() -> f64 {
    2.0
}
fn default_eps() -> f64 {
    1e-10
}

impl Default for MaskSpec {
    fn default() -> Self {
        MaskSpec {
            kind: MaskKind::default(),
            power: default_power(),
            eps: default_eps(),
            wiener: None,
        }
    }
}

/// A whole `separator.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeparatorSpec {
    /// How the graph separates.
    pub kind: SeparatorKind,
    /// The ONNX file.
    pub onnx: PathBuf,
    /// The stems it yields, in its output order.
    pub stems: Vec<String>,
    /// The rate it works at (the audio is resampled to it and the stems back).
    pub sample_rate: u32,
    /// Audio channels it reads (the mono mixture goes to each).
    #[serde(default = "default_channels")]
    pub channels: usize,
    /// The STFT (`spectrogram_mask` only).
    #[serde(default)]
    pub stft: StftSpec,
    /// Frames per chunk; absent: the whole song is one chunk (a recurrent model, whose output
    /// depends on all frames).
    #[serde(default)]
    pub frames: Option<usize>,
    /// The order of the spectrogram axes (default `frames_bins`).
    #[serde(default)]
    pub layout: SpectrogramLayout,
    /// The graph's input name.
    pub input: String,
    /// The graph's output name.
    pub output: String,
    /// The mask.
    #[serde(default)]
    pub mask: MaskSpec,
    /// Chunks per ONNX Runtime run (the cap on its memory); default 1.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// `waveform` only: samples per chunk.
    #[serde(default)]
    pub segment: Option<usize>,
    /// `waveform` only: the fraction of a chunk that overlaps the next (default 0.25).
    #[serde(default)]
    pub overlap: Option<f64>,
}

/// Demucs's default overlap of consecutive chunks.
pub const DEFAULT_OVERLAP: f64 = 0.25;

fn default_channels() -> usize {
    1
}
fn default_max_batch() -> usize {
    1
}

impl SeparatorSpec {
    /// Reads and checks `path`; the graph path becomes relative to the file's directory.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let de = serde_norway::Deserializer::from_str(&text);
        let mut spec: SeparatorSpec = serde_path_to_error::deserialize(de).map_err(|e| {
            let at = match e.path().to_string() {
                at if at == "." => String::new(),
                at => format!(" at `{at}`"),
            };
            Error::in_file(
                path,
                format!("not a valid separator spec{at}: {}", e.inner()),
            )
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        spec.onnx = dir.join(&spec.onnx);
        spec.check().map_err(|m| Error::in_file(path, m))?;
        Ok(spec)
    }

    /// The checks that need no graph.
    fn check(&self) -> std::result::Result<(), String> {
        self.check_stems()?;
        match self.kind {
            SeparatorKind::SpectrogramMask => self.check_spectrogram()?,
            SeparatorKind::Waveform => self.check_waveform()?,
        }
        if !self.onnx.is_file() {
            return Err(format!(
                "`onnx`: {} not found (paths are relative to the separator.yaml)",
                self.onnx.display()
            ));
        }
        Ok(())
    }

    /// `waveform`: `segment` and `overlap`, and none of the spectrogram keys.
    fn check_waveform(&self) -> std::result::Result<(), String> {
        let spectrogram_keys = self.stft != StftSpec::default()
            || self.frames.is_some()
            || self.layout != SpectrogramLayout::default()
            || self.mask != MaskSpec::default();
        if spectrogram_keys {
            return Err("`stft`, `frames`, `layout` and `mask` describe a spectrogram separator; a `kind: waveform` separator reads samples: remove them".into());
        }
        match self.segment {
            Some(n) if n >= 2 => {}
            _ => return Err("`segment`: a waveform separator needs the samples per chunk (its graph's time axis), at least 2".into()),
        }
        let overlap = self.overlap.unwrap_or(DEFAULT_OVERLAP);
        if !(0.0..1.0).contains(&overlap) {
            return Err(format!("`overlap` is {overlap}; it must be at least 0 and below 1 (the fraction of a chunk shared with the next)"));
        }
        for (key, value) in [
            ("channels", self.channels),
            ("max_batch", self.max_batch),
            ("sample_rate", self.sample_rate as usize),
        ] {
            if value == 0 {
                return Err(format!("`{key}` must be at least 1"));
            }
        }
        Ok(())
    }

    /// `spectrogram_mask`: the STFT, frames and mask; no waveform keys.
    fn check_spectrogram(&self) -> std::result::Result<(), String> {
        if self.segment.is_some() || self.overlap.is_some() {
            return Err("`segment` and `overlap` describe a `kind: waveform` separator; a spectrogram separator chunks by `frames`".into());
        }
        if self.stft == StftSpec::default() {
            return Err(
                "`stft` is missing: a spectrogram_mask separator needs `stft: {n_fft, hop, bins}`"
                    .into(),
            );
        }
        let positive = [
            ("sample_rate", self.sample_rate as usize),
            ("channels", self.channels),
            ("stft.n_fft", self.stft.n_fft),
            ("stft.hop", self.stft.hop),
            ("stft.bins", self.stft.bins),
            ("frames", self.frames.unwrap_or(1)),
            ("max_batch", self.max_batch),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(format!("`{key}` must be at least 1"));
        }
        if self.stft.hop > self.stft.n_fft || self.stft.bins > self.stft.n_fft / 2 + 1 {
            return Err(format!(
                "`stft`: hop {} and bins {} must fit n_fft {} (hop <= n_fft, bins <= n_fft / 2 + 1)",
                self.stft.hop, self.stft.bins, self.stft.n_fft
            ));
        }
        if !(self.mask.power > 0.0 && self.mask.eps >= 0.0) {
            return Err("`mask`: power must be positive and eps at least 0".into());
        }
        if let Some(w) = self.mask.wiener {
            if self.mask.kind != MaskKind::MixturePhase {
                return Err("`mask.wiener` refines estimates given the mixture's phase; use it with `mask: {kind: mixture_phase}` (Open-Unmix's form)".into());
            }
            if w.iterations == 0 || w.window_frames == 0 {
                return Err("`mask.wiener`: iterations and window_frames must be at least 1 (no Wiener filter: leave `wiener` out)".into());
            }
            if self.channels > 2 {
                return Err(format!(
                    "`mask.wiener` filters 1 or 2 channels, as Open-Unmix; `channels` is {}",
                    self.channels
                ));
            }
        }
        Ok(())
    }

    /// At least two stems, named and distinct.
    fn check_stems(&self) -> std::result::Result<(), String> {
        if self.stems.len() < 2 {
            return Err(format!(
                "`stems` lists {} stem(s); a separator yields at least two",
                self.stems.len()
            ));
        }
        for (i, s) in self.stems.iter().enumerate() {
            if s.is_empty() || self.stems[..i].contains(s) {
                return Err(format!("`stems`: `{s}` is empty or listed twice"));
            }
        }
        Ok(())
    }

    /// The two spectrogram axes of a chunk in the graph's order (`None` = any).
    fn spectrogram_axes(&self) -> [Option<usize>; 2] {
        match self.layout {
            SpectrogramLayout::FramesBins => [self.frames, Some(self.stft.bins)],
            SpectrogramLayout::BinsFrames => [Some(self.stft.bins), self.frames],
        }
    }

    /// The graph's input shape (batch first, `None` = any).
    pub(crate) fn input_shape(&self) -> Vec<Option<usize>> {
        match self.kind {
            SeparatorKind::SpectrogramMask => {
                let [a, b] = self.spectrogram_axes();
                vec![None, Some(self.channels), a, b]
            }
            SeparatorKind::Waveform => vec![None, Some(self.channels), self.segment],
        }
    }

    /// The graph's output shape (batch first, `None` = any).
    pub(crate) fn output_shape(&self) -> Vec<Option<usize>> {
        let mut shape = self.input_shape();
        shape.insert(1, Some(self.stems.len()));
        shape
    }

    /// Index of (frame `t`, bin `f`) in one chunk of `frames` frames.
    pub(crate) fn cell(&self, t: usize, f: usize, frames: usize) -> usize {
        match self.layout {
            SpectrogramLayout::FramesBins => t * self.stft.bins + f,
            SpectrogramLayout::BinsFrames => f * frames + t,
        }
    }
}
