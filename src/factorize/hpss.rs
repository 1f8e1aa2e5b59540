//! A built-in source separator that needs no model weights: harmonic/percussive separation by
//! median filtering (Fitzgerald 2010) with soft masks and a separation margin (Driedger et al.
//! 2014, as librosa's `hpss(margin=…)`), plus a low-band split.
//!
//! Sources, in order:
//! - `bass`: every time-frequency bin below `bass_cutoff_hz`;
//! - `harmonic`: above the cutoff, the bins whose time-smoothed magnitude dominates;
//! - `percussive`: above the cutoff, the bins whose frequency-smoothed magnitude dominates;
//! - `residual`: the mixture minus the three others (what neither mask claims, plus the
//!   transform's rounding), so the four sum to the mixture exactly (to float rounding).

use serde::{Deserialize, Serialize};

use crate::audio::stft::Stft;
use crate::audio::Audio;
use crate::error::{Error, Result};

/// The source names the HPSS separator produces, in order.
pub const HPSS_SOURCES: [&str; 4] = ["bass", "harmonic", "percussive", "residual"];

/// Parameters of the HPSS separator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HpssParams {
    /// FFT length; default: the power of two closest to 46 ms at the signal's rate.
    pub n_fft: Option<usize>,
    /// Median filter length in frames (harmonic) and in bins (percussive); odd.
    pub kernel: usize,
    /// Separation margin (>= 1): a bin goes to a source only where that source's smoothed
    /// magnitude exceeds `margin` times the other's.
    pub margin: f32,
    /// Exponent of the soft masks.
    pub power: f32,
    /// Upper edge of the `bass` band in Hz.
    pub bass_cutoff_hz: f32,
}

impl Default for HpssParams {
    fn default() -> Self {
        HpssParams {
            n_fft: None,
            kernel: 17,
            margin: 2.0,
            power: 2.0,
            bass_cutoff_hz: 150.0,
        }
    }
}

impl HpssParams {
    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        if let Some(n) = self.n_fft {
            if n < 16 || !n.is_power_of_two() {
                return Err(Error::param(
                    "n_fft",
                    format!("is {n}; use a power of two >= 16"),
                ));
            }
        }
        if self.kernel == 0 || self.kernel % 2 == 0 {
            return Err(Error::param(
                "kernel",
                format!("is {}; use an odd number of frames", self.kernel),
            ));
        }
        if !(self.margin.is_finite() && self.margin >= 1.0) {
            return Err(Error::param("margin", "must be >= 1"));
        }
        if !(self.power.is_finite() && self.power > 0.0) {
            return Err(Error::param("power", "must be > 0"));
        }
        if !(self.bass_cutoff_hz.is_finite() && self.bass_cutoff_hz >= 0.0) {
            return Err(Error::param("bass_cutoff_hz", "must be >= 0"));
        }
        Ok(())
    }

    /// Separates `audio` into the [`HPSS_SOURCES`], each as long as the input.
    pub fn separate(&self, audio: &Audio) -> Result<Vec<(String, Vec<f32>)>> {
        self.check()?;
        let rate = audio.sample_rate as f32;
        let n_fft = self.n_fft.unwrap_or_else(|| {
            let target = (0.046 * rate).max(16.0);
            let lower = (target as usize).next_power_of_two() / 2;
            if target - lower as f32 <= 2.0 * lower as f32 - target {
                lower.max(16)
            } else {
                2 * lower
            }
        });
        let stft = Stft::new(n_fft, n_fft / 4);
        let spectrum = stft.forward(&audio.samples);
        let frames = spectrum.frames.len();
        let bins = n_fft / 2 + 1;
        let magnitude: Vec<Vec<f32>> = spectrum
            .frames
            .iter()
            .map(|f| f.iter().map(|c| c.norm()).collect())
            .collect();
        let half = self.kernel / 2;
        let mut window = Vec::with_capacity(self.kernel);
        // Harmonic: median over time for each bin; percussive: median over frequency per frame.
        let mut harmonic = vec![vec![0.0f32; bins]; frames];
        for f in 0..bins {
            for (t, row) in harmonic.iter_mut().enumerate() {
                window.clear();
                window.extend(
                    magnitude[t.saturating_sub(half)..(t + half + 1).min(frames)]
                        .iter()
                        .map(|m| m[f]),
                );
                row[f] = median(&mut window);
            }
        }
        let mut percussive = vec![vec![0.0f32; bins]; frames];
        for (row, frame) in percussive.iter_mut().zip(&magnitude) {
            for (f, value) in row.iter_mut().enumerate() {
                window.clear();
                window.extend_from_slice(&frame[f.saturating_sub(half)..(f + half + 1).min(bins)]);
                *value = median(&mut window);
            }
        }
        drop(magnitude);
        let cutoff_bin = (self.bass_cutoff_hz * n_fft as f32 / rate).ceil() as usize;
        let soft = |x: f32, y: f32| -> f32 {
            let (xp, yp) = (x.powf(self.power), (self.margin * y).powf(self.power));
            if xp + yp > 0.0 {
                xp / (xp + yp)
            } else {
                0.0
            }
        };
        // The smoothed magnitudes become the two soft masks in place (zero below the cutoff),
        // and each source is transformed back frame by frame: no masked copy of the whole
        // spectrogram is held, so a long song costs a few spectrograms, not seven.
        for (h_row, p_row) in harmonic.iter_mut().zip(percussive.iter_mut()) {
            for (f, (h, p)) in h_row.iter_mut().zip(p_row.iter_mut()).enumerate() {
                let (hv, pv) = (*h, *p);
                (*h, *p) = if f < cutoff_bin {
                    (0.0, 0.0)
                } else {
                    (soft(hv, pv), soft(pv, hv))
                };
            }
        }
        let len = audio.samples.len();
        let masked = |mask: &dyn Fn(usize, usize) -> f32| {
            stft.inverse_with(
                frames,
                |t, buffer| {
                    for (f, (out, c)) in buffer.iter_mut().zip(&spectrum.frames[t]).enumerate() {
                        *out = c * mask(t, f);
                    }
                },
                len,
            )
        };
        let bass = masked(&|_, f| if f < cutoff_bin { 1.0 } else { 0.0 });
        let harmonic_part = masked(&|t, f| harmonic[t][f]);
        let percussive_part = masked(&|t, f| percussive[t][f]);
        let residual: Vec<f32> = (0..len)
            .map(|i| audio.samples[i] - bass[i] - harmonic_part[i] - percussive_part[i])
            .collect();
        Ok(HPSS_SOURCES
            .iter()
            .map(|s| s.to_string())
            .zip([bass, harmonic_part, percussive_part, residual])
            .collect())
    }
}

/// Median of a non-empty slice (the mean of the two middle values for even lengths).
fn median(values: &mut [f32]) -> f32 {
    let n = values.len();
    let mid = n / 2;
    let (_, upper, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        let lower = values[..mid].iter().copied().fold(f32::MIN, f32::max);
        0.5 * (lower + upper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(x: &[f32]) -> f32 {
        x.iter().map(|s| s * s).sum()
    }

    /// A sustained 880 Hz tone, clicks every 0.25 s, and a 60 Hz bass line.
    fn mixture(rate: u32, seconds: f32) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let n = (rate as f32 * seconds) as usize;
        let two_pi = 2.0 * std::f32::consts::PI;
        let tone: Vec<f32> = (0..n)
            .map(|i| 0.3 * (two_pi * 880.0 * i as f32 / rate as f32).sin())
            .collect();
        let clicks: Vec<f32> = (0..n)
            .map(|i| {
                let k = i % (rate as usize / 4);
                if k < 40 {
                    0.8 * (1.0 - k as f32 / 40.0) * if k % 2 == 0 { 1.0 } else { -1.0 }
                } else {
                    0.0
                }
            })
            .collect();
        let bass: Vec<f32> = (0..n)
            .map(|i| 0.4 * (two_pi * 60.0 * i as f32 / rate as f32).sin())
            .collect();
        (tone, clicks, bass)
    }

    #[test]
    fn sources_sum_to_the_mixture_and_separate_tone_clicks_and_bass() {
        let rate = 16_000;
        let (tone, clicks, bass) = mixture(rate, 2.0);
        let mix: Vec<f32> = (0..tone.len())
            .map(|i| tone[i] + clicks[i] + bass[i])
            .collect();
        let sources = HpssParams::default()
            .separate(&Audio::new(mix.clone(), rate))
            .unwrap();
        let names: Vec<&str> = sources.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, HPSS_SOURCES);
        let sum: Vec<f32> = (0..mix.len())
            .map(|i| sources.iter().map(|(_, s)| s[i]).sum())
            .collect();
        let relative = (energy(&sum.iter().zip(&mix).map(|(a, b)| a - b).collect::<Vec<_>>())
            / energy(&mix))
        .sqrt();
        assert!(relative < 1e-4, "sum of sources vs mixture: {relative}");
        // Each planted part lands mostly in its source.
        let correlation = |a: &[f32], b: &[f32]| {
            a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (energy(a) * energy(b)).sqrt()
        };
        assert!(correlation(&sources[0].1, &bass) > 0.9, "bass");
        assert!(correlation(&sources[1].1, &tone) > 0.9, "harmonic");
        assert!(correlation(&sources[2].1, &clicks) > 0.7, "percussive");
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(HpssParams {
            kernel: 4,
            ..Default::default()
        }
        .check()
        .is_err());
        assert!(HpssParams {
            n_fft: Some(1000),
            ..Default::default()
        }
        .check()
        .is_err());
        assert!(HpssParams {
            margin: 0.5,
            ..Default::default()
        }
        .check()
        .is_err());
    }

    #[test]
    fn median_of_odd_and_even_lengths() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
