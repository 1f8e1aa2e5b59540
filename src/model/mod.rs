//! Models: the [`Classifier`] trait every model implements, and the built-in models that need
//! no files. Batching and composition live outside the model.

pub mod additive;
pub mod attention;
pub mod compose;
pub mod memo;
pub mod onnx;
pub mod planted;
pub mod trained;

use std::any::Any;
use std::path::Path;

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::factorize::Factorization;
use crate::lyrics::LyricFeatures;
pub use memo::{ModelCounts, RunSettings};

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

    /// Whether the classes are independent tags, several of which may apply at once (a
    /// multi-label tagger with per-tag probabilities). Single-label models (the default)
    /// return probabilities that sum to 1 and predict their highest class.
    fn multilabel(&self) -> bool {
        false
    }

    /// A note for the user about how an input of `samples` samples at `sample_rate` is fed to
    /// the model (for example: padded to one patch), or `None`.
    fn input_note(&self, _samples: usize, _sample_rate: u32) -> Option<String> {
        None
    }

    /// How many seconds of audio the model reads from the start of its input, when it declares
    /// it (model.yaml `window_seconds`): a longer clip is explained on this window by default.
    fn window_seconds(&self) -> Option<f64> {
        None
    }

    /// The model's attention maps for one input (models without attention outputs: none);
    /// attention rollout only when `rollout` is asked for.
    fn attention(
        &self,
        _input: &ModelInput,
        _rollout: bool,
    ) -> Result<Vec<attention::AttentionMap>> {
        Ok(Vec::new())
    }

    /// The modalities the model exposes attention maps for (none by default).
    fn attention_modalities(&self) -> Vec<crate::features::Modality> {
        Vec::new()
    }

    /// Whether the model's output is exactly additive in the instance's audio components and
    /// words, so that leave-one-out effects are its exact contributions (what the `oracle`
    /// explainer needs). Only the built-in models with known contributions say yes.
    fn is_additive(&self) -> bool {
        false
    }

    /// Whether the model's audio and text encoders run apart from each other and from the
    /// fusion (a split model), so that crossed sampling pays off; otherwise why not.
    fn separable(&self) -> std::result::Result<(), String> {
        Err(format!(
            "{} is not a split model; crossed sampling needs an audio encoder, a text encoder and a fusion head as separate `stages:` of a model.yaml",
            self.name()
        ))
    }

    /// Prepares one instance for many masked predictions, for models with a faster route than
    /// composing every input and calling [`predict`](Classifier::predict) (the ONNX models add
    /// stored component spectra), run as `settings` say. `None` (the default) means: compose,
    /// then predict.
    fn prepare_instance<'a>(
        &'a self,
        _audio: &'a dyn Factorization,
        _lyrics: &'a LyricFeatures,
        _settings: RunSettings,
    ) -> Result<Option<Box<dyn InstancePredictor + 'a>>> {
        Ok(None)
    }
}

/// A batch made ready for the model by [`InstancePredictor::prepare`].
pub struct PreparedBatch(pub Box<dyn Any + Send>);

/// One instance made ready for masked predictions. `prepare` (CPU work: composition,
/// features) and `run` (the model call) are separate so the explainer can prepare the next
/// batch while the model runs the current one.
pub trait InstancePredictor: Sync {
    /// Prepares the rows whose keep-masks (audio components, then lyric features) are `masks`;
    /// `first_row` is the neighbourhood row of `masks[0]`, for messages.
    fn prepare(&self, masks: &[Vec<bool>], first_row: usize) -> Result<PreparedBatch>;

    /// Class probabilities `[rows, classes]` of a prepared batch.
    fn run(&self, batch: PreparedBatch) -> Result<Array2<f64>>;

    /// Model items run and saved by memoisation since the instance was prepared.
    fn counts(&self) -> ModelCounts;
}

/// The model's fast route for one instance, or the default (compose, then predict), run as
/// `settings` say (the cap on items per run, memoisation).
pub fn instance_predictor<'a>(
    model: &'a dyn Classifier,
    audio: &'a dyn Factorization,
    lyrics: &'a LyricFeatures,
    settings: RunSettings,
) -> Result<Box<dyn InstancePredictor + 'a>> {
    Ok(match model.prepare_instance(audio, lyrics, settings)? {
        Some(p) => p,
        None => Box::new(compose::Composing::new(model, audio, lyrics, settings)),
    })
}

/// A model by spec: a built-in name (`builtin:…`) or the path of a `model.yaml`.
pub fn load_model(spec: &str) -> Result<Box<dyn Classifier>> {
    load_model_with(spec, &onnx::LoadOptions::default())
}

/// As [`load_model`], with `options` overriding an ONNX model's `model.yaml` (built-in models
/// ignore them).
pub fn load_model_with(spec: &str, options: &onnx::LoadOptions) -> Result<Box<dyn Classifier>> {
    if spec.starts_with("builtin:") {
        return builtin(spec);
    }
    let path = Path::new(spec);
    if !path.is_file() {
        return Err(Error::input(
            "--model",
            format!(
                "`{spec}` is neither a built-in model ({}) nor an existing model.yaml file",
                BUILTIN_MODELS.join(", ")
            ),
        ));
    }
    Ok(Box::new(onnx::OnnxModel::load_with(path, options)?))
}

/// The names of the built-in models.
pub(crate) const BUILTIN_MODELS: [&str; 8] = [
    "builtin:planted",
    "builtin:audio",
    "builtin:lyrics",
    "builtin:multimodal",
    "builtin:additive",
    "builtin:additive_mute_lyrics",
    "builtin:additive_mute_audio",
    "builtin:interaction",
];

/// The built-in models by name: `builtin:planted` (known decision rule), the trained
/// `builtin:audio`, `builtin:lyrics`, `builtin:multimodal` (see [`trained`]), and the models with
/// known contributions `builtin:additive`, `builtin:additive_mute_lyrics`,
/// `builtin:additive_mute_audio` and `builtin:interaction` (see [`additive`]).
pub fn builtin(spec: &str) -> Result<Box<dyn Classifier>> {
    if let Some(fusion) = additive::Fusion::ALL.into_iter().find(|f| f.spec() == spec) {
        return Ok(Box::new(additive::AdditiveModel::new(fusion)));
    }
    match spec {
        "builtin:planted" => Ok(Box::new(planted::PlantedModel::new())),
        "builtin:audio" => Ok(Box::new(trained::trained(trained::Inputs::Audio)?)),
        "builtin:lyrics" => Ok(Box::new(trained::trained(trained::Inputs::Lyrics)?)),
        "builtin:multimodal" => Ok(Box::new(trained::trained(trained::Inputs::Multimodal)?)),
        other => Err(Error::input(
            "--model",
            format!(
                "unknown model `{other}`; the built-in models are: {}",
                BUILTIN_MODELS.join(", ")
            ),
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

    fn prepare_instance<'a>(
        &'a self,
        audio: &'a dyn Factorization,
        lyrics: &'a LyricFeatures,
        settings: RunSettings,
    ) -> Result<Option<Box<dyn InstancePredictor + 'a>>> {
        (**self).prepare_instance(audio, lyrics, settings)
    }

    fn separable(&self) -> std::result::Result<(), String> {
        (**self).separable()
    }

    fn attention_modalities(&self) -> Vec<crate::features::Modality> {
        (**self).attention_modalities()
    }

    fn attention(&self, input: &ModelInput, rollout: bool) -> Result<Vec<attention::AttentionMap>> {
        (**self).attention(input, rollout)
    }

    fn multilabel(&self) -> bool {
        (**self).multilabel()
    }
    fn is_additive(&self) -> bool {
        (**self).is_additive()
    }

    fn input_note(&self, samples: usize, sample_rate: u32) -> Option<String> {
        (**self).input_note(samples, sample_rate)
    }

    fn window_seconds(&self) -> Option<f64> {
        (**self).window_seconds()
    }
}

/// Checks that `probs` are probabilities: finite, in [0, 1], rows summing to 1 (within 1e-3).
pub(crate) fn validate_probabilities(
    probs: &Array2<f64>,
    model: &str,
    first_row: usize,
) -> Result<()> {
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

/// Checks that the scores of a multi-label tagger are per-tag probabilities: finite and in
/// [0, 1] (no sum check: tags are independent).
pub(crate) fn validate_tag_scores(
    scores: &Array2<f64>,
    tags: &[String],
    model: &str,
    first_row: usize,
) -> Result<()> {
    if let Some(((r, c), v)) = scores
        .indexed_iter()
        .find(|(_, v)| !v.is_finite() || **v < -1e-6 || **v > 1.0 + 1e-6)
    {
        return Err(Error::input(
            model,
            format!(
                "tag `{}` scores {v} for sample {}; a multi-label tagger must return per-tag probabilities in [0, 1]. If the output holds logits, declare `activation: sigmoid`",
                tags.get(c).map_or("?", String::as_str),
                first_row + r
            ),
        ));
    }
    Ok(())
}
