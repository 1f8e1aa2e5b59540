//! Mel filterbanks as librosa (`librosa.filters.mel`) and torchaudio's Kaldi port
//! (`get_mel_banks`) build them, stored sparsely (each filter's non-zero run of bins).

use super::spec::{MelNorm, MelScale};

/// Triangular filters over the bins of a one-sided spectrum.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MelFilters {
    /// Per filter: the first bin with a non-zero weight and the weights from there.
    pub filters: Vec<(usize, Vec<f32>)>,
}

impl MelFilters {
    /// Applies the filters to one frame's `power` values (one per bin), writing one energy per
    /// filter into `out`.
    pub fn apply(&self, power: &[f32], out: &mut [f32]) {
        for ((first, weights), o) in self.filters.iter().zip(out.iter_mut()) {
            *o = dot(weights, &power[*first..*first + weights.len()]);
        }
    }

    fn from_dense(dense: Vec<Vec<f64>>) -> Self {
        let filters = dense
            .into_iter()
            .map(|row| {
                let first = row.iter().position(|&w| w != 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w != 0.0).map_or(first, |l| l + 1);
                (first, row[first..last].iter().map(|&w| w as f32).collect())
            })
            .collect();
        MelFilters { filters }
    }
}

/// Dot product with eight independent accumulators, so the compiler can vectorise it (a plain
/// iterator sum must keep its sequential order). The order is fixed, so results do not depend
/// on the thread count.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = a.len() / 8;
    for c in 0..chunks {
        for l in 0..8 {
            acc[l] += a[8 * c + l] * b[8 * c + l];
        }
    }
    let mut total = 0.0f32;
    for i in 8 * chunks..a.len() {
        total += a[i] * b[i];
    }
    total + acc.iter().sum::<f32>()
}

fn hz_to_mel(f: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + f / 700.0).log10(),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if f >= min_log_hz {
                min_log_mel + (f / min_log_hz).ln() / logstep
            } else {
                f / f_sp
            }
        }
    }
}

fn mel_to_hz(m: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(m / 2595.0) - 1.0),
        MelScale::Slaney => {
            let f_sp = 200.0 / 3.0;
            let min_log_hz = 1000.0;
            let min_log_mel = min_log_hz / f_sp;
            let logstep = 6.4f64.ln() / 27.0;
            if m >= min_log_mel {
                min_log_hz * (logstep * (m - min_log_mel)).exp()
            } else {
                f_sp * m
            }
        }
    }
}

/// librosa's `filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm)` (float64 weights cast to
/// float32, as librosa's default `dtype` does).
pub(crate) fn librosa_mel(
    sample_rate: f64,
    n_fft: usize,
    n_mels: usize,
    fmin: f64,
    fmax: f64,
    scale: MelScale,
    norm: MelNorm,
) -> MelFilters {
    let bins = n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..bins)
        .map(|i| i as f64 * sample_rate / n_fft as f64)
        .collect();
    let (min_mel, max_mel) = (hz_to_mel(fmin, scale), hz_to_mel(fmax, scale));
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| {
            let m = min_mel + (max_mel - min_mel) * i as f64 / (n_mels + 1) as f64;
            mel_to_hz(m, scale)
        })
        .collect();
    let dense = (0..n_mels)
        .map(|i| {
            let lower_width = mel_f[i + 1] - mel_f[i];
            let upper_width = mel_f[i + 2] - mel_f[i + 1];
            let enorm = match norm {
                MelNorm::Slaney => 2.0 / (mel_f[i + 2] - mel_f[i]),
                MelNorm::None => 1.0,
            };
            fft_freqs
                .iter()
                .map(|&f| {
                    let lower = (f - mel_f[i]) / lower_width;
                    let upper = (mel_f[i + 2] - f) / upper_width;
                    lower.min(upper).max(0.0) * enorm
                })
                .collect()
        })
        .collect();
    MelFilters::from_dense(dense)
}

/// torchaudio's `get_mel_banks` for Kaldi fbank: triangles on the `1127 ln(1 + f/700)` scale
/// over the `fft_len / 2` bins below Nyquist (the Nyquist bin gets weight 0).
pub(crate) fn kaldi_mel(
    sample_rate: f64,
    fft_len: usize,
    n_mels: usize,
    low_freq: f64,
    high_freq: f64,
) -> MelFilters {
    let mel = |f: f64| 1127.0 * (1.0 + f / 700.0).ln();
    let num_fft_bins = fft_len / 2;
    let bin_width = sample_rate / fft_len as f64;
    let (mel_low, mel_high) = (mel(low_freq), mel(high_freq));
    let delta = (mel_high - mel_low) / (n_mels + 1) as f64;
    let dense = (0..n_mels)
        .map(|b| {
            let left = mel_low + b as f64 * delta;
            let centre = mel_low + (b + 1) as f64 * delta;
            let right = mel_low + (b + 2) as f64 * delta;
            let mut row: Vec<f64> = (0..num_fft_bins)
                .map(|i| {
                    let m = mel(bin_width * i as f64);
                    let up = (m - left) / (centre - left);
                    let down = (right - m) / (right - centre);
                    up.min(down).max(0.0)
                })
                .collect();
            row.push(0.0);
            row
        })
        .collect();
    MelFilters::from_dense(dense)
}

/// The Nyquist frequency adjusted by Kaldi's `high_freq` convention (`<= 0` counts down from
/// Nyquist).
pub(crate) fn kaldi_high_freq(sample_rate: f64, high_freq: f64) -> f64 {
    if high_freq <= 0.0 {
        sample_rate / 2.0 + high_freq
    } else {
        high_freq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mel_scales_invert() {
        for scale in [MelScale::Slaney, MelScale::Htk] {
            for f in [0.0, 440.0, 999.0, 1000.0, 7999.5] {
                assert!((mel_to_hz(hz_to_mel(f, scale), scale) - f).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn unnormalised_filters_peak_near_one_and_cover_the_band() {
        let bank = librosa_mel(16_000.0, 512, 40, 0.0, 8000.0, MelScale::Htk, MelNorm::None);
        assert_eq!(bank.filters.len(), 40);
        for (_, w) in &bank.filters {
            let peak = w.iter().cloned().fold(0.0f32, f32::max);
            assert!(peak > 0.4 && peak <= 1.0, "{peak}");
        }
    }
}
