//! Short-time Fourier transform with a periodic Hann window, centred frames (zero padding of
//! `n_fft / 2` on both sides) and its inverse by weighted overlap-add, as librosa's `stft` /
//! `istft` define them (`center=True`, `pad_mode="constant"`).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

/// A complex spectrogram: `frames[t][f]` for frame `t`, frequency bin `f` (`n_fft / 2 + 1` bins).
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    /// The frames.
    pub frames: Vec<Vec<Complex<f32>>>,
    /// FFT length.
    pub n_fft: usize,
    /// Hop between frames, in samples.
    pub hop: usize,
}

/// The periodic Hann window of length `n` (scipy's `get_window("hann", n)`).
pub fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// How the signal is extended by `n_fft / 2` samples at each end for centred frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CentrePadding {
    /// Zeros (librosa's `pad_mode="constant"`).
    #[default]
    Constant,
    /// The signal mirrored without repeating its end samples (`pad_mode="reflect"`, PyTorch's
    /// and Open-Unmix's).
    Reflect,
}

/// An STFT engine for one `n_fft` and hop; plans the FFTs once.
pub(crate) struct Stft {
    n_fft: usize,
    hop: usize,
    padding: CentrePadding,
    window: Vec<f32>,
    forward: Arc<dyn RealToComplex<f32>>,
    inverse: Arc<dyn ComplexToReal<f32>>,
}

impl Stft {
    /// An engine for frames of `n_fft` samples every `hop` samples (`hop <= n_fft`).
    pub fn new(n_fft: usize, hop: usize) -> Self {
        Self::with_padding(n_fft, hop, CentrePadding::Constant)
    }

    /// As [`new`](Stft::new), extending the signal at its ends by `padding`.
    pub fn with_padding(n_fft: usize, hop: usize, padding: CentrePadding) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        Stft {
            n_fft,
            hop,
            padding,
            window: hann(n_fft),
            forward: planner.plan_fft_forward(n_fft),
            inverse: planner.plan_fft_inverse(n_fft),
        }
    }

    /// Number of frames for a signal of `len` samples: `1 + len / hop` (centred).
    pub(crate) fn num_frames(&self, len: usize) -> usize {
        1 + len / self.hop
    }

    /// Sample `j` of `signal` extended by the padding (zero beyond a reflection's reach).
    fn sample_at(&self, signal: &[f32], j: isize) -> f32 {
        let n = signal.len() as isize;
        let j = match self.padding {
            CentrePadding::Constant => j,
            CentrePadding::Reflect if j < 0 => -j,
            CentrePadding::Reflect if j >= n => 2 * (n - 1) - j,
            CentrePadding::Reflect => j,
        };
        if (0..n).contains(&j) {
            signal[j as usize]
        } else {
            0.0
        }
    }

    /// The spectrogram of `signal`.
    pub fn forward(&self, signal: &[f32]) -> Spectrogram {
        let pad = self.n_fft / 2;
        let frames_count = self.num_frames(signal.len());
        let mut input = self.forward.make_input_vec();
        let mut frames = Vec::with_capacity(frames_count);
        for t in 0..frames_count {
            let start = (t * self.hop) as isize - pad as isize;
            for (i, slot) in input.iter_mut().enumerate() {
                let sample = self.sample_at(signal, start + i as isize);
                *slot = sample * self.window[i];
            }
            let mut output = self.forward.make_output_vec();
            self.forward
                .process(&mut input, &mut output)
                .expect("buffer lengths come from the plan");
            frames.push(output);
        }
        Spectrogram {
            frames,
            n_fft: self.n_fft,
            hop: self.hop,
        }
    }

    /// The signal of `len` samples whose spectrogram is closest to `spectrogram` (weighted
    /// overlap-add, normalised by the summed squared window; exact inverse of [`forward`]
    /// wherever the window sum is not tiny).
    ///
    /// [`forward`]: Stft::forward
    #[cfg(test)]
    pub(crate) fn inverse(&self, spectrogram: &Spectrogram, len: usize) -> Vec<f32> {
        self.inverse_with(
            spectrogram.frames.len(),
            |t, buffer| buffer.copy_from_slice(&spectrogram.frames[t]),
            len,
        )
    }

    /// As [`inverse`](Stft::inverse), for `frames` frames that `frame` writes one at a time
    /// into the buffer it is given (`n_fft / 2 + 1` bins), so no whole spectrogram needs to be
    /// held (e.g. a masked copy of one).
    pub(crate) fn inverse_with(
        &self,
        frames: usize,
        frame: impl Fn(usize, &mut [Complex<f32>]),
        len: usize,
    ) -> Vec<f32> {
        let pad = self.n_fft / 2;
        let total = len + 2 * pad + self.n_fft;
        let mut out = vec![0.0f32; total];
        let mut norm = vec![0.0f32; total];
        let mut buffer = self.inverse.make_input_vec();
        let mut samples = self.inverse.make_output_vec();
        let scale = 1.0 / self.n_fft as f32;
        for t in 0..frames {
            frame(t, &mut buffer);
            buffer[0].im = 0.0;
            if let Some(last) = buffer.last_mut() {
                last.im = 0.0;
            }
            self.inverse
                .process(&mut buffer, &mut samples)
                .expect("buffer lengths come from the plan");
            let start = t * self.hop;
            for i in 0..self.n_fft {
                if start + i >= total {
                    break;
                }
                out[start + i] += samples[i] * scale * self.window[i];
                norm[start + i] += self.window[i] * self.window[i];
            }
        }
        (0..len)
            .map(|i| {
                let n = norm[i + pad];
                if n > 1e-8 {
                    out[i + pad] / n
                } else {
                    out[i + pad]
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_reconstructs_the_signal() {
        let signal: Vec<f32> = (0..5000)
            .map(|i| ((i as f32) * 0.05).sin() + 0.3 * ((i as f32) * 0.31).cos())
            .collect();
        let stft = Stft::new(512, 128);
        let spectrogram = stft.forward(&signal);
        assert_eq!(spectrogram.frames.len(), 1 + 5000 / 128);
        assert_eq!(spectrogram.frames[0].len(), 257);
        let back = stft.inverse(&spectrogram, signal.len());
        let error = back
            .iter()
            .zip(&signal)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(error < 1e-4, "max reconstruction error {error}");
    }

    #[test]
    fn a_sine_peaks_in_its_bin() {
        let rate = 8000.0;
        let signal: Vec<f32> = (0..4000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate).sin())
            .collect();
        let spectrogram = Stft::new(256, 64).forward(&signal);
        let frame = &spectrogram.frames[20];
        let peak = (0..frame.len())
            .max_by(|&a, &b| frame[a].norm().total_cmp(&frame[b].norm()))
            .unwrap();
        assert_eq!(peak, 32); // 1000 Hz * 256 / 8000
    }
}
