//! The run's tables: `explanations`, `metrics`, `stability`, `summary`, `accuracy`,
//! `global`, `timings` and `failures`, each as Parquet, CSV, Markdown and LaTeX.

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use super::config::PaperTable;
use super::config::{ExperimentConfig, GridCell};
use super::store::UnitRecord;
use super::summary::{
    accuracy, better_of, compare, global_by_group, instance_values, reference_comparisons,
    significantly_best, summarize, tag_accuracy, Comparison, GroupSummary, Groups, InstanceValues,
    MetricStats, TagAccuracy,
};
use super::unit_metrics::{stability_rows, StabilityRow};
use crate::error::{Error, Result};
use crate::metrics::Better;
use crate::report::index::TableEntry;
use crate::report::tables::{write_table, Direction, TableStyle};

pub(crate) fn polars_err(e: PolarsError) -> Error {
    Error::table(e)
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
pub(crate) struct TablesData {
    /// Summary statistics per explainer × cell.
    pub summaries: Vec<GroupSummary>,
    /// `(model, instances, accuracy)`.
    pub accuracy: Vec<(String, usize, f64)>,
    /// Global importances per explainer × cell.
    pub global: Vec<(String, String, crate::aggregate::GlobalImportance)>,
    /// The tables written.
    pub written: Vec<TableEntry>,
}

/// Writes every table of a run under `<output>/tables/`; returns what they were computed from.
pub(crate) fn write_tables(
    output: &Path,
    config: &ExperimentConfig,
    cells: &[GridCell],
    records: &[UnitRecord],
    failures: &[(String, String)],
) -> Result<TablesData> {
    let tables = output.join("tables");
    let plain = TableStyle::default();
    let stability = stability_rows(config, records);
    let mut written = Vec::new();
    let mut write = |name: &'static str,
                     caption: &'static str,
                     frame: DataFrame,
                     style: &TableStyle|
     -> Result<()> {
        let rendered = write_table(&tables, name, &frame, style)?;
        written.push(TableEntry {
            name,
            caption,
            rendered,
        });
        Ok(())
    };
    write("explanations", "Every explained label's features: instance, explainer, cell, repeat, label, feature, modality, weight and rank.", explanations_table(records)?, &plain)?;
    write(
        "metrics",
        "One row per explanation and metric (NaN: the metric does not apply).",
        metrics_table(records)?,
        &plain,
    )?;
    if !stability.is_empty() {
        write(
            "stability",
            "Stability metrics, one value per instance, explainer and cell, across the repeats.",
            stability_table(&stability)?,
            &plain,
        )?;
    }
    let values = instance_values(config, cells, records, &stability, None);
    let summaries = summarize(config, cells, records, &values);
    let groups = Groups::of(config);
    let all_pairs = compare(&values, None, &groups);
    let best = significantly_best(&all_pairs);
    let (summary, style) = summary_table(config, cells, &summaries, &best)?;
    write("summary", "One row per explainer × grid cell: mean, standard deviation and 95% CI half-width of every configured metric (↑ higher is better, ↓ lower; best mean in bold). Reproducible byte for byte.", summary, &style)?;
    let reference = config.report.as_ref().and_then(|r| r.reference.as_deref());
    let comparisons = match reference {
        Some(_) => compare(&values, reference, &groups),
        None => all_pairs,
    };
    if !comparisons.is_empty() {
        write("comparisons", "Paired comparisons of explainers a and b within a model, per cell and metric: instances in common (n), mean difference with its 95% t interval, Wilcoxon signed-rank statistic and p-value, Holm-adjusted p-value, rank-biserial effect size and which is better.", comparisons_table(&comparisons)?, &plain)?;
    }
    if let Some(table) = config.report.as_ref().and_then(|r| r.table.as_ref()) {
        let (paper, style) = paper_table(table, config, cells, records, &stability, reference)?;
        write("paper", "The paper table: one row per model and explainer, the configured metrics with their paired difference to the reference explainer (95% t interval, rank-biserial r); † marks a difference that survives Holm over the table's tests (see the notes below it).", paper, &style)?;
    }
    let per_model = accuracy(records);
    write(
        "accuracy",
        "Each model's accuracy on the instances with a known label (like the paper's Table 1).",
        accuracy_table(&per_model)?,
        &TableStyle {
            directions: vec![("accuracy".into(), Direction::Higher)],
            bold_best: true,
            bold_cells: None,
            notes: Vec::new(),
        },
    )?;
    let tag_rows = tag_accuracy(records);
    if !tag_rows.is_empty() {
        write(
            "tag_accuracy",
            "Multi-label models: per-tag ROC-AUC and PR-AUC (average precision) of the unperturbed inputs' scores against the manifest's `tags`, and their macro means over the tags where they are defined.",
            tag_accuracy_table(&tag_rows)?,
            &TableStyle {
                directions: vec![
                    ("roc_auc".into(), Direction::Higher),
                    ("pr_auc".into(), Direction::Higher),
                ],
                bold_best: false,
                bold_cells: None,
                notes: Vec::new(),
            },
        )?;
    }
    let global = global_by_group(config, cells, records);
    write("global", "Global per-class importances (spec §6: LIME, average and homogeneity-weighted importance) per explainer and cell; for multi-label models per tag, each instance contributing to every tag it explains.", global_table(&global, records)?, &plain)?;
    write(
        "timings",
        "Wall time of every unit, in seconds (not reproducible; kept out of the summary).",
        timings_table(records)?,
        &plain,
    )?;
    if !failures.is_empty() {
        write(
            "failures",
            "Instances that could not be read and were skipped, with the reason.",
            failures_table(failures)?,
            &plain,
        )?;
    }
    Ok(TablesData {
        summaries,
        accuracy: per_model,
        global,
        written,
    })
}

/// A column of `f(row)` for every row.
fn column<R, T>(name: &str, rows: &[R], f: impl Fn(&R) -> T) -> Column
where
    Vec<T>: IntoColumn,
{
    rows.iter().map(f).collect::<Vec<T>>().into_column(name)
}

/// Values that become a Polars column.
trait IntoColumn {
    fn into_column(self, name: &str) -> Column;
}

macro_rules! into_column {
    ($($t:ty),*) => {$(
        impl IntoColumn for Vec<$t> {
            fn into_column(self, name: &str) -> Column {
                Column::new(name.into(), self)
            }
        }
    )*};
}
into_column!(String, f64, u32, u64, Option<u32>, Option<f64>);

/// `stability`: one row per instance, explainer, cell and stability metric.
fn stability_table(rows: &[StabilityRow]) -> Result<DataFrame> {
    DataFrame::new(
        rows.len(),
        vec![
            column("instance", rows, |r| r.instance.clone()),
            column("explainer", rows, |r| r.explainer.clone()),
            column("cell", rows, |r| r.cell.clone()),
            column("metric", rows, |r| r.metric.clone()),
            column("value", rows, |r| r.value),
        ],
    )
    .map_err(polars_err)
}

/// `explanations`: one row per (unit, explained label, feature), in the surrogate's order.
fn explanations_table(records: &[UnitRecord]) -> Result<DataFrame> {
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
    DataFrame::new(units.len(), columns).map_err(polars_err)
}

/// `metrics`: one row per (unit, metric).
fn metrics_table(records: &[UnitRecord]) -> Result<DataFrame> {
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
    DataFrame::new(units.len(), columns).map_err(polars_err)
}

/// `(explainer, cell, metric)` whose mean is significantly best in its cell.
type Best = std::collections::BTreeSet<(String, String, String)>;

/// `summary`: one row per explainer × cell with the swept parameters and, per metric, the mean,
/// std and 95% CI half-width over instances and their number `n`; and its style (each mean's
/// direction, in bold only the significantly best).
fn summary_table(
    config: &ExperimentConfig,
    cells: &[GridCell],
    summaries: &[GroupSummary],
    best: &Best,
) -> Result<(DataFrame, TableStyle)> {
    let mut columns = vec![
        column("explainer", summaries, |g| g.explainer.clone()),
        column("cell", summaries, |g| g.cell.clone()),
    ];
    for key in config.grid.keys() {
        columns.push(column(key, summaries, |g| {
            cells
                .iter()
                .find(|cell| cell.name == g.cell)
                .and_then(|cell| cell.values.iter().find(|(k, _)| k == key))
                .map(|(_, v)| super::config::value_text(v))
                .unwrap_or_default()
        }));
    }
    columns.push(column("n", summaries, |g| g.units as u32));
    let mut directions = Vec::new();
    let mut bold = std::collections::BTreeSet::new();
    for (m, metric) in config.metrics.iter().enumerate() {
        let stats = |f: fn(&MetricStats) -> f64| -> Vec<f64> {
            summaries.iter().map(|g| f(&g.stats[m].1)).collect()
        };
        let mean_name = format!("{metric}_mean");
        if let Some(d) = direction(metric) {
            directions.push((mean_name.clone(), d));
        }
        for (row, g) in summaries.iter().enumerate() {
            if best.contains(&(g.explainer.clone(), g.cell.clone(), metric.clone())) {
                bold.insert((row, mean_name.clone()));
            }
        }
        columns.push(Column::new(mean_name.into(), stats(|s| s.mean)));
        columns.push(Column::new(
            format!("{metric}_std").into(),
            stats(|s| s.std),
        ));
        columns.push(Column::new(
            format!("{metric}_ci95").into(),
            stats(|s| s.ci95),
        ));
        columns.push(column(&format!("{metric}_n"), summaries, |g| {
            g.stats[m].1.n as u32
        }));
    }
    let frame = DataFrame::new(summaries.len(), columns).map_err(polars_err)?;
    Ok((
        frame,
        TableStyle {
            directions,
            bold_best: false,
            bold_cells: Some(bold),
            notes: Vec::new(),
        },
    ))
}

/// A metric's direction (`None` for a descriptive metric).
fn direction(metric: &str) -> Option<Direction> {
    match better_of(metric) {
        Better::Higher => Some(Direction::Higher),
        Better::Lower => Some(Direction::Lower),
        Better::Neither => None,
    }
}

/// `comparisons`: per cell, metric and pair of explainers (or the reference against each
/// other), the paired mean difference `a - b` with its 95% CI, the Wilcoxon signed-rank test,
/// its p-value after Holm's correction, and the rank-biserial effect size.
fn comparisons_table(comparisons: &[Comparison]) -> Result<DataFrame> {
    let paired = |c: &Comparison, f: fn(&crate::statistics::PairedComparison) -> f64| {
        c.paired.as_ref().map_or(f64::NAN, f)
    };
    DataFrame::new(
        comparisons.len(),
        vec![
            column("cell", comparisons, |c| c.cell.clone()),
            column("metric", comparisons, |c| c.metric.clone()),
            column("model", comparisons, |c| c.model.clone()),
            column("a", comparisons, |c| c.a.clone()),
            column("b", comparisons, |c| c.b.clone()),
            column("n", comparisons, |c| {
                c.paired.as_ref().map_or(0, |p| p.n) as u32
            }),
            column("mean_diff", comparisons, |c| paired(c, |p| p.mean_diff)),
            column("ci_low", comparisons, |c| paired(c, |p| p.ci_low)),
            column("ci_high", comparisons, |c| paired(c, |p| p.ci_high)),
            column("wilcoxon_statistic", comparisons, |c| {
                paired(c, |p| p.wilcoxon.statistic)
            }),
            column("p_value", comparisons, |c| {
                paired(c, |p| p.wilcoxon.p_value)
            }),
            column("p_holm", comparisons, |c| c.p_holm),
            column("rank_biserial", comparisons, |c| {
                paired(c, |p| p.rank_biserial)
            }),
            column("better", comparisons, |c| {
                if c.a_better() {
                    c.a.clone()
                } else if c.b_better() {
                    c.b.clone()
                } else {
                    String::new()
                }
            }),
        ],
    )
    .map_err(polars_err)
}

/// What follows a paper-table value that differs significantly from `report.reference`'s.
pub(crate) const PAPER_REFERENCE_MARK: &str = "†";

/// `paper`: the chosen explainers as rows (with the cell when the grid has several), the chosen
/// metrics as columns, each "mean ± 95% CI" over the instances; with a `reference`, beside each
/// metric a `Δ` column with, for every other explainer on the reference's model, the paired
/// difference (row − reference) with its 95 % paired t interval and the rank-biserial `r`, and
/// [`PAPER_REFERENCE_MARK`] where the Wilcoxon test, Holm-corrected over the table's tests
/// (metrics × baselines), finds a difference. Every test uses the table's explainers only, and
/// only pairs on one model; bold: significantly better than every other explainer of the table
/// on the same model. Metrics without a direction get neither bold nor †. Notes under the table
/// say n, the tests and what was not tested.
pub(crate) fn paper_table(
    table: &PaperTable,
    config: &ExperimentConfig,
    cells: &[GridCell],
    records: &[UnitRecord],
    stability: &[StabilityRow],
    reference: Option<&str>,
) -> Result<(DataFrame, TableStyle)> {
    let listed: Vec<String> = table
        .explainers
        .clone()
        .unwrap_or_else(|| config.explainers.iter().map(|e| e.name.clone()).collect());
    let values = instance_values(config, cells, records, stability, Some(&listed));
    let groups = Groups::of(config);
    let best = significantly_best(&compare(&values, None, &groups));
    let tests = match reference {
        Some(r) => reference_comparisons(&values, r, &table.metrics, &groups),
        None => Vec::new(),
    };
    let summaries = summarize(config, cells, records, &values);
    let rows: Vec<&GroupSummary> = summaries
        .iter()
        .filter(|g| listed.contains(&g.explainer))
        .collect();
    let mut columns = vec![column("explainer", &rows, |g| g.explainer.clone())];
    if cells.len() > 1 {
        columns.push(column("cell", &rows, |g| g.cell.clone()));
    }
    columns.push(column("model", &rows, |g| {
        groups.model(&g.explainer).to_string()
    }));
    let mut bold = std::collections::BTreeSet::new();
    let mut directions = Vec::new();
    for metric in &table.metrics {
        let m = config.metrics.iter().position(|c| c == metric).unwrap_or(0);
        for (row, g) in rows.iter().enumerate() {
            if best.contains(&(g.explainer.clone(), g.cell.clone(), metric.clone())) {
                bold.insert((row, metric.clone()));
            }
        }
        if let Some(d) = direction(metric) {
            directions.push((metric.clone(), d));
        }
        columns.push(column(metric, &rows, |g| {
            let s = &g.stats[m].1;
            match (s.mean.is_finite(), s.ci95.is_finite()) {
                (false, _) => String::new(),
                (true, true) => format!("{:.3} ± {:.3}", s.mean, s.ci95),
                (true, false) => format!("{:.3}", s.mean),
            }
        }));
        if reference.is_some() {
            columns.push(column(&format!("{metric} Δ"), &rows, |g| {
                tests
                    .iter()
                    .find(|c| c.b == g.explainer && c.cell == g.cell && &c.metric == metric)
                    .map(paired_difference_text)
                    .unwrap_or_default()
            }));
        }
    }
    let frame = DataFrame::new(rows.len(), columns).map_err(polars_err)?;
    Ok((
        frame,
        TableStyle {
            directions,
            bold_best: false,
            bold_cells: Some(bold),
            notes: paper_notes(&values, table, &listed, reference, &tests, &groups),
        },
    ))
}

/// `Δ [low, high], r = …` of one reference comparison (`b − a`: the row minus the reference),
/// with [`PAPER_REFERENCE_MARK`] when significant.
fn paired_difference_text(c: &Comparison) -> String {
    let Some(p) = &c.paired else {
        return String::new();
    };
    let mark = if c.significant() {
        PAPER_REFERENCE_MARK
    } else {
        ""
    };
    // The comparison is reference − row; the table shows row − reference.
    format!(
        "{:+.3} [{:+.3}, {:+.3}], r = {:+.2}{mark}",
        -p.mean_diff, -p.ci_high, -p.ci_low, -p.rank_biserial
    )
}

/// The notes under the paper table: the instances, the tests, and the explainers that were
/// not tested against each other.
fn paper_notes(
    values: &InstanceValues,
    table: &PaperTable,
    listed: &[String],
    reference: Option<&str>,
    tests: &[Comparison],
    groups: &Groups,
) -> Vec<String> {
    let mut notes = Vec::new();
    let counts: std::collections::BTreeSet<usize> = values
        .iter()
        .filter(|((_, metric), _)| table.metrics.contains(metric))
        .flat_map(|(_, by)| by.iter().map(|(_, v)| v.len()))
        .collect();
    let n = match (counts.first(), counts.last()) {
        (Some(a), Some(b)) if a == b => format!("n = {a} instances"),
        (Some(a), Some(b)) => format!("n = {a}–{b} instances (per metric and model)"),
        _ => "no instances".to_string(),
    };
    notes.push(format!(
        "{n}; values are the mean over instances (each the mean of its repeats) ± the 95 % t half-width."
    ));
    if let Some(r) = reference {
        let mut per_cell: BTreeMap<&str, usize> = BTreeMap::new();
        for c in tests
            .iter()
            .filter(|c| better_of(&c.metric) != Better::Neither)
        {
            *per_cell.entry(&c.cell).or_default() += 1;
        }
        let count = per_cell.values().max().copied().unwrap_or(0);
        let scope = if per_cell.len() > 1 { " per cell" } else { "" };
        notes.push(format!(
            "Δ: paired difference to {r} (row − {r}) with its 95 % paired t interval, and the matched-pairs rank-biserial r; {PAPER_REFERENCE_MARK}: two-sided Wilcoxon signed-rank p < 0.05 after Holm's correction over the table's {count} tests{scope} (metrics × baselines).",
        ));
    }
    notes.push("Bold: significantly better than every other listed explainer of the same model (all pairs, Wilcoxon, Holm within each metric and model, direction by R+ − R−), so a value may be bold without † or carry † without bold; metrics without ↑/↓ are descriptive and never tested.".into());
    if table.metrics.iter().any(|m| {
        crate::metrics::Metric::parse(m).is_some_and(crate::metrics::Metric::depends_on_modality)
    }) {
        notes.push("Metrics that depend on the modality an explainer covers (`_within` fidelity, sparseness, complexity) are tested only between explainers of the same modality.".into());
    }
    let mut by_model: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in listed {
        by_model.entry(groups.model(e)).or_default().push(e);
    }
    if by_model.len() > 1 {
        let groups: Vec<String> = by_model
            .iter()
            .map(|(m, es)| format!("{} on `{m}`", es.join(", ")))
            .collect();
        notes.push(format!(
            "Only explainers of one model are tested against each other: {}.",
            groups.join("; ")
        ));
    }
    notes
}

/// `accuracy`: per model, over the instances with a known label.
fn accuracy_table(per_model: &[(String, usize, f64)]) -> Result<DataFrame> {
    DataFrame::new(
        per_model.len(),
        vec![
            column("model", per_model, |a| a.0.clone()),
            column("n", per_model, |a| a.1 as u32),
            column("accuracy", per_model, |a| a.2),
        ],
    )
    .map_err(polars_err)
}

/// `tag_accuracy`: multi-label models, per tag and macro, over instances with `tags`.
fn tag_accuracy_table(rows: &[TagAccuracy]) -> Result<DataFrame> {
    DataFrame::new(
        rows.len(),
        vec![
            column("model", rows, |r| r.model.clone()),
            column("tag", rows, |r| r.tag.clone()),
            column("n", rows, |r| r.instances as u32),
            column("positives", rows, |r| r.positives.map(|p| p as u32)),
            column("roc_auc", rows, |r| r.roc_auc),
            column("pr_auc", rows, |r| r.pr_auc),
        ],
    )
    .map_err(polars_err)
}

/// `global`: per explainer × cell, the spec §6 aggregation of the first repeat's explanations
/// of each instance's predicted class (positive weights only), with class names.
fn global_table(
    global: &[(String, String, crate::aggregate::GlobalImportance)],
    records: &[UnitRecord],
) -> Result<DataFrame> {
    let rows: Vec<crate::aggregate::GlobalImportance> =
        global.iter().map(|(_, _, g)| g.clone()).collect();
    let mut frame = crate::experiment::global::global_frame(&rows)?;
    frame
        .insert_column(0, column("explainer", global, |(e, _, _)| e.clone()))
        .map_err(polars_err)?;
    frame
        .insert_column(1, column("cell", global, |(_, c, _)| c.clone()))
        .map_err(polars_err)?;
    // the class name of each row, from a record of the row's explainer
    let class = column("class", global, |(explainer, _, g)| {
        records
            .iter()
            .find(|r| &r.explainer == explainer)
            .map_or_else(|| g.label.to_string(), |r| r.class_name(g.label))
    });
    frame.insert_column(3, class).map_err(polars_err)?;
    Ok(frame)
}

/// `timings`: wall and model seconds and model items per unit (not reproducible: kept out of
/// the summary).
fn timings_table(records: &[UnitRecord]) -> Result<DataFrame> {
    let units: Vec<&UnitRecord> = records.iter().collect();
    let mut columns = unit_columns(&units);
    columns.push(column("seconds", records, |r| r.seconds));
    columns.push(column("model_seconds", records, |r| r.model_seconds));
    for (i, name) in crate::model::ModelCounts::COLUMNS.iter().enumerate() {
        columns.push(column(name, records, |r| r.model_items.values()[i]));
    }
    DataFrame::new(records.len(), columns).map_err(polars_err)
}

/// `failures`: the skipped instances and why.
fn failures_table(failures: &[(String, String)]) -> Result<DataFrame> {
    DataFrame::new(
        failures.len(),
        vec![
            column("instance", failures, |(i, _)| i.clone()),
            column("problem", failures, |(_, p)| p.clone()),
        ],
    )
    .map_err(polars_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tables::to_markdown;

    const CONFIG: &str = "
dataset:
  synthetic: {tracks: 20, seed: 1, seconds: 2}
models:
  m: builtin:additive
  other: builtin:additive_mute_lyrics
explainers:
  - {name: reference, method: musiclime, model: m}
  - {name: shifted, method: lime_audio, model: m}
  - {name: same, method: lime_lyrics, model: m}
  - {name: elsewhere, method: musiclime, model: other}
metrics: [deletion_auc, modality_share_audio]
";

    fn record(instance: usize, explainer: &str, model: &str, values: [f64; 2]) -> UnitRecord {
        UnitRecord {
            instance: format!("track{instance:03}"),
            explainer: explainer.into(),
            model: model.into(),
            cell: "default".into(),
            repeat: 0,
            seed: 0,
            config_hash: None,
            true_label: None,
            predicted_label: 0,
            multilabel: false,
            true_tags: None,
            scores: Vec::new(),
            labels: Vec::new(),
            class_names: Vec::new(),
            features: Vec::new(),
            metrics: vec![
                ("deletion_auc".into(), values[0]),
                ("modality_share_audio".into(), values[1]),
            ],
            seconds: 0.0,
            model_seconds: 0.0,
            model_items: Default::default(),
            curves: Vec::new(),
            curve_fractions: Vec::new(),
            audio_window: None,
        }
    }

    /// n = 20 instances: `shifted` = reference + 0.1…0.104 on both metrics (deletion: worse), `same`
    /// = reference ± a small symmetric wobble, `elsewhere` (another model) far better.
    fn records() -> Vec<UnitRecord> {
        let mut out = Vec::new();
        for i in 0..20 {
            let base = 0.3 + 0.01 * ((i * 7) % 11) as f64;
            let wobble = if i % 2 == 0 { 0.001 } else { -0.001 } * (1 + i / 2) as f64;
            out.push(record(i, "reference", "m", [base, 0.5]));
            let shift = 0.1 + 0.002 * (i % 3) as f64;
            out.push(record(i, "shifted", "m", [base + shift, 0.5 + shift]));
            out.push(record(i, "same", "m", [base + wobble, 0.5 + wobble]));
            out.push(record(i, "elsewhere", "other", [0.0, 0.9]));
        }
        out
    }

    fn paper(listed: &[&str]) -> String {
        let config = ExperimentConfig::parse(CONFIG, Path::new("c.yaml")).unwrap();
        let table = PaperTable {
            metrics: vec!["deletion_auc".into(), "modality_share_audio".into()],
            explainers: Some(listed.iter().map(|s| s.to_string()).collect()),
        };
        let cells = config.grid_cells();
        let (frame, style) =
            paper_table(&table, &config, &cells, &records(), &[], Some("reference")).unwrap();
        to_markdown(&frame, &style)
    }

    #[test]
    fn a_fixed_shift_is_marked_and_no_shift_is_not() {
        let md = paper(&["reference", "shifted", "same", "elsewhere"]);
        let line = |name: &str| {
            md.lines()
                .find(|l| {
                    l.starts_with(&format!("| {name} ")) || l.starts_with(&format!("| **{name}"))
                })
                .unwrap_or_else(|| panic!("{name} in {md}"))
                .to_string()
        };
        // shifted − reference = +0.1019 (CI [+0.1013, +0.1027]), significant after Holm: †
        assert!(
            line("shifted").contains("+0.102 [+0.101, +0.103], r = +1.00†"),
            "{md}"
        );
        // no shift: no mark
        assert!(!line("same").contains('†'), "{md}");
        // a descriptive metric gets a Δ but never a † nor bold
        let share_cells: Vec<&str> = md.lines().flat_map(|l| l.split('|').skip(5)).collect();
        assert!(
            share_cells
                .iter()
                .all(|c| !c.contains('†') && !c.contains("**")),
            "{md}"
        );
        // the reference ties `same`, so it is not better than every other: no bold
        assert!(!md.contains("**"), "{md}");
        // `elsewhere` explains another model: never tested, and the note says so
        let cells: Vec<String> = line("elsewhere")
            .split('|')
            .map(|c| c.trim().to_string())
            .collect();
        assert!(cells[4].is_empty() && cells[6].is_empty(), "{md}");
        assert!(
            md.contains("Only explainers of one model are tested"),
            "{md}"
        );
        assert!(md.contains("n = 20 instances"), "{md}");
        assert!(md.contains("over the table's 2 tests"), "{md}");
    }

    #[test]
    fn the_significantly_best_is_bold_within_its_model_only() {
        let md = paper(&["reference", "shifted", "elsewhere"]);
        // reference beats the only other explainer of its model; elsewhere (lower, another
        // model) is never compared with it
        assert!(md.contains("| reference | m | **0.3"), "{md}");
        assert!(
            !md.contains("| **elsewhere") && !md.contains("| elsewhere | other | **"),
            "{md}"
        );
    }
}
