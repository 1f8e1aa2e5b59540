//! Agreement between an explanation and the model's own attention, per modality.
//!
//! Both are brought to the explanation's units first. Audio: time segments; a segment's
//! explanation mass is the summed |weight| of its components (all sources), its attention mass
//! the summed weight of the keys whose centre falls in it (keys are taken to span the model's
//! input duration uniformly: frames or patches). Lyrics: the explanation's words; a word's
//! attention mass is the summed weight of the tokens that start inside one of its occurrences
//! (tokenizer byte offsets). Then the two mass vectors are compared by rank correlation and
//! top-k overlap.

use std::collections::BTreeMap;

use crate::features::{Feature, Modality};
use crate::lyrics::LyricFeatures;
use crate::model::attention::AttentionMap;

use super::stability::{kendall_tau_b, spearman, top_k};

/// Which reduction of the attention to compare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionSource {
    /// The last layer's first-token row, averaged over heads.
    FirstToken,
    /// Attention rollout (Abnar & Zuidema 2020).
    Rollout,
}

/// How two mass vectors are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Spearman's rho.
    Spearman,
    /// Kendall's tau-b.
    Kendall,
    /// `|top-k(explanation) ∩ top-k(attention)| / k`.
    OverlapAtK(usize),
}

/// Explanation mass and attention mass per unit of `modality`; `None` when the model has no
/// attention for it (or no rollout, when asked for).
pub fn unit_masses(
    maps: &[AttentionMap],
    source: AttentionSource,
    modality: Modality,
    weights: &[(usize, f64)],
    features: &[Feature],
    lyrics: &LyricFeatures,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let map = maps.iter().find(|m| m.modality == modality)?;
    let keys = match source {
        AttentionSource::FirstToken => &map.first_token,
        AttentionSource::Rollout => map.rollout.as_ref()?,
    };
    let mut magnitude = vec![0.0; features.len()];
    for &(j, w) in weights {
        magnitude[j] = w.abs();
    }
    match modality {
        Modality::Audio => {
            // Segment index -> (start, end, explanation mass).
            let mut segments: BTreeMap<usize, (f64, f64, f64)> = BTreeMap::new();
            for (j, f) in features.iter().enumerate() {
                if f.modality != Modality::Audio {
                    continue;
                }
                let (Some(s), Some(start), Some(end)) = (f.segment, f.start_s, f.end_s) else {
                    continue;
                };
                segments.entry(s).or_insert((start, end, 0.0)).2 += magnitude[j];
            }
            let seconds = map.key_seconds?;
            let n = keys.len() as f64;
            let attention: Vec<f64> = segments
                .values()
                .map(|&(start, end, _)| {
                    keys.iter()
                        .enumerate()
                        .filter(|(k, _)| {
                            let t = (*k as f64 + 0.5) / n * seconds;
                            t >= start && t < end
                        })
                        .map(|(_, w)| w)
                        .sum()
                })
                .collect();
            let explanation = segments.values().map(|s| s.2).collect();
            Some((explanation, attention))
        }
        Modality::Lyrics => {
            let offsets = map.token_offsets.as_ref()?;
            let word_features: Vec<usize> = (0..features.len())
                .filter(|&j| features[j].modality == Modality::Lyrics)
                .collect();
            let lyric = lyrics.features();
            if word_features.len() != lyric.len() {
                return None;
            }
            let mut attention = vec![0.0; lyric.len()];
            for (&(start, end), w) in offsets.iter().zip(keys) {
                if end == 0 {
                    continue;
                }
                let owner = lyric.iter().position(|f| {
                    f.byte_offsets
                        .iter()
                        .zip(&f.positions)
                        .any(|(&o, &p)| start >= o && start < o + lyrics.pieces()[p].len())
                });
                if let Some(i) = owner {
                    attention[i] += w;
                }
            }
            let explanation = word_features.iter().map(|&j| magnitude[j]).collect();
            Some((explanation, attention))
        }
        Modality::Unknown => None,
    }
}

/// **Attention agreement** (higher is better): Spearman ρ or Kendall τ-b ([-1, 1]) between the
/// explanation's and the attention's mass per unit, or the top-k overlap ([0, 1]). Sources:
/// Jain & Wallace (2019), "Attention is not Explanation", for the comparison; Abnar & Zuidema
/// (2020) for rollout. NaN when the model exposes no attention for `modality`, when fewer than
/// two units exist, or when either side is constant.
pub fn agreement(masses: Option<(Vec<f64>, Vec<f64>)>, how: Agreement) -> f64 {
    let Some((explanation, attention)) = masses else {
        return f64::NAN;
    };
    if explanation.len() < 2 {
        return f64::NAN;
    }
    match how {
        Agreement::Spearman => spearman(&explanation, &attention),
        Agreement::Kendall => kendall_tau_b(&explanation, &attention),
        Agreement::OverlapAtK(k) => {
            let d = explanation.len();
            let k = k.min(d);
            let dense = |v: &[f64]| v.iter().copied().enumerate().collect::<Vec<_>>();
            let a = top_k(&dense(&explanation), d, k);
            let b = top_k(&dense(&attention), d, k);
            a.intersection(&b).count() as f64 / k as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lyrics::LyricsParams;

    fn audio_features() -> Vec<Feature> {
        (0..2)
            .flat_map(|s| {
                ["vocals", "drums"].into_iter().map(move |src| {
                    Feature::audio_component(src, s, s as f64 * 2.0, (s + 1) as f64 * 2.0)
                })
            })
            .collect()
    }

    #[test]
    fn audio_attention_is_summed_per_segment() {
        let features = audio_features();
        let map = AttentionMap {
            name: "a".into(),
            modality: Modality::Audio,
            // 4 keys over 4 s: centres at 0.5, 1.5, 2.5, 3.5 s.
            first_token: vec![0.1, 0.1, 0.5, 0.3],
            rollout: None,
            token_offsets: None,
            key_seconds: Some(4.0),
        };
        let lyrics = LyricFeatures::new("", &LyricsParams::default()).unwrap();
        let weights = [(3, 0.6), (0, -0.1)];
        let (e, a) = unit_masses(
            &[map],
            AttentionSource::FirstToken,
            Modality::Audio,
            &weights,
            &features,
            &lyrics,
        )
        .unwrap();
        assert_eq!(e, vec![0.1, 0.6]);
        assert!((a[0] - 0.2).abs() < 1e-12 && (a[1] - 0.8).abs() < 1e-12);
        assert_eq!(agreement(Some((e, a)), Agreement::OverlapAtK(1)), 1.0);
    }

    #[test]
    fn tokens_are_assigned_to_the_words_they_start_in() {
        let lyrics = LyricFeatures::new("fire and ice", &LyricsParams::default()).unwrap();
        let features: Vec<Feature> = lyrics
            .features()
            .iter()
            .map(|f| Feature::named(f.text.clone(), Modality::Lyrics))
            .collect();
        let map = AttentionMap {
            name: "t".into(),
            modality: Modality::Lyrics,
            // [CLS] fi re and ice [SEP]
            first_token: vec![0.5, 0.2, 0.1, 0.05, 0.15, 0.0],
            rollout: None,
            token_offsets: Some(vec![(0, 0), (0, 2), (2, 4), (5, 8), (9, 12), (0, 0)]),
            key_seconds: None,
        };
        let (e, a) = unit_masses(
            &[map],
            AttentionSource::FirstToken,
            Modality::Lyrics,
            &[(0, 0.9), (2, 0.2)],
            &features,
            &lyrics,
        )
        .unwrap();
        assert_eq!(e, vec![0.9, 0.0, 0.2]);
        let expected = [0.3, 0.05, 0.15];
        for (x, y) in a.iter().zip(expected) {
            assert!((x - y).abs() < 1e-12);
        }
        assert!((agreement(Some((e, a)), Agreement::Spearman) - 1.0).abs() < 1e-12);
        assert!(unit_masses(
            &[],
            AttentionSource::FirstToken,
            Modality::Lyrics,
            &[],
            &features,
            &lyrics
        )
        .is_none());
    }
}
