//! The fast path for explanations: each audio component's spectrum is computed once per
//! instance ([`ComponentSpectra`]), and the model runs once per distinct model item.
//!
//! **Exact memoisation.** A model item's input is a pure function of part of the mask:
//! - a patch of a patched model depends only on the components whose samples reach its frames
//!   (their stored support, STFT window spill included) and on the lyrics mask (when the model
//!   reads lyrics); a whole clip depends on the components that are not silent;
//! - an audio encoder of a split model depends only on the audio mask, a text encoder only on
//!   the lyrics mask; the fusion stages on both.
//!
//! Each item is keyed by (patch, on/off state of exactly those components, lyrics mask) and run
//! only the first time its key appears within the prepared instance (the explanation and the
//! metrics that query the same instance); the per-patch scores are reduced per sample as
//! without memoisation. A frontend whose frames depend on the whole clip (`log: db` with
//! `top_db`) keys every item by every component.
//!
//! Runs hold at most `max_batch` items, so the memory of the model's activations does not grow
//! with `batch_size`, the number of samples or the clip's length.

use std::collections::HashMap;
use std::sync::Mutex;

use ndarray::Array2;
use rayon::prelude::*;

use super::inputs::PatchLayout;
use super::session::reduce_items;
use super::{NamedTensor, OnnxModel, TensorData};
use crate::error::{Error, Result};
use crate::factorize::Factorization;
use crate::frontend::components::ComponentSpectra;
use crate::lyrics::LyricFeatures;
use crate::model::memo::{
    Counter, ItemKey, KeyWriter, ModelCounts, RunSettings, SlotValues, Slots,
};
use crate::model::{Classifier, InstancePredictor, PreparedBatch};

/// Key tags: which cache a key belongs to.
const AUDIO_KEY: u64 = u64::MAX;
const TEXT_KEY: u64 = u64::MAX - 1;

/// One instance ready for masked predictions.
pub(crate) struct FastInstance<'a> {
    model: &'a OnnxModel,
    spectra: Option<ComponentSpectra<'a>>,
    /// Shape of one clip's whole features.
    dims: Vec<usize>,
    patches: Option<PatchLayout>,
    lyrics: &'a LyricFeatures,
    n_audio: usize,
    max_batch: usize,
    /// Per patch (or for the whole clip): the audio components its input depends on.
    relevant: Vec<Vec<usize>>,
    /// Per model item of a sample (each patch, or the whole clip when the model is unpatched
    /// or only its audio encoder reads patches): the audio components it depends on.
    item_relevant: Vec<Vec<usize>>,
    /// Encoders run apart from the fusion (a separable split model).
    split: Option<Handoff>,
    slots: Mutex<MemoSlots>,
    scores: Mutex<SlotValues>,
    audio_outputs: Mutex<TensorStore>,
    text_outputs: Mutex<TensorStore>,
    counter: Counter,
}

/// The tensors the encoders hand to the fusion stages.
struct Handoff {
    audio: Vec<String>,
    text: Vec<String>,
}

struct MemoSlots {
    items: Slots,
    audio: Slots,
    text: Slots,
}

impl MemoSlots {
    fn new(memoise: bool) -> Self {
        MemoSlots {
            items: Slots::new(memoise),
            audio: Slots::new(memoise),
            text: Slots::new(memoise),
        }
    }
}

/// What one prepared batch needs run.
struct Plan {
    rows: usize,
    first_row: usize,
    /// Score slot of every item (`rows × patches`, row-major).
    item_slots: Vec<usize>,
    /// First new score slot, and the new items' tensors (whole model), or the fusion's
    /// (audio slots, text slot) per new item (split model: one audio slot per patch when the
    /// audio encoder reads patches).
    first_new_item: usize,
    new_items: usize,
    item_inputs: Vec<NamedTensor>,
    fusion_sources: Vec<(Vec<usize>, usize)>,
    /// Split models: the first new encoder slots and the encoders' inputs.
    first_new_audio: usize,
    audio_inputs: Vec<NamedTensor>,
    first_new_text: usize,
    text_inputs: Vec<NamedTensor>,
}

impl<'a> FastInstance<'a> {
    /// Prepares one instance of `model`: component spectra, the patches and what each
    /// depends on.
    pub fn new(
        model: &'a OnnxModel,
        audio: &'a dyn Factorization,
        lyrics: &'a LyricFeatures,
        settings: RunSettings,
    ) -> Result<Self> {
        let (spectra, dims) = match &model.audio {
            Some(frontend) => {
                let len = frontend.fitted_len(audio.signal_len(), audio.sample_rate());
                if frontend.linear_units(len) == 0 {
                    return Err(Error::input(
                        &model.name,
                        format!("{len} samples at {} Hz are too short for one frame of input `{}`; use longer audio or set `seconds`", frontend.sample_rate(), frontend.name()),
                    ));
                }
                (
                    Some(ComponentSpectra::new(frontend, audio)?),
                    frontend.shape(len),
                )
            }
            None => (None, Vec::new()),
        };
        let patches = match &spectra {
            Some(_) => model.patch_layout(&dims)?,
            None => None,
        };
        let relevant = relevant_components(model, spectra.as_ref(), patches.as_ref(), audio.len());
        let item_relevant = match model.encodes_patches() {
            true => vec![relevant_components(model, spectra.as_ref(), None, audio.len()).concat()],
            false => relevant.clone(),
        };
        let split = model.groups.separable().ok().map(|()| Handoff {
            audio: model.groups.handoff(&model.stages, &model.groups.audio),
            text: model.groups.handoff(&model.stages, &model.groups.text),
        });
        let classes = model.spec.classes.len();
        Ok(FastInstance {
            model,
            spectra,
            dims,
            patches,
            lyrics,
            n_audio: audio.len(),
            max_batch: model.max_batch(settings.max_batch),
            relevant,
            item_relevant,
            split,
            slots: Mutex::new(MemoSlots::new(settings.memoise)),
            scores: Mutex::new(SlotValues::new(classes)),
            audio_outputs: Mutex::new(TensorStore::default()),
            text_outputs: Mutex::new(TensorStore::default()),
            counter: Counter::default(),
        })
    }

    /// Model items per sample whose scores are reduced: each patch, or one (whole clips, or a
    /// split model whose audio encoder alone reads patches).
    fn items_per_row(&self) -> usize {
        self.item_relevant.len()
    }

    /// The key of item `p` (a patch, or 0 for the whole clip) of the sample `mask`.
    fn item_key(&self, mask: &[bool], p: usize) -> ItemKey {
        let mut key = KeyWriter::new(p as u64);
        key.bits(self.item_relevant[p].iter().map(|&k| mask[k]));
        if self.model.reads().1 {
            key.bits(mask[self.n_audio..].iter().copied());
        }
        key.finish()
    }

    /// The key of the audio encoders' input `p` (a patch, or 0 for the whole clip): the audio
    /// components that reach it.
    fn audio_key(&self, mask: &[bool], p: usize) -> ItemKey {
        let mut key = KeyWriter::new(AUDIO_KEY - p as u64);
        key.bits(self.relevant[p].iter().map(|&k| mask[k]));
        key.finish()
    }

    /// The key of the text encoders' input: the lyrics mask.
    fn text_key(&self, mask: &[bool]) -> ItemKey {
        let mut key = KeyWriter::new(TEXT_KEY);
        key.bits(mask[self.n_audio..].iter().copied());
        key.finish()
    }

    /// Whole-clip audio features of each of `rows`, cut to the listed patches of each row
    /// (`None`: the whole clip), in order; rows in parallel.
    fn audio_items(
        &self,
        masks: &[Vec<bool>],
        wanted: &[(usize, Vec<Option<usize>>)],
    ) -> Result<NamedTensor> {
        let spectra = self
            .spectra
            .as_ref()
            .ok_or_else(|| Error::Internal("no audio frontend".into()))?;
        let features: Vec<Vec<(Vec<f32>, Vec<usize>)>> = wanted
            .par_iter()
            .map(|(r, parts)| {
                let whole = spectra.features(&masks[*r][..self.n_audio]);
                parts
                    .iter()
                    .map(|part| match (part, &self.patches) {
                        (Some(p), Some(layout)) => {
                            let mut out = Vec::with_capacity(layout.patch_len());
                            layout.cut(&whole, *p, &mut out);
                            (out, layout.patch_dims())
                        }
                        _ => (whole.clone(), self.dims.clone()),
                    })
                    .collect()
            })
            .collect();
        self.model
            .audio_tensor(features.into_iter().flatten().collect())
    }

    /// The lyrics of each listed row.
    fn texts(&self, masks: &[Vec<bool>], rows: &[usize]) -> Vec<String> {
        rows.par_iter()
            .map(|&r| self.lyrics.compose(&masks[r][self.n_audio..]))
            .collect()
    }

    /// The audio encoders' outputs for each fusion item: its slot, or its patches' slots reduced
    /// (`patching.reduce`) when the audio encoder reads patches.
    fn encoded_audio(
        &self,
        store: &TensorStore,
        sources: &[(Vec<usize>, usize)],
    ) -> Result<Vec<NamedTensor>> {
        let slots = sources.iter().flat_map(|s| s.0.iter().copied());
        let tensors = store.gather(slots)?;
        if sources.iter().all(|s| s.0.len() == 1) {
            return Ok(tensors);
        }
        let mut groups = Vec::with_capacity(sources.len());
        let mut next = 0;
        for (slots, _) in sources {
            groups.push((next..next + slots.len()).collect::<Vec<_>>());
            next += slots.len();
        }
        let reduce = self
            .model
            .patching
            .map(|(p, _)| p.reduce)
            .unwrap_or_default();
        tensors
            .iter()
            .map(|t| reduce_items(t, &groups, reduce))
            .collect()
    }

    /// Runs `stage_ids` on `inputs` in runs of at most `max_batch` items.
    fn run(
        &self,
        stage_ids: &[usize],
        inputs: Vec<NamedTensor>,
        wanted: &[&str],
    ) -> Result<HashMap<String, NamedTensor>> {
        let items = inputs.first().map_or(0, |t| t.shape[0]);
        self.counter.run_size(items.min(self.max_batch));
        self.model
            .run_stages(stage_ids, inputs, wanted, self.max_batch)
    }
}

impl InstancePredictor for FastInstance<'_> {
    fn prepare(&self, masks: &[Vec<bool>], first_row: usize) -> Result<PreparedBatch> {
        let patches = self.items_per_row();
        let mut item_slots = Vec::with_capacity(masks.len() * patches);
        // new items per row: (row, [patch]) in order
        let mut new_items: Vec<(usize, Vec<Option<usize>>)> = Vec::new();
        let mut fusion_rows = Vec::new();
        let (first_new_item, first_new_audio, first_new_text);
        let mut new_audio: Vec<(usize, Vec<Option<usize>>)> = Vec::new();
        let mut new_text = Vec::new();
        let mut fusion_sources = Vec::new();
        {
            let mut slots = self
                .slots
                .lock()
                .map_err(|_| Error::Internal("an earlier model call panicked".into()))?;
            first_new_item = slots.items.len();
            first_new_audio = slots.audio.len();
            first_new_text = slots.text.len();
            for (r, mask) in masks.iter().enumerate() {
                for p in 0..patches {
                    let (slot, new) = slots.items.assign(self.item_key(mask, p));
                    item_slots.push(slot);
                    if !new {
                        continue;
                    }
                    let part = self.patches.as_ref().map(|_| p);
                    match new_items.last_mut() {
                        Some((row, parts)) if *row == r => parts.push(part),
                        _ => new_items.push((r, vec![part])),
                    }
                    fusion_rows.push(r);
                }
            }
            if self.split.is_some() {
                let encoded_patches = self.relevant.len();
                for &r in &fusion_rows {
                    let mut audio_slots = Vec::with_capacity(encoded_patches);
                    for p in 0..encoded_patches {
                        let (slot, new) = slots.audio.assign(self.audio_key(&masks[r], p));
                        audio_slots.push(slot);
                        if new {
                            let part = self.patches.as_ref().map(|_| p);
                            match new_audio.last_mut() {
                                Some((row, parts)) if *row == r => parts.push(part),
                                _ => new_audio.push((r, vec![part])),
                            }
                        }
                    }
                    let (text_slot, new_t) = slots.text.assign(self.text_key(&masks[r]));
                    if new_t {
                        new_text.push(r);
                    }
                    fusion_sources.push((audio_slots, text_slot));
                }
            }
        }
        let new_count = fusion_rows.len();
        self.counter.items(new_count, item_slots.len() - new_count);
        let mut plan = Plan {
            rows: masks.len(),
            first_row,
            item_slots,
            first_new_item,
            new_items: new_count,
            item_inputs: Vec::new(),
            fusion_sources,
            first_new_audio,
            audio_inputs: Vec::new(),
            first_new_text,
            text_inputs: Vec::new(),
        };
        let reads_audio = self.spectra.is_some();
        let reads_text = !self.model.text.is_empty();
        if self.split.is_some() {
            let new_encoded: usize = new_audio.iter().map(|(_, parts)| parts.len()).sum();
            self.counter.encoder_items(
                new_encoded + new_text.len(),
                (self.relevant.len() + 1) * new_count - new_encoded - new_text.len(),
            );
            if !new_audio.is_empty() {
                plan.audio_inputs = vec![self.audio_items(masks, &new_audio)?];
            }
            if !new_text.is_empty() {
                plan.text_inputs = self.model.token_tensors(&self.texts(masks, &new_text))?;
            }
        } else if new_count > 0 {
            if reads_audio {
                plan.item_inputs.push(self.audio_items(masks, &new_items)?);
            }
            if reads_text {
                plan.item_inputs
                    .extend(self.model.token_tensors(&self.texts(masks, &fusion_rows))?);
            }
        }
        Ok(PreparedBatch(Box::new(plan)))
    }

    fn run(&self, batch: PreparedBatch) -> Result<Array2<f64>> {
        let plan = *batch
            .0
            .downcast::<Plan>()
            .map_err(|_| Error::Internal("a batch prepared by another model".into()))?;
        let (score, _) = self.model.spec.score_output();
        let patches = self.items_per_row();
        let new_inputs = match &self.split {
            None => plan.item_inputs,
            Some(handoff) => {
                let groups = &self.model.groups;
                for (stages, names, inputs, first, store) in [
                    (
                        &groups.audio,
                        &handoff.audio,
                        plan.audio_inputs,
                        plan.first_new_audio,
                        &self.audio_outputs,
                    ),
                    (
                        &groups.text,
                        &handoff.text,
                        plan.text_inputs,
                        plan.first_new_text,
                        &self.text_outputs,
                    ),
                ] {
                    if inputs.is_empty() {
                        continue;
                    }
                    let wanted: Vec<&str> = names.iter().map(String::as_str).collect();
                    let outputs = self.run(stages, inputs, &wanted)?;
                    lock(store)?.append(first, names, outputs)?;
                }
                let (audio, text) = (lock(&self.audio_outputs)?, lock(&self.text_outputs)?);
                let mut inputs = self.encoded_audio(&audio, &plan.fusion_sources)?;
                inputs.extend(text.gather(plan.fusion_sources.iter().map(|s| s.1))?);
                inputs
            }
        };
        if plan.new_items > 0 {
            let stage_ids = match &self.split {
                Some(_) => self.model.groups.joint.clone(),
                None => (0..self.model.stages.len()).collect(),
            };
            let outputs = self.run(&stage_ids, new_inputs, &[score])?;
            let scores =
                self.model
                    .activated_scores(&outputs, plan.new_items, plan.first_row, patches)?;
            let values = scores
                .as_slice()
                .ok_or_else(|| Error::Internal("scores are not contiguous".into()))?;
            lock(&self.scores)?.append(plan.first_new_item, values)?;
        }
        let store = lock(&self.scores)?;
        let classes = self.model.spec.classes.len();
        let mut scores = Array2::zeros((plan.rows * patches, classes));
        for (i, &slot) in plan.item_slots.iter().enumerate() {
            for (c, v) in store.get(slot)?.iter().enumerate() {
                scores[[i, c]] = *v;
            }
        }
        drop(store);
        self.model.reduce_and_check(scores, patches, plan.first_row)
    }

    fn counts(&self) -> ModelCounts {
        self.counter.snapshot()
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock()
        .map_err(|_| Error::Internal("an earlier model call panicked".into()))
}

/// For each model item of a sample (each patch, or the whole clip), the audio components
/// whose support reaches it; every non-silent component when the frontend's frames depend on
/// the whole clip.
fn relevant_components(
    model: &OnnxModel,
    spectra: Option<&ComponentSpectra>,
    patches: Option<&PatchLayout>,
    n_audio: usize,
) -> Vec<Vec<usize>> {
    let Some(spectra) = spectra else {
        return vec![Vec::new()];
    };
    let local = model.audio.as_ref().is_some_and(|f| f.frames_independent());
    let reaching = |range: std::ops::Range<usize>| -> Vec<usize> {
        (0..n_audio)
            .filter(|&k| {
                let s = spectra.support(k);
                !s.is_empty() && (!local || (s.start < range.end && range.start < s.end))
            })
            .collect()
    };
    match patches {
        Some(layout) => layout
            .starts
            .iter()
            .map(|&start| reaching(start..start + layout.frames))
            .collect(),
        None => vec![reaching(0..usize::MAX)],
    }
}

/// Encoder outputs per slot, appended in slot order.
#[derive(Default)]
struct TensorStore {
    /// Per output: the shape of one item and the values of every slot.
    outputs: Vec<(String, Vec<usize>, TensorData)>,
    slots: usize,
}

impl TensorStore {
    /// Stores the outputs `names` of the items of slots `first..` (items along axis 0).
    fn append(
        &mut self,
        first: usize,
        names: &[String],
        mut outputs: HashMap<String, NamedTensor>,
    ) -> Result<()> {
        if first != self.slots {
            return Err(Error::Internal(format!(
                "encoder slots filled out of order (slot {first}, {} filled)",
                self.slots
            )));
        }
        let mut added = None;
        for name in names {
            let tensor = outputs.remove(name).ok_or_else(|| {
                Error::Internal(format!("encoder output `{name}` was not produced"))
            })?;
            let items = tensor.shape.first().copied().unwrap_or(0);
            if *added.get_or_insert(items) != items {
                return Err(Error::Internal("encoder outputs disagree on items".into()));
            }
            let item_shape = tensor.shape[1..].to_vec();
            match self.outputs.iter_mut().find(|(n, _, _)| n == name) {
                Some((_, shape, data)) => {
                    if *shape != item_shape {
                        return Err(Error::input(
                            name,
                            format!("an encoder output changed shape from {shape:?} to {item_shape:?} between inputs; encoder outputs must have a fixed shape"),
                        ));
                    }
                    match (data, tensor.data) {
                        (TensorData::F32(d), TensorData::F32(v)) => d.extend(v),
                        (TensorData::I64(d), TensorData::I64(v)) => d.extend(v),
                        _ => return Err(Error::Internal(format!("output `{name}` changed type"))),
                    }
                }
                None => self.outputs.push((name.clone(), item_shape, tensor.data)),
            }
        }
        self.slots += added.unwrap_or(0);
        Ok(())
    }

    /// One tensor per output holding the items of `slots`, in order.
    fn gather(&self, slots: impl Iterator<Item = usize> + Clone) -> Result<Vec<NamedTensor>> {
        let count = slots.clone().count();
        self.outputs
            .iter()
            .map(|(name, shape, data)| {
                let width: usize = shape.iter().product();
                let pick = |s: usize| -> Result<std::ops::Range<usize>> {
                    if s >= self.slots {
                        return Err(Error::Internal(format!(
                            "encoder slot {s} read before it was run"
                        )));
                    }
                    Ok(s * width..(s + 1) * width)
                };
                let data = match data {
                    TensorData::F32(d) => {
                        let mut out = Vec::with_capacity(count * width);
                        for s in slots.clone() {
                            out.extend_from_slice(&d[pick(s)?]);
                        }
                        TensorData::F32(out)
                    }
                    TensorData::I64(d) => {
                        let mut out = Vec::with_capacity(count * width);
                        for s in slots.clone() {
                            out.extend_from_slice(&d[pick(s)?]);
                        }
                        TensorData::I64(out)
                    }
                };
                Ok(NamedTensor {
                    name: name.clone(),
                    shape: std::iter::once(count)
                        .chain(shape.iter().copied())
                        .collect(),
                    data,
                })
            })
            .collect()
    }
}
