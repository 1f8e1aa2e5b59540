//! Open-Unmix's multichannel Wiener filter (`openunmix.filtering.wiener` with `softmask=False`
//! and no residual, as its `Separator` runs it on windows of `wiener_win_len` frames): each
//! stem starts as its estimated magnitude with the mixture's phase and is refined by
//! `iterations` expectation-maximisation steps, each re-estimating every stem's power spectral
//! density `v` (the mean over channels of `|y|²`) and spatial covariance `R` (per bin, over the
//! window's frames), then filtering the mixture with `v R (Σ v R + √eps I)⁻¹`. Computed in f64;
//! the mixture is scaled by `max(1, max |x| / 10)` first, as Open-Unmix does. Channels: 1 or 2
//! (the inverse of Open-Unmix's `_invert`).

use rayon::prelude::*;
use realfft::num_complex::Complex;

/// Open-Unmix's `scale_factor`: the mixture is divided by `max(1, max |x| / SCALE)`.
const SCALE: f64 = 10.0;

/// What the filter reads: the mixture's STFT frames (the first `bins` bins are used; every
/// channel is the same mono mixture) and the estimates' magnitudes, `[stem][channel][frame]
/// [bin]` in one vector.
pub(crate) struct WienerInput<'a> {
    /// The mixture's frames.
    pub mixture: &'a [Vec<Complex<f32>>],
    /// The estimated magnitudes.
    pub magnitudes: &'a [f32],
    /// Stems, channels and modelled bins.
    pub stems: usize,
    /// Channels (1 or 2).
    pub channels: usize,
    /// Bins per frame in `magnitudes`.
    pub bins: usize,
}

/// Each stem's complex spectrogram, `[frame * bins + bin]`, the mean over channels of the
/// filtered estimates, windows of `window` frames filtered independently (as many at once as
/// there are threads; the result does not depend on how many).
pub(crate) fn wiener_stems(
    input: &WienerInput,
    iterations: usize,
    window: usize,
    eps: f64,
) -> Vec<Vec<Complex<f32>>> {
    let (frames, bins) = (input.mixture.len(), input.bins);
    let mut out = vec![vec![Complex::new(0.0f32, 0.0); frames * bins]; input.stems];
    let starts: Vec<usize> = (0..frames).step_by(window.max(1)).collect();
    for group in starts.chunks(rayon::current_num_threads().max(1)) {
        let filtered: Vec<(usize, Vec<Vec<Complex<f32>>>)> = group
            .par_iter()
            .map(|&start| {
                let range = start..(start + window.max(1)).min(frames);
                (start, window_stems(input, range, iterations, eps))
            })
            .collect();
        for (start, stems) in filtered {
            for (stem, part) in out.iter_mut().zip(stems) {
                stem[start * bins..start * bins + part.len()].copy_from_slice(&part);
            }
        }
    }
    out
}

/// The stems of the frames `range`, each `[frame * bins + bin]` (the mean over channels).
fn window_stems(
    input: &WienerInput,
    range: std::ops::Range<usize>,
    iterations: usize,
    eps: f64,
) -> Vec<Vec<Complex<f32>>> {
    let (channels, bins, n) = (input.channels, input.bins, range.len());
    let y = filter_window(input, range, iterations, eps);
    (0..input.stems)
        .map(|s| {
            (0..n * bins)
                .map(|i| {
                    let mean = (0..channels)
                        .map(|c| y[(s * channels + c) * n * bins + i])
                        .sum::<Complex<f64>>()
                        / channels as f64;
                    Complex::new(mean.re as f32, mean.im as f32)
                })
                .collect()
        })
        .collect()
}

/// The filtered estimates of the frames `range`, `[stem][channel][frame][bin]`.
fn filter_window(
    input: &WienerInput,
    range: std::ops::Range<usize>,
    iterations: usize,
    eps: f64,
) -> Vec<Complex<f64>> {
    let (stems, channels, bins, n) = (input.stems, input.channels, input.bins, range.len());
    let x: Vec<Complex<f64>> = range
        .clone()
        .flat_map(|t| input.mixture[t][..bins].iter())
        .map(|v| Complex::new(v.re as f64, v.im as f64))
        .collect();
    let peak = x.iter().map(|v| v.norm()).fold(0.0f64, f64::max);
    let scale = (peak / SCALE).max(1.0);
    let x: Vec<Complex<f64>> = x.into_iter().map(|v| v / scale).collect();
    let frames = input.mixture.len();
    let mut y = vec![Complex::new(0.0, 0.0); stems * channels * n * bins];
    for s in 0..stems {
        for c in 0..channels {
            for (t, frame) in range.clone().enumerate() {
                for f in 0..bins {
                    let magnitude =
                        input.magnitudes[((s * channels + c) * frames + frame) * bins + f] as f64;
                    let mix = x[t * bins + f];
                    // atan2(0, 0) = 0: an empty bin keeps the magnitude as a real value
                    let phase = match mix.norm() > 0.0 {
                        true => mix / mix.norm(),
                        false => Complex::new(1.0, 0.0),
                    };
                    y[((s * channels + c) * n + t) * bins + f] = phase * magnitude / scale;
                }
            }
        }
    }
    for _ in 0..iterations {
        em_step(&mut y, &x, [stems, channels, n, bins], eps);
    }
    y.iter_mut().for_each(|v| *v *= scale);
    y
}

/// One expectation-maximisation step on `y` (`[stem][channel][frame][bin]`) given the mixture
/// `x` (`[frame][bin]`, the same on every channel).
fn em_step(y: &mut [Complex<f64>], x: &[Complex<f64>], dims: [usize; 4], eps: f64) {
    let [stems, channels, n, bins] = dims;
    let at = |s: usize, c: usize, t: usize, f: usize| ((s * channels + c) * n + t) * bins + f;
    let cc = channels * channels;
    // power spectral densities v[s][t][f] and spatial covariances r[s][f][i * C + l]
    let mut v = vec![0.0f64; stems * n * bins];
    let mut r = vec![Complex::new(0.0, 0.0); stems * bins * cc];
    for s in 0..stems {
        for f in 0..bins {
            let mut weight = eps;
            for t in 0..n {
                let power: f64 = (0..channels)
                    .map(|c| y[at(s, c, t, f)].norm_sqr())
                    .sum::<f64>()
                    / channels as f64;
                v[(s * n + t) * bins + f] = power;
                weight += power;
                for i in 0..channels {
                    for l in 0..channels {
                        r[(s * bins + f) * cc + i * channels + l] +=
                            y[at(s, i, t, f)] * y[at(s, l, t, f)].conj();
                    }
                }
            }
            for k in 0..cc {
                r[(s * bins + f) * cc + k] /= weight;
            }
        }
    }
    let regularization = eps.sqrt();
    let mut mix = vec![Complex::new(0.0, 0.0); cc];
    for t in 0..n {
        for f in 0..bins {
            mix.iter_mut().for_each(|m| *m = Complex::new(0.0, 0.0));
            for i in 0..channels {
                mix[i * channels + i] = Complex::new(regularization, 0.0);
            }
            for s in 0..stems {
                let vs = v[(s * n + t) * bins + f];
                for k in 0..cc {
                    mix[k] += r[(s * bins + f) * cc + k] * vs;
                }
            }
            let inverse = invert(&mix, channels);
            let xf = x[t * bins + f];
            for s in 0..stems {
                let vs = v[(s * n + t) * bins + f];
                let rs = &r[(s * bins + f) * cc..(s * bins + f + 1) * cc];
                for i in 0..channels {
                    // y_i = Σ_k (v R inv)[i][k] x_k, every x_k the mixture
                    let mut value = Complex::new(0.0, 0.0);
                    for k in 0..channels {
                        let gain: Complex<f64> = (0..channels)
                            .map(|l| rs[i * channels + l] * inverse[l * channels + k])
                            .sum();
                        value += gain * vs * xf;
                    }
                    y[at(s, i, t, f)] = value;
                }
            }
        }
    }
}

/// The inverse of a 1 × 1 or 2 × 2 complex matrix (row-major).
fn invert(m: &[Complex<f64>], channels: usize) -> Vec<Complex<f64>> {
    match channels {
        1 => vec![Complex::new(1.0, 0.0) / m[0]],
        _ => {
            let det = m[0] * m[3] - m[1] * m[2];
            vec![m[3] / det, -m[1] / det, -m[2] / det, m[0] / det]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_by_two_inverse_gives_the_identity() {
        let m = [
            Complex::new(2.0, 0.5),
            Complex::new(0.3, -1.0),
            Complex::new(0.3, 1.0),
            Complex::new(1.5, 0.0),
        ];
        let inv = invert(&m, 2);
        for i in 0..2 {
            for k in 0..2 {
                let p: Complex<f64> = (0..2).map(|l| m[i * 2 + l] * inv[l * 2 + k]).sum();
                let want = if i == k { 1.0 } else { 0.0 };
                assert!((p - Complex::new(want, 0.0)).norm() < 1e-12, "{i}{k}: {p}");
            }
        }
    }

    #[test]
    fn one_stem_filtered_is_the_mixture() {
        // With a single stem the Wiener gain is v R (v R + √eps I)⁻¹ ≈ I: the stem becomes the
        // mixture whatever its estimated magnitude.
        let mixture = vec![vec![Complex::new(0.5f32, -0.25), Complex::new(0.1, 0.2)]; 4];
        let magnitudes = vec![0.3f32; 2 * 4 * 2];
        let input = WienerInput {
            mixture: &mixture,
            magnitudes: &magnitudes,
            stems: 1,
            channels: 2,
            bins: 2,
        };
        let out = wiener_stems(&input, 1, 3, 1e-10);
        for t in 0..4 {
            for f in 0..2 {
                let got = out[0][t * 2 + f];
                let want = mixture[t][f];
                assert!((got - want).norm() < 1e-3, "{t} {f}: {got} vs {want}");
            }
        }
    }
}
