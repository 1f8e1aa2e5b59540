//! The fast path: each audio component's linear transform, computed once per instance, so a
//! perturbed sample's features are a sum of stored spectra followed by the non-linear part.
//!
//! A component is non-zero only in its time segment, so only the frames that segment reaches
//! are stored and added: the cost per sample is proportional to the selected components'
//! length, with no composition, resampling or FFT.

use rayon::prelude::*;

use super::{AudioFrontend, Linear, Rows};
use crate::error::Result;
use crate::factorize::Factorization;

/// The linear transforms of every component of one factorization, for one frontend.
pub struct ComponentSpectra<'a> {
    frontend: &'a AudioFrontend,
    /// Per component: first row and its rows.
    components: Vec<(usize, Linear)>,
    units: usize,
    stride: usize,
    /// For each row, the components whose stored rows cover it.
    covering: Vec<Vec<usize>>,
    /// Components of the same time segment, with the sums of every subset of them
    /// precomputed, so a frame is one stored row (or the sum of two near a boundary).
    groups: Vec<SubsetSums>,
    /// For each row, the groups whose rows cover it (empty when subsets are not used).
    group_covering: Vec<Vec<usize>>,
}

/// Every subset sum of a few components (one time segment's sources).
struct SubsetSums {
    /// The components, in order; bit `i` of a subset index selects `members[i]`.
    members: Vec<usize>,
    /// First row covered.
    first: usize,
    /// Rows covered.
    units: usize,
    /// `2^members × units × stride` floats.
    sums: Vec<f32>,
}

/// Largest segment group whose subset sums are precomputed (2^5 = 32 sums).
const MAX_GROUP: usize = 5;

/// Most floats the subset sums of one instance may hold (256 MiB): beyond it (a long song at a
/// fine hop) perturbed samples are summed from the components themselves, a little slower but
/// in memory proportional to the audio.
const MAX_SUBSET_FLOATS: usize = 64 << 20;

/// The rows of one composition, summed frame by frame from the stored component rows.
struct Selected<'s, 'a> {
    spectra: &'s ComponentSpectra<'a>,
    mask: &'s [bool],
    /// Per segment group, the index of the subset the mask selects (bit `i`: `members[i]`),
    /// worked out once per composition rather than once per frame.
    subsets: Vec<usize>,
}

impl<'s, 'a> Selected<'s, 'a> {
    fn new(spectra: &'s ComponentSpectra<'a>, mask: &'s [bool]) -> Self {
        let subsets = spectra
            .groups
            .iter()
            .map(|g| {
                g.members
                    .iter()
                    .enumerate()
                    .filter(|(_, &k)| mask.get(k).copied().unwrap_or(false))
                    .fold(0usize, |b, (i, _)| b | (1 << i))
            })
            .collect();
        Selected {
            spectra,
            mask,
            subsets,
        }
    }
}

impl Rows for Selected<'_, '_> {
    fn units(&self) -> usize {
        self.spectra.units
    }
    fn stride(&self) -> usize {
        self.spectra.stride
    }
    fn row<'r>(&'r self, t: usize, scratch: &'r mut [f32]) -> &'r [f32] {
        let stride = self.spectra.stride;
        let spectra = self.spectra;
        if !spectra.groups.is_empty() {
            let covering = &spectra.group_covering[t];
            let row_of = |index: usize| -> &'r [f32] {
                let g = &spectra.groups[index];
                let offset = (self.subsets[index] * g.units + (t - g.first)) * stride;
                &g.sums[offset..offset + stride]
            };
            if let [only] = covering.as_slice() {
                return row_of(*only);
            }
            scratch.fill(0.0);
            for &g in covering {
                for (acc, x) in scratch.iter_mut().zip(row_of(g)) {
                    *acc += x;
                }
            }
            return scratch;
        }
        scratch.fill(0.0);
        for &k in &self.spectra.covering[t] {
            if self.mask.get(k).copied().unwrap_or(false) {
                let (first, rows) = &self.spectra.components[k];
                let offset = (t - first) * stride;
                for (acc, x) in scratch.iter_mut().zip(&rows.data[offset..offset + stride]) {
                    *acc += x;
                }
            }
        }
        scratch
    }
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
        let mut covering = vec![Vec::new(); units];
        for (k, (first, rows)) in components.iter().enumerate() {
            for row in covering.iter_mut().skip(*first).take(rows.units) {
                row.push(k);
            }
        }
        let groups = subset_sums(audio, &components, stride);
        let mut group_covering = vec![Vec::new(); if groups.is_empty() { 0 } else { units }];
        for (g, group) in groups.iter().enumerate() {
            for row in group_covering
                .iter_mut()
                .skip(group.first)
                .take(group.units)
            {
                row.push(g);
            }
        }
        Ok(ComponentSpectra {
            frontend,
            components,
            units,
            stride,
            covering,
            groups,
            group_covering,
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

    /// The features of the composition that keeps the components `mask` selects. Spectral
    /// inputs are summed one frame at a time (each frame stays in cache through magnitude and
    /// mel); waveforms in a per-thread buffer reused across calls.
    pub fn features(&self, mask: &[bool]) -> Vec<f32> {
        if self.stride > 1 {
            return self.frontend.finish_rows(&Selected::new(self, mask));
        }
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

    /// The rows (frames, or samples of a waveform input) component `k` reaches, STFT window
    /// spill included: its features are zero outside them. Empty for a silent component.
    pub(crate) fn support(&self, k: usize) -> std::ops::Range<usize> {
        self.components
            .get(k)
            .map_or(0..0, |(first, rows)| *first..first + rows.units)
    }

    /// Floats stored for all components and subset sums (a measure of the memory used).
    #[cfg(test)]
    pub(crate) fn stored_floats(&self) -> usize {
        self.components
            .iter()
            .map(|(_, l)| l.data.len())
            .sum::<usize>()
            + self.groups.iter().map(|g| g.sums.len()).sum::<usize>()
    }
}

/// Groups the components by time segment and precomputes each group's subset sums; empty
/// (no subsets) when a component has no segment or a segment has more than [`MAX_GROUP`]
/// components.
fn subset_sums(
    audio: &dyn Factorization,
    components: &[(usize, Linear)],
    stride: usize,
) -> Vec<SubsetSums> {
    let mut by_segment: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (k, feature) in audio.features().iter().enumerate() {
        match feature.segment {
            Some(s) => by_segment.entry(s).or_default().push(k),
            None => return Vec::new(),
        }
    }
    if by_segment.values().any(|m| m.len() > MAX_GROUP) {
        return Vec::new();
    }
    let floats: usize = by_segment
        .values()
        .map(|members| {
            let (first, end) = group_span(members, components);
            (1 << members.len()) * (end - first) * stride
        })
        .sum();
    if floats > MAX_SUBSET_FLOATS {
        return Vec::new();
    }
    by_segment
        .into_values()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|members| {
            let (first, end) = group_span(&members, components);
            let units = end - first;
            let mut sums = vec![0.0f32; (1 << members.len()) * units * stride];
            for subset in 1..(1usize << members.len()) {
                let block = &mut sums[subset * units * stride..(subset + 1) * units * stride];
                for (i, &k) in members.iter().enumerate() {
                    if subset & (1 << i) == 0 {
                        continue;
                    }
                    let (start, rows) = &components[k];
                    if rows.units == 0 {
                        continue;
                    }
                    let offset = (start - first) * stride;
                    for (acc, x) in block[offset..offset + rows.data.len()]
                        .iter_mut()
                        .zip(&rows.data)
                    {
                        *acc += x;
                    }
                }
            }
            SubsetSums {
                members,
                first,
                units,
                sums,
            }
        })
        .collect()
}

/// The rows `[first, end)` the non-silent members of a segment group reach (silent components,
/// with no rows, do not widen it).
fn group_span(members: &[usize], components: &[(usize, Linear)]) -> (usize, usize) {
    let present = || members.iter().filter(|&&k| components[k].1.units > 0);
    let first = present().map(|&k| components[k].0).min().unwrap_or(0);
    let end = present()
        .map(|&k| components[k].0 + components[k].1.units)
        .max()
        .unwrap_or(first);
    (first, end)
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
    fn silent_components_and_mirrored_edges_store_only_the_frames_they_reach() {
        // One source silent everywhere; Kaldi frames with mirrored edges.
        let rate = 16_000u32;
        let len = 2 * rate as usize;
        let tone: Vec<f32> = (0..len).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        let audio = SourceSegments::new(
            vec![("tone".into(), tone), ("silent".into(), vec![0.0; len])],
            (0..5).map(|s| (s * len / 5, (s + 1) * len / 5)).collect(),
            rate,
        );
        let spec: AudioInputSpec =
            serde_norway::from_str("{name: f, kind: kaldi_fbank, snip_edges: false, n_mels: 40}")
                .unwrap();
        let frontend = AudioFrontend::new(&spec).unwrap();
        let spectra = ComponentSpectra::new(&frontend, &audio).unwrap();
        let full = frontend.linear_units(len) * frontend.linear_stride();
        // Five tone components of about a fifth of the frames each, plus four subset sums per
        // segment: about 5.3 full spectra. Groups stretched to the first or the last frame (by
        // the silent source, or by the mirrored right edge) would store about three times that.
        assert!(
            spectra.stored_floats() < 6 * full,
            "{} floats",
            spectra.stored_floats()
        );
        let mask = [
            true, false, false, true, true, true, false, true, true, false,
        ];
        let naive = frontend
            .features(&audio.compose(&mask), rate, "test")
            .unwrap();
        let fast = spectra.features(&mask);
        let worst = naive
            .iter()
            .zip(&fast)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 2e-3, "{worst}");
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
