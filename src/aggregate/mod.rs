//! Global aggregation of local explanations (van der Linden et al. 2019, as MusicLIME applies
//! it; spec §6).
//!
//! For each explanation of an instance's predicted class `c`, the features with positive weight
//! (all features with `--all-weights`) add `|w|` to `W[c][j]` and 1 to `C[c][j]`. Then
//! `I_lime = sqrt(W)`, `I_avg = W / C`, and with `p[c][j] = I_lime[c][j] / Σ_c I_lime[c][j]`
//! and `H_j = -Σ_c p log2 p`, `I_h = (1 - (H_j - H_min) / (H_max - H_min)) · I_lime`. Where
//! every `H_j` is equal the reference divides by zero; here the factor is 1.
//!
//! The maths is here; reading tables and class names is in `aggregate/io.rs`.

mod io;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use io::*;

/// Accumulated `(label, feature) -> (weight_sum, count)`, in order of first appearance.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sums {
    entries: Vec<(usize, String, f64, u64)>,
    index: HashMap<(usize, String), usize>,
}

impl Sums {
    /// Adds `|weight|` and one count to `(label, feature)`.
    pub fn add(&mut self, label: usize, feature: &str, weight: f64) {
        self.add_sum(label, feature, weight.abs(), 1);
    }

    /// Adds a pre-accumulated sum and count.
    pub(crate) fn add_sum(&mut self, label: usize, feature: &str, weight_sum: f64, count: u64) {
        let key = (label, feature.to_string());
        match self.index.get(&key) {
            Some(&i) => {
                self.entries[i].2 += weight_sum;
                self.entries[i].3 += count;
            }
            None => {
                self.index.insert(key, self.entries.len());
                self.entries
                    .push((label, feature.to_string(), weight_sum, count));
            }
        }
    }

    /// Whether nothing was accumulated.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The class indices present, ascending.
    pub fn labels(&self) -> Vec<usize> {
        let mut labels: Vec<usize> = self.entries.iter().map(|e| e.0).collect();
        labels.sort_unstable();
        labels.dedup();
        labels
    }

    /// Lyric features merged by `key` (e.g. lower case or lemma): per class, the weight sums
    /// and counts of the words with the same key are added (in order of first appearance) and
    /// the merged feature is named by the key. Audio components ([`is_audio_component`]) are
    /// never merged.
    pub fn merge_words(&self, key: impl Fn(&str) -> String) -> Sums {
        let mut merged = Sums::default();
        for (label, feature, weight_sum, count) in &self.entries {
            if is_audio_component(feature) {
                merged.add_sum(*label, feature, *weight_sum, *count);
            } else {
                merged.add_sum(*label, &key(feature), *weight_sum, *count);
            }
        }
        merged
    }
}

/// Whether a feature name is an audio component (`vocals3`, `drums0`, `T4`, `harmonic2`, …:
/// a source name and a 0-based segment) rather than a lyric word.
pub fn is_audio_component(name: &str) -> bool {
    audio_component(name).is_some()
}

/// An audio component's source name and segment (`vocals3` → `("vocals", 3)`), or `None` for a
/// lyric word.
pub fn audio_component(name: &str) -> Option<(&str, usize)> {
    let digits = name.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let stem = &name[..name.len() - digits.len()];
    let known = AUDIO_SOURCES.contains(&stem);
    if !known || digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(|segment| (stem, segment))
}

/// Audio source names, in the order the paper's heat maps list them (vocals, bass, drums,
/// other), then musiclime's other factorizations (temporal `T`, HPSS).
pub(crate) const AUDIO_SOURCES: [&str; 8] = [
    "vocals",
    "bass",
    "drums",
    "other",
    "T",
    "harmonic",
    "percussive",
    "residual",
];

/// One feature's global importance for one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlobalImportance {
    /// Class index.
    pub label: usize,
    /// Feature name (`vocals3`, a word, …).
    pub feature: String,
    /// Explanations the feature counted in.
    pub count: u64,
    /// Sum of its |weights|.
    pub weight_sum: f64,
    /// `sqrt(weight_sum)`.
    pub lime_importance: f64,
    /// `weight_sum / count`.
    pub average_importance: f64,
    /// `lime_importance` scaled by how class-specific the feature is.
    pub homogeneity_weighted_importance: f64,
}

/// Accumulates explanations `(label, feature, weight)`, keeping only positive weights unless
/// `all_weights`.
pub fn accumulate<'a>(
    rows: impl IntoIterator<Item = (usize, &'a str, f64)>,
    all_weights: bool,
) -> Sums {
    let mut sums = Sums::default();
    for (label, feature, weight) in rows {
        if all_weights || weight > 0.0 {
            sums.add(label, feature, weight);
        }
    }
    sums
}

/// The three global importances of every `(label, feature)`, in order of first appearance.
pub fn aggregate(sums: &Sums) -> Vec<GlobalImportance> {
    let mut per_feature: HashMap<&str, Vec<f64>> = HashMap::new();
    for (_, feature, w, _) in &sums.entries {
        per_feature
            .entry(feature.as_str())
            .or_default()
            .push(w.sqrt());
    }
    let entropy: HashMap<&str, f64> = per_feature
        .iter()
        .map(|(feature, values)| {
            let total: f64 = values.iter().sum();
            let h = values
                .iter()
                .map(|v| if total > 0.0 { v / total } else { 0.0 })
                .filter(|p| *p > 0.0)
                .map(|p| -p * p.log2())
                .sum::<f64>();
            (*feature, h)
        })
        .collect();
    let h_min = entropy.values().copied().fold(f64::INFINITY, f64::min);
    let h_max = entropy.values().copied().fold(f64::NEG_INFINITY, f64::max);
    sums.entries
        .iter()
        .map(|(label, feature, w, c)| {
            let lime = w.sqrt();
            let factor = if h_max == h_min {
                1.0
            } else {
                1.0 - (entropy[feature.as_str()] - h_min) / (h_max - h_min)
            };
            GlobalImportance {
                label: *label,
                feature: feature.clone(),
                count: *c,
                weight_sum: *w,
                lime_importance: lime,
                average_importance: w / *c as f64,
                homogeneity_weighted_importance: factor * lime,
            }
        })
        .collect()
}

/// The `k` features with the highest average importance per class (ties: by name).
pub fn top_k(global: &[GlobalImportance], k: usize) -> Vec<(usize, usize, &GlobalImportance)> {
    top_k_where(global, k, |_| true)
}

/// The `k` lyric words (no audio components) with the highest average importance per class
/// (ties: by name), as the word panel of the paper's figures.
pub fn top_words(global: &[GlobalImportance], k: usize) -> Vec<(usize, usize, &GlobalImportance)> {
    top_k_where(global, k, |g| !is_audio_component(&g.feature))
}

/// Per class, `(label, rank, importance)` of the `k` features that `keep` accepts with the
/// highest average importance (ties: by name).
fn top_k_where(
    global: &[GlobalImportance],
    k: usize,
    keep: impl Fn(&GlobalImportance) -> bool,
) -> Vec<(usize, usize, &GlobalImportance)> {
    let mut labels: Vec<usize> = global.iter().map(|g| g.label).collect();
    labels.sort_unstable();
    labels.dedup();
    let mut out = Vec::new();
    for label in labels {
        let mut rows: Vec<&GlobalImportance> = global
            .iter()
            .filter(|g| g.label == label && keep(g))
            .collect();
        rows.sort_by(|a, b| {
            b.average_importance
                .total_cmp(&a.average_importance)
                .then(a.feature.cmp(&b.feature))
        });
        out.extend(
            rows.into_iter()
                .take(k)
                .enumerate()
                .map(|(r, g)| (label, r + 1, g)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positive_only_accumulation_and_the_equal_entropy_case() {
        let sums = accumulate(
            [
                (0, "drums3", 0.4),
                (0, "drums3", 0.2),
                (0, "fire", -0.3),
                (1, "fire", 0.5),
            ],
            false,
        );
        let global = aggregate(&sums);
        assert_eq!(global.len(), 2);
        let drums = &global[0];
        assert_eq!((drums.count, drums.weight_sum), (2, 0.6000000000000001));
        assert!((drums.average_importance - 0.3).abs() < 1e-12);
        // Each feature appears in one class only: every entropy is 0, so the factor is 1.
        assert_eq!(drums.homogeneity_weighted_importance, drums.lime_importance);
        let all = aggregate(&accumulate(
            [(0, "fire", -0.3), (1, "fire", 0.5), (0, "drums3", 0.4)],
            true,
        ));
        assert_eq!(all.len(), 3);
        let fire0 = all
            .iter()
            .find(|g| g.label == 0 && g.feature == "fire")
            .unwrap();
        assert!(fire0.homogeneity_weighted_importance < fire0.lime_importance);
    }
}
