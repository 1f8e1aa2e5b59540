//! The run's tables: `explanations`, `metrics`, `stability`, `summary`, `accuracy`,
//! `global`, `timings` and `failures`, each as Parquet, CSV, Markdown and LaTeX.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use super::config::{ExperimentConfig, GridCell};
use super::store::UnitRecord;
use super::unit_metrics::{stability_rows, StabilityRow};
use crate::error::{Error, Result};
use crate::metrics::{Metric, Scope};
use crate::report::tables::{write_table, Direction, TableStyle};

pub(crate) fn polars_err(e: PolarsError) -> Error {
    Error::table(e)
}

/// Two-sided 95% Student t quantile for `df` degrees of freedom.
pub(crate) fn t_quantile_95(df: usize) -> f64 {
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

/// The columns identifying the unit of each row: instance, explainer, cell, repeat.
pub(crate) fn unit_columns(rows: &[&UnitRecord]) -> Vec<Column> {
    vec![
        Column::new(
            "instance".into(),
            rows.iter().map(|r| r.instance.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "explainer".into(),
            rows.iter().map(|r| r.explainer.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "cell".into(),
            rows.iter().map(|r| r.cell.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "repeat".into(),
            rows.iter().map(|r| r.repeat as u32).collect::<Vec<_>>(),
        ),
    ]
}

/// What the tables were computed from, for the charts.
pub struct TablesData {
    /// Summary statistics per explainer × cell.
    pub summaries: Vec<GroupSummary>,
    /// `(model, instances, accuracy)`.
    pub accuracy: Vec<(String, usize, f64)>,
    /// Global importances per explainer × cell.
    pub global: Vec<(String, String, crate::aggregate::GlobalImportance)>,
    /// The tables written, by name.
    pub written: Vec<&'static str>,
}

/// Writes every table of a run under `<output>/tables/`; returns what they were computed from.
pub fn write_tables(
    output: &Path,
    config: &ExperimentConfig,
    cells: &[GridCell],
    records: &[UnitRecord],
    failures: &[(String, String)],
) -> Result<TablesData> {
    let tables = output.join("tables");
    let plain = TableStyle::default();
    let stability = stability_rows(config, records);
    if !stability.is_empty() {
        let frame = DataFrame::new(
            stability.len(),
            vec![
                Column::new(
                    "instance".into(),
                    stability
                        .iter()
                        .map(|r| r.instance.clone())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "explainer".into(),
                    stability
                        .iter()
                        .map(|r| r.explainer.clone())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "cell".into(),
                    stability.iter().map(|r| r.cell.clone()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "metric".into(),
                    stability
                        .iter()
                        .map(|r| r.metric.clone())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "value".into(),
                    stability.iter().map(|r| r.value).collect::<Vec<_>>(),
                ),
            ],
        )
        .map_err(polars_err)?;
        write_table(&tables, "stability", &frame, &plain)?;
    }
    // explanations: one row per (unit, explained label, feature)
    let mut units: Vec<&UnitRecord> = Vec::new();
    let (mut lab, mut names, mut fea, mut moda, mut wei, mut ran) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for r in records {
        for l in &r.labels {
            let name = r.class_name(l.label);
            for (rank, (j, w)) in l.weights.iter().enumerate() {
                units.push(r);
                lab.push(l.label as u32);
                names.push(name.clone());
                fea.push(r.features[*j].name.clone());
                moda.push(r.features[*j].modality.as_str().to_string());
                wei.push(*w);
                ran.push(rank as u32 + 1);
            }
        }
    }
    let mut columns = unit_columns(&units);
    columns.extend([
        Column::new("label".into(), lab),
        Column::new("class".into(), names),
        Column::new("feature".into(), fea),
        Column::new("modality".into(), moda),
        Column::new("weight".into(), wei),
        Column::new("rank".into(), ran),
    ]);
    let explanations = DataFrame::new(units.len(), columns).map_err(polars_err)?;
    write_table(&tables, "explanations", &explanations, &plain)?;
    // metrics: one row per (unit, metric)
    let mut units: Vec<&UnitRecord> = Vec::new();
    let (mut met, mut val) = (vec![], vec![]);
    for r in records {
        for (m, v) in &r.metrics {
            units.push(r);
            met.push(m.clone());
            val.push(*v);
        }
    }
    let mut columns = unit_columns(&units);
    columns.extend([
        Column::new("metric".into(), met),
        Column::new("value".into(), val),
    ]);
    let metrics = DataFrame::new(units.len(), columns).map_err(polars_err)?;
    write_table(&tables, "metrics", &metrics, &plain)?;
    // summary: one row per explainer x cell, mean / std / 95% CI half-width per metric.
    let summaries = summarize(config, cells, records, &stability);
    let groups: Vec<((String, String), usize)> = summaries
        .iter()
        .map(|g| ((g.explainer.clone(), g.cell.clone()), g.units))
        .collect();
    let mut columns = vec![
        Column::new(
            "explainer".into(),
            groups
                .iter()
                .map(|((e, _), _)| e.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "cell".into(),
            groups
                .iter()
                .map(|((_, c), _)| c.clone())
                .collect::<Vec<_>>(),
        ),
    ];
    for key in config.grid.keys() {
        let values: Vec<String> = groups
            .iter()
            .map(|((_, c), _)| {
                cells
                    .iter()
                    .find(|cell| &cell.name == c)
                    .and_then(|cell| cell.values.iter().find(|(k, _)| k == key))
                    .map(|(_, v)| super::config::value_text(v))
                    .unwrap_or_default()
            })
            .collect();
        columns.push(Column::new(key.as_str().into(), values));
    }
    columns.push(Column::new(
        "n".into(),
        groups.iter().map(|(_, n)| *n as u32).collect::<Vec<_>>(),
    ));
    let mut directions = Vec::new();
    for metric in &config.metrics {
        let higher = crate::metrics::info(metric)
            .map(|m| m.higher_is_better)
            .unwrap_or(true);
        let stats: Vec<&MetricStats> = summaries
            .iter()
            .map(|g| &g.stats[config.metrics.iter().position(|m| m == metric).unwrap_or(0)].1)
            .collect();
        let means: Vec<f64> = stats.iter().map(|s| s.mean).collect();
        let stds: Vec<f64> = stats.iter().map(|s| s.std).collect();
        let cis: Vec<f64> = stats.iter().map(|s| s.ci95).collect();
        let mean_name = format!("{metric}_mean");
        directions.push((
            mean_name.clone(),
            if higher {
                Direction::Higher
            } else {
                Direction::Lower
            },
        ));
        columns.push(Column::new(mean_name.into(), means));
        columns.push(Column::new(format!("{metric}_std").into(), stds));
        columns.push(Column::new(format!("{metric}_ci95").into(), cis));
    }
    let summary = DataFrame::new(groups.len(), columns).map_err(polars_err)?;
    write_table(
        &tables,
        "summary",
        &summary,
        &TableStyle {
            directions,
            bold_best: true,
        },
    )?;
    // accuracy: per model, over instances with a known label (first cell and repeat).
    let per_model = accuracy(records);
    let models: Vec<String> = per_model.iter().map(|a| a.0.clone()).collect();
    let counts: Vec<u32> = per_model.iter().map(|a| a.1 as u32).collect();
    let accuracy: Vec<f64> = per_model.iter().map(|a| a.2).collect();
    let accuracy = DataFrame::new(
        models.len(),
        vec![
            Column::new("model".into(), models),
            Column::new("n".into(), counts),
            Column::new("accuracy".into(), accuracy),
        ],
    )
    .map_err(polars_err)?;
    write_table(
        &tables,
        "accuracy",
        &accuracy,
        &TableStyle {
            directions: vec![("accuracy".into(), Direction::Higher)],
            bold_best: true,
        },
    )?;
    // tag_accuracy: multi-label models, per tag and macro, over instances with `tags`.
    let tag_rows = tag_accuracy(records);
    if !tag_rows.is_empty() {
        let text = |f: fn(&TagAccuracy) -> &str| -> Vec<String> {
            tag_rows.iter().map(|r| f(r).to_string()).collect()
        };
        let frame = DataFrame::new(
            tag_rows.len(),
            vec![
                Column::new("model".into(), text(|r| &r.model)),
                Column::new("tag".into(), text(|r| &r.tag)),
                Column::new(
                    "n".into(),
                    tag_rows
                        .iter()
                        .map(|r| r.instances as u32)
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "positives".into(),
                    tag_rows
                        .iter()
                        .map(|r| r.positives.map(|p| p as u32))
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "roc_auc".into(),
                    tag_rows.iter().map(|r| r.roc_auc).collect::<Vec<_>>(),
                ),
                Column::new(
                    "pr_auc".into(),
                    tag_rows.iter().map(|r| r.pr_auc).collect::<Vec<_>>(),
                ),
            ],
        )
        .map_err(polars_err)?;
        write_table(
            &tables,
            "tag_accuracy",
            &frame,
            &TableStyle {
                directions: vec![
                    ("roc_auc".into(), Direction::Higher),
                    ("pr_auc".into(), Direction::Higher),
                ],
                bold_best: false,
            },
        )?;
    }
    // global: per explainer x cell, the spec §6 aggregation of the first repeat's explanations
    // of each instance's predicted class (positive weights only).
    let global_columns = global_by_group(config, cells, records);
    let global_rows: Vec<crate::aggregate::GlobalImportance> =
        global_columns.iter().map(|(_, _, g)| g.clone()).collect();
    let mut global = crate::aggregate::global_frame(&global_rows)?;
    global
        .insert_column(
            0,
            Column::new(
                "explainer".into(),
                global_columns
                    .iter()
                    .map(|(e, _, _)| e.clone())
                    .collect::<Vec<_>>(),
            ),
        )
        .map_err(polars_err)?;
    global
        .insert_column(
            1,
            Column::new(
                "cell".into(),
                global_columns
                    .iter()
                    .map(|(_, c, _)| c.clone())
                    .collect::<Vec<_>>(),
            ),
        )
        .map_err(polars_err)?;
    // the class name of each row, from a record of the row's explainer
    let class_names: Vec<String> = global_columns
        .iter()
        .map(|(explainer, _, g)| {
            records
                .iter()
                .find(|r| &r.explainer == explainer)
                .map_or_else(|| g.label.to_string(), |r| r.class_name(g.label))
        })
        .collect();
    global
        .insert_column(3, Column::new("class".into(), class_names))
        .map_err(polars_err)?;
    write_table(&tables, "global", &global, &plain)?;
    // timings (not reproducible: kept out of the summary)
    let units: Vec<&UnitRecord> = records.iter().collect();
    let mut columns = unit_columns(&units);
    columns.push(Column::new(
        "seconds".into(),
        records.iter().map(|r| r.seconds).collect::<Vec<_>>(),
    ));
    columns.push(Column::new(
        "model_seconds".into(),
        records.iter().map(|r| r.model_seconds).collect::<Vec<_>>(),
    ));
    for (i, name) in crate::model::ModelCounts::COLUMNS.iter().enumerate() {
        columns.push(Column::new(
            (*name).into(),
            records
                .iter()
                .map(|r| r.model_items.values()[i])
                .collect::<Vec<_>>(),
        ));
    }
    let timings = DataFrame::new(records.len(), columns).map_err(polars_err)?;
    write_table(&tables, "timings", &timings, &plain)?;
    if !failures.is_empty() {
        let failures_df = DataFrame::new(
            failures.len(),
            vec![
                Column::new(
                    "instance".into(),
                    failures.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "problem".into(),
                    failures.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>(),
                ),
            ],
        )
        .map_err(polars_err)?;
        write_table(&tables, "failures", &failures_df, &plain)?;
    }
    let mut written = vec!["explanations", "metrics"];
    if !stability.is_empty() {
        written.push("stability");
    }
    written.extend(["summary", "accuracy"]);
    if !tag_rows.is_empty() {
        written.push("tag_accuracy");
    }
    written.extend(["global", "timings"]);
    if !failures.is_empty() {
        written.push("failures");
    }
    Ok(TablesData {
        summaries,
        accuracy: per_model,
        global: global_columns,
        written,
    })
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
