//! The [`Explanation`] value and the surrogate stage that produces it from a neighbourhood.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::{Feature, Modality};
use crate::neighborhood::kernel::KernelParams;
use crate::neighborhood::Neighborhood;
use crate::surrogate::{SurrogateFit, SurrogateParams, WeightUncertainty};

/// A label named in a request: a class index or a class name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LabelRef {
    /// A class index (output column).
    Index(usize),
    /// A class name, as the model lists it.
    Name(String),
}

impl From<usize> for LabelRef {
    fn from(index: usize) -> Self {
        LabelRef::Index(index)
    }
}

impl std::str::FromStr for LabelRef {
    type Err = std::convert::Infallible;

    /// A number is an index; anything else a name.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let s = s.trim();
        Ok(s.parse::<usize>()
            .map(LabelRef::Index)
            .unwrap_or_else(|_| LabelRef::Name(s.to_string())))
    }
}

impl LabelRef {
    /// The class index this reference names, given the model's class names.
    pub fn index(&self, classes: Option<&[String]>, outputs: usize, origin: &str) -> Result<usize> {
        match self {
            LabelRef::Index(i) if *i < outputs => Ok(*i),
            LabelRef::Index(i) => Err(Error::input(
                origin,
                format!(
                    "label {i} is out of range: the model has {outputs} outputs (labels 0..={})",
                    outputs.saturating_sub(1)
                ),
            )),
            LabelRef::Name(name) => {
                let Some(classes) = classes else {
                    return Err(Error::input(
                        origin,
                        format!("label `{name}` is a name, but the model's class names are not known; give class indices"),
                    ));
                };
                if let Some(i) = classes.iter().position(|c| c == name) {
                    return Ok(i);
                }
                let lower = name.to_lowercase();
                let similar: Vec<&str> = classes
                    .iter()
                    .filter(|c| {
                        let c = c.to_lowercase();
                        c.contains(&lower) || lower.contains(&c)
                    })
                    .map(String::as_str)
                    .take(8)
                    .collect();
                let hint = if !similar.is_empty() {
                    format!("similar names: {}", similar.join(", "))
                } else if classes.len() <= 30 {
                    format!("the classes are: {}", classes.join(", "))
                } else {
                    format!(
                        "the model has {} classes, listed under `classes:` in its model.yaml",
                        classes.len()
                    )
                };
                Err(Error::input(
                    origin,
                    format!("`{name}` is not a class of the model ({hint})"),
                ))
            }
        }
    }
}

/// Which labels to explain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelChoice {
    /// These classes (indices or names), in this order.
    Labels(Vec<LabelRef>),
    /// The `k` classes with the highest output on row 0, highest first (ties: lower index first).
    TopLabels(usize),
    /// Every class whose output on row 0 is at least this value, highest first (for
    /// multi-label taggers: every predicted tag).
    Threshold(f64),
}

impl Default for LabelChoice {
    /// The predicted class (`top_labels = 1`).
    fn default() -> Self {
        LabelChoice::TopLabels(1)
    }
}

impl LabelChoice {
    /// The choice of three optional settings, as configs and flags give them: explicit
    /// `labels` first, then `top_labels`, then `threshold`, else the default (the predicted
    /// label).
    pub fn from_options(
        labels: Option<Vec<LabelRef>>,
        top_labels: Option<usize>,
        threshold: Option<f64>,
    ) -> LabelChoice {
        match (labels, top_labels, threshold) {
            (Some(l), _, _) => LabelChoice::Labels(l),
            (None, Some(k), _) => LabelChoice::TopLabels(k),
            (None, None, Some(t)) => LabelChoice::Threshold(t),
            (None, None, None) => LabelChoice::default(),
        }
    }

    /// Checks what can be checked without the model: a threshold in [0, 1], a non-zero k.
    pub fn check(&self, origin: &str) -> Result<()> {
        match self {
            LabelChoice::Threshold(t) if !(0.0..=1.0).contains(t) => Err(Error::input(
                origin,
                format!("threshold {t} is outside [0, 1]; tag scores are probabilities"),
            )),
            LabelChoice::TopLabels(0) => Err(Error::input(origin, "top_labels must be at least 1")),
            LabelChoice::Labels(l) if l.is_empty() => Err(Error::input(
                origin,
                "no labels to explain; give at least one class index or name",
            )),
            _ => Ok(()),
        }
    }

    /// The class indices to explain, given the outputs on row 0 and the class names (when
    /// known). A threshold no class reaches is an error naming the highest-scoring class.
    pub fn resolve(
        &self,
        row0: &[f64],
        classes: Option<&[String]>,
        origin: &str,
    ) -> Result<Vec<usize>> {
        let labels = self.resolve_allowing_none(row0, classes, origin)?;
        if labels.is_empty() {
            if let LabelChoice::Threshold(t) = self {
                let best = by_output(row0).first().copied().unwrap_or(0);
                let name = classes
                    .and_then(|c| c.get(best))
                    .map_or_else(|| format!("label {best}"), |n| format!("`{n}`"));
                return Err(Error::input(
                    origin,
                    format!(
                        "no class scores at least {t} on this input; the highest is {name} ({:.4}). Lower the threshold or use top_labels",
                        row0.get(best).copied().unwrap_or(f64::NAN)
                    ),
                ));
            }
        }
        Ok(labels)
    }

    /// As [`resolve`](Self::resolve), but a threshold no class reaches gives no labels.
    pub(crate) fn resolve_allowing_none(
        &self,
        row0: &[f64],
        classes: Option<&[String]>,
        origin: &str,
    ) -> Result<Vec<usize>> {
        self.check(origin)?;
        let c = row0.len();
        match self {
            LabelChoice::Labels(labels) => {
                let mut out = Vec::with_capacity(labels.len());
                for l in labels {
                    let i = l.index(classes, c, origin)?;
                    if !out.contains(&i) {
                        out.push(i);
                    }
                }
                Ok(out)
            }
            LabelChoice::TopLabels(k) => {
                if *k > c {
                    return Err(Error::input(
                        origin,
                        format!(
                            "top_labels is {k}; it must be between 1 and the {c} model outputs"
                        ),
                    ));
                }
                let mut order = by_output(row0);
                order.truncate(*k);
                Ok(order)
            }
            LabelChoice::Threshold(t) => Ok(by_output(row0)
                .into_iter()
                .filter(|&i| row0[i] >= *t)
                .collect()),
        }
    }
}

/// Class indices by output on row 0, highest first (ties: lower index first).
fn by_output(row0: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..row0.len()).collect();
    order.sort_by(|a, b| row0[*b].total_cmp(&row0[*a]));
    order
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

impl LabelExplanation {
    /// The class name, or `label <index>` when the name is not known.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("label {}", self.label))
    }
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
            if let Some(u) = &l.fit.uncertainty {
                let intervals: Vec<serde_json::Value> = l
                    .fit
                    .weights
                    .iter()
                    .zip(&u.half_widths)
                    .map(|((j, w), h)| serde_json::json!([j, w - h, w + h]))
                    .collect();
                let mut summary = uncertainty_json(u);
                summary["intervals_95"] = intervals.into();
                entry.insert("uncertainty".into(), summary);
            }
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
            let name = l.display_name();
            out.push_str(&format!(
                "{name}: model output {:.4}, surrogate R² {:.4}, local prediction {:.4}\n",
                l.model_output, l.fit.score, l.fit.local_pred
            ));
            if let Some(note) = l.fit.uncertainty.as_ref().and_then(stability_note) {
                out.push_str(&format!("  {note}\n"));
            }
            for (rank, (j, w)) in l.fit.weights.iter().take(top).enumerate() {
                let feature = &self.features[*j];
                let interval = match &l.fit.uncertainty {
                    Some(u) => u
                        .half_widths
                        .get(rank)
                        .map_or(String::new(), |h| format!(" ± {h:.5}")),
                    None => String::new(),
                };
                out.push_str(&format!(
                    "  {:>+10.5}{interval}  {} ({})\n",
                    w,
                    feature.name,
                    feature.modality.as_str()
                ));
            }
        }
        out
    }
}

/// The posterior's figures of one fit as JSON (degrees of freedom, top-k stability and its
/// draws); each weight's interval is written beside the weight.
pub fn uncertainty_json(uncertainty: &WeightUncertainty) -> serde_json::Value {
    serde_json::json!({
        "dof": uncertainty.dof,
        "top_k": uncertainty.k,
        "top_k_stable": uncertainty.top_k_stable,
        "draws": uncertainty.draws,
    })
}

/// "top-k stable with probability p (n posterior draws)", when draws were made.
pub fn stability_note(uncertainty: &WeightUncertainty) -> Option<String> {
    uncertainty.top_k_stable.map(|p| {
        format!(
            "top-{} features stable with probability {p:.3} ({} posterior draws, {} degrees of freedom; ± is the 95% credible half-width)",
            uncertainty.k, uncertainty.draws, uncertainty.dof
        )
    })
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

impl RefitParams {
    /// The kernel, the surrogate and the label choice, each on its own (`labels_origin` names
    /// where the labels were given in an error).
    pub fn check(&self, labels_origin: &str) -> Result<()> {
        self.kernel.check()?;
        self.surrogate.check()?;
        self.labels.check(labels_origin)
    }
}

/// Fits one surrogate per explained label on a saved neighbourhood; `origin` names the
/// neighbourhood's file in error messages.
pub fn refit(
    neighborhood: &Neighborhood,
    params: &RefitParams,
    origin: &str,
) -> Result<Explanation> {
    neighborhood.validate(origin)?;
    params.check(origin)?;
    let row0: Vec<f64> = neighborhood.probs.row(0).to_vec();
    let labels = params
        .labels
        .resolve(&row0, neighborhood.classes.as_deref(), origin)?;
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
            LabelChoice::TopLabels(3).resolve(&row0, None, "x").unwrap(),
            vec![1, 2, 0]
        );
        assert!(LabelChoice::TopLabels(5).resolve(&row0, None, "x").is_err());
        assert!(LabelChoice::Labels(vec![4.into()])
            .resolve(&row0, None, "x")
            .is_err());
        assert_eq!(
            LabelChoice::Labels(vec![3.into(), 0.into()])
                .resolve(&row0, None, "x")
                .unwrap(),
            vec![3, 0]
        );
    }

    #[test]
    fn labels_by_name_and_threshold() {
        let row0 = [0.7, 0.1, 0.55, 0.2];
        let classes: Vec<String> = ["guitar", "drums", "voice", "piano"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let names = LabelChoice::Labels(vec!["voice".parse().unwrap(), "0".parse().unwrap()]);
        assert_eq!(
            names.resolve(&row0, Some(&classes), "x").unwrap(),
            vec![2, 0]
        );
        let unknown = LabelChoice::Labels(vec!["drum".parse().unwrap()])
            .resolve(&row0, Some(&classes), "x")
            .unwrap_err()
            .to_string();
        assert!(
            unknown.contains("`drum` is not a class") && unknown.contains("drums"),
            "{unknown}"
        );
        assert_eq!(
            LabelChoice::Threshold(0.5)
                .resolve(&row0, Some(&classes), "x")
                .unwrap(),
            vec![0, 2]
        );
        let none = LabelChoice::Threshold(0.9)
            .resolve(&row0, Some(&classes), "x")
            .unwrap_err()
            .to_string();
        assert!(none.contains("`guitar` (0.7000)"), "{none}");
        assert!(LabelChoice::Threshold(0.9)
            .resolve_allowing_none(&row0, None, "x")
            .unwrap()
            .is_empty());
        for bad in [-0.1, 1.5, f64::NAN] {
            assert!(LabelChoice::Threshold(bad).check("x").is_err());
        }
        // an old sidecar's indices still read
        let old: LabelChoice = serde_json::from_str(r#"{"labels": [2, "voice"]}"#).unwrap();
        assert_eq!(
            old,
            LabelChoice::Labels(vec![2.into(), "voice".parse().unwrap()])
        );
    }
}
