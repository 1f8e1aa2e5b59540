//! Models with a known answer, for tests of the metrics and of the comparison itself:
//! `builtin:additive` and its variants read both modalities, and the contribution of every audio
//! component and every word to their output is known exactly.
//!
//! - The **audio score** is a linear functional of the waveform:
//!   `a(x) = AUDIO_SCALE · Σ_t x[t]·r[t] / √N`,
//!   where `r[t] = ±1` is a fixed pseudo-random sign per sample index (SplitMix64 of `t`) and `N`
//!   the number of samples. An input composed from audio components is their sum, so `a` of the
//!   composition is the sum of the components' `a` (exactly, up to float rounding).
//! - The **lyrics score** is `l(text) = Σ_words β(word) · occurrences`, with
//!   `β(word) = WORD_SCALE · u(word)`, `u` a fixed pseudo-random value in [−1, 1] (FNV-1a of the
//!   word), over the words musiclime's lyric features find in the text. Removing a word removes
//!   its occurrences, so `l` is additive over the word features.
//!
//! The output has two columns, `high` = `s` and `low` = `1 − s`, with `s` by fusion:
//! `additive`: `BASE + a + l`; `additive_mute_lyrics`: `BASE + a` (reads the lyrics, gives them
//! weight 0); `additive_mute_audio`: `BASE + l`; `interaction`: `BASE + INTERACTION · a · l`
//! (XOR-like in sign: above `BASE` exactly when `a` and `l` agree in sign). The scales keep `s`
//! well inside [0, 1] at the synthetic benchmark's levels; a much louder input or a much longer
//! text can push it out, and musiclime then refuses the output as a probability (the error says
//! which sample). The additive variants answer
//! [`Classifier::is_additive`], which the `oracle` explainer needs.

use ndarray::Array2;

use super::{Classifier, ModelInput};
use crate::error::Result;
use crate::lyrics::{LyricFeatures, LyricsParams};

/// The output with nothing in the input.
pub(crate) const BASE: f64 = 0.5;
/// The factor of the audio score.
pub(crate) const AUDIO_SCALE: f64 = 0.5;
/// The largest |β| of a word.
pub(crate) const WORD_SCALE: f64 = 0.02;
/// The factor on `a · l` of the interaction model.
pub(crate) const INTERACTION: f64 = 16.0;

/// How the audio and lyrics scores make the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fusion {
    /// `BASE + a + l`.
    Additive,
    /// `BASE + a`: the lyrics are read and ignored.
    MuteLyrics,
    /// `BASE + l`: the audio is read and ignored.
    MuteAudio,
    /// `BASE + INTERACTION · a · l`.
    Interaction,
}

impl Fusion {
    /// The built-in name of the model with this fusion.
    pub fn spec(self) -> &'static str {
        match self {
            Fusion::Additive => "builtin:additive",
            Fusion::MuteLyrics => "builtin:additive_mute_lyrics",
            Fusion::MuteAudio => "builtin:additive_mute_audio",
            Fusion::Interaction => "builtin:interaction",
        }
    }

    /// Every fusion, in the order of the built-in list.
    pub const ALL: [Fusion; 4] = [
        Fusion::Additive,
        Fusion::MuteLyrics,
        Fusion::MuteAudio,
        Fusion::Interaction,
    ];
}

/// A model with known contributions.
pub(crate) struct AdditiveModel {
    fusion: Fusion,
    classes: Vec<String>,
}

impl AdditiveModel {
    /// The model with `fusion`.
    pub fn new(fusion: Fusion) -> Self {
        AdditiveModel {
            fusion,
            classes: vec!["high".into(), "low".into()],
        }
    }

    /// The audio score `a` of a waveform.
    pub(crate) fn audio_score(audio: &[f32]) -> f64 {
        if audio.is_empty() {
            return 0.0;
        }
        let sum: f64 = audio
            .iter()
            .enumerate()
            .map(|(t, &x)| f64::from(x) * probe_sign(t as u64))
            .sum();
        AUDIO_SCALE * sum / (audio.len() as f64).sqrt()
    }

    /// The weight `β` of one occurrence of `word`.
    pub(crate) fn word_weight(word: &str) -> f64 {
        let hash = crate::fingerprint::fnv1a(word.bytes());
        // the top 53 bits as a uniform number in [0, 1), then mapped to [−1, 1)
        let unit = (hash >> 11) as f64 / (1u64 << 53) as f64;
        WORD_SCALE * (2.0 * unit - 1.0)
    }

    /// The lyrics score `l` of a text.
    pub(crate) fn lyrics_score(text: &str) -> Result<f64> {
        let words = LyricFeatures::new(text, &LyricsParams::default())?;
        Ok(words
            .features()
            .iter()
            .map(|f| Self::word_weight(&f.text) * f.positions.len() as f64)
            .sum())
    }

    /// The output `s` of one input.
    pub fn score(&self, input: &ModelInput) -> Result<f64> {
        let audio = || Self::audio_score(&input.audio);
        let lyrics = || Self::lyrics_score(&input.lyrics);
        Ok(match self.fusion {
            Fusion::Additive => BASE + audio() + lyrics()?,
            Fusion::MuteLyrics => BASE + audio(),
            Fusion::MuteAudio => BASE + lyrics()?,
            Fusion::Interaction => BASE + INTERACTION * audio() * lyrics()?,
        })
    }
}

/// The fixed sign `r[t]` of sample `t`: the lowest bit of SplitMix64(`t`).
fn probe_sign(t: u64) -> f64 {
    let mut z = t.wrapping_add(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^= z >> 31;
    if z & 1 == 0 {
        1.0
    } else {
        -1.0
    }
}

impl Classifier for AdditiveModel {
    fn name(&self) -> &str {
        self.fusion.spec()
    }

    fn class_names(&self) -> &[String] {
        &self.classes
    }

    fn predict(&self, batch: &[ModelInput]) -> Result<Array2<f64>> {
        let mut out = Array2::zeros((batch.len(), 2));
        for (r, input) in batch.iter().enumerate() {
            let s = self.score(input)?;
            out[[r, 0]] = s;
            out[[r, 1]] = 1.0 - s;
        }
        Ok(out)
    }

    fn is_additive(&self) -> bool {
        self.fusion != Fusion::Interaction
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(audio: Vec<f32>, lyrics: &str) -> ModelInput {
        ModelInput {
            audio,
            sample_rate: 8000,
            lyrics: lyrics.into(),
        }
    }

    #[test]
    fn scores_add_over_audio_pieces_and_words() {
        let first: Vec<f32> = (0..400).map(|t| if t < 200 { 0.3 } else { 0.0 }).collect();
        let second: Vec<f32> = (0..400).map(|t| if t < 200 { 0.0 } else { -0.2 }).collect();
        let both: Vec<f32> = first.iter().zip(&second).map(|(a, b)| a + b).collect();
        let sum = AdditiveModel::audio_score(&first) + AdditiveModel::audio_score(&second);
        assert!((AdditiveModel::audio_score(&both) - sum).abs() < 1e-9);
        let whole = AdditiveModel::lyrics_score("fire in the fire").unwrap();
        let parts = 2.0 * AdditiveModel::word_weight("fire")
            + AdditiveModel::word_weight("in")
            + AdditiveModel::word_weight("the");
        assert!((whole - parts).abs() < 1e-15);
        assert!(AdditiveModel::word_weight("fire").abs() <= WORD_SCALE);
        let model = AdditiveModel::new(Fusion::MuteLyrics);
        let p = model
            .predict(&[input(both.clone(), "fire"), input(both, "")])
            .unwrap();
        assert_eq!(p[[0, 0]], p[[1, 0]]);
        assert!((p[[0, 0]] + p[[0, 1]] - 1.0).abs() < 1e-15);
        assert!(!AdditiveModel::new(Fusion::Interaction).is_additive());
    }
}
