//! Audio frontends: what a model's audio input receives, computed exactly as the Python
//! pipeline it was trained with (librosa's log-mel, torchaudio's Kaldi fbank, or the raw
//! waveform).
//!
//! Every frontend is split at its first non-linear step. The **linear part** (resampling,
//! padding/cropping, framing, DC removal, pre-emphasis, window, FFT) turns a waveform into a
//! [`Linear`] value; the **non-linear part** (magnitude, mel, log, normalisation, layout) turns
//! that into features. Because the linear part of a sum is the sum of the linear parts, the
//! explainer can transform each audio component once ([`components::ComponentSpectra`]) and
//! build every perturbed sample's features by adding spectra, skipping composition,
//! resampling and FFTs.

pub mod components;
pub(crate) mod framing;
pub(crate) mod mel;
pub mod npy;
pub mod spec;

use realfft::num_complex::Complex;
use serde::{Deserialize, Serialize};

use crate::audio::{resample::resample, Audio};
use crate::error::{Error, Result};
use framing::{window, Framer, KaldiFrameOps, Padding};
use mel::{kaldi_high_freq, kaldi_mel, librosa_mel, MelFilters};
pub use spec::{Axis, KaldiFbankSpec, LogKind, LogMelSpec, WaveformSpec};

/// An audio input of a model spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AudioInputSpec {
    /// Raw samples.
    Waveform(WaveformSpec),
    /// librosa log-mel.
    LogMel(LogMelSpec),
    /// Kaldi fbank (AST).
    KaldiFbank(KaldiFbankSpec),
}

impl AudioInputSpec {
    /// The ONNX input name.
    pub fn name(&self) -> &str {
        match self {
            AudioInputSpec::Waveform(s) => &s.name,
            AudioInputSpec::LogMel(s) => &s.name,
            AudioInputSpec::KaldiFbank(s) => &s.name,
        }
    }
}

/// The output of a frontend's linear part: `units` rows (frames, or samples for a waveform)
/// of `stride` floats (interleaved complex bins, or one sample).
#[derive(Debug, Clone, PartialEq)]
pub struct Linear {
    /// Number of rows.
    pub units: usize,
    /// Floats per row.
    pub stride: usize,
    /// `units × stride` floats.
    pub data: Vec<f32>,
}

impl Linear {
    /// All zeros.
    pub fn zeros(units: usize, stride: usize) -> Self {
        Linear {
            units,
            stride,
            data: vec![0.0; units * stride],
        }
    }
}

/// The rows of a linear part, produced on demand: a stored [`Linear`], or a sum of stored
/// component rows built one frame at a time (the fast path), which keeps each frame in cache.
pub(crate) trait Rows {
    /// Number of rows.
    fn units(&self) -> usize;
    /// Floats per row.
    fn stride(&self) -> usize;
    /// Row `t`, possibly built in `scratch` (`stride` floats).
    fn row<'a>(&'a self, t: usize, scratch: &'a mut [f32]) -> &'a [f32];
}

impl Rows for Linear {
    fn units(&self) -> usize {
        self.units
    }
    fn stride(&self) -> usize {
        self.stride
    }
    fn row<'a>(&'a self, t: usize, _scratch: &'a mut [f32]) -> &'a [f32] {
        &self.data[t * self.stride..(t + 1) * self.stride]
    }
}

/// What happens after the linear part.
enum Finish {
    Waveform,
    LogMel {
        filters: MelFilters,
        power: f32,
        log: LogKind,
        log_scale: f32,
        amin: f32,
        top_db: Option<f32>,
    },
    Kaldi {
        filters: MelFilters,
        target_frames: Option<usize>,
        mean: f32,
        std: f32,
    },
}

/// A ready-to-run audio frontend for one model input.
pub struct AudioFrontend {
    name: String,
    sample_rate: u32,
    target_len: Option<usize>,
    /// Signals shorter than this are padded with silence (see [`Self::with_min_frames`]).
    min_len: usize,
    layout: Vec<Axis>,
    framer: Option<Framer>,
    finish: Finish,
}

impl AudioFrontend {
    /// Builds the frontend, checking every parameter (errors name `inputs.<name>.<key>`).
    pub fn new(spec: &AudioInputSpec) -> Result<Self> {
        match spec {
            AudioInputSpec::Waveform(s) => Self::waveform(s),
            AudioInputSpec::LogMel(s) => Self::log_mel(s),
            AudioInputSpec::KaldiFbank(s) => Self::kaldi_fbank(s),
        }
    }

    /// `kind: waveform`.
    fn waveform(s: &WaveformSpec) -> Result<Self> {
        let name = s.name.clone();

        check_rate(&name, s.sample_rate)?;
        spec::check_layout(&name, &s.layout, &[Axis::Samples])?;
        Ok(AudioFrontend {
            target_len: seconds_to_len(&name, s.seconds, s.sample_rate)?,
            min_len: 0,
            name,
            sample_rate: s.sample_rate,
            layout: s.layout.clone(),
            framer: None,
            finish: Finish::Waveform,
        })
    }

    /// `kind: log_mel` (librosa's `melspectrogram` and a log).
    fn log_mel(s: &LogMelSpec) -> Result<Self> {
        let name = s.name.clone();
        let bad =
            |key: &str, message: String| Error::input(format!("inputs.{name}.{key}"), message);

        check_rate(&name, s.sample_rate)?;
        spec::check_layout(&name, &s.layout, &[Axis::Mels, Axis::Frames])?;
        if s.n_fft < 2 {
            return Err(bad("n_fft", format!("must be at least 2, got {}", s.n_fft)));
        }
        if s.hop_length == 0 {
            return Err(bad("hop_length", "must be at least 1".into()));
        }
        let win_length = s.win_length.unwrap_or(s.n_fft);
        if win_length == 0 || win_length > s.n_fft {
            return Err(bad(
                "win_length",
                format!(
                    "must be between 1 and n_fft = {}, got {win_length}",
                    s.n_fft
                ),
            ));
        }
        let nyquist = s.sample_rate as f64 / 2.0;
        let fmax = s.fmax.unwrap_or(nyquist);
        if !(s.fmin >= 0.0 && s.fmin < fmax && fmax <= nyquist) {
            return Err(bad(
                "fmax",
                format!("need 0 <= fmin < fmax <= sample_rate / 2 = {nyquist}, got fmin {} and fmax {fmax}", s.fmin),
            ));
        }
        if s.n_mels == 0 {
            return Err(bad("n_mels", "must be at least 1".into()));
        }
        if !(s.power.is_finite() && s.power > 0.0) {
            return Err(bad("power", format!("must be positive, got {}", s.power)));
        }
        if !(s.amin.is_finite() && s.amin > 0.0) {
            return Err(bad("amin", format!("must be positive, got {}", s.amin)));
        }
        if matches!(s.top_db, Some(t) if !t.is_finite() || t < 0.0) {
            return Err(bad("top_db", "must be non-negative".into()));
        }
        // librosa centres a `win_length` window inside `n_fft` zeros.
        let mut win = vec![0.0f32; s.n_fft];
        let offset = (s.n_fft - win_length) / 2;
        win[offset..offset + win_length].copy_from_slice(&window(s.window, win_length, true));
        let padding = if s.center {
            Padding::Centre {
                pad: s.n_fft / 2,
                mode: s.pad_mode,
            }
        } else {
            Padding::None
        };
        Ok(AudioFrontend {
            target_len: seconds_to_len(&name, s.seconds, s.sample_rate)?,
            min_len: 0,
            name,
            sample_rate: s.sample_rate,
            layout: s.layout.clone(),
            framer: Some(Framer::new(
                s.n_fft,
                s.n_fft,
                s.hop_length,
                win,
                padding,
                None,
            )),
            finish: Finish::LogMel {
                filters: librosa_mel(
                    s.sample_rate as f64,
                    s.n_fft,
                    s.n_mels,
                    s.fmin,
                    fmax,
                    s.mel_scale,
                    s.mel_norm,
                ),
                power: s.power as f32,
                log: s.log,
                log_scale: s.log_scale as f32,
                amin: s.amin as f32,
                top_db: s.top_db.map(|t| t as f32),
            },
        })
    }

    /// `kind: kaldi_fbank` (torchaudio's `kaldi.fbank`, as AST uses it).
    fn kaldi_fbank(s: &KaldiFbankSpec) -> Result<Self> {
        let name = s.name.clone();
        let bad =
            |key: &str, message: String| Error::input(format!("inputs.{name}.{key}"), message);

        check_rate(&name, s.sample_rate)?;
        spec::check_layout(&name, &s.layout, &[Axis::Mels, Axis::Frames])?;
        let rate = s.sample_rate as f64;
        let frame_len = (rate * s.frame_length_ms * 0.001) as usize;
        let hop = (rate * s.frame_shift_ms * 0.001) as usize;
        if frame_len < 2 || hop == 0 || hop > frame_len {
            return Err(bad(
                "frame_length_ms",
                format!("frames of {frame_len} samples every {hop} samples: need at least 2 samples per frame and a shift no longer than the frame; check frame_length_ms and frame_shift_ms"),
            ));
        }
        let fft_len = if s.round_to_power_of_two {
            frame_len.next_power_of_two()
        } else {
            frame_len
        };
        let high = kaldi_high_freq(rate, s.high_freq);
        if !(s.low_freq >= 0.0 && s.low_freq < high && high <= rate / 2.0) {
            return Err(bad(
                "high_freq",
                format!("need 0 <= low_freq < high_freq <= sample_rate / 2, got low_freq {} and high_freq {high}", s.low_freq),
            ));
        }
        if s.n_mels < 3 {
            return Err(bad(
                "n_mels",
                "Kaldi fbank needs at least 3 mel bins".into(),
            ));
        }
        if matches!(s.std, Some(v) if !(v.is_finite() && v != 0.0)) {
            return Err(bad("std", "must be a finite non-zero number".into()));
        }
        if matches!(s.target_frames, Some(0)) {
            return Err(bad("target_frames", "must be at least 1".into()));
        }
        let padding = if s.snip_edges {
            Padding::None
        } else {
            Padding::KaldiMirror
        };
        let ops = KaldiFrameOps {
            remove_dc_offset: s.remove_dc_offset,
            preemphasis: s.preemphasis as f32,
        };
        Ok(AudioFrontend {
            target_len: seconds_to_len(&name, s.seconds, s.sample_rate)?,
            min_len: 0,
            name,
            sample_rate: s.sample_rate,
            layout: s.layout.clone(),
            framer: Some(Framer::new(
                frame_len,
                fft_len,
                hop,
                window(s.window, frame_len, false),
                padding,
                Some(ops),
            )),
            finish: Finish::Kaldi {
                filters: kaldi_mel(rate, fft_len, s.n_mels, s.low_freq, high),
                target_frames: s.target_frames,
                mean: s.mean.unwrap_or(0.0) as f32,
                std: s.std.unwrap_or(1.0) as f32,
            },
        })
    }

    /// The ONNX input name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sample rate the model expects.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Resamples `samples` (at `rate`) to the model's rate and pads/crops to `seconds`.
    pub fn fit_length(&self, samples: &[f32], rate: u32) -> Result<Vec<f32>> {
        let mut wave = if rate == self.sample_rate {
            samples.to_vec()
        } else {
            resample(&Audio::new(samples.to_vec(), rate), self.sample_rate)?.samples
        };
        if let Some(n) = self.target_len {
            wave.resize(n, 0.0);
        } else if wave.len() < self.min_len {
            wave.resize(self.min_len, 0.0);
        }
        Ok(wave)
    }

    /// Pads signals with silence at the end to at least `frames` frames along the time axis
    /// (samples, for a waveform) when `seconds` does not fix their length; used for models that
    /// read fixed-length patches.
    pub fn with_min_frames(mut self, frames: usize) -> Self {
        let fixed_frames = matches!(
            self.finish,
            Finish::Kaldi {
                target_frames: Some(_),
                ..
            }
        );
        if fixed_frames || self.target_len.is_some() || self.time_frames(0) >= frames {
            return self;
        }
        let mut high = 1usize;
        while self.time_frames(high) < frames {
            // frames grow with the length; past 2^40 samples no padding is sensible
            match high.checked_mul(2) {
                Some(next) if next <= 1 << 40 => high = next,
                _ => return self,
            }
        }
        let mut low = high / 2;
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            if self.time_frames(mid) >= frames {
                high = mid;
            } else {
                low = mid;
            }
        }
        self.min_len = high;
        self
    }

    /// How many samples (at the model's rate) of a signal the features depend on, when that is
    /// fixed (`seconds`, or Kaldi's `target_frames`): later samples cannot change them.
    pub(crate) fn reads_samples(&self) -> Option<usize> {
        if let Some(n) = self.target_len {
            return Some(n);
        }
        let Finish::Kaldi {
            target_frames: Some(frames),
            ..
        } = &self.finish
        else {
            return None;
        };
        let framer = self.framer.as_ref()?;
        let last = frames.saturating_sub(1) * framer.hop;
        Some(match framer.padding {
            Padding::None => last + framer.frame_len,
            Padding::Centre { pad, .. } => (last + framer.frame_len).saturating_sub(pad),
            Padding::KaldiMirror => last + framer.hop / 2 + framer.frame_len.div_ceil(2),
        })
    }

    /// Signals shorter than this many samples (at the model's rate) are padded with silence.
    pub(crate) fn min_len(&self) -> usize {
        self.min_len
    }

    /// Length of the time axis (frames, or samples) of the features of a fitted signal of
    /// `len` samples.
    pub fn time_frames(&self, len: usize) -> usize {
        match &self.finish {
            Finish::Kaldi {
                target_frames: Some(t),
                ..
            } => *t,
            _ => self.linear_units(len),
        }
    }

    /// Number of samples after [`fit_length`](Self::fit_length) of `len` samples at `rate`.
    pub fn fitted_len(&self, len: usize, rate: u32) -> usize {
        self.target_len
            .unwrap_or_else(|| self.resampled_len(len, rate).max(self.min_len))
    }

    /// Number of samples of `len` samples at `rate` once resampled to the model's rate,
    /// before any padding or cropping.
    pub(crate) fn resampled_len(&self, len: usize, rate: u32) -> usize {
        if rate == self.sample_rate {
            len
        } else {
            (len as u64 * self.sample_rate as u64).div_ceil(rate as u64) as usize
        }
    }

    /// The index of the time axis (`frames`, or `samples`) in one instance's features.
    pub(crate) fn time_axis(&self) -> Option<usize> {
        self.layout
            .iter()
            .position(|a| matches!(a, Axis::Frames | Axis::Samples))
    }

    /// Rows (frames or samples) of the linear part for a fitted signal of `len` samples.
    pub(crate) fn linear_units(&self, len: usize) -> usize {
        self.framer.as_ref().map_or(len, |f| f.num_frames(len))
    }

    /// Samples between the starts of consecutive frames (1 for a waveform input).
    pub(crate) fn frame_hop(&self) -> usize {
        self.framer.as_ref().map_or(1, |f| f.hop)
    }

    /// Floats per row of the linear part.
    pub(crate) fn linear_stride(&self) -> usize {
        self.framer.as_ref().map_or(1, |f| 2 * f.bins())
    }

    /// The linear part of a fitted waveform.
    pub fn linear(&self, wave: &[f32]) -> Linear {
        let units = self.linear_units(wave.len());
        self.linear_rows(wave, 0, units).1
    }

    /// Rows `[first, last)` of the linear part, restricted to the rows the non-zero samples of
    /// `wave` can reach; returns the first row computed and the rows.
    pub(crate) fn linear_support(&self, wave: &[f32]) -> (usize, Linear) {
        let units = self.linear_units(wave.len());
        match &self.framer {
            None => {
                let first = wave.iter().position(|&x| x != 0.0).unwrap_or(0);
                let last = wave
                    .iter()
                    .rposition(|&x| x != 0.0)
                    .map_or(first, |l| l + 1);
                self.linear_rows(wave, first, last)
            }
            Some(framer) => {
                let padded = framer.pad(wave);
                let first = padded.iter().position(|&x| x != 0.0).unwrap_or(0);
                let last = padded
                    .iter()
                    .rposition(|&x| x != 0.0)
                    .map_or(first, |l| l + 1);
                let (a, b) = framer.frames_touching(first, last, units);
                (a, self.frames_of_padded(framer, &padded, a, b))
            }
        }
    }

    fn linear_rows(&self, wave: &[f32], first: usize, last: usize) -> (usize, Linear) {
        match &self.framer {
            None => (
                first,
                Linear {
                    units: last - first,
                    stride: 1,
                    data: wave[first..last].to_vec(),
                },
            ),
            Some(framer) => {
                let padded = framer.pad(wave);
                (first, self.frames_of_padded(framer, &padded, first, last))
            }
        }
    }

    fn frames_of_padded(
        &self,
        framer: &Framer,
        padded: &[f32],
        first: usize,
        last: usize,
    ) -> Linear {
        let bins = framer.bins();
        let mut out = Linear::zeros(last - first, 2 * bins);
        let mut scratch = vec![0.0f32; framer.fft_len];
        let mut spectrum = vec![Complex::new(0.0f32, 0.0); bins];
        for (row, t) in (first..last).enumerate() {
            framer.spectrum(padded, t, &mut scratch, &mut spectrum);
            let dst = &mut out.data[row * 2 * bins..(row + 1) * 2 * bins];
            for (k, c) in spectrum.iter().enumerate() {
                dst[2 * k] = c.re;
                dst[2 * k + 1] = c.im;
            }
        }
        out
    }

    /// The non-linear part: features in the input's layout (batch axis not included).
    pub fn finish(&self, linear: &Linear) -> Vec<f32> {
        self.finish_rows(linear)
    }

    /// The non-linear part over rows produced on demand.
    pub(crate) fn finish_rows(&self, linear: &dyn Rows) -> Vec<f32> {
        match &self.finish {
            Finish::Waveform => {
                let mut scratch = vec![0.0f32; linear.stride()];
                (0..linear.units())
                    .flat_map(|t| linear.row(t, &mut scratch).to_vec())
                    .collect()
            }
            Finish::LogMel {
                filters,
                power,
                log,
                log_scale,
                amin,
                top_db,
            } => {
                let mut mel = self.mel_energies(linear, filters, |re, im| {
                    let p = re * re + im * im;
                    if *power == 2.0 {
                        p
                    } else if *power == 1.0 {
                        p.sqrt()
                    } else {
                        p.powf(power / 2.0)
                    }
                });
                match log {
                    LogKind::None => {}
                    LogKind::Ln => mel.iter_mut().for_each(|x| *x = x.max(*amin).ln()),
                    LogKind::Log10Scaled => mel
                        .iter_mut()
                        .for_each(|x| *x = (1.0 + *log_scale * *x).log10()),
                    LogKind::Db => {
                        mel.iter_mut()
                            .for_each(|x| *x = 10.0 * x.max(*amin).log10());
                        if let Some(top) = top_db {
                            let max = mel.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                            mel.iter_mut().for_each(|x| *x = x.max(max - top));
                        }
                    }
                }
                let n_mels = filters.filters.len();
                self.arrange(&mel, linear.units(), n_mels)
            }
            Finish::Kaldi {
                filters,
                target_frames,
                mean,
                std,
            } => {
                let mut mel = self.mel_energies(linear, filters, |re, im| re * re + im * im);
                mel.iter_mut().for_each(|x| *x = x.max(f32::EPSILON).ln());
                let n_mels = filters.filters.len();
                let frames = target_frames.unwrap_or(linear.units());
                mel.resize(frames * n_mels, 0.0);
                mel.iter_mut().for_each(|x| *x = (*x - mean) / std);
                self.arrange(&mel, frames, n_mels)
            }
        }
    }

    /// Mel energies, frame-major (`frames × n_mels`).
    fn mel_energies(
        &self,
        linear: &dyn Rows,
        filters: &MelFilters,
        magnitude: impl Fn(f32, f32) -> f32,
    ) -> Vec<f32> {
        let n_mels = filters.filters.len();
        let bins = linear.stride() / 2;
        let mut out = vec![0.0f32; linear.units() * n_mels];
        let mut power = vec![0.0f32; bins];
        let mut scratch = vec![0.0f32; linear.stride()];
        for t in 0..linear.units() {
            let row = linear.row(t, &mut scratch);
            for (k, p) in power.iter_mut().enumerate() {
                *p = magnitude(row[2 * k], row[2 * k + 1]);
            }
            filters.apply(&power, &mut out[t * n_mels..(t + 1) * n_mels]);
        }
        out
    }

    /// Frame-major `frames × n_mels` values in the input's layout.
    fn arrange(&self, frame_major: &[f32], frames: usize, n_mels: usize) -> Vec<f32> {
        let mels_first = self.layout.iter().position(|a| *a == Axis::Mels)
            < self.layout.iter().position(|a| *a == Axis::Frames);
        if !mels_first {
            return frame_major.to_vec();
        }
        let mut out = vec![0.0f32; frame_major.len()];
        for t in 0..frames {
            for m in 0..n_mels {
                out[m * frames + t] = frame_major[t * n_mels + m];
            }
        }
        out
    }

    /// Whether each feature frame depends only on the linear rows of the same frame (so a patch
    /// of frames depends only on the components that reach it). Not so for `log: db` with
    /// `top_db`, which clips every frame relative to the whole clip's maximum.
    pub(crate) fn frames_independent(&self) -> bool {
        !matches!(
            self.finish,
            Finish::LogMel {
                log: LogKind::Db,
                top_db: Some(_),
                ..
            }
        )
    }

    /// The shape of one instance's features for a fitted signal of `len` samples.
    pub fn shape(&self, len: usize) -> Vec<usize> {
        let units = self.linear_units(len);
        let (frames, mels) = match &self.finish {
            Finish::Waveform => (units, 0),
            Finish::LogMel { filters, .. } => (units, filters.filters.len()),
            Finish::Kaldi {
                filters,
                target_frames,
                ..
            } => (target_frames.unwrap_or(units), filters.filters.len()),
        };
        self.layout
            .iter()
            .map(|a| match a {
                Axis::Mels => mels,
                Axis::Frames | Axis::Samples => frames,
                Axis::Channels => 1,
            })
            .collect()
    }

    /// The shape of one instance's features as far as it is known before seeing any audio:
    /// `None` for the time axis unless `seconds` (or `target_frames`) fixes it.
    pub(crate) fn known_shape(&self) -> Vec<Option<usize>> {
        let fixed_frames = match &self.finish {
            Finish::Kaldi {
                target_frames: Some(t),
                ..
            } => Some(*t),
            _ => self.target_len.map(|n| self.linear_units(n)),
        };
        let mels = match &self.finish {
            Finish::Waveform => None,
            Finish::LogMel { filters, .. } | Finish::Kaldi { filters, .. } => {
                Some(filters.filters.len())
            }
        };
        self.layout
            .iter()
            .map(|a| match a {
                Axis::Mels => mels,
                Axis::Frames | Axis::Samples => fixed_frames,
                Axis::Channels => Some(1),
            })
            .collect()
    }

    /// The features of `samples` at `rate`, the naive way: fit, linear part, non-linear part.
    /// Errors name `origin` when the signal is too short for a single frame.
    pub fn features(&self, samples: &[f32], rate: u32, origin: &str) -> Result<Vec<f32>> {
        let wave = self.fit_length(samples, rate)?;
        if self.linear_units(wave.len()) == 0 {
            return Err(Error::input(
                origin,
                format!(
                    "{} samples at {} Hz are too short for one frame of input `{}`; use longer audio or set `seconds` to pad it",
                    wave.len(),
                    self.sample_rate,
                    self.name
                ),
            ));
        }
        Ok(self.finish(&self.linear(&wave)))
    }
}

/// `seconds` of audio at `rate` in samples, checked positive (errors name `inputs.<name>`).
fn seconds_to_len(name: &str, seconds: Option<f64>, rate: u32) -> Result<Option<usize>> {
    match seconds {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 => Ok(Some((s * rate as f64).round() as usize)),
        Some(s) => Err(Error::input(
            format!("inputs.{name}.seconds"),
            format!("must be a positive number, got {s}"),
        )),
    }
}

fn check_rate(name: &str, rate: u32) -> Result<()> {
    if rate < 1000 {
        return Err(Error::input(
            format!("inputs.{name}.sample_rate"),
            format!("{rate} Hz is not a plausible sample rate"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> AudioInputSpec {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn shapes_follow_the_layout() {
        let f = AudioFrontend::new(&spec(
            "{name: mel, kind: log_mel, sample_rate: 16000, seconds: 1.0, n_fft: 512, hop_length: 256, n_mels: 40, layout: [channels, mels, frames]}",
        ))
        .unwrap();
        assert_eq!(f.shape(f.fitted_len(8000, 16000)), vec![1, 40, 63]);
        let k = AudioFrontend::new(&spec(
            "{name: fbank, kind: kaldi_fbank, target_frames: 100}",
        ))
        .unwrap();
        assert_eq!(k.shape(16000), vec![100, 128]);
        let w =
            AudioFrontend::new(&spec("{name: wav, kind: waveform, sample_rate: 8000}")).unwrap();
        assert_eq!(w.shape(16000), vec![16000]);
    }

    #[test]
    fn bad_parameters_name_the_input_and_key() {
        let e = AudioFrontend::new(&spec(
            "{name: mel, kind: log_mel, sample_rate: 16000, n_fft: 512, hop_length: 256, fmax: 9000}",
        ))
        .err()
        .unwrap()
        .to_string();
        assert!(e.contains("inputs.mel.fmax") && e.contains("8000"), "{e}");
        let e = AudioFrontend::new(&spec(
            "{name: mel, kind: log_mel, sample_rate: 16000, n_fft: 512, hop_length: 256, layout: [mels]}",
        ))
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.contains("inputs.mel.layout") && e.contains("frames"),
            "{e}"
        );
        let typo: std::result::Result<AudioInputSpec, _> = serde_norway::from_str(
            "{name: mel, kind: log_mel, sample_rate: 16000, n_fft: 512, hop_lenght: 256}",
        );
        assert!(typo.is_err());
    }

    #[test]
    fn the_linear_support_of_a_burst_reproduces_the_full_transform() {
        let f = AudioFrontend::new(&spec(
            "{name: mel, kind: log_mel, sample_rate: 16000, n_fft: 512, hop_length: 160, pad_mode: reflect, n_mels: 40}",
        ))
        .unwrap();
        let mut wave = vec![0.0f32; 16000];
        for (i, x) in wave[100..2000].iter_mut().enumerate() {
            *x = (i as f32 * 0.05).sin();
        }
        let full = f.linear(&wave);
        let (first, part) = f.linear_support(&wave);
        assert_eq!(first, 0);
        assert!(part.units < full.units / 2);
        assert_eq!(part.data[..], full.data[..part.data.len()]);
        assert!(full.data[part.data.len()..].iter().all(|&x| x == 0.0));
    }
}
