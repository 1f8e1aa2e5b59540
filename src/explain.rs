//! The [`Explanation`] value and the surrogate stage that produces it from a neighbourhood.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{Feature, Modality};
use crate::neighborhood::kernel::KernelParams;
use crate::neighborhood::Neighborhood;
use crate::surrogate::{SurrogateFit, SurrogateParams};

/// Which labels to explain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelChoice {
    /// These class indices, in this order.
    Labels(Vec<usize>),
    /// The `k` classes with the highest output on row 0, highest first (ties: lower index first).
    TopLabels(usize),
}

impl Default for LabelChoice {
    /// The predicted class (`top_labels = 1`).
    fn default() -> Self {
        LabelChoice::TopLabels(1)
    }
}

impl LabelChoice {
    /// The class indices to explain, given the outputs on row 0.
    pub fn resolve(&self, row0: &[f64], origin: &str) -> Result<Vec<usize>> {
        let c = row0.len();
        match self {
            LabelChoice::Labels(labels) => {
                if labels.is_empty() {
                    return Err(Error::input(
                        origin,
                        "no labels to explain; give at least one class index",
                    ));
                }
                if let Some(bad) = labels.iter().find(|l| **l >= c) {
                    return Err(Error::input(
                        origin,
                        format!("label {bad} is out of range: the model has {c} outputs (labels 0..={})", c - 1),
                    ));
                }
                Ok(labels.clone())
            }
            LabelChoice::TopLabels(k) => {
                if *k == 0 || *k > c {
                    return Err(Error::input(
                        origin,
                        format!(
                            "top_labels is {k}; it must be between 1 and the {c} model outputs"
                        ),
                    ));
                }
                let mut order: Vec<usize> = (0..c).collect();
                order.sort_by(|a, b| row0[*b].total_cmp(&row0[*a]));
                order.truncate(*k);
                Ok(order)
            }
        }
    }
}

/// The explanation of one label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelExplanation {
    /// The class index.
    pub label: usize,
    /// The class name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The model's output for this label on the unperturbed instance.
    pub model_output: f64,
    /// The fitted surrogate (intercept, score, local prediction, sorted weights).
    #[serde(flatten)]
    pub fit: SurrogateFit,
}

/// An explanation of one instance: per-label surrogates over a table of interpretable features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// One entry per explained label, in the order they were requested.
    pub labels: Vec<LabelExplanation>,
    /// The interpretable features, indexed as in the weights.
    pub features: Vec<Feature>,
    /// Number of neighbourhood samples the surrogates were fitted on.
    pub num_samples: usize,
}

impl Explanation {
    /// The explanation as JSON:
    /// `{"labels": {"<label>": {"intercept", "score", "local_pred", "weights": [[j, w], ...], ...}},
    ///   "features": [{"index", "name", "modality", ...}], "num_samples": n}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut labels = serde_json::Map::new();
        for l in &self.labels {
            let mut entry = serde_json::Map::new();
            if let Some(name) = &l.name {
                entry.insert("name".into(), name.clone().into());
            }
            entry.insert("intercept".into(), l.fit.intercept.into());
            entry.insert("score".into(), l.fit.score.into());
            entry.insert("local_pred".into(), l.fit.local_pred.into());
            entry.insert("model_output".into(), l.model_output.into());
            let weights: Vec<serde_json::Value> = l
                .fit
                .weights
                .iter()
                .map(|(j, w)| serde_json::json!([j, w]))
                .collect();
            entry.insert("weights".into(), weights.into());
            labels.insert(l.label.to_string(), entry.into());
        }
        let features: Vec<serde_json::Value> = self
            .features
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let mut value = serde_json::to_value(f).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    map.insert("index".into(), j.into());
                }
                value
            })
            .collect();
        serde_json::json!({
            "labels": labels,
            "features": features,
            "num_samples": self.num_samples,
        })
    }
}

impl Explanation {
    /// A short plain-text summary: per label, the score and the `top` features by |weight|.
    pub fn summary(&self, top: usize) -> String {
        let mut out = String::new();
        for l in &self.labels {
            let name = l
                .name
                .clone()
                .unwrap_or_else(|| format!("label {}", l.label));
            out.push_str(&format!(
                "{name}: model output {:.4}, surrogate R² {:.4}, local prediction {:.4}\n",
                l.model_output, l.fit.score, l.fit.local_pred
            ));
            for (j, w) in l.fit.weights.iter().take(top) {
                let feature = &self.features[*j];
                out.push_str(&format!(
                    "  {:>+10.5}  {} ({})\n",
                    w,
                    feature.name,
                    feature.modality.as_str()
                ));
            }
        }
        out
    }
}

/// Everything the surrogate stage needs besides the neighbourhood.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RefitParams {
    /// Distance and kernel.
    pub kernel: KernelParams,
    /// Feature selection and ridge.
    pub surrogate: SurrogateParams,
    /// Labels to explain.
    pub labels: LabelChoice,
}

/// Fits one surrogate per explained label on a saved neighbourhood; `origin` names the
/// neighbourhood's file in error messages.
pub fn refit(
    neighborhood: &Neighborhood,
    params: &RefitParams,
    origin: &str,
) -> Result<Explanation> {
    neighborhood.validate(origin)?;
    params.kernel.check()?;
    params.surrogate.check()?;
    let row0: Vec<f64> = neighborhood.probs.row(0).to_vec();
    let labels = params.labels.resolve(&row0, origin)?;
    let data = neighborhood.data();
    let weights = params
        .kernel
        .weights(data.view(), neighborhood.distances.as_ref())?;
    let mut explained = Vec::with_capacity(labels.len());
    for label in labels {
        let fit = params.surrogate.fit(
            data.view(),
            neighborhood.probs.column(label),
            weights.view(),
        )?;
        explained.push(LabelExplanation {
            label,
            name: neighborhood.classes.as_ref().map(|c| c[label].clone()),
            model_output: row0[label],
            fit,
        });
    }
    let features = neighborhood.features.clone().unwrap_or_else(|| {
        (0..neighborhood.num_features())
            .map(|j| Feature::named(format!("mask_{j}"), Modality::Unknown))
            .collect()
    });
    Ok(Explanation {
        labels: explained,
        features,
        num_samples: neighborhood.num_samples(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_labels_are_by_output_with_ties_to_the_lower_index() {
        let row0 = [0.2, 0.4, 0.4, 0.0];
        assert_eq!(
            LabelChoice::TopLabels(3).resolve(&row0, "x").unwrap(),
            vec![1, 2, 0]
        );
        assert!(LabelChoice::TopLabels(5).resolve(&row0, "x").is_err());
        assert!(LabelChoice::Labels(vec![4]).resolve(&row0, "x").is_err());
        assert_eq!(
            LabelChoice::Labels(vec![3, 0]).resolve(&row0, "x").unwrap(),
            vec![3, 0]
        );
    }
}
