//! The statistics of a run: per explainer × cell summaries of every metric (mean, standard
//! deviation, 95% CI), model accuracy, per-tag accuracy of taggers, and global importances per
//! explainer × cell. The tables ([`super::tables`]) and charts ([`super::charts`]) show them.

use std::collections::BTreeMap;

use super::config::{ExperimentConfig, GridCell};
use super::store::UnitRecord;
use super::unit_metrics::StabilityRow;
use crate::metrics::{Metric, Scope};

/// Two-sided 95% Student t quantile for `df` degrees of freedom.
pub fn t_quantile_95(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if df == 0 {
        f64::NAN
    } else if df <= 30 {
        TABLE[df - 1]
    } else {
        1.96
    }
}

/// Mean, standard deviation, 95% CI half-width (Student t) and count of a metric's finite
/// values in one group.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricStats {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub std: f64,
    /// Half-width of the 95% confidence interval of the mean.
    pub ci95: f64,
    /// Number of finite values.
    pub n: usize,
}

impl MetricStats {
    /// The statistics of `values` (NaN ones left out).
    pub fn of(values: &[f64]) -> Self {
        let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            f64::NAN
        };
        MetricStats {
            mean,
            std: var.sqrt(),
            ci95: t_quantile_95(values.len().saturating_sub(1)) * var.sqrt() / n.sqrt(),
            n: values.len(),
        }
    }
}

/// One explainer × grid cell: its number of units and the statistics of every configured
/// metric (in `config.metrics` order).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSummary {
    /// Explainer name.
    pub explainer: String,
    /// Grid cell name.
    pub cell: String,
    /// Units (explanations) in the group.
    pub units: usize,
    /// `(metric, statistics)` in config order.
    pub stats: Vec<(String, MetricStats)>,
}

/// The summary of every explainer × cell (cells outer, explainers inner, in config order).
/// Stability metrics have one value per instance; the others one per explanation.
pub fn summarize(
    config: &ExperimentConfig,
    cells: &[GridCell],
    records: &[UnitRecord],
    stability: &[StabilityRow],
) -> Vec<GroupSummary> {
    let mut out = Vec::new();
    for cell in cells {
        for explainer in &config.explainers {
            let members: Vec<&UnitRecord> = records
                .iter()
                .filter(|r| r.explainer == explainer.name && r.cell == cell.name)
                .collect();
            let stats = config
                .metrics
                .iter()
                .map(|metric| {
                    let across_repeats =
                        Metric::parse(metric).is_some_and(|m| m.scope() == Scope::Repeats);
                    let values: Vec<f64> = if across_repeats {
                        stability
                            .iter()
                            .filter(|r| {
                                r.explainer == explainer.name
                                    && r.cell == cell.name
                                    && &r.metric == metric
                            })
                            .map(|r| r.value)
                            .collect()
                    } else {
                        members
                            .iter()
                            .filter_map(|r| {
                                r.metrics.iter().find(|(m, _)| m == metric).map(|(_, v)| *v)
                            })
                            .collect()
                    };
                    (metric.clone(), MetricStats::of(&values))
                })
                .collect();
            out.push(GroupSummary {
                explainer: explainer.name.clone(),
                cell: cell.name.clone(),
                units: members.len(),
                stats,
            });
        }
    }
    out
}

/// Accuracy per single-label model over the instances with a known label (first record of
/// each): `(model, instances, accuracy)`. Multi-label models are scored by [`tag_accuracy`].
pub fn accuracy(records: &[UnitRecord]) -> Vec<(String, usize, f64)> {
    let mut per_model: BTreeMap<String, BTreeMap<String, (usize, usize)>> = BTreeMap::new();
    for r in records.iter().filter(|r| !r.multilabel) {
        if let Some(truth) = r.true_label {
            per_model
                .entry(r.model.clone())
                .or_default()
                .entry(r.instance.clone())
                .or_insert((truth, r.predicted_label));
        }
    }
    per_model
        .into_iter()
        .map(|(model, m)| {
            let correct = m.values().filter(|(t, p)| t == p).count();
            (model, m.len(), correct as f64 / m.len().max(1) as f64)
        })
        .collect()
}

/// The ranking quality of one tag of a multi-label model (or, with tag `(macro)`, the mean
/// over its tags where defined).
#[derive(Debug, Clone, PartialEq)]
pub struct TagAccuracy {
    /// Model name (config key).
    pub model: String,
    /// Tag name, or `(macro)`.
    pub tag: String,
    /// Instances with known tags.
    pub instances: usize,
    /// Instances the tag applies to (`None` for `(macro)`).
    pub positives: Option<usize>,
    /// ROC-AUC (`None`: undefined, the tag applies to all or none of the instances).
    pub roc_auc: Option<f64>,
    /// PR-AUC as average precision (`None`: the tag applies to no instance).
    pub pr_auc: Option<f64>,
}

/// Per-tag ROC-AUC and PR-AUC of every multi-label model over the instances whose tags are
/// known (first record of each instance), each followed by its `(macro)` mean.
pub fn tag_accuracy(records: &[UnitRecord]) -> Vec<TagAccuracy> {
    // model -> instance -> its first record with known tags
    let mut per_model: BTreeMap<&str, BTreeMap<&str, &UnitRecord>> = BTreeMap::new();
    for r in records
        .iter()
        .filter(|r| r.multilabel && !r.scores.is_empty() && r.true_tags.is_some())
    {
        per_model
            .entry(&r.model)
            .or_default()
            .entry(&r.instance)
            .or_insert(r);
    }
    let mut out = Vec::new();
    for (model, instances) in per_model {
        let classes = instances
            .values()
            .map(|r| r.scores.len())
            .min()
            .unwrap_or(0);
        let first = instances.values().next().copied();
        let mut rocs = Vec::new();
        let mut prs = Vec::new();
        for tag in 0..classes {
            let truth: Vec<bool> = instances
                .values()
                .map(|r| r.true_tags.as_ref().is_some_and(|t| t.contains(&tag)))
                .collect();
            let scores: Vec<f64> = instances.values().map(|r| r.scores[tag]).collect();
            let roc = crate::metrics::ranking::roc_auc(&truth, &scores);
            let pr = crate::metrics::ranking::average_precision(&truth, &scores);
            rocs.push(roc);
            prs.push(pr);
            out.push(TagAccuracy {
                model: model.to_string(),
                tag: first.map_or_else(|| tag.to_string(), |r| r.class_name(tag)),
                instances: truth.len(),
                positives: Some(truth.iter().filter(|t| **t).count()),
                roc_auc: roc,
                pr_auc: pr,
            });
        }
        out.push(TagAccuracy {
            model: model.to_string(),
            tag: "(macro)".into(),
            instances: instances.len(),
            positives: None,
            roc_auc: crate::metrics::ranking::macro_mean(&rocs),
            pr_auc: crate::metrics::ranking::macro_mean(&prs),
        });
    }
    out
}

/// Global importances (spec §6, positive weights) per explainer × cell, from the first repeat's
/// explanations of each instance's predicted class (multi-label models: of every explained
/// tag, so an instance contributes to each tag it explains).
pub fn global_by_group(
    config: &ExperimentConfig,
    cells: &[GridCell],
    records: &[UnitRecord],
) -> Vec<(String, String, crate::aggregate::GlobalImportance)> {
    let mut out = Vec::new();
    for cell in cells {
        for explainer in &config.explainers {
            let rows = records
                .iter()
                .filter(|r| r.explainer == explainer.name && r.cell == cell.name && r.repeat == 0)
                .flat_map(|r| {
                    r.labels
                        .iter()
                        .filter(|l| r.multilabel || l.label == r.predicted_label)
                        .flat_map(move |l| {
                            l.weights
                                .iter()
                                .map(move |(j, w)| (l.label, r.features[*j].name.as_str(), *w))
                        })
                });
            let sums = crate::aggregate::accumulate(rows, false);
            for g in crate::aggregate::aggregate(&sums) {
                out.push((explainer.name.clone(), cell.name.clone(), g));
            }
        }
    }
    out
}
