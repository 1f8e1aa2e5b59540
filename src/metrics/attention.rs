//! Agreement between an explanation and the model's own attention, per modality.
//!
//! Both are brought to the explanation's units first. The model's leading special keys
//! (`[CLS]`, AST's distillation token, `<s>`: [`AttentionMap::special`]) stand for no input
//! position and count towards no unit. Audio: time segments; a segment's explanation mass is
//! the summed |weight| of its components (all sources). Its attention mass depends on what the
//! keys are. Keys of a patch grid ([`AttentionMap::key_spans`], e.g. AST's 12 × 101
//! frequency × time patches) each cover a known time span, and a patch's weight is split
//! between the segments it overlaps in proportion to the overlap (a patch covering 160 ms of
//! which 60 ms fall in a segment gives it 60/160 of its weight; a patch's share beyond the
//! last segment, such as padding after the clip, counts nowhere), so every frequency band of a
//! time column counts for that column's time. Other keys are taken to span the model's input
//! duration uniformly (frames or patches) and a key counts for the segment its centre falls
//! in. Lyrics: the explanation's words; a word's attention mass is the summed weight of the
//! tokens that start inside one of its occurrences (tokenizer byte offsets; special and
//! padding tokens have none). Then the two mass vectors are compared by rank correlation and
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
            let segments = audio_segments(&magnitude, features);
            let attention = segment_attention(map, keys, &segments)?;
            let explanation = segments.iter().map(|s| s.2).collect();
            Some((explanation, attention))
        }
        Modality::Lyrics => {
            let word_features: Vec<usize> = (0..features.len())
                .filter(|&j| features[j].modality == Modality::Lyrics)
                .collect();
            if word_features.len() != lyrics.features().len() {
                return None;
            }
            let attention = word_attention(map, keys, lyrics)?;
            let explanation = word_features.iter().map(|&j| magnitude[j]).collect();
            Some((explanation, attention))
        }
        Modality::Unknown => None,
    }
}

/// The explanation's time segments in index order: `(start, end, summed |weight|)` over the
/// audio components of each segment.
fn audio_segments(magnitude: &[f64], features: &[Feature]) -> Vec<(f64, f64, f64)> {
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
    segments.into_values().collect()
}

/// Attention mass of each segment `(start, end, _)`: the non-special keys' weights, split by
/// time overlap for patch keys with spans, else counted where each key's centre falls (keys
/// spread evenly over `key_seconds`). `None` when the map says neither.
fn segment_attention(
    map: &AttentionMap,
    keys: &[f64],
    segments: &[(f64, f64, f64)],
) -> Option<Vec<f64>> {
    let weights = keys.get(map.special..).unwrap_or_default();
    if let Some(spans) = &map.key_spans {
        return Some(
            segments
                .iter()
                .map(|&(start, end, _)| {
                    weights
                        .iter()
                        .zip(spans)
                        .map(|(w, &span)| w * overlap_share(span, (start, end)))
                        .sum()
                })
                .collect(),
        );
    }
    let seconds = map.key_seconds?;
    let n = weights.len() as f64;
    Some(
        segments
            .iter()
            .map(|&(start, end, _)| {
                weights
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| {
                        let t = (*k as f64 + 0.5) / n * seconds;
                        t >= start && t < end
                    })
                    .map(|(_, w)| w)
                    .sum()
            })
            .collect(),
    )
}

/// The share of `span` that lies inside `segment` (both `[start, end)` in seconds): the
/// length of their intersection over the span's length; 0 for an empty span.
fn overlap_share(span: (f64, f64), segment: (f64, f64)) -> f64 {
    let length = span.1 - span.0;
    if length <= 0.0 {
        return 0.0;
    }
    let inside = span.1.min(segment.1) - span.0.max(segment.0);
    inside.max(0.0) / length
}

/// Attention mass of each word of `lyrics`: the weights of the tokens that start inside one
/// of its occurrences, leading special keys and tokens without bytes left out. `None` without
/// token offsets.
fn word_attention(map: &AttentionMap, keys: &[f64], lyrics: &LyricFeatures) -> Option<Vec<f64>> {
    let offsets = map.token_offsets.as_ref()?;
    let lyric = lyrics.features();
    let mut attention = vec![0.0; lyric.len()];
    for (&(start, end), w) in offsets.iter().zip(keys).skip(map.special) {
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
    Some(attention)
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
            // Segments and words are not features of one explainer: ties go by index.
            let by_index: Vec<u64> = (0..d as u64).collect();
            let a = top_k(&dense(&explanation), d, k, &by_index);
            let b = top_k(&dense(&attention), d, k, &by_index);
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
            special: 0,
            key_spans: None,
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
            special: 0,
            key_spans: None,
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
