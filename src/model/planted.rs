//! `builtin:planted`: a multimodal classifier with a known decision rule, for the synthetic
//! benchmark ([`crate::synth`]).
//!
//! It hears only the mixture and reads only the lyrics. The mixture is cut into
//! [`SEGMENTS`] equal segments; in each, the power of four bands is measured
//! (`bass` 30–150 Hz, `other` 160–460 Hz, `vocals` 450–2100 Hz, `drums` 2.8–7.2 kHz). A band
//! is *loud* in a segment by `e = max(0, log10(P / P_thr))`, where `P_thr` lies 10 dB below the
//! power of the source playing loud (so quiet playing gives 0). Class `c` has logit
//! `z_c = 0.8 · Σ_segments e[CLASS_SOURCES[c]] + 0.7 · (occurrences of CLASS_WORDS[c])` and the
//! output is `softmax(z)` over the four classes. Its relevant features for a synthetic track are
//! therefore exactly the loud components and class words listed in `ground_truth.json`.

use ndarray::Array2;
use rayon::prelude::*;
use realfft::RealFftPlanner;

use super::{Classifier, ModelInput};
use crate::error::Result;
use crate::synth::{CLASS_SOURCES, CLASS_WORDS, LOUD, QUIET, SEGMENTS};

/// Logit per unit of loudness evidence.
pub const AUDIO_WEIGHT: f64 = 0.8;
/// Logit per occurrence of a class word.
pub const WORD_WEIGHT: f64 = 0.7;

/// `(source, low Hz, high Hz, mean power at unit amplitude)` of each measured band. The last
/// value is the source's mean power per unit amplitude² as the synthesiser plays it (sine 1/2;
/// pad 1/6 × swell 0.59; gated formant voice 0.24; decaying noise bursts 0.06).
const BANDS: [(&str, f32, f32, f64); 4] = [
    ("bass", 30.0, 150.0, 0.5),
    ("other", 160.0, 460.0, 0.098),
    ("vocals", 450.0, 2100.0, 0.24),
    ("drums", 2800.0, 7200.0, 0.06),
];

/// The planted classifier.
pub(crate) struct PlantedModel {
    classes: Vec<String>,
}

impl PlantedModel {
    /// The model, with classes named after the source that indicates them.
    pub fn new() -> Self {
        PlantedModel {
            classes: CLASS_SOURCES.iter().map(|s| format!("{s}-heavy")).collect(),
        }
    }

    /// Loudness evidence `e[band][segment]` of a mixture.
    pub fn audio_evidence(
        &self,
        audio: &[f32],
        sample_rate: u32,
        planner: &mut RealFftPlanner<f32>,
    ) -> Vec<[f64; SEGMENTS]> {
        let segment_len = audio.len() / SEGMENTS;
        let mut evidence = vec![[0.0; SEGMENTS]; BANDS.len()];
        if segment_len < 2 {
            return evidence;
        }
        let fft = planner.plan_fft_forward(segment_len);
        let mut input = fft.make_input_vec();
        let mut spectrum = fft.make_output_vec();
        let hz_per_bin = sample_rate as f32 / segment_len as f32;
        for s in 0..SEGMENTS {
            input.copy_from_slice(&audio[s * segment_len..(s + 1) * segment_len]);
            fft.process(&mut input, &mut spectrum)
                .expect("buffer lengths come from the plan");
            for (b, &(_, low, high, unit_power)) in BANDS.iter().enumerate() {
                let first = (low / hz_per_bin).ceil() as usize;
                let last = ((high / hz_per_bin).floor() as usize).min(spectrum.len() - 1);
                // Parseval: mean power of the band-limited signal.
                let power: f64 = spectrum[first..=last]
                    .iter()
                    .map(|c| c.norm_sqr() as f64)
                    .sum::<f64>()
                    * 2.0
                    / (segment_len as f64 * segment_len as f64);
                let threshold = (QUIET as f64) * (LOUD as f64) * unit_power;
                evidence[b][s] = if power > 0.0 {
                    (power / threshold).log10().max(0.0)
                } else {
                    0.0
                };
            }
        }
        evidence
    }
}

impl Default for PlantedModel {
    fn default() -> Self {
        Self::new()
    }
}

fn word_count(lyrics: &str, word: &str) -> usize {
    lyrics
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| *w == word)
        .count()
}

impl Classifier for PlantedModel {
    fn name(&self) -> &str {
        "builtin:planted"
    }

    fn class_names(&self) -> &[String] {
        &self.classes
    }

    fn predict(&self, batch: &[ModelInput]) -> Result<Array2<f64>> {
        let rows: Vec<[f64; 4]> = batch
            .par_iter()
            .map_init(RealFftPlanner::<f32>::new, |planner, input| {
                self.probabilities(input, planner)
            })
            .collect();
        let mut out = Array2::<f64>::zeros((batch.len(), self.classes.len()));
        for (i, row) in rows.iter().enumerate() {
            for (c, p) in row.iter().enumerate() {
                out[[i, c]] = *p;
            }
        }
        Ok(out)
    }
}

impl PlantedModel {
    /// The class probabilities of one input (each input independently, so batches can be
    /// processed in parallel with identical results).
    fn probabilities(&self, input: &ModelInput, planner: &mut RealFftPlanner<f32>) -> [f64; 4] {
        {
            let evidence = self.audio_evidence(&input.audio, input.sample_rate, planner);
            let mut logits = [0.0f64; 4];
            for (c, source) in CLASS_SOURCES.iter().enumerate() {
                let band = BANDS
                    .iter()
                    .position(|(name, ..)| name == source)
                    .expect("every class source has a band");
                let loudness: f64 = evidence[band].iter().sum();
                let words: usize = CLASS_WORDS[c]
                    .iter()
                    .map(|w| word_count(&input.lyrics, w))
                    .sum();
                logits[c] = AUDIO_WEIGHT * loudness + WORD_WEIGHT * words as f64;
            }
            let max = logits.iter().copied().fold(f64::MIN, f64::max);
            let total: f64 = logits.iter().map(|z| (z - max).exp()).sum();
            logits.map(|z| (z - max).exp() / total)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::SynthParams;

    #[test]
    fn loud_segments_give_evidence_and_quiet_ones_none() {
        let params = SynthParams {
            seconds: 10.0,
            ..Default::default()
        };
        let model = PlantedModel::new();
        let mut planner = RealFftPlanner::new();
        for index in 0..4 {
            let track = params.track(index);
            let evidence = model.audio_evidence(&track.mixture(), params.sample_rate, &mut planner);
            for (b, (band, ..)) in BANDS.iter().enumerate() {
                for (s, &e) in evidence[b].iter().enumerate() {
                    let planted = track.truth.audio.contains(&format!("{band}{s}"));
                    if planted {
                        assert!(e > 0.5, "track {index} {band}{s} is loud but e = {e}");
                    } else {
                        assert!(e == 0.0, "track {index} {band}{s} is quiet but e = {e}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_prediction_is_the_planted_label() {
        let params = SynthParams::default();
        let model = PlantedModel::new();
        for index in 0..6 {
            let track = params.track(index);
            let input = ModelInput {
                audio: track.mixture(),
                sample_rate: params.sample_rate,
                lyrics: track.lyrics.clone(),
            };
            let probs = model.predict(&[input]).unwrap();
            let predicted = (0..4)
                .max_by(|&a, &b| probs[[0, a]].total_cmp(&probs[[0, b]]))
                .unwrap();
            assert_eq!(predicted, track.truth.label, "track {index}: {probs}");
        }
    }
}
