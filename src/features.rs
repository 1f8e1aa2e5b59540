//! The interpretable feature space of one instance: audio components first, then lyric
//! features (spec §2), with the metadata an explanation table shows for each.

use serde::{Deserialize, Serialize};

use crate::lyrics::LyricFeatures;

/// Which input a feature switches on and off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// An audio component (a source restricted to a time segment).
    Audio,
    /// A lyric word, word occurrence or line.
    Lyrics,
    /// Not recorded (a neighbourhood file without a feature sidecar).
    Unknown,
}

impl Modality {
    /// `audio` or `lyrics`.
    pub fn as_str(self) -> &'static str {
        match self {
            Modality::Audio => "audio",
            Modality::Lyrics => "lyrics",
            Modality::Unknown => "unknown",
        }
    }
}

/// One interpretable feature and what it stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Feature {
    /// Display name: `vocals3`, `T1` or the word itself.
    pub name: String,
    /// Audio or lyrics.
    pub modality: Modality,
    /// Audio: the source name (`vocals`, `drums`, ...; `mix` for a time-only factorization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Audio: the 0-based segment index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<usize>,
    /// Audio: segment start in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_s: Option<f64>,
    /// Audio: segment end in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_s: Option<f64>,
    /// Lyrics: the word or line text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word: Option<String>,
    /// Lyrics: how many times the feature occurs in the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrences: Option<usize>,
}

impl Feature {
    /// A feature known only by name (e.g. read from a file without metadata).
    pub fn named(name: impl Into<String>, modality: Modality) -> Self {
        Feature {
            name: name.into(),
            modality,
            source: None,
            segment: None,
            start_s: None,
            end_s: None,
            word: None,
            occurrences: None,
        }
    }

    /// An audio component of `source` in `segment` covering `[start_s, end_s)`, named like the
    /// reference: the source name followed by the 0-based segment index.
    pub fn audio_component(source: &str, segment: usize, start_s: f64, end_s: f64) -> Self {
        Feature {
            source: Some(source.to_string()),
            segment: Some(segment),
            start_s: Some(start_s),
            end_s: Some(end_s),
            ..Feature::named(format!("{source}{segment}"), Modality::Audio)
        }
    }

    /// A time-only component `T{segment + 1}` (1-based, as the reference names them).
    pub(crate) fn temporal_segment(segment: usize, start_s: f64, end_s: f64) -> Self {
        Feature {
            source: Some("mix".to_string()),
            segment: Some(segment),
            start_s: Some(start_s),
            end_s: Some(end_s),
            ..Feature::named(format!("T{}", segment + 1), Modality::Audio)
        }
    }
}

/// The ordered features of one instance: audio block, then lyrics block.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FeatureSpace {
    /// All features, audio first.
    pub features: Vec<Feature>,
}

impl FeatureSpace {
    /// Builds the space from audio components and lyric features.
    pub fn new(audio: Vec<Feature>, lyrics: &LyricFeatures) -> Self {
        let mut features = audio;
        features.extend(lyrics.features().iter().map(|f| Feature {
            word: Some(f.text.clone()),
            occurrences: Some(f.positions.len()),
            ..Feature::named(f.text.clone(), Modality::Lyrics)
        }));
        FeatureSpace { features }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether the space is empty.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Indices of the features of one modality.
    pub(crate) fn indices_of(&self, modality: Modality) -> Vec<usize> {
        self.features
            .iter()
            .enumerate()
            .filter(|(_, f)| f.modality == modality)
            .map(|(i, _)| i)
            .collect()
    }
}
