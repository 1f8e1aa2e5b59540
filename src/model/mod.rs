//! Models: the [`Classifier`] trait every model implements, and the built-in models that need
//! no files. Batching and composition live outside the model.

pub mod planted;
pub mod trained;

use ndarray::Array2;

use crate::error::{Error, Result};

/// One input to a multimodal model: a mono waveform and the lyrics.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInput {
    /// Mono samples.
    pub audio: Vec<f32>,
    /// Sample rate of `audio`.
    pub sample_rate: u32,
    /// The lyrics text.
    pub lyrics: String,
}

/// A classifier of (audio, lyrics) pairs.
pub trait Classifier: Send + Sync {
    /// A name for messages (`builtin:planted`, a file path, …).
    fn name(&self) -> &str;

    /// The class names, one per output column.
    fn class_names(&self) -> &[String];

    /// Class probabilities, `[batch, classes]`.
    fn predict(&self, batch: &[ModelInput]) -> Result<Array2<f64>>;

    /// Which inputs the model reads: `(audio, lyrics)`. A unimodal model can only be explained
    /// by the matching unimodal method.
    fn reads(&self) -> (bool, bool) {
        (true, true)
    }
}

/// The built-in models by name: `builtin:planted` (known decision rule) and the trained
/// `builtin:audio`, `builtin:lyrics`, `builtin:multimodal` (see [`trained`]).
pub fn builtin(spec: &str) -> Result<Box<dyn Classifier>> {
    match spec {
        "builtin:planted" => Ok(Box::new(planted::PlantedModel::new())),
        "builtin:audio" => Ok(Box::new(trained::trained(trained::Inputs::Audio)?)),
        "builtin:lyrics" => Ok(Box::new(trained::trained(trained::Inputs::Lyrics)?)),
        "builtin:multimodal" => Ok(Box::new(trained::trained(trained::Inputs::Multimodal)?)),
        other => Err(Error::input(
            "--model",
            format!("unknown model `{other}`; the built-in models are: builtin:planted, builtin:audio, builtin:lyrics, builtin:multimodal"),
        )),
    }
}

impl<T: Classifier + ?Sized> Classifier for &T {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn class_names(&self) -> &[String] {
        (**self).class_names()
    }

    fn predict(&self, batch: &[ModelInput]) -> Result<Array2<f64>> {
        (**self).predict(batch)
    }

    fn reads(&self) -> (bool, bool) {
        (**self).reads()
    }
}

/// Checks that `probs` are probabilities: finite, in [0, 1], rows summing to 1 (within 1e-3).
pub fn validate_probabilities(probs: &Array2<f64>, model: &str, first_row: usize) -> Result<()> {
    for (i, row) in probs.rows().into_iter().enumerate() {
        if let Some((k, p)) = row
            .iter()
            .enumerate()
            .find(|(_, p)| !p.is_finite() || **p < -1e-6 || **p > 1.0 + 1e-6)
        {
            return Err(Error::input(
                model,
                format!("output {k} for sample {} is {p}; a classifier must return probabilities in [0, 1]", first_row + i),
            ));
        }
        let sum: f64 = row.sum();
        if (sum - 1.0).abs() > 1e-3 {
            return Err(Error::input(
                model,
                format!("the outputs for sample {} sum to {sum}; declare logits so softmax is applied, or return probabilities", first_row + i),
            ));
        }
    }
    Ok(())
}
