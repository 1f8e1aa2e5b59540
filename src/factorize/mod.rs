//! Audio factorizations: an explained signal split into components (sources × time segments)
//! that a mask switches on and off (spec §2).
//!
//! Every factorization implements [`Factorization`]; callers (the explainer, metrics, excerpt
//! writers) only use the trait, so new separators (e.g. an ONNX model) plug in without touching
//! them. Component order is segment-major: index `s * n_sources + k` is source `k` restricted
//! to segment `s`, named like the reference (`vocals0, drums0, …`; `T1…Tn` for time only).

pub mod hpss;
pub mod segments;
pub mod stems;
pub mod window;

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::audio::Audio;
use crate::error::{Error, Result};
use crate::features::Feature;

pub use hpss::{HpssParams, HPSS_SOURCES};
pub use segments::{segment_bounds, Segmentation};
pub use stems::{load_stems, sources_of, DEFAULT_SOURCES, STEMS_FILE};
pub use window::{AudioWindow, ExplainedSpan};

/// Time segments per source unless an explainer says otherwise (the paper's 10).
pub const DEFAULT_SEGMENTS: usize = 10;

/// How the audio is split into sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FactorizationKind {
    /// Precomputed stems (a directory with one file per source).
    #[default]
    Stems,
    /// The built-in HPSS separator.
    Hpss,
    /// Time segments of the mixture only.
    Temporal,
}

/// The factorization for one instance, by the one rule every entry point follows: the one
/// `requested`, or by default precomputed stems when the instance has them and the built-in
/// HPSS separator otherwise. Stems requested for an instance without them is an error naming
/// `origin`.
pub fn choose_factorization(
    requested: Option<FactorizationKind>,
    has_stems: bool,
    origin: &str,
) -> Result<FactorizationKind> {
    match (requested, has_stems) {
        (Some(FactorizationKind::Stems), false) => Err(Error::input(
            origin,
            "the `stems` factorization needs precomputed stems, and this instance has none; give a stems directory (--stems DIR, a `stems` column in the manifest) or choose `hpss` or `temporal`",
        )),
        (Some(kind), _) => Ok(kind),
        (None, true) => Ok(FactorizationKind::Stems),
        (None, false) => Ok(FactorizationKind::Hpss),
    }
}

/// Splits the `span` of a track's `audio` into `segments` time segments of the sources chosen
/// by [`choose_factorization`] (`requested`, else its stems when it has them, else HPSS): what
/// the command line and the notebook do with one track.
pub fn factorize_track(
    audio: &Audio,
    requested: Option<FactorizationKind>,
    stems: Option<&Path>,
    segments: usize,
    span: &ExplainedSpan,
    origin: &str,
) -> Result<SourceSegments> {
    let kind = choose_factorization(requested, stems.is_some(), origin)?;
    factorize(audio, kind, stems, segments, span, origin)
}

/// Splits the `span` of `audio` into `segments` time segments of the sources `kind` asks for
/// (the span is cut first, from the mixture and from every stem, so segments divide it).
/// `stems` is the directory of precomputed stems (required for [`FactorizationKind::Stems`]);
/// `origin` names the instance in error messages.
pub fn factorize(
    audio: &Audio,
    kind: FactorizationKind,
    stems: Option<&Path>,
    segments: usize,
    span: &ExplainedSpan,
    origin: &str,
) -> Result<SourceSegments> {
    let whole = span.is_whole_clip();
    let cut;
    let audio = if whole {
        audio
    } else {
        cut = span.cut(audio, origin)?;
        &cut
    };
    let segmentation = Segmentation::FixedCount(segments);
    let in_origin = |e: Error| match e {
        Error::Param { .. } => Error::input(origin, e.to_string()),
        other => other,
    };
    match kind {
        FactorizationKind::Stems => {
            let dir = stems.ok_or_else(|| Error::input(origin, "`stems` factorization needs a stems directory; give one (--stems DIR, or a `stems` column in the manifest)"))?;
            let names = sources_of(dir)?;
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let stems = load_stems(dir, &names, Some(audio.sample_rate))?;
            segment_sources(stems.sources, stems.sample_rate, segments, span)
                .map_err(|e| Error::in_file(dir, e.to_string()))
        }
        FactorizationKind::Hpss => {
            let sources = HpssParams::default().separate(audio)?;
            let bounds = segment_bounds(audio.samples.len(), audio.sample_rate, &segmentation)
                .map_err(in_origin)?;
            Ok(SourceSegments::new(sources, bounds, audio.sample_rate))
        }
        FactorizationKind::Temporal => {
            let bounds = segment_bounds(audio.samples.len(), audio.sample_rate, &segmentation)
                .map_err(in_origin)?;
            Ok(SourceSegments::temporal(
                audio.samples.clone(),
                bounds,
                audio.sample_rate,
            ))
        }
    }
}

/// `sources` (signals of one clip at `rate`) cut to the explained `span` and split into
/// `segments` time segments each: a factorization of stems made anywhere (a stems directory,
/// an ONNX separator).
pub fn segment_sources(
    mut sources: Vec<(String, Vec<f32>)>,
    rate: u32,
    segments: usize,
    span: &ExplainedSpan,
) -> Result<SourceSegments> {
    if !span.is_whole_clip() {
        for (_, samples) in &mut sources {
            *samples = span.cut_samples(samples, rate);
        }
    }
    let len = sources.first().map_or(0, |(_, s)| s.len());
    let bounds = segment_bounds(len, rate, &Segmentation::FixedCount(segments))?;
    Ok(SourceSegments::new(sources, bounds, rate))
}

/// An audio signal split into components that sum (over a full mask) to the explained signal.
pub trait Factorization: Send + Sync {
    /// One feature per component, in component order.
    fn features(&self) -> &[Feature];

    /// Number of samples of the explained signal (and of every composition).
    fn signal_len(&self) -> usize;

    /// Sample rate of the explained signal.
    fn sample_rate(&self) -> u32;

    /// Adds component `k` to `out` (`out.len() == signal_len()`).
    fn add_component(&self, k: usize, out: &mut [f32]);

    /// Number of components.
    fn len(&self) -> usize {
        self.features().len()
    }

    /// Whether there are no components.
    fn is_empty(&self) -> bool {
        self.features().is_empty()
    }

    /// Writes into `out` the sum of the components selected by `mask` (all zeros when none is).
    /// `out` is resized to `signal_len()`; reuse it across calls to avoid allocation.
    fn compose_into(&self, mask: &[bool], out: &mut Vec<f32>) {
        out.clear();
        out.resize(self.signal_len(), 0.0);
        for (k, &on) in mask.iter().enumerate().take(self.len()) {
            if on {
                self.add_component(k, out);
            }
        }
    }

    /// The sum of the components selected by `mask`.
    fn compose(&self, mask: &[bool]) -> Vec<f32> {
        let mut out = Vec::new();
        self.compose_into(mask, &mut out);
        out
    }
}

/// Named source signals of equal length, cut into time segments. Covers both the time-only
/// factorization (one source, the mixture) and sources × segments.
#[derive(Debug, Clone)]
pub struct SourceSegments {
    sources: Vec<(String, Vec<f32>)>,
    bounds: Vec<(usize, usize)>,
    sample_rate: u32,
    features: Vec<Feature>,
}

impl SourceSegments {
    /// Sources × segments: `sources` are `(name, signal)` pairs of equal length; `bounds` are
    /// the segments' `[start, end)` sample ranges.
    pub fn new(
        sources: Vec<(String, Vec<f32>)>,
        bounds: Vec<(usize, usize)>,
        sample_rate: u32,
    ) -> Self {
        let seconds = |i: usize| i as f64 / sample_rate as f64;
        let mut features = Vec::with_capacity(sources.len() * bounds.len());
        for (s, &(start, end)) in bounds.iter().enumerate() {
            for (name, _) in &sources {
                features.push(Feature::audio_component(
                    name,
                    s,
                    seconds(start),
                    seconds(end),
                ));
            }
        }
        SourceSegments {
            sources,
            bounds,
            sample_rate,
            features,
        }
    }

    /// Time only: the mixture cut into segments, components named `T1…Tn`.
    pub fn temporal(mixture: Vec<f32>, bounds: Vec<(usize, usize)>, sample_rate: u32) -> Self {
        let seconds = |i: usize| i as f64 / sample_rate as f64;
        let features = bounds
            .iter()
            .enumerate()
            .map(|(s, &(start, end))| Feature::temporal_segment(s, seconds(start), seconds(end)))
            .collect();
        SourceSegments {
            sources: vec![("mix".to_string(), mixture)],
            bounds,
            sample_rate,
            features,
        }
    }

    /// The segments' sample ranges.
    pub fn bounds(&self) -> &[(usize, usize)] {
        &self.bounds
    }

    /// The whole signal of one source.
    pub fn source(&self, k: usize) -> &[f32] {
        &self.sources[k].1
    }

    /// A copy with independent Gaussian noise added to every source, at `snr_db` dB below the
    /// mixture's power in total (each of `n` sources gets `1/n` of the noise power), drawn from
    /// ChaCha8 seeded with `seed`. Used to test an explanation's robustness.
    pub(crate) fn with_noise(&self, snr_db: f64, seed: u64) -> SourceSegments {
        use rand::{Rng, SeedableRng};
        let len = self.signal_len();
        let mut mixture = vec![0.0f64; len];
        for (_, s) in &self.sources {
            for (m, x) in mixture.iter_mut().zip(s) {
                *m += *x as f64;
            }
        }
        let power = mixture.iter().map(|x| x * x).sum::<f64>() / len.max(1) as f64;
        let sigma = (power / 10f64.powf(snr_db / 10.0) / self.sources.len().max(1) as f64).sqrt();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let sources = self
            .sources
            .iter()
            .map(|(name, signal)| {
                let noisy = signal
                    .iter()
                    .map(|&x| {
                        // Box–Muller.
                        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
                        let u2: f64 = rng.random();
                        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                        (x as f64 + sigma * z) as f32
                    })
                    .collect();
                (name.clone(), noisy)
            })
            .collect();
        SourceSegments {
            sources,
            bounds: self.bounds.clone(),
            sample_rate: self.sample_rate,
            features: self.features.clone(),
        }
    }
}

impl Factorization for SourceSegments {
    fn features(&self) -> &[Feature] {
        &self.features
    }

    fn signal_len(&self) -> usize {
        self.sources.first().map(|(_, s)| s.len()).unwrap_or(0)
    }

    fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    fn add_component(&self, k: usize, out: &mut [f32]) {
        let n_sources = self.sources.len();
        let (start, end) = self.bounds[k / n_sources];
        let source = &self.sources[k % n_sources].1;
        for (o, s) in out[start..end].iter_mut().zip(&source[start..end]) {
            *o += s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_sources() -> SourceSegments {
        let a: Vec<f32> = (0..10).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..10).map(|i| 100.0 * i as f32).collect();
        SourceSegments::new(
            vec![("vocals".into(), a), ("drums".into(), b)],
            vec![(0, 4), (4, 8)],
            4,
        )
    }

    #[test]
    fn components_are_segment_major_and_named_like_the_reference() {
        let f = two_sources();
        let names: Vec<&str> = f.features().iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, vec!["vocals0", "drums0", "vocals1", "drums1"]);
        assert_eq!(f.features()[3].start_s, Some(1.0));
        assert_eq!(f.features()[3].end_s, Some(2.0));
    }

    #[test]
    fn composition_sums_the_selected_components_and_ignores_the_remainder() {
        let f = two_sources();
        assert_eq!(f.compose(&[false; 4]), vec![0.0; 10]);
        let only_drums1 = f.compose(&[false, false, false, true]);
        assert_eq!(
            only_drums1,
            vec![0.0, 0.0, 0.0, 0.0, 400.0, 500.0, 600.0, 700.0, 0.0, 0.0]
        );
        let all = f.compose(&[true; 4]);
        // Samples 8 and 9 lie outside every segment (the reference ignores them).
        assert_eq!(
            all[..8],
            (0..8).map(|i| 101.0 * i as f32).collect::<Vec<_>>()[..]
        );
        assert_eq!(all[8..], [0.0, 0.0]);
    }

    #[test]
    fn noise_has_the_requested_snr() {
        let signal: Vec<f32> = (0..20_000).map(|i| (i as f32 * 0.01).sin()).collect();
        let f = SourceSegments::temporal(signal.clone(), vec![(0, 20_000)], 1000);
        let noisy = f.with_noise(20.0, 1);
        let noise: f64 = noisy
            .source(0)
            .iter()
            .zip(&signal)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum();
        let power: f64 = signal.iter().map(|x| (*x as f64).powi(2)).sum();
        let snr = 10.0 * (power / noise).log10();
        assert!((snr - 20.0).abs() < 0.2, "{snr}");
        assert_eq!(noisy.features(), f.features());
    }

    #[test]
    fn temporal_components_are_named_t1_to_tn() {
        let f = SourceSegments::temporal(vec![1.0; 9], vec![(0, 3), (3, 6), (6, 9)], 3);
        let names: Vec<&str> = f.features().iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, vec!["T1", "T2", "T3"]);
        assert_eq!(
            f.compose(&[true, false, true]),
            vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
        );
    }
}
