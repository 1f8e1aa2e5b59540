//! ONNX models described by a `model.yaml` ([`spec`]): inputs computed by the audio
//! frontends ([`crate::frontend`]) and a Hugging Face tokenizer ([`text`]), run by ONNX
//! Runtime ([`runtime`], [`providers`]).
//!
//! One job per file: [`load`] loads and checks the graphs, [`inputs`] builds input tensors
//! (and patches), [`session`] runs stages in runs of at most `max_batch` items, [`scores`]
//! turns outputs into class scores, [`attention_maps`] reads attention outputs, [`fast`] is
//! the fast path for explanations (component spectra and exact memoisation of model items).

pub mod attention_maps;
pub mod fast;
pub mod inputs;
pub mod load;
pub mod providers;
pub mod runtime;
pub mod scores;
pub mod session;
pub mod spec;
pub mod text;

use ndarray::Array2;

use super::attention::AttentionMap;
use super::{Classifier, InstancePredictor, ModelInput, RunSettings};
use crate::error::Result;
use crate::factorize::Factorization;
use crate::frontend::AudioFrontend;
use crate::lyrics::LyricFeatures;
use session::{Stage, StageGroups};
use spec::{ExecutionProvider, ModelSpec, PatchingSpec};
use text::TextEncoder;

/// A tensor on its way into or out of a graph.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TensorData {
    /// float32 values.
    F32(Vec<f32>),
    /// int64 values.
    I64(Vec<i64>),
}

/// A named tensor: shape (batch axis first) and values in C order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NamedTensor {
    /// Tensor name in the graph.
    pub name: String,
    /// Shape, batch axis first.
    pub shape: Vec<usize>,
    /// Values.
    pub data: TensorData,
}

/// Options that override a `model.yaml` when loading it (from a flag or a config).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadOptions {
    /// ONNX Runtime intra-op threads.
    pub intra_threads: Option<usize>,
    /// Execution providers, in order of preference.
    pub execution_providers: Option<Vec<ExecutionProvider>>,
    /// The most model items (clips × patches) one ONNX Runtime run receives, for every run of
    /// the model (explanations, attention maps, clip scores); overrides the spec's `max_batch`.
    pub max_batch: Option<usize>,
}

/// An ONNX classifier.
pub struct OnnxModel {
    name: String,
    spec: ModelSpec,
    audio: Option<AudioFrontend>,
    /// `patching:` and the index of the time axis in one instance's audio features.
    patching: Option<(PatchingSpec, usize)>,
    text: Vec<(String, TextEncoder)>,
    stages: Vec<Stage>,
    /// Which stages encode only the audio, only the lyrics, or both (split models).
    groups: StageGroups,
    /// The most items one ONNX Runtime run has received since the model was loaded.
    largest_run: std::sync::atomic::AtomicU64,
}

impl OnnxModel {
    /// The model's spec.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The most items one ONNX Runtime run has received since the model was loaded (every
    /// path: explanations, attention maps, clip scores).
    pub fn largest_run(&self) -> u64 {
        self.largest_run.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The most model items one ONNX Runtime run receives: `override_max` (an explainer's
    /// key), else the spec's `max_batch` (which [`LoadOptions::max_batch`] overrides), else
    /// [`spec::DEFAULT_MAX_BATCH`].
    pub fn max_batch(&self, override_max: Option<usize>) -> usize {
        override_max
            .or(self.spec.max_batch)
            .unwrap_or(spec::DEFAULT_MAX_BATCH)
            .max(1)
    }
}

impl Classifier for OnnxModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_names(&self) -> &[String] {
        &self.spec.classes
    }

    fn predict(&self, batch: &[ModelInput]) -> Result<Array2<f64>> {
        let (score, _) = self.spec.score_output();
        let (inputs, patches) = self.inputs_for_batch(batch)?;
        if self.encodes_patches() {
            let outputs =
                self.run_patched_split(inputs, patches, &[score], self.max_batch(None))?;
            let scores = self.activated_scores(&outputs, batch.len(), 0, 1)?;
            return self.reduce_and_check(scores, 1, 0);
        }
        let all: Vec<usize> = (0..self.stages.len()).collect();
        let outputs = self.run_stages(&all, inputs, &[score], self.max_batch(None))?;
        let scores = self.activated_scores(&outputs, batch.len() * patches, 0, patches)?;
        self.reduce_and_check(scores, patches, 0)
    }

    fn multilabel(&self) -> bool {
        self.spec.multilabel()
    }

    fn input_note(&self, samples: usize, sample_rate: u32) -> Option<String> {
        self.padding_note(samples, sample_rate)
            .or_else(|| self.cropping_note(samples, sample_rate))
    }

    fn window_seconds(&self) -> Option<f64> {
        self.spec.window_seconds
    }

    fn reads(&self) -> (bool, bool) {
        (self.audio.is_some(), !self.text.is_empty())
    }

    fn separable(&self) -> std::result::Result<(), String> {
        self.groups.separable()
    }

    fn attention_modalities(&self) -> Vec<crate::features::Modality> {
        self.spec
            .outputs
            .attention
            .iter()
            .map(|a| a.modality)
            .collect()
    }

    fn attention(&self, input: &ModelInput, rollout: bool) -> Result<Vec<AttentionMap>> {
        if self.spec.outputs.attention.is_empty() {
            return Ok(Vec::new());
        }
        Ok(
            OnnxModel::attention(self, std::slice::from_ref(input), rollout)?
                .pop()
                .unwrap_or_default(),
        )
    }

    fn prepare_instance<'a>(
        &'a self,
        audio: &'a dyn Factorization,
        lyrics: &'a LyricFeatures,
        settings: RunSettings,
    ) -> Result<Option<Box<dyn InstancePredictor + 'a>>> {
        Ok(Some(Box::new(fast::FastInstance::new(
            self, audio, lyrics, settings,
        )?)))
    }
}
