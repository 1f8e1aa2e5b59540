//! Neighbourhood samplers: which features are switched off in each perturbed sample (spec §3).
//!
//! Random numbers come from ChaCha8 (`rand_chacha::ChaCha8Rng::seed_from_u64(seed)`), a
//! portable, platform-independent generator, consumed in row order; results depend only on the
//! seed and the shape, never on the thread count.
//! - `paper`: row 0 is all ones; for each later row, `ceil(d / 64)` draws of `next_u64`, and
//!   feature `j` is bit `j % 64` of draw `j / 64` (independent fair coin flips).
//! - `lime_text`: row 0 is all ones; for each later row, `k` uniform in `1..=d`
//!   (`random_range`), then `k` distinct features chosen uniformly (`rand::seq::index::sample`)
//!   are switched off (lime's text sampler, with our generator instead of NumPy's).
//! - `crossed` (audio and lyrics together only): `A` audio masks and `T` lyric masks, each drawn
//!   like `paper` rows over its own modality's features (the audio masks first, then the lyric
//!   masks, each list with an all-ones first mask), and row `a · T + t` of the neighbourhood is
//!   audio mask `a` next to lyric mask `t`, so row 0 is all ones and `num_samples = A × T`.
//!   Every feature is still on with probability 1/2 in every row but the ones holding an
//!   all-ones mask, but rows are not independent: each audio mask appears in `T` rows, each
//!   lyric mask in `A`. A model whose encoders run apart (a split model) then encodes `A + T`
//!   inputs instead of up to `2 · num_samples`, and only its fusion runs `A × T` times.

use ndarray::Array2;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{FeatureSpace, Modality};

/// Which modality a neighbourhood perturbs (the others stay whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PerturbedModality {
    /// Audio components and lyric features together (MusicLIME).
    #[default]
    Both,
    /// Only audio components; the lyrics stay whole.
    Audio,
    /// Only lyric features; the audio stays whole (the reference calls this `lyrical`).
    #[serde(alias = "lyrical")]
    Lyrics,
}

/// How masks are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SamplerKind {
    /// Independent fair bits per cell (MusicLIME, paper mode).
    #[default]
    Paper,
    /// Number of removed features uniform in `1..=d`, then that many at random (lime text).
    LimeText,
    /// The grid of `A` audio masks × `T` lyric masks (split models, both modalities).
    Crossed,
}

/// Sampling parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplerParams {
    /// Number of rows including row 0 (the reference's explainer default is 1000).
    pub num_samples: usize,
    /// The sampler.
    pub sampler: SamplerKind,
    /// The seed of the random generator.
    pub seed: u64,
    /// `crossed` only: the number of audio masks `A` (`num_samples / A` lyric masks); default
    /// the square root of `num_samples`, which must then be a square.
    pub audio_masks: Option<usize>,
}

impl Default for SamplerParams {
    fn default() -> Self {
        SamplerParams {
            num_samples: 1000,
            sampler: SamplerKind::Paper,
            seed: 0,
            audio_masks: None,
        }
    }
}

impl SamplerParams {
    /// Validates the parameters.
    pub fn check(&self) -> Result<()> {
        if self.num_samples < 2 {
            return Err(Error::param(
                "num_samples",
                format!(
                    "is {}; a neighbourhood needs at least 2 rows (row 0 is the instance itself)",
                    self.num_samples
                ),
            ));
        }
        if self.audio_masks.is_some() && self.sampler != SamplerKind::Crossed {
            return Err(Error::param(
                "audio_masks",
                "sets the audio masks of `sampler: crossed`; remove it or use that sampler",
            ));
        }
        if self.sampler == SamplerKind::Crossed {
            self.crossed_grid()?;
        }
        Ok(())
    }

    /// `crossed`: the number of audio masks `A` and lyric masks `T`, with `A × T = num_samples`.
    pub(crate) fn crossed_grid(&self) -> Result<(usize, usize)> {
        let n = self.num_samples;
        let a = match self.audio_masks {
            Some(a) => a,
            None => {
                let root = (n as f64).sqrt().round() as usize;
                if root * root != n {
                    return Err(Error::param(
                        "audio_masks",
                        format!("`sampler: crossed` uses a grid of A audio masks × T lyric masks = num_samples, but num_samples {n} is not a square; set `audio_masks` (A) to a divisor of {n}, or make num_samples a square such as {}", root * root),
                    ));
                }
                root
            }
        };
        if a < 2 || n % a != 0 || n / a < 2 {
            return Err(Error::param(
                "audio_masks",
                format!("is {a}, but `sampler: crossed` needs num_samples ({n}) = A audio masks × T lyric masks with A ≥ 2 and T ≥ 2; choose A dividing {n}"),
            ));
        }
        Ok((a, n / a))
    }

    /// Draws `num_samples x d` binary masks; row 0 is all ones.
    pub fn sample(&self, d: usize) -> Result<Array2<u8>> {
        self.check()?;
        if d == 0 {
            return Err(Error::param(
                "features",
                "there is nothing to perturb: the instance has no features in the perturbed modality",
            ));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut masks = Array2::<u8>::ones((self.num_samples, d));
        for mut row in masks.rows_mut().into_iter().skip(1) {
            match self.sampler {
                SamplerKind::Paper => {
                    let mut word = 0u64;
                    for (j, cell) in row.iter_mut().enumerate() {
                        if j % 64 == 0 {
                            word = rng.next_u64();
                        }
                        *cell = ((word >> (j % 64)) & 1) as u8;
                    }
                }
                SamplerKind::LimeText => {
                    let k = rng.random_range(1..=d);
                    for j in rand::seq::index::sample(&mut rng, d, k) {
                        row[j] = 0;
                    }
                }
                SamplerKind::Crossed => {
                    return Err(Error::param(
                        "sampler",
                        "`crossed` crosses audio masks with lyric masks; it draws a neighbourhood over both modalities (`method: musiclime`)",
                    ))
                }
            }
        }
        Ok(masks)
    }

    /// `crossed`: `A × T` rows over `d_audio` audio features then `d_lyrics` lyric features.
    pub(crate) fn sample_crossed(&self, d_audio: usize, d_lyrics: usize) -> Result<Array2<u8>> {
        self.check()?;
        if d_audio == 0 || d_lyrics == 0 {
            return Err(Error::param(
                "sampler",
                "`crossed` needs audio components and lyric words; this instance lacks one of them (use sampler: paper)",
            ));
        }
        let (a, t) = self.crossed_grid()?;
        let paper = |rows: usize, d: usize, rng: &mut ChaCha8Rng| {
            let mut masks = Array2::<u8>::ones((rows, d));
            for mut row in masks.rows_mut().into_iter().skip(1) {
                let mut word = 0u64;
                for (j, cell) in row.iter_mut().enumerate() {
                    if j % 64 == 0 {
                        word = rng.next_u64();
                    }
                    *cell = ((word >> (j % 64)) & 1) as u8;
                }
            }
            masks
        };
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let audio = paper(a, d_audio, &mut rng);
        let lyrics = paper(t, d_lyrics, &mut rng);
        Ok(Array2::from_shape_fn(
            (a * t, d_audio + d_lyrics),
            |(r, j)| match j < d_audio {
                true => audio[[r / t, j]],
                false => lyrics[[r % t, j - d_audio]],
            },
        ))
    }
}

/// The perturbed part of a feature space: which features are switched on and off, and the
/// masks over exactly those features. Features outside the perturbed modality stay whole in
/// every sample and are not part of the surrogate (as in the reference's audio-only and
/// lyrics-only explainers).
#[derive(Debug, Clone, PartialEq)]
pub struct Perturbations {
    /// Indices (into the feature space) of the perturbed features, in order.
    pub features: Vec<usize>,
    /// `num_samples x features.len()` binary masks; row 0 all ones.
    pub masks: Array2<u8>,
    /// Size of the whole feature space.
    pub space_len: usize,
}

impl Perturbations {
    /// Which features of the whole space are kept in sample `row`: perturbed features follow
    /// the mask, all others are kept.
    pub fn keep(&self, row: usize) -> Vec<bool> {
        let mut keep = vec![true; self.space_len];
        for (k, &j) in self.features.iter().enumerate() {
            keep[j] = self.masks[[row, k]] == 1;
        }
        keep
    }
}

impl PerturbedModality {
    /// The feature indices this modality perturbs.
    pub(crate) fn features_of(self, space: &FeatureSpace) -> Vec<usize> {
        match self {
            PerturbedModality::Both => (0..space.len()).collect(),
            PerturbedModality::Audio => space.indices_of(Modality::Audio),
            PerturbedModality::Lyrics => space.indices_of(Modality::Lyrics),
        }
    }
}

/// Draws the neighbourhood of `space` perturbing only `modality`.
pub fn perturb(
    space: &FeatureSpace,
    modality: PerturbedModality,
    params: &SamplerParams,
) -> Result<Perturbations> {
    let features = modality.features_of(space);
    let masks = match params.sampler {
        SamplerKind::Crossed => {
            if modality != PerturbedModality::Both {
                return Err(Error::param(
                    "sampler",
                    "`crossed` crosses audio masks with lyric masks, but this explainer perturbs one modality (lime_audio / lime_lyrics); use `sampler: paper` (a split model still encodes the modality held fixed only once)",
                ));
            }
            let d_audio = space.indices_of(Modality::Audio).len();
            params.sample_crossed(d_audio, features.len() - d_audio)?
        }
        _ => params.sample(features.len())?,
    };
    Ok(Perturbations {
        features,
        masks,
        space_len: space.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::Feature;
    use crate::lyrics::LyricFeatures;

    #[test]
    fn only_the_chosen_modality_is_perturbed() {
        let audio = vec![
            Feature::audio_component("vocals", 0, 0.0, 1.0),
            Feature::audio_component("drums", 0, 0.0, 1.0),
        ];
        let words = LyricFeatures::words("fire and ice", r"\W+", true, "UNKWORDZ").unwrap();
        let space = FeatureSpace::new(audio, &words);
        let params = SamplerParams {
            num_samples: 50,
            seed: 2,
            ..Default::default()
        };
        let audio_only = perturb(&space, PerturbedModality::Audio, &params).unwrap();
        assert_eq!(audio_only.features, vec![0, 1]);
        let lyrics_only = perturb(&space, PerturbedModality::Lyrics, &params).unwrap();
        assert_eq!(lyrics_only.features, vec![2, 3, 4]);
        for row in 0..50 {
            let keep = audio_only.keep(row);
            assert!(keep[2..].iter().all(|k| *k), "lyrics stay whole");
            let keep = lyrics_only.keep(row);
            assert!(keep[..2].iter().all(|k| *k), "audio stays whole");
        }
        let both = perturb(&space, PerturbedModality::Both, &params).unwrap();
        assert_eq!(both.masks.ncols(), 5);
        assert!(both.keep(0).iter().all(|k| *k));
    }

    #[test]
    fn paper_rows_are_fair_bits_with_an_all_ones_first_row() {
        let masks = SamplerParams {
            num_samples: 2000,
            seed: 7,
            ..Default::default()
        }
        .sample(50)
        .unwrap();
        assert!(masks.row(0).iter().all(|b| *b == 1));
        let ones: usize = masks.iter().map(|b| *b as usize).sum::<usize>() - 50;
        let share = ones as f64 / (1999.0 * 50.0);
        assert!((share - 0.5).abs() < 0.01, "share of ones {share}");
    }

    #[test]
    fn same_seed_same_masks_different_seed_different_masks() {
        let p = SamplerParams {
            num_samples: 100,
            seed: 3,
            ..Default::default()
        };
        assert_eq!(p.sample(70).unwrap(), p.sample(70).unwrap());
        let q = SamplerParams {
            seed: 4,
            ..p.clone()
        };
        assert_ne!(p.sample(70).unwrap(), q.sample(70).unwrap());
    }

    #[test]
    fn lime_text_rows_remove_at_least_one_feature() {
        let masks = SamplerParams {
            num_samples: 500,
            sampler: SamplerKind::LimeText,
            seed: 1,
            audio_masks: None,
        }
        .sample(12)
        .unwrap();
        for row in masks.rows().into_iter().skip(1) {
            let off = row.iter().filter(|b| **b == 0).count();
            assert!((1..=12).contains(&off));
        }
    }

    #[test]
    fn crossed_rows_are_every_audio_mask_next_to_every_lyric_mask() {
        let params = SamplerParams {
            num_samples: 12,
            sampler: SamplerKind::Crossed,
            seed: 5,
            audio_masks: Some(3),
        };
        let masks = params.sample_crossed(7, 70).unwrap();
        assert_eq!(masks.dim(), (12, 77));
        assert!(masks.row(0).iter().all(|b| *b == 1));
        for r in 0..12 {
            let (a, t) = (r / 4, r % 4);
            // same audio mask across a block of T rows, same lyric mask every T rows
            assert_eq!(
                masks.slice(ndarray::s![r, ..7]),
                masks.slice(ndarray::s![a * 4, ..7])
            );
            assert_eq!(
                masks.slice(ndarray::s![r, 7..]),
                masks.slice(ndarray::s![t, 7..])
            );
        }
        // the lyric masks span more than one 64-bit draw and differ from one another
        assert_ne!(
            masks.slice(ndarray::s![1, 7..]),
            masks.slice(ndarray::s![2, 7..])
        );
        assert_eq!(params.sample_crossed(7, 70).unwrap(), masks);
    }

    #[test]
    fn crossed_grids_must_multiply_to_num_samples() {
        let crossed = |n, a| SamplerParams {
            num_samples: n,
            sampler: SamplerKind::Crossed,
            seed: 0,
            audio_masks: a,
        };
        assert_eq!(crossed(100, None).crossed_grid().unwrap(), (10, 10));
        assert_eq!(crossed(100, Some(4)).crossed_grid().unwrap(), (4, 25));
        let e = crossed(1000, None).check().unwrap_err().to_string();
        assert!(e.contains("audio_masks") && e.contains("square"), "{e}");
        let e = crossed(100, Some(7)).check().unwrap_err().to_string();
        assert!(e.contains("audio_masks") && e.contains("divid"), "{e}");
        assert!(crossed(100, Some(50)).check().is_ok());
        assert!(crossed(100, Some(100)).check().is_err());
        let paper_with_grid = SamplerParams {
            audio_masks: Some(4),
            ..Default::default()
        };
        assert!(paper_with_grid.check().is_err());
    }

    #[test]
    fn too_few_samples_or_features_are_rejected() {
        assert!(SamplerParams {
            num_samples: 1,
            ..Default::default()
        }
        .sample(3)
        .is_err());
        assert!(SamplerParams::default().sample(0).is_err());
    }
}
