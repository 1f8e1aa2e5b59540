//! Exact memoisation of model items within one prepared instance.
//!
//! A model item (a clip, a patch of a clip, an encoder's input) is a pure function of part of
//! the perturbed sample's mask: the key. Two items with the same key are the same input, so the
//! model runs once per distinct key and every later occurrence reads the stored result.
//! Memoisation can be switched off ([`RunSettings::memoise`]) to compare against it.
//! Slots are handed out in order of first appearance when a batch is prepared and filled in the
//! same order when it runs, so results never depend on thread counts or timing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What one model item depends on, packed into 64-bit words.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ItemKey(Vec<u64>);

/// Builds an [`ItemKey`] from a tag (e.g. the patch index) and bits.
#[derive(Debug, Clone)]
pub(crate) struct KeyWriter {
    words: Vec<u64>,
    bit: u32,
}

impl KeyWriter {
    /// A key starting with `tag`.
    pub fn new(tag: u64) -> Self {
        KeyWriter {
            words: vec![tag],
            bit: 64,
        }
    }

    /// Appends one bit.
    pub fn bit(&mut self, on: bool) {
        if self.bit == 64 {
            self.words.push(0);
            self.bit = 0;
        }
        if on {
            if let Some(w) = self.words.last_mut() {
                *w |= 1 << self.bit;
            }
        }
        self.bit += 1;
    }

    /// Appends every bit of `bits`.
    pub(crate) fn bits(&mut self, bits: impl IntoIterator<Item = bool>) {
        for b in bits {
            self.bit(b);
        }
    }

    /// The key.
    pub fn finish(self) -> ItemKey {
        ItemKey(self.words)
    }
}

/// Distinct keys in order of first appearance, each with its slot.
#[derive(Debug)]
pub(crate) struct Slots {
    map: HashMap<ItemKey, usize>,
    /// `false`: every item gets a new slot (memoisation off, for comparisons).
    memoise: bool,
    assigned: usize,
}

impl Slots {
    /// No keys yet; with `memoise` off, every key is treated as new.
    pub fn new(memoise: bool) -> Self {
        Slots {
            map: HashMap::new(),
            memoise,
            assigned: 0,
        }
    }

    /// The slot of `key`, and whether the key is new (its item must be computed).
    pub(crate) fn assign(&mut self, key: ItemKey) -> (usize, bool) {
        let next = self.assigned;
        if !self.memoise {
            self.assigned += 1;
            return (next, true);
        }
        match self.map.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => (*e.get(), false),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(next);
                self.assigned += 1;
                (next, true)
            }
        }
    }

    /// Number of slots handed out so far.
    pub fn len(&self) -> usize {
        self.assigned
    }
}

/// The results of the slots, `width` values each, appended in slot order.
#[derive(Debug, Clone)]
pub(crate) struct SlotValues {
    width: usize,
    data: Vec<f64>,
}

impl SlotValues {
    /// No slots yet; `width` values per slot.
    pub fn new(width: usize) -> Self {
        SlotValues {
            width,
            data: Vec::new(),
        }
    }

    /// Number of filled slots.
    pub fn len(&self) -> usize {
        self.data.len() / self.width.max(1)
    }

    /// Stores the results of the slots starting at `first_slot` (which must be the next one).
    pub fn append(&mut self, first_slot: usize, values: &[f64]) -> Result<()> {
        if first_slot != self.len() || values.len() % self.width.max(1) != 0 {
            return Err(Error::Internal(format!(
                "memo slots filled out of order (slot {first_slot}, {} filled)",
                self.len()
            )));
        }
        self.data.extend_from_slice(values);
        Ok(())
    }

    /// The results of `slot`.
    pub fn get(&self, slot: usize) -> Result<&[f64]> {
        self.data
            .get(slot * self.width..(slot + 1) * self.width)
            .ok_or_else(|| Error::Internal(format!("memo slot {slot} read before it was run")))
    }
}

/// How a prepared instance runs its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSettings {
    /// The most model items one run receives (default: the model's own cap).
    pub max_batch: Option<usize>,
    /// Run each distinct model item once (default); `false` runs every item, for comparisons.
    pub memoise: bool,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            max_batch: None,
            memoise: true,
        }
    }
}

/// How much model work an explanation took, and how much memoisation saved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelCounts {
    /// Model items run: clips (× patches) through the whole model, or through the fusion
    /// stages of a split model.
    pub items_run: u64,
    /// Items answered from the memo instead of running the model.
    pub items_saved: u64,
    /// Encoder items run (split models: an audio or text encoder on one distinct mask).
    pub encoder_items_run: u64,
    /// Encoder items answered from the memo.
    pub encoder_items_saved: u64,
    /// The most items one model run received.
    pub largest_run: u64,
}

impl ModelCounts {
    /// Column names of the counts in the run's `timings` table, in the order of
    /// [`values`](Self::values).
    pub const COLUMNS: [&'static str; 4] = [
        "model_items_run",
        "model_items_saved",
        "encoder_items_run",
        "encoder_items_saved",
    ];

    /// The counts of [`COLUMNS`](Self::COLUMNS).
    pub fn values(&self) -> [u64; 4] {
        [
            self.items_run,
            self.items_saved,
            self.encoder_items_run,
            self.encoder_items_saved,
        ]
    }

    /// The counts accumulated since `earlier`.
    pub fn since(&self, earlier: &ModelCounts) -> ModelCounts {
        ModelCounts {
            items_run: self.items_run - earlier.items_run,
            items_saved: self.items_saved - earlier.items_saved,
            encoder_items_run: self.encoder_items_run - earlier.encoder_items_run,
            encoder_items_saved: self.encoder_items_saved - earlier.encoder_items_saved,
            largest_run: self.largest_run,
        }
    }
}

/// [`ModelCounts`] updated from several threads.
#[derive(Debug, Default)]
pub(crate) struct Counter {
    items_run: AtomicU64,
    items_saved: AtomicU64,
    encoder_items_run: AtomicU64,
    encoder_items_saved: AtomicU64,
    largest_run: AtomicU64,
}

impl Counter {
    /// Records model items: `run` computed, `saved` read from the memo.
    pub fn items(&self, run: usize, saved: usize) {
        self.items_run.fetch_add(run as u64, Ordering::Relaxed);
        self.items_saved.fetch_add(saved as u64, Ordering::Relaxed);
    }

    /// Records encoder items: `run` computed, `saved` read from the memo.
    pub(crate) fn encoder_items(&self, run: usize, saved: usize) {
        self.encoder_items_run
            .fetch_add(run as u64, Ordering::Relaxed);
        self.encoder_items_saved
            .fetch_add(saved as u64, Ordering::Relaxed);
    }

    /// Records the size of one model run.
    pub(crate) fn run_size(&self, items: usize) {
        self.largest_run.fetch_max(items as u64, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn snapshot(&self) -> ModelCounts {
        ModelCounts {
            items_run: self.items_run.load(Ordering::Relaxed),
            items_saved: self.items_saved.load(Ordering::Relaxed),
            encoder_items_run: self.encoder_items_run.load(Ordering::Relaxed),
            encoder_items_saved: self.encoder_items_saved.load(Ordering::Relaxed),
            largest_run: self.largest_run.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_differ_by_tag_and_by_every_bit() {
        let key = |tag, bits: &[bool]| {
            let mut w = KeyWriter::new(tag);
            w.bits(bits.iter().copied());
            w.finish()
        };
        let long: Vec<bool> = (0..130).map(|i| i % 3 == 0).collect();
        let mut flipped = long.clone();
        flipped[129] = !flipped[129];
        assert_eq!(key(1, &long), key(1, &long));
        assert_ne!(key(1, &long), key(2, &long));
        assert_ne!(key(1, &long), key(1, &flipped));
        let mut slots = Slots::new(true);
        assert_eq!(slots.assign(key(0, &long)), (0, true));
        assert_eq!(slots.assign(key(0, &flipped)), (1, true));
        assert_eq!(slots.assign(key(0, &long)), (0, false));
        assert_eq!(slots.len(), 2);
        let mut off = Slots::new(false);
        assert_eq!(off.assign(key(0, &long)), (0, true));
        assert_eq!(off.assign(key(0, &long)), (1, true));
    }

    #[test]
    fn slot_values_are_filled_in_order_and_read_back() {
        let mut values = SlotValues::new(2);
        values.append(0, &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!(values.append(5, &[0.0, 0.0]).is_err());
        assert_eq!(values.get(1).unwrap(), &[3.0, 4.0]);
        assert!(values.get(2).is_err());
    }
}
