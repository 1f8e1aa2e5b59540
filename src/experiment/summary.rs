//! The statistics of a run: per explainer × cell summaries of every metric (mean, standard
//! deviation, 95% CI), model accuracy, per-tag accuracy of taggers, and global importances per
//! explainer × cell. The tables ([`super::tables`]) and charts ([`super::charts`]) show them.

use std::collections::{BTreeMap, BTreeSet};

use super::config::{ExperimentConfig, GridCell};
use super::store::UnitRecord;
use super::unit_metrics::StabilityRow;
use crate::metrics::{Metric, Scope};
use crate::statistics;

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
    /// The statistics of `values` (NaN ones left out): the t interval with the exact
    /// `t_{0.975, n-1}` ([`statistics::mean_ci_95`]).
    pub fn of(values: &[f64]) -> Self {
        let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let ci = statistics::mean_ci_95(&values);
        MetricStats {
            mean: ci.mean,
            std: ci.std,
            ci95: ci.half_width,
            n: ci.n,
        }
    }
}

/// One explainer × grid cell: its number of units and the statistics of every configured
/// metric (in `config.metrics` order), over instances.
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

/// Per (cell, metric), in config order: per explainer (in config order), the value of each
/// instance (the mean over its repeats), restricted to the instances where every explainer
/// that has the metric has a value.
pub type InstanceValues = Vec<((String, String), Vec<(String, BTreeMap<String, f64>)>)>;

/// The value of every instance for every explainer × cell × metric: a metric of one
/// explanation averaged over the instance's repeats (finite values only), a stability metric
/// as it is (one value per instance). Then, per cell and metric, only the instances where
/// every explainer with any value has one: explainers are compared on the same instances.
pub fn instance_values(
    config: &ExperimentConfig,
    cells: &[GridCell],
    records: &[UnitRecord],
    stability: &[StabilityRow],
) -> InstanceValues {
    let mut out = InstanceValues::new();
    for cell in cells {
        for metric in &config.metrics {
            let across_repeats = Metric::parse(metric).is_some_and(|m| m.scope() == Scope::Repeats);
            let mut by_explainer: Vec<(String, BTreeMap<String, f64>)> = Vec::new();
            for explainer in &config.explainers {
                let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
                if across_repeats {
                    for r in stability.iter().filter(|r| {
                        r.explainer == explainer.name && r.cell == cell.name && &r.metric == metric
                    }) {
                        values.entry(r.instance.clone()).or_default().push(r.value);
                    }
                } else {
                    for r in records
                        .iter()
                        .filter(|r| r.explainer == explainer.name && r.cell == cell.name)
                    {
                        if let Some((_, v)) = r.metrics.iter().find(|(m, _)| m == metric) {
                            values.entry(r.instance.clone()).or_default().push(*v);
                        }
                    }
                }
                let means: BTreeMap<String, f64> = values
                    .into_iter()
                    .filter_map(|(instance, v)| {
                        let m = MetricStats::of(&v).mean;
                        m.is_finite().then_some((instance, m))
                    })
                    .collect();
                if !means.is_empty() {
                    by_explainer.push((explainer.name.clone(), means));
                }
            }
            let common: BTreeSet<String> = by_explainer
                .first()
                .map(|(_, first)| {
                    first
                        .keys()
                        .filter(|i| by_explainer.iter().all(|(_, m)| m.contains_key(*i)))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            for (_, values) in by_explainer.iter_mut() {
                values.retain(|instance, _| common.contains(instance));
            }
            out.push(((cell.name.clone(), metric.clone()), by_explainer));
        }
    }
    out
}

/// The summary of every explainer × cell (cells outer, explainers inner, in config order):
/// per metric, statistics over the instances of [`instance_values`] (`n` instances).
pub fn summarize(
    config: &ExperimentConfig,
    cells: &[GridCell],
    records: &[UnitRecord],
    values: &InstanceValues,
) -> Vec<GroupSummary> {
    let mut out = Vec::new();
    for cell in cells {
        for explainer in &config.explainers {
            let units = records
                .iter()
                .filter(|r| r.explainer == explainer.name && r.cell == cell.name)
                .count();
            let stats = config
                .metrics
                .iter()
                .map(|metric| {
                    let instance_values: Vec<f64> = values
                        .iter()
                        .find(|((c, m), _)| *c == cell.name && m == metric)
                        .and_then(|(_, by)| by.iter().find(|(e, _)| *e == explainer.name))
                        .map(|(_, v)| v.values().copied().collect())
                        .unwrap_or_default();
                    (metric.clone(), MetricStats::of(&instance_values))
                })
                .collect();
            out.push(GroupSummary {
                explainer: explainer.name.clone(),
                cell: cell.name.clone(),
                units,
                stats,
            });
        }
    }
    out
}

/// Significance level of the comparisons (Holm-adjusted).
pub const ALPHA: f64 = 0.05;

/// One paired comparison of two explainers on one metric in one cell, over the instances both
/// (and every other explainer with the metric) have a value for.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Grid cell name.
    pub cell: String,
    /// Metric name.
    pub metric: String,
    /// The first explainer (the reference, when one is named).
    pub a: String,
    /// The second explainer.
    pub b: String,
    /// The paired differences `a - b`: their number, mean and 95% t interval, the Wilcoxon
    /// signed-rank test (SciPy's `auto` method, zeros dropped) and the matched-pairs
    /// rank-biserial correlation.
    pub paired: Option<statistics::PairedComparison>,
    /// The p-value after Holm's correction over the comparisons of this cell and metric.
    pub p_holm: f64,
}

impl Comparison {
    /// Whether `a` is significantly better than `b` (Holm-adjusted p below [`ALPHA`], mean
    /// difference in the metric's better direction).
    pub fn a_better(&self) -> bool {
        let higher = crate::metrics::info(&self.metric).is_none_or(|i| i.higher_is_better);
        let diff = self.paired.as_ref().map_or(f64::NAN, |p| p.mean_diff);
        self.p_holm < ALPHA && if higher { diff > 0.0 } else { diff < 0.0 }
    }

    /// Whether `b` is significantly better than `a`.
    pub fn b_better(&self) -> bool {
        let higher = crate::metrics::info(&self.metric).is_none_or(|i| i.higher_is_better);
        let diff = self.paired.as_ref().map_or(f64::NAN, |p| p.mean_diff);
        self.p_holm < ALPHA && if higher { diff < 0.0 } else { diff > 0.0 }
    }
}

/// Paired comparisons per cell and metric: every pair of explainers with values, or, with a
/// `reference`, the reference against each other explainer; Holm's correction within each
/// cell and metric.
pub fn compare(values: &InstanceValues, reference: Option<&str>) -> Vec<Comparison> {
    let mut out = Vec::new();
    for ((cell, metric), by_explainer) in values {
        let names: Vec<&String> = by_explainer.iter().map(|(n, _)| n).collect();
        let of = |name: &String| -> &BTreeMap<String, f64> {
            &by_explainer[names.iter().position(|n| *n == name).unwrap_or(0)].1
        };
        let pairs: Vec<(&String, &String)> = match reference {
            Some(r) => names
                .iter()
                .filter(|n| n.as_str() != r)
                .filter_map(|n| names.iter().find(|m| m.as_str() == r).map(|m| (*m, *n)))
                .collect(),
            None => names
                .iter()
                .enumerate()
                .flat_map(|(i, a)| names[i + 1..].iter().map(move |b| (*a, *b)))
                .collect(),
        };
        let mut family: Vec<Comparison> = pairs
            .into_iter()
            .map(|(a, b)| {
                let (x, y): (Vec<f64>, Vec<f64>) = of(a)
                    .iter()
                    .filter_map(|(instance, v)| of(b).get(instance).map(|w| (*v, *w)))
                    .unzip();
                let paired = statistics::paired_comparison(
                    &x,
                    &y,
                    statistics::ZeroMethod::Wilcox,
                    statistics::WilcoxonMethod::Auto,
                )
                .ok();
                Comparison {
                    cell: cell.clone(),
                    metric: metric.clone(),
                    a: a.clone(),
                    b: b.clone(),
                    paired,
                    p_holm: f64::NAN,
                }
            })
            .collect();
        let p: Vec<f64> = family
            .iter()
            .map(|c| c.paired.as_ref().map_or(f64::NAN, |p| p.wilcoxon.p_value))
            .collect();
        for (c, adjusted) in family.iter_mut().zip(statistics::holm(&p)) {
            c.p_holm = adjusted;
        }
        out.extend(family);
    }
    out
}

/// The `(explainer, cell, metric)` whose mean is significantly better than every other
/// explainer's with the metric in that cell (all-pairs comparisons, Holm-adjusted).
pub fn significantly_best(
    comparisons: &[Comparison],
) -> std::collections::BTreeSet<(String, String, String)> {
    let mut beaten: BTreeMap<(String, String, String), (usize, usize)> = BTreeMap::new();
    for c in comparisons {
        for (winner, won) in [(&c.a, c.a_better()), (&c.b, c.b_better())] {
            let entry = beaten
                .entry((winner.clone(), c.cell.clone(), c.metric.clone()))
                .or_default();
            entry.0 += usize::from(won);
            entry.1 += 1;
        }
    }
    beaten
        .into_iter()
        .filter(|(_, (won, total))| *total > 0 && won == total)
        .map(|(key, _)| key)
        .collect()
}

/// The `(explainer, cell, metric)` whose instance values differ significantly from the
/// reference explainer's (Holm-adjusted p below [`ALPHA`]), from reference comparisons.
pub fn differs_from_reference(
    comparisons: &[Comparison],
    reference: &str,
) -> std::collections::BTreeSet<(String, String, String)> {
    comparisons
        .iter()
        .filter(|c| c.a == reference && c.p_holm < ALPHA)
        .map(|c| (c.b.clone(), c.cell.clone(), c.metric.clone()))
        .collect()
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
