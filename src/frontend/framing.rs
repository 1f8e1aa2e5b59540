//! Cutting a signal into windowed frames and taking each frame's spectrum: the linear part of
//! every spectral frontend. librosa's `stft` (centred or not, constant or reflect padding) and
//! torchaudio's Kaldi framing (`snip_edges`, DC removal, pre-emphasis) are both expressed here.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use super::spec::{PadMode, WindowKind};

/// How the signal's ends are padded before framing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Padding {
    /// No padding; frames must fit in the signal (librosa `center=False`, Kaldi `snip_edges`).
    None,
    /// `pad` samples on both ends (librosa `center=True`).
    Centre { pad: usize, mode: PadMode },
    /// Kaldi with `snip_edges=false`: `frame_len/2 - hop/2` mirrored samples (edge included)
    /// on the left, the whole reversed signal on the right.
    KaldiMirror,
}

/// Kaldi's per-frame processing before the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KaldiFrameOps {
    pub remove_dc_offset: bool,
    pub preemphasis: f32,
}

/// Frames of `frame_len` samples every `hop` samples, windowed, zero-padded to `fft_len`.
pub(crate) struct Framer {
    pub frame_len: usize,
    pub fft_len: usize,
    pub hop: usize,
    pub padding: Padding,
    pub kaldi: Option<KaldiFrameOps>,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl Framer {
    /// A framer; `window` has `frame_len` values.
    pub fn new(
        frame_len: usize,
        fft_len: usize,
        hop: usize,
        window: Vec<f32>,
        padding: Padding,
        kaldi: Option<KaldiFrameOps>,
    ) -> Self {
        debug_assert_eq!(window.len(), frame_len);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(fft_len);
        Framer {
            frame_len,
            fft_len,
            hop,
            padding,
            kaldi,
            window,
            fft,
        }
    }

    /// Frequency bins per frame.
    pub fn bins(&self) -> usize {
        self.fft_len / 2 + 1
    }

    /// The padded signal the frames are cut from.
    pub fn pad(&self, signal: &[f32]) -> Vec<f32> {
        match self.padding {
            Padding::None => signal.to_vec(),
            Padding::Centre { pad, mode } => {
                let n = signal.len();
                let mut out = Vec::with_capacity(n + 2 * pad);
                match mode {
                    PadMode::Constant => {
                        out.resize(pad, 0.0);
                        out.extend_from_slice(signal);
                        out.resize(n + 2 * pad, 0.0);
                    }
                    PadMode::Reflect => {
                        out.extend((1..=pad).rev().map(|i| reflect(signal, -(i as isize))));
                        out.extend_from_slice(signal);
                        out.extend((0..pad).map(|i| reflect(signal, (n + i) as isize)));
                    }
                }
                out
            }
            Padding::KaldiMirror => {
                let pad = (self.frame_len / 2).saturating_sub(self.hop / 2);
                let n = signal.len();
                // torchaudio appends the whole reversed signal; only the part the last frame
                // reads matters, and appending more would make every component reach the end.
                let needed = (self.num_frames(n).saturating_sub(1) * self.hop + self.frame_len)
                    .saturating_sub(pad + n)
                    .min(n);
                let mut out = Vec::with_capacity(pad + n + needed);
                out.extend(signal[..pad.min(n)].iter().rev());
                out.extend_from_slice(signal);
                out.extend(signal.iter().rev().take(needed));
                out
            }
        }
    }

    /// Number of frames for an (unpadded) signal of `len` samples.
    pub(crate) fn num_frames(&self, len: usize) -> usize {
        match self.padding {
            Padding::None => {
                if len < self.frame_len {
                    0
                } else {
                    1 + (len - self.frame_len) / self.hop
                }
            }
            Padding::Centre { pad, .. } => {
                let padded = len + 2 * pad;
                if padded < self.frame_len {
                    0
                } else {
                    1 + (padded - self.frame_len) / self.hop
                }
            }
            Padding::KaldiMirror => (len + self.hop / 2) / self.hop,
        }
    }

    /// The frames `range` whose samples intersect the padded samples `[start, end)`.
    pub(crate) fn frames_touching(
        &self,
        start: usize,
        end: usize,
        num_frames: usize,
    ) -> (usize, usize) {
        if start >= end {
            return (0, 0);
        }
        let first = (start + 1)
            .saturating_sub(self.frame_len)
            .div_ceil(self.hop);
        let last = ((end - 1) / self.hop + 1).min(num_frames);
        (first.min(last), last)
    }

    /// Writes the spectrum of frame `t` of the padded signal into `out` (`bins()` values);
    /// `scratch` holds `fft_len` samples.
    pub fn spectrum(
        &self,
        padded: &[f32],
        t: usize,
        scratch: &mut [f32],
        out: &mut [Complex<f32>],
    ) {
        let start = t * self.hop;
        let frame = &mut scratch[..self.frame_len];
        for (i, slot) in frame.iter_mut().enumerate() {
            *slot = padded.get(start + i).copied().unwrap_or(0.0);
        }
        if let Some(ops) = self.kaldi {
            if ops.remove_dc_offset {
                let mean = frame.iter().map(|&x| x as f64).sum::<f64>() / frame.len() as f64;
                for x in frame.iter_mut() {
                    *x -= mean as f32;
                }
            }
            if ops.preemphasis != 0.0 {
                for i in (1..frame.len()).rev() {
                    frame[i] -= ops.preemphasis * frame[i - 1];
                }
                frame[0] -= ops.preemphasis * frame[0];
            }
        }
        for (x, w) in frame.iter_mut().zip(&self.window) {
            *x *= w;
        }
        scratch[self.frame_len..].fill(0.0);
        // Lengths come from the plan, so the transform cannot fail.
        let _ = self.fft.process(scratch, out);
    }
}

/// NumPy's `reflect` index into `signal` (no edge repeat), at any distance.
fn reflect(signal: &[f32], i: isize) -> f32 {
    let n = signal.len() as isize;
    if n == 0 {
        return 0.0;
    }
    if n == 1 {
        return signal[0];
    }
    let mut j = i;
    let period = 2 * (n - 1);
    j = j.rem_euclid(period);
    if j >= n {
        j = period - j;
    }
    signal[j as usize]
}

/// Window values: periodic for librosa (`periodic = true`), symmetric for Kaldi.
pub(crate) fn window(kind: WindowKind, len: usize, periodic: bool) -> Vec<f32> {
    let denom = if periodic {
        len as f64
    } else {
        (len.max(2) - 1) as f64
    };
    let cos = |i: usize| (2.0 * std::f64::consts::PI * i as f64 / denom).cos();
    (0..len)
        .map(|i| {
            let w = match kind {
                WindowKind::Hann | WindowKind::Hanning => 0.5 - 0.5 * cos(i),
                WindowKind::Hamming => 0.54 - 0.46 * cos(i),
                WindowKind::Povey => (0.5 - 0.5 * cos(i)).powf(0.85),
                WindowKind::Rectangular => 1.0,
            };
            w as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_padding_matches_numpy() {
        let f = Framer::new(
            4,
            4,
            2,
            vec![1.0; 4],
            Padding::Centre {
                pad: 2,
                mode: PadMode::Reflect,
            },
            None,
        );
        // np.pad([1,2,3,4,5], 2, mode="reflect") == [3,2,1,2,3,4,5,4,3]
        assert_eq!(
            f.pad(&[1.0, 2.0, 3.0, 4.0, 5.0]),
            vec![3.0, 2.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0]
        );
    }

    #[test]
    fn kaldi_mirror_padding_matches_torchaudio() {
        // frame 6, hop 2: pad = 3 - 1 = 2 mirrored samples (edge included) on the left.
        let f = Framer::new(6, 8, 2, vec![1.0; 6], Padding::KaldiMirror, None);
        // Two frames of 6 read 8 padded samples: 2 mirrored, 3 of signal, 3 mirrored.
        assert_eq!(
            f.pad(&[1.0, 2.0, 3.0]),
            vec![2.0, 1.0, 1.0, 2.0, 3.0, 3.0, 2.0, 1.0]
        );
        assert_eq!(f.num_frames(3), 2);
    }

    #[test]
    fn frames_touching_a_range_cover_exactly_the_overlapping_frames() {
        let f = Framer::new(4, 4, 2, vec![1.0; 4], Padding::None, None);
        // Frame t covers [2t, 2t + 4).
        assert_eq!(f.frames_touching(5, 6, 10), (1, 3));
        assert_eq!(f.frames_touching(0, 1, 10), (0, 1));
        assert_eq!(f.frames_touching(0, 100, 10), (0, 10));
        assert_eq!(f.frames_touching(3, 3, 10), (0, 0));
    }

    #[test]
    fn windows_match_their_definitions() {
        let w = window(WindowKind::Hann, 4, true);
        assert!((w[0] - 0.0).abs() < 1e-7 && (w[2] - 1.0).abs() < 1e-7);
        let s = window(WindowKind::Hann, 5, false);
        assert!((s[4] - 0.0).abs() < 1e-7 && (s[2] - 1.0).abs() < 1e-7);
        let p = window(WindowKind::Povey, 5, false);
        assert!((p[1] - 0.5f32.powf(0.85)).abs() < 1e-6);
    }
}
