//! The fast path: each audio component's linear transform, computed once per instance, so a
//! perturbed sample's features are a sum of stored spectra followed by the non-linear part.
//!
//! A component is non-zero only in its time segment, so only the frames that segment reaches
//! are stored and added: the cost per sample is proportional to the selected components'
//! length, with no composition, resampling or FFT.

use rayon::prelude::*;

use super::{AudioFrontend, Linear};
use crate::error::Result;
use crate::factorize::Factorization;

/// The linear transforms of every component of one factorization, for one frontend.
pub struct ComponentSpectra<'a> {
    frontend: &'a AudioFrontend,
    /// Per component: first row and its rows.
    components: Vec<(usize, Linear)>,
    units: usize,
    stride: usize,
}

impl<'a> ComponentSpectra<'a> {
    /// Transforms every component of `audio` (in parallel; the result does not depend on the
    /// thread count).
    pub fn new(frontend: &'a AudioFrontend, audio: &dyn Factorization) -> Result<Self> {
        let len = frontend.fitted_len(audio.signal_len(), audio.sample_rate());
        let units = frontend.linear_units(len);
        let stride = frontend.linear_stride();
        let components = (0..audio.len())
            .into_par_iter()
            .map(|k| {
                let mut wave = vec![0.0f32; audio.signal_len()];
                audio.add_component(k, &mut wave);
                let fitted = frontend.fit_length(&wave, audio.sample_rate())?;
                Ok(frontend.linear_support(&fitted))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ComponentSpectra {
            frontend,
            components,
            units,
            stride,
        })
    }

    /// The linear part of the composition that keeps the components `mask` selects.
    pub fn linear(&self, mask: &[bool]) -> Linear {
        let mut sum = Linear::zeros(self.units, self.stride);
        self.add_selected(mask, &mut sum);
        sum
    }

    fn add_selected(&self, mask: &[bool], sum: &mut Linear) {
        for ((first, rows), _) in self.components.iter().zip(mask).filter(|(_, &on)| on) {
            let start = first * self.stride;
            for (acc, x) in sum.data[start..start + rows.data.len()]
                .iter_mut()
                .zip(&rows.data)
            {
                *acc += x;
            }
        }
    }

    /// The features of the composition that keeps the components `mask` selects. The sum is
    /// built in a per-thread buffer that is reused across calls (no allocation per sample).
    pub fn features(&self, mask: &[bool]) -> Vec<f32> {
        thread_local! {
            static BUFFER: std::cell::RefCell<Linear> = std::cell::RefCell::new(Linear::zeros(0, 0));
        }
        BUFFER.with(|buffer| {
            let mut sum = buffer.borrow_mut();
            sum.units = self.units;
            sum.stride = self.stride;
            sum.data.clear();
            sum.data.resize(self.units * self.stride, 0.0);
            self.add_selected(mask, &mut sum);
            self.frontend.finish(&sum)
        })
    }

    /// Floats stored for all components (a measure of the memory used).
    pub fn stored_floats(&self) -> usize {
        self.components.iter().map(|(_, l)| l.data.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::factorize::SourceSegments;
    use crate::frontend::AudioInputSpec;

    /// Four sources × five segments of 2 s at 44.1 kHz: tones and noise, every one non-zero
    /// everywhere, like separated stems.
    fn factorization() -> SourceSegments {
        let rate = 44_100u32;
        let len = 2 * rate as usize;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let sources = (0..4)
            .map(|k| {
                let f = 110.0 * (k + 1) as f32 * 1.5;
                let signal = (0..len)
                    .map(|i| {
                        0.3 * (2.0 * std::f32::consts::PI * f * i as f32 / rate as f32).sin()
                            + 0.05 * (rng.random::<f32>() - 0.5)
                    })
                    .collect();
                (format!("s{k}"), signal)
            })
            .collect();
        let bounds = (0..5).map(|s| (s * len / 5, (s + 1) * len / 5)).collect();
        SourceSegments::new(sources, bounds, rate)
    }

    fn max_difference(yaml: &str) -> f32 {
        let spec: AudioInputSpec = serde_norway::from_str(yaml).unwrap();
        let frontend = AudioFrontend::new(&spec).unwrap();
        let audio = factorization();
        let spectra = ComponentSpectra::new(&frontend, &audio).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut worst = 0.0f32;
        for trial in 0..6 {
            let mask: Vec<bool> = (0..audio.len())
                .map(|_| trial == 0 || rng.random::<bool>())
                .collect();
            let naive = frontend
                .features(&audio.compose(&mask), audio.sample_rate(), "test")
                .unwrap();
            let fast = spectra.features(&mask);
            assert_eq!(naive.len(), fast.len());
            for (a, b) in naive.iter().zip(&fast) {
                worst = worst.max((a - b).abs());
            }
        }
        worst
    }

    #[test]
    fn the_fast_path_equals_composing_then_transforming() {
        // Both paths are exact in exact arithmetic; what differs is float32 rounding, which
        // matters most in bands far below a frame's peak. Tolerances are 1e-4 in natural-log
        // units (dB values are 10 log10, so 4.3e-4 dB), except for raw (unnormalised) Kaldi
        // log energies, where pre-emphasis leaves the lowest bands ~30 dB below the peak and
        // rounding of the composed waveform itself reaches ~1.4e-3 there.
        let cases = [
            "{name: m, kind: log_mel, sample_rate: 16000, seconds: 1.5, n_fft: 512, hop_length: 160, n_mels: 64, log: log10_scaled, log_scale: 10000.0}",
            "{name: m, kind: log_mel, sample_rate: 22050, n_fft: 1024, hop_length: 256, pad_mode: reflect, window: hamming, n_mels: 96, log: db, top_db: 80.0}",
            "{name: f, kind: kaldi_fbank, window: hanning, target_frames: 256, mean: -4.27, std: 9.14}",
            "{name: f, kind: kaldi_fbank, snip_edges: false, n_mels: 80}",
            "{name: w, kind: waveform, sample_rate: 16000, seconds: 3.0}",
        ];
        for case in cases {
            let tolerance = if case.contains("log: db") {
                1e-4 * 10.0 / std::f32::consts::LN_10
            } else if case.contains("snip_edges: false") {
                2e-3
            } else {
                1e-4
            };
            let worst = max_difference(case);
            assert!(worst <= tolerance, "{case}: max |naive - fast| = {worst}");
        }
    }
}
