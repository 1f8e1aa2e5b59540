//! Built-in trained models: audio-only, lyrics-only and multimodal classifiers, trained with
//! `linfa-logistic` (multinomial logistic regression) on a fixed synthetic training split, so
//! the quickstart has real learned models to explain and to compare, like the paper's Table 1.
//!
//! - Audio features: the log power of 24 mel-spaced triangular bands (HTK mel scale, 40 Hz to
//!   7.6 kHz) of a 512-point STFT, pooled over time as mean and standard deviation (48 values).
//! - Lyrics features: counts of the training vocabulary's words (split on `\W+`, lowercased).
//! - Multimodal: both, concatenated (early fusion). Every feature is standardised with the
//!   training mean and standard deviation.
//!
//! Training split: [`TRAINING`] (seed 7919, never used for explained tracks). Training is
//! deterministic (L-BFGS from zeros) and takes a few seconds; the fitted models are cached for
//! the life of the process.

use std::sync::OnceLock;

use linfa::prelude::*;
use linfa_logistic::{MultiFittedLogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2, Axis};
use rayon::prelude::*;

use super::{Classifier, ModelInput};
use crate::audio::stft::Stft;
use crate::error::{Error, Result};
use crate::synth::{SynthParams, CLASS_SOURCES};

/// The synthetic training split of the built-in trained models.
pub const TRAINING: SynthParams = SynthParams {
    tracks: 48,
    seed: 7919,
    seconds: 4.0,
    sample_rate: 16_000,
    classes: 4,
};

const N_MELS: usize = 24;
const N_FFT: usize = 512;

/// Which inputs a trained model reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inputs {
    /// The audio only.
    Audio,
    /// The lyrics only.
    Lyrics,
    /// Both.
    Multimodal,
}

/// Turns a model input into the raw (unstandardised) feature vector.
#[derive(Debug, Clone)]
struct FeatureExtractor {
    inputs: Inputs,
    vocabulary: Vec<String>,
}

impl FeatureExtractor {
    fn extract(&self, input: &ModelInput) -> Vec<f64> {
        let mut x = Vec::new();
        if self.inputs != Inputs::Lyrics {
            x.extend(audio_features(&input.audio, input.sample_rate));
        }
        if self.inputs != Inputs::Audio {
            let mut counts = vec![0.0; self.vocabulary.len()];
            for w in words(&input.lyrics) {
                if let Ok(i) = self.vocabulary.binary_search(&w) {
                    counts[i] += 1.0;
                }
            }
            x.extend(counts);
        }
        x
    }
}

/// A trained classifier.
pub struct TrainedModel {
    name: String,
    classes: Vec<String>,
    extractor: FeatureExtractor,
    mean: Array1<f64>,
    std: Array1<f64>,
    model: MultiFittedLogisticRegression<f64, usize>,
    /// Accuracy on the training split (for reference; held-out accuracy is the runner's).
    pub training_accuracy: f64,
}

fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// Triangular mel filters as `(first bin, weights)`: each filter touches only its own bins.
fn mel_filters(sample_rate: u32) -> Vec<(usize, Vec<f64>)> {
    let bins = N_FFT / 2 + 1;
    let (low, high) = (
        hz_to_mel(40.0),
        hz_to_mel(7600.0_f64.min(sample_rate as f64 / 2.0)),
    );
    let edges: Vec<f64> = (0..N_MELS + 2)
        .map(|i| mel_to_hz(low + (high - low) * i as f64 / (N_MELS + 1) as f64))
        .collect();
    let hz = |k: usize| k as f64 * sample_rate as f64 / N_FFT as f64;
    (0..N_MELS)
        .map(|m| {
            let (a, b, c) = (edges[m], edges[m + 1], edges[m + 2]);
            let weights: Vec<(usize, f64)> = (0..bins)
                .filter_map(|k| {
                    let f = hz(k);
                    let w = if f > a && f <= b {
                        (f - a) / (b - a)
                    } else if f > b && f < c {
                        (c - f) / (c - b)
                    } else {
                        0.0
                    };
                    (w > 0.0).then_some((k, w))
                })
                .collect();
            let first = weights.first().map(|(k, _)| *k).unwrap_or(0);
            (first, weights.into_iter().map(|(_, w)| w).collect())
        })
        .collect()
}

/// Pooled log mel-band statistics of a waveform (48 values).
pub fn audio_features(samples: &[f32], sample_rate: u32) -> Vec<f64> {
    let spectrum = Stft::new(N_FFT, N_FFT / 2).forward(samples);
    let filters = mel_filters(sample_rate);
    let mut sum = [0.0f64; N_MELS];
    let mut sum_sq = [0.0f64; N_MELS];
    for frame in &spectrum.frames {
        for (m, (first, weights)) in filters.iter().enumerate() {
            let power: f64 = frame[*first..]
                .iter()
                .zip(weights)
                .map(|(c, w)| w * c.norm_sqr() as f64)
                .sum();
            let value = (1.0 + 1e4 * power).log10();
            sum[m] += value;
            sum_sq[m] += value * value;
        }
    }
    let n = spectrum.frames.len().max(1) as f64;
    let mut features = Vec::with_capacity(2 * N_MELS);
    for m in 0..N_MELS {
        let mean = sum[m] / n;
        features.push(mean);
        features.push((sum_sq[m] / n - mean * mean).max(0.0).sqrt());
    }
    features
}

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

impl TrainedModel {
    /// Trains a model reading `inputs` on the [`TRAINING`] split.
    pub fn train(inputs: Inputs) -> Result<TrainedModel> {
        let name = match inputs {
            Inputs::Audio => "builtin:audio",
            Inputs::Lyrics => "builtin:lyrics",
            Inputs::Multimodal => "builtin:multimodal",
        };
        let tracks: Vec<_> = (0..TRAINING.tracks)
            .into_par_iter()
            .map(|i| TRAINING.track(i))
            .collect();
        let mut vocabulary: Vec<String> = tracks
            .iter()
            .flat_map(|t| words(&t.lyrics).collect::<Vec<_>>())
            .collect();
        vocabulary.sort();
        vocabulary.dedup();
        let extractor = FeatureExtractor { inputs, vocabulary };
        let raw: Vec<Vec<f64>> = tracks
            .par_iter()
            .map(|t| {
                extractor.extract(&ModelInput {
                    audio: t.mixture(),
                    sample_rate: TRAINING.sample_rate,
                    lyrics: t.lyrics.clone(),
                })
            })
            .collect();
        let d = raw[0].len();
        let x = Array2::from_shape_fn((raw.len(), d), |(i, j)| raw[i][j]);
        let mean = x
            .mean_axis(Axis(0))
            .ok_or_else(|| Error::Internal(format!("training {name}: no data")))?;
        let std = x
            .std_axis(Axis(0), 0.0)
            .mapv(|s| if s > 1e-9 { s } else { 1.0 });
        let standardized = (&x - &mean) / &std;
        let labels = Array1::from(tracks.iter().map(|t| t.truth.label).collect::<Vec<_>>());
        let model = MultiLogisticRegression::default()
            .alpha(0.1)
            .max_iterations(200)
            .fit(&Dataset::new(standardized.clone(), labels.clone()))
            .map_err(|e| Error::Numeric(format!("training {name}: {e}")))?;
        let predicted = model.predict(&standardized);
        let training_accuracy = predicted
            .iter()
            .zip(labels.iter())
            .filter(|(p, t)| p == t)
            .count() as f64
            / labels.len() as f64;
        Ok(TrainedModel {
            name: name.to_string(),
            classes: CLASS_SOURCES.iter().map(|s| format!("{s}-heavy")).collect(),
            extractor,
            mean,
            std,
            model,
            training_accuracy,
        })
    }

    fn features(&self, input: &ModelInput) -> Vec<f64> {
        let raw = self.extractor.extract(input);
        raw.iter()
            .zip(self.mean.iter().zip(self.std.iter()))
            .map(|(v, (m, s))| (v - m) / s)
            .collect()
    }
}

impl Classifier for TrainedModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn reads(&self) -> (bool, bool) {
        (
            self.extractor.inputs != Inputs::Lyrics,
            self.extractor.inputs != Inputs::Audio,
        )
    }

    fn class_names(&self) -> &[String] {
        &self.classes
    }

    fn predict(&self, batch: &[ModelInput]) -> Result<Array2<f64>> {
        let rows: Vec<Vec<f64>> = batch.par_iter().map(|input| self.features(input)).collect();
        let d = self.mean.len();
        let x = Array2::from_shape_fn((rows.len(), d), |(i, j)| rows[i][j]);
        let probs = self.model.predict_probabilities(&x);
        // Columns follow the fitted classes; place them at their class index.
        let mut out = Array2::<f64>::zeros((batch.len(), self.classes.len()));
        for (k, &class) in self.model.classes().iter().enumerate() {
            if class < self.classes.len() {
                out.column_mut(class).assign(&probs.column(k));
            }
        }
        Ok(out)
    }
}

/// The trained model reading `inputs`, trained once per process.
pub fn trained(inputs: Inputs) -> Result<&'static TrainedModel> {
    static AUDIO: OnceLock<std::result::Result<TrainedModel, String>> = OnceLock::new();
    static LYRICS: OnceLock<std::result::Result<TrainedModel, String>> = OnceLock::new();
    static MULTIMODAL: OnceLock<std::result::Result<TrainedModel, String>> = OnceLock::new();
    let cell = match inputs {
        Inputs::Audio => &AUDIO,
        Inputs::Lyrics => &LYRICS,
        Inputs::Multimodal => &MULTIMODAL,
    };
    cell.get_or_init(|| TrainedModel::train(inputs).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Numeric(e.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::validate_probabilities;

    #[test]
    fn trained_models_learn_the_training_split_and_generalise() {
        let held_out = SynthParams {
            tracks: 12,
            seed: 99,
            seconds: 4.0,
            ..Default::default()
        };
        let tracks: Vec<_> = (0..held_out.tracks).map(|i| held_out.track(i)).collect();
        let inputs: Vec<ModelInput> = tracks
            .iter()
            .map(|t| ModelInput {
                audio: t.mixture(),
                sample_rate: held_out.sample_rate,
                lyrics: t.lyrics.clone(),
            })
            .collect();
        let mut accuracy = Vec::new();
        for kind in [Inputs::Audio, Inputs::Lyrics, Inputs::Multimodal] {
            let model = trained(kind).unwrap();
            assert!(
                model.training_accuracy >= 0.7,
                "{}: training accuracy {}",
                model.name(),
                model.training_accuracy
            );
            let probs = model.predict(&inputs).unwrap();
            validate_probabilities(&probs, model.name(), 0).unwrap();
            let correct = tracks
                .iter()
                .enumerate()
                .filter(|(i, t)| {
                    (0..4)
                        .max_by(|&a, &b| probs[[*i, a]].total_cmp(&probs[[*i, b]]))
                        .unwrap()
                        == t.truth.label
                })
                .count();
            accuracy.push(correct as f64 / tracks.len() as f64);
        }
        eprintln!("held-out accuracy audio/lyrics/multimodal: {accuracy:?}");
        // Lyrics mislead on every fourth track; the multimodal model should do at least as well.
        assert!(
            accuracy[2] >= accuracy[1],
            "multimodal {} vs lyrics {}",
            accuracy[2],
            accuracy[1]
        );
        assert!(
            accuracy[2] >= 0.75,
            "multimodal held-out accuracy {:?}",
            accuracy
        );
        // Deterministic: a second training gives the same predictions.
        let again = TrainedModel::train(Inputs::Multimodal)
            .unwrap()
            .predict(&inputs[..2])
            .unwrap();
        assert_eq!(
            again,
            trained(Inputs::Multimodal)
                .unwrap()
                .predict(&inputs[..2])
                .unwrap()
        );
    }
}
