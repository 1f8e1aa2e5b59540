//! The statistics of a run: per explainer × cell summaries of every metric (mean, standard
//! deviation, 95% CI), model accuracy, per-tag accuracy of taggers, and global importances per
//! explainer × cell. The tables ([`super::tables`]) and charts ([`super::charts`]) show them.

use std::collections::{BTreeMap, BTreeSet};

use super::config::{ExperimentConfig, GridCell};
use super::store::UnitRecord;
use super::unit_metrics::StabilityRow;
use crate::metrics::{Better, Metric, Scope};
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
pub(crate) struct GroupSummary {
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
/// instance (the mean over its repeats), restricted to the instances where every explainer on
/// the same model that has the metric has a value.
pub(crate) type InstanceValues = Vec<((String, String), Vec<(String, BTreeMap<String, f64>)>)>;

/// Who is compared with whom. Explainers are compared only when they explain the same model;
/// for a metric whose value depends on which modality an explainer covers
/// (`Metric::depends_on_modality`: the `_within` fidelity metrics, `sparseness`,
/// `complexity`), only when they also explain the same modality.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    models: BTreeMap<String, String>,
    modalities: BTreeMap<String, &'static str>,
}

impl Groups {
    /// The groups of the config's explainers.
    pub fn of(config: &ExperimentConfig) -> Self {
        let name = |m: crate::neighborhood::sampler::PerturbedModality| match m {
            crate::neighborhood::sampler::PerturbedModality::Both => "both",
            crate::neighborhood::sampler::PerturbedModality::Audio => "audio",
            crate::neighborhood::sampler::PerturbedModality::Lyrics => "lyrics",
        };
        Groups {
            models: config
                .explainers
                .iter()
                .map(|e| (e.name.clone(), e.model.clone()))
                .collect(),
            modalities: config
                .explainers
                .iter()
                .map(|e| (e.name.clone(), name(e.method.modality())))
                .collect(),
        }
    }

    /// The model an explainer explains.
    pub fn model(&self, explainer: &str) -> &str {
        self.models.get(explainer).map_or("", String::as_str)
    }

    /// The comparison group of `explainer` for `metric`: its model, and its modality where
    /// the metric depends on it.
    pub fn group(&self, explainer: &str, metric: &str) -> String {
        let model = self.model(explainer);
        match Metric::parse(metric).is_some_and(Metric::depends_on_modality) {
            true => format!(
                "{model} ({})",
                self.modalities.get(explainer).copied().unwrap_or("")
            ),
            false => model.to_string(),
        }
    }
}

/// The value of every instance for every explainer × cell × metric: a metric of one
/// explanation averaged over the instance's repeats (finite values only), a stability metric
/// as it is (one value per instance). Then, per cell, metric and model, only the instances
/// where every explainer of that model with any value has one: explainers that are compared
/// (those sharing a model) are compared on the same instances, and an explainer on another
/// model never drops an instance. `explainers` limits the explainers (the paper table's);
/// `None`: all of the config.
pub(crate) fn instance_values(
    config: &ExperimentConfig,
    cells: &[GridCell],
    records: &[UnitRecord],
    stability: &[StabilityRow],
    explainers: Option<&[String]>,
) -> InstanceValues {
    let groups = Groups::of(config);
    let chosen: Vec<&str> = config
        .explainers
        .iter()
        .map(|e| e.name.as_str())
        .filter(|e| explainers.is_none_or(|list| list.iter().any(|l| l == e)))
        .collect();
    let mut out = InstanceValues::new();
    for cell in cells {
        for metric in &config.metrics {
            let across_repeats = Metric::parse(metric).is_some_and(|m| m.scope() == Scope::Repeats);
            let mut by_explainer: Vec<(String, BTreeMap<String, f64>)> = Vec::new();
            for &explainer in &chosen {
                let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
                if across_repeats {
                    for r in stability.iter().filter(|r| {
                        r.explainer == explainer && r.cell == cell.name && &r.metric == metric
                    }) {
                        values.entry(r.instance.clone()).or_default().push(r.value);
                    }
                } else {
                    for r in records
                        .iter()
                        .filter(|r| r.explainer == explainer && r.cell == cell.name)
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
                    by_explainer.push((explainer.to_string(), means));
                }
            }
            keep_common_instances_per_group(&mut by_explainer, |e| groups.group(e, metric));
            out.push(((cell.name.clone(), metric.clone()), by_explainer));
        }
    }
    out
}

/// Within each comparison group ([`Groups::group`]), keeps only the instances every one of its
/// explainers has.
fn keep_common_instances_per_group(
    by_explainer: &mut [(String, BTreeMap<String, f64>)],
    model: impl Fn(&str) -> String,
) {
    let groups: BTreeSet<String> = by_explainer.iter().map(|(e, _)| model(e)).collect();
    for group in groups {
        let members: Vec<usize> = (0..by_explainer.len())
            .filter(|&i| model(&by_explainer[i].0) == group)
            .collect();
        let common: BTreeSet<String> = by_explainer[members[0]]
            .1
            .keys()
            .filter(|i| members.iter().all(|&m| by_explainer[m].1.contains_key(*i)))
            .cloned()
            .collect();
        for &m in &members {
            by_explainer[m]
                .1
                .retain(|instance, _| common.contains(instance));
        }
    }
}

/// The summary of every explainer × cell (cells outer, explainers inner, in config order):
/// per metric, statistics over the instances of [`instance_values`] (`n` instances).
pub(crate) fn summarize(
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
pub(crate) const ALPHA: f64 = 0.05;

/// One paired comparison of two explainers on one metric in one cell, over the instances both
/// (and every other explainer of their model with the metric) have a value for.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Grid cell name.
    pub cell: String,
    /// Metric name.
    pub metric: String,
    /// The model both explainers explain (only explainers of one model are compared).
    pub model: String,
    /// The first explainer (the reference, when one is named).
    pub a: String,
    /// The second explainer.
    pub b: String,
    /// The paired differences `a - b`: their number, mean and 95% t interval, the Wilcoxon
    /// signed-rank test (SciPy's `auto` method, zeros dropped) and the matched-pairs
    /// rank-biserial correlation.
    pub paired: Option<statistics::PairedComparison>,
    /// The p-value after Holm's correction over the comparison's family.
    pub p_holm: f64,
}

impl Comparison {
    /// The sign of the test statistic `R+ − R−` of `a − b` (+1: `a` tends to be larger, −1:
    /// smaller, 0: balanced or no test).
    fn shift(&self) -> f64 {
        self.paired.as_ref().map_or(0.0, |p| {
            let d = p.wilcoxon.r_plus - p.wilcoxon.r_minus;
            if d > 0.0 {
                1.0
            } else if d < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
    }

    /// Whether the Holm-adjusted p is below [`ALPHA`] and the metric has a direction.
    pub(crate) fn significant(&self) -> bool {
        self.p_holm < ALPHA && better_of(&self.metric) != Better::Neither
    }

    /// Whether `a` is significantly better than `b`: Holm-adjusted p below [`ALPHA`] and the
    /// test statistic `R+ − R−` of `a − b` in the metric's better direction (never for a
    /// metric without one).
    pub(crate) fn a_better(&self) -> bool {
        self.significant()
            && match better_of(&self.metric) {
                Better::Higher => self.shift() > 0.0,
                Better::Lower => self.shift() < 0.0,
                Better::Neither => false,
            }
    }

    /// Whether `b` is significantly better than `a`.
    pub(crate) fn b_better(&self) -> bool {
        self.significant()
            && match better_of(&self.metric) {
                Better::Higher => self.shift() < 0.0,
                Better::Lower => self.shift() > 0.0,
                Better::Neither => false,
            }
    }
}

/// Which way a metric is better (unknown names: neither).
pub(crate) fn better_of(metric: &str) -> Better {
    crate::metrics::info(metric).map_or(Better::Neither, |i| i.better)
}

/// The pairs compared within one model: `reference` against each other name when the
/// reference is among them, otherwise every pair of `names`.
fn pairs<'n>(names: &[&'n String], reference: Option<&str>) -> Vec<(&'n String, &'n String)> {
    match reference.filter(|r| names.iter().any(|n| n == r)) {
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
    }
}

/// The paired comparison of `a` and `b` on their common instances.
fn compare_pair(
    cell: &str,
    metric: &str,
    model: &str,
    (a, x_by): (&String, &BTreeMap<String, f64>),
    (b, y_by): (&String, &BTreeMap<String, f64>),
) -> Comparison {
    let (x, y): (Vec<f64>, Vec<f64>) = x_by
        .iter()
        .filter_map(|(instance, v)| y_by.get(instance).map(|w| (*v, *w)))
        .unzip();
    let paired = statistics::paired_comparison(
        &x,
        &y,
        statistics::ZeroMethod::Wilcox,
        statistics::WilcoxonMethod::Auto,
    )
    .ok();
    Comparison {
        cell: cell.to_string(),
        metric: metric.to_string(),
        model: model.to_string(),
        a: a.clone(),
        b: b.clone(),
        paired,
        p_holm: f64::NAN,
    }
}

/// Sets `p_holm` of every comparison of `family` by Holm's correction over the family. A test
/// that ran but has no p-value (every difference zero) counts as p = 1, so that it still
/// counts in the family's size; only a comparison without data is left out.
fn holm_over(family: &mut [Comparison]) {
    let p: Vec<f64> = family
        .iter()
        .map(|c| {
            c.paired
                .as_ref()
                .map_or(f64::NAN, |p| match p.wilcoxon.p_value {
                    v if v.is_nan() => 1.0,
                    v => v,
                })
        })
        .collect();
    for (c, adjusted) in family.iter_mut().zip(statistics::holm(&p)) {
        c.p_holm = adjusted;
    }
}

/// Paired comparisons per cell, metric and comparison group ([`Groups`]: explainers on
/// different models are never compared): with a `reference`, the reference against each
/// other explainer of its group; every pair of explainers with values in the other groups (or
/// without a reference); Holm's correction within each cell, metric and group.
pub fn compare(
    values: &InstanceValues,
    reference: Option<&str>,
    groups: &Groups,
) -> Vec<Comparison> {
    let mut out = Vec::new();
    for ((cell, metric), by_explainer) in values {
        for (_, members) in by_group(by_explainer, |e| groups.group(e, metric)) {
            let model = groups.model(members[0].0).to_string();
            let names: Vec<&String> = members.iter().map(|(n, _)| *n).collect();
            let of = |name: &String| members.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
            let mut family: Vec<Comparison> = pairs(&names, reference)
                .into_iter()
                .filter_map(|(a, b)| {
                    Some(compare_pair(cell, metric, &model, (a, of(a)?), (b, of(b)?)))
                })
                .collect();
            holm_over(&mut family);
            out.extend(family);
        }
    }
    out
}

/// An explainer's name and its value per instance.
type ExplainerValues<'v> = (&'v String, &'v BTreeMap<String, f64>);

/// The explainers of `by_explainer` grouped by `group_of`, in order of first appearance.
fn by_group<'v>(
    by_explainer: &'v [(String, BTreeMap<String, f64>)],
    group_of: impl Fn(&str) -> String,
) -> Vec<(String, Vec<ExplainerValues<'v>>)> {
    let mut groups: Vec<(String, Vec<ExplainerValues>)> = Vec::new();
    for (name, values) in by_explainer {
        let model = group_of(name);
        match groups.iter_mut().find(|(m, _)| *m == model) {
            Some((_, members)) => members.push((name, values)),
            None => groups.push((model, vec![(name, values)])),
        }
    }
    groups
}

/// The paper table's tests: in each cell, `reference` against every other explainer of
/// `values` on its model, for each of `metrics`, with Holm's correction over the whole table
/// of the cell (metrics with a direction × baselines; a descriptive metric's comparison is
/// kept for its difference and effect size, untested, `p_holm` NaN).
pub(crate) fn reference_comparisons(
    values: &InstanceValues,
    reference: &str,
    metrics: &[String],
    groups: &Groups,
) -> Vec<Comparison> {
    let mut per_cell: BTreeMap<String, Vec<Comparison>> = BTreeMap::new();
    for c in compare(values, Some(reference), groups)
        .into_iter()
        .filter(|c| c.a == reference && metrics.contains(&c.metric))
    {
        per_cell.entry(c.cell.clone()).or_default().push(c);
    }
    let mut out = Vec::new();
    for (_, family) in per_cell {
        // Descriptive metrics are shown, never tested: they are not in the family.
        let (mut tested, shown): (Vec<Comparison>, Vec<Comparison>) = family
            .into_iter()
            .partition(|c| better_of(&c.metric) != Better::Neither);
        holm_over(&mut tested);
        out.extend(tested);
        out.extend(shown.into_iter().map(|mut c| {
            c.p_holm = f64::NAN;
            c
        }));
    }
    out
}

/// The `(explainer, cell, metric)` whose mean is significantly better than every other
/// explainer's of the same model with the metric in that cell (all-pairs comparisons within
/// the model, Holm-adjusted).
pub(crate) fn significantly_best(
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
pub(crate) fn global_by_group(
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
