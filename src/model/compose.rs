//! The default route from masks to predictions: compose each (audio, lyrics) input, then call
//! [`Classifier::predict`]. Identical masks within an instance run once (exact memoisation),
//! and composed audio is held for at most [`COMPOSE_BUDGET_BYTES`] at a time, so memory does
//! not grow with the batch size or the number of samples beyond one clip per call.

use std::sync::Mutex;

use ndarray::Array2;
use rayon::prelude::*;

use super::memo::{Counter, KeyWriter, ModelCounts, RunSettings, SlotValues, Slots};
use super::{
    validate_probabilities, validate_tag_scores, Classifier, InstancePredictor, ModelInput,
    PreparedBatch,
};
use crate::error::{Error, Result};
use crate::factorize::Factorization;
use crate::lyrics::LyricFeatures;

/// Composed audio held at once (per call of the model, and for the batch prepared ahead).
pub const COMPOSE_BUDGET_BYTES: usize = 256 << 20;

/// One instance, predicted by composing inputs.
pub(crate) struct Composing<'a> {
    model: &'a dyn Classifier,
    audio: &'a dyn Factorization,
    lyrics: &'a LyricFeatures,
    /// Inputs per call of the model.
    per_call: usize,
    slots: Mutex<Slots>,
    scores: Mutex<SlotValues>,
    counter: Counter,
}

/// A prepared batch: the slot of every row, and the new rows (composed now when they fit the
/// budget, else when they run).
struct Plan {
    first_row: usize,
    rows: Vec<usize>,
    first_new: usize,
    new_masks: Vec<Vec<bool>>,
    composed: Option<Vec<ModelInput>>,
}

impl<'a> Composing<'a> {
    /// Prepares `audio` and `lyrics` for `model`; at most `settings.max_batch` inputs per call.
    pub fn new(
        model: &'a dyn Classifier,
        audio: &'a dyn Factorization,
        lyrics: &'a LyricFeatures,
        settings: RunSettings,
    ) -> Self {
        let clip_bytes = audio.signal_len().max(1) * std::mem::size_of::<f32>();
        let fits = (COMPOSE_BUDGET_BYTES / clip_bytes).max(1);
        Composing {
            model,
            audio,
            lyrics,
            per_call: settings.max_batch.map_or(fits, |m| m.clamp(1, fits)),
            slots: Mutex::new(Slots::new(settings.memoise)),
            scores: Mutex::new(SlotValues::new(model.class_names().len())),
            counter: Counter::default(),
        }
    }

    fn compose(&self, masks: &[Vec<bool>]) -> Vec<ModelInput> {
        let n_audio = self.audio.len();
        masks
            .par_iter()
            .map(|keep| ModelInput {
                audio: self.audio.compose(&keep[..n_audio]),
                sample_rate: self.audio.sample_rate(),
                lyrics: self.lyrics.compose(&keep[n_audio..]),
            })
            .collect()
    }

    fn predict(&self, inputs: &[ModelInput]) -> Result<Array2<f64>> {
        self.counter.run_size(inputs.len());
        let out = self.model.predict(inputs)?;
        let classes = self.model.class_names().len();
        if out.dim() != (inputs.len(), classes) {
            return Err(Error::input(
                self.model.name(),
                format!(
                    "returned {:?} outputs for a batch of {} with {classes} classes",
                    out.dim(),
                    inputs.len()
                ),
            ));
        }
        Ok(out)
    }
}

impl InstancePredictor for Composing<'_> {
    fn prepare(&self, masks: &[Vec<bool>], first_row: usize) -> Result<PreparedBatch> {
        let mut rows = Vec::with_capacity(masks.len());
        let mut new_masks = Vec::new();
        let first_new;
        {
            let mut slots = self
                .slots
                .lock()
                .map_err(|_| Error::Internal("an earlier model call panicked".into()))?;
            first_new = slots.len();
            for mask in masks {
                let mut key = KeyWriter::new(0);
                key.bits(mask.iter().copied());
                let (slot, new) = slots.assign(key.finish());
                rows.push(slot);
                if new {
                    new_masks.push(mask.clone());
                }
            }
        }
        self.counter
            .items(new_masks.len(), masks.len() - new_masks.len());
        let composed = (new_masks.len() <= self.per_call).then(|| self.compose(&new_masks));
        Ok(PreparedBatch(Box::new(Plan {
            first_row,
            rows,
            first_new,
            new_masks,
            composed,
        })))
    }

    fn run(&self, batch: PreparedBatch) -> Result<Array2<f64>> {
        let plan = *batch
            .0
            .downcast::<Plan>()
            .map_err(|_| Error::Internal("a batch prepared by another model".into()))?;
        let mut computed = Vec::new();
        match plan.composed {
            Some(inputs) if !inputs.is_empty() => {
                computed.extend(self.predict(&inputs)?.iter().copied())
            }
            Some(_) => {}
            None => {
                for chunk in plan.new_masks.chunks(self.per_call) {
                    computed.extend(self.predict(&self.compose(chunk))?.iter().copied());
                }
            }
        }
        let classes = self.model.class_names().len();
        let mut scores = self
            .scores
            .lock()
            .map_err(|_| Error::Internal("an earlier model call panicked".into()))?;
        scores.append(plan.first_new, &computed)?;
        let mut out = Array2::zeros((plan.rows.len(), classes));
        for (i, &slot) in plan.rows.iter().enumerate() {
            for (c, v) in scores.get(slot)?.iter().enumerate() {
                out[[i, c]] = *v;
            }
        }
        if self.model.multilabel() {
            validate_tag_scores(
                &out,
                self.model.class_names(),
                self.model.name(),
                plan.first_row,
            )?;
        } else {
            validate_probabilities(&out, self.model.name(), plan.first_row)?;
        }
        Ok(out)
    }

    fn counts(&self) -> ModelCounts {
        self.counter.snapshot()
    }
}
