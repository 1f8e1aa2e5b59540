//! The result store: one JSON file per finished (instance, explainer, grid cell, repeat),
//! written atomically, so a run killed at any moment resumes where it stopped.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::Feature;
use crate::fs::{safe_file_name, write_atomically};

/// One explained label, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredLabel {
    /// Class index.
    pub label: usize,
    /// Surrogate intercept (NaN, stored as `null`, for explainers that fit none).
    #[serde(with = "number_or_null")]
    pub intercept: f64,
    /// Surrogate weighted R² (NaN where there is no one neighbourhood to score on).
    #[serde(with = "number_or_null")]
    pub score: f64,
    /// Surrogate prediction on the instance.
    #[serde(with = "number_or_null")]
    pub local_pred: f64,
    /// Model output on the instance.
    pub model_output: f64,
    /// `(feature index, weight)` sorted by |weight|.
    pub weights: Vec<(usize, f64)>,
    /// Standard deviation of each weight (same order), for the predicted label when the config
    /// asks for `csi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdevs: Option<Vec<f64>>,
    /// The 95% credible half-width of each weight (same order), for surrogates that have a
    /// posterior.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub half_widths: Option<Vec<f64>>,
}

/// Everything one unit of work produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRecord {
    /// Instance id.
    pub instance: String,
    /// Explainer name.
    pub explainer: String,
    /// Model name (config key).
    pub model: String,
    /// Grid cell name.
    pub cell: String,
    /// Repeat index.
    pub repeat: usize,
    /// The sampler seed used.
    pub seed: u64,
    /// The hash of the config that computed it (`run.json`'s `config_hash`), so that units of
    /// two configs in one store are caught when merging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
    /// The instance's label from the manifest, when known.
    pub true_label: Option<usize>,
    /// The model's predicted label on the unperturbed instance (for a multi-label tagger: its
    /// highest-scoring tag).
    pub predicted_label: usize,
    /// Whether the model is a multi-label tagger (every explained tag counts in the global
    /// aggregation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub multilabel: bool,
    /// The instance's true tags as class indices (multi-label models, manifests with `tags`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub true_tags: Option<Vec<usize>>,
    /// The model's output for every class on the unperturbed instance (multi-label models,
    /// for per-tag ROC-AUC and PR-AUC).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<f64>,
    /// The explained labels.
    pub labels: Vec<StoredLabel>,
    /// The model's class (tag) names, by class index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_names: Vec<String>,
    /// The explanation's features (the perturbed modality's).
    pub features: Vec<Feature>,
    /// `(metric, value)` for the predicted label; NaN (not applicable) is stored as `null`.
    #[serde(with = "nan_as_null")]
    pub metrics: Vec<(String, f64)>,
    /// Wall time of the unit in seconds (reported in `timings`, never in `summary`).
    pub seconds: f64,
    /// Seconds of the explanation spent in model calls (reported in `timings`).
    #[serde(default)]
    pub model_seconds: f64,
    /// Model items the explanation ran and the ones memoisation saved (reported in
    /// `timings`).
    #[serde(default)]
    pub model_items: crate::model::ModelCounts,
    /// Curves behind curve metrics: `(metric, p(label) at each step)` for `deletion_auc` and
    /// `insertion_auc` (drawn in the charts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub curves: Vec<(String, Vec<f64>)>,
    /// The fraction of the features removed (or added) at each point of the curve of the same
    /// index in `curves`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub curve_fractions: Vec<Vec<f64>>,
    /// The part of the clip explained, `[start, end]` seconds, when it is not the whole clip
    /// (`audio_window`, or the model's window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_window: Option<[f64; 2]>,
}

/// One number that may be NaN: written as `null`, read back as NaN.
mod number_or_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        value.is_finite().then_some(*value).serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
    }
}

/// JSON has no NaN: metric values that are not applicable are written as `null` and read back
/// as NaN, so such records reload instead of being recomputed.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        metrics: &[(String, f64)],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let values: Vec<(&str, Option<f64>)> = metrics
            .iter()
            .map(|(m, v)| (m.as_str(), v.is_finite().then_some(*v)))
            .collect();
        values.serialize(serializer)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<(String, f64)>, D::Error> {
        let values: Vec<(String, Option<f64>)> = Vec::deserialize(deserializer)?;
        Ok(values
            .into_iter()
            .map(|(m, v)| (m, v.unwrap_or(f64::NAN)))
            .collect())
    }
}

/// A directory of unit records.
pub(crate) struct ResultStore {
    dir: PathBuf,
}

impl ResultStore {
    /// The store at `dir` (created when needed).
    pub fn new(dir: &Path) -> Self {
        ResultStore {
            dir: dir.to_path_buf(),
        }
    }

    /// Deletes every stored record (for `--fresh`).
    pub(crate) fn clear(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(&self.dir, e)),
        }
    }

    /// The file of one unit.
    pub fn path(
        &self,
        instance: &str,
        explainer: &str,
        cell_index: usize,
        repeat: usize,
    ) -> PathBuf {
        self.dir.join(format!(
            "{}__{}__cell{cell_index}__r{repeat}.json",
            safe_file_name(instance),
            safe_file_name(explainer)
        ))
    }

    /// A finished unit's record, if stored (an unreadable file counts as not finished).
    pub fn load(&self, path: &Path) -> Option<UnitRecord> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// A finished unit's record of the config with hash `config_hash`, if stored; a record
    /// another config computed is an error naming its file (two runs share one store).
    pub(crate) fn load_of(&self, path: &Path, config_hash: &str) -> Result<Option<UnitRecord>> {
        match self.load(path) {
            Some(record) if record.config_hash.as_deref().is_some_and(|h| h != config_hash) => {
                Err(Error::in_file(
                    path,
                    format!(
                        "was computed by another config (hash {}, this run's is {config_hash}); two runs share this store: give each its own `output`, or rerun with --fresh",
                        record.config_hash.as_deref().unwrap_or_default()
                    ),
                ))
            }
            found => Ok(found),
        }
    }

    /// Stores a record atomically.
    pub fn save(&self, path: &Path, record: &UnitRecord) -> Result<()> {
        let json =
            serde_json::to_vec(record).map_err(|e| Error::serialization("a unit record", e))?;
        write_atomically(path, &json)
    }
}

impl UnitRecord {
    /// The name of class `label`, or its index when the names are not stored.
    pub fn class_name(&self, label: usize) -> String {
        self.class_names
            .get(label)
            .cloned()
            .unwrap_or_else(|| label.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_without_a_fit_reloads_with_its_nans() {
        let label = StoredLabel {
            label: 1,
            intercept: f64::NAN,
            score: f64::NAN,
            local_pred: 0.25,
            model_output: 0.5,
            weights: vec![(0, -0.5)],
            stdevs: None,
            half_widths: None,
        };
        let json = serde_json::to_string(&label).unwrap();
        assert!(json.contains("\"score\":null"), "{json}");
        let back: StoredLabel = serde_json::from_str(&json).unwrap();
        assert!(back.intercept.is_nan() && back.score.is_nan());
        assert_eq!((back.local_pred, back.weights), (0.25, vec![(0, -0.5)]));
    }
}
