//! The charts of an experiment run, under `<output>/charts/`, and what each shows (for the
//! report index):
//! - `explanation_<instance>_<explainer>`: sources × segments heat map of the audio weights
//!   beside the top features of both modalities (first grid cell, first repeat);
//! - `global_<explainer>_class<k>`: a class's top features by average importance and its
//!   sources × segments heat map of global importance (first grid cell);
//! - `compare_<metric>`: each metric per explainer and cell, mean with 95% CI;
//! - `curves_<cell>`: per curve metric, the mean curve per explainer over instances;
//! - `ablation_<parameter>_<metric>`: a metric against a numeric grid parameter;
//! - `accuracy`: each model's accuracy.

use std::collections::BTreeMap;
use std::path::Path;

use super::config::{value_text, ExperimentConfig, GridCell};
use super::store::UnitRecord;
use super::summary::{GroupSummary, MetricStats};
use crate::aggregate::GlobalImportance;
use crate::error::Result;
use crate::features::{Feature, Modality};
use crate::fs::safe_file_name;
use crate::report::charts::{
    draw_bars, draw_heatmap, draw_lines, render_chart, render_figure, Bar, Chart, Line, AUDIO,
    LYRICS, PALETTE,
};
use crate::report::index::ChartEntry;

/// Everything the charts are drawn from.
pub(crate) struct RunData<'a> {
    /// The config.
    pub config: &'a ExperimentConfig,
    /// The grid cells.
    pub cells: &'a [GridCell],
    /// Every unit's record.
    pub records: &'a [UnitRecord],
    /// Summary statistics per explainer × cell.
    pub summaries: &'a [GroupSummary],
    /// `(model, instances, accuracy)`.
    pub accuracy: &'a [(String, usize, f64)],
    /// Global importances per explainer × cell.
    pub global: &'a [(String, String, GlobalImportance)],
}

/// Most explanation charts drawn per run (instances × explainers of the first cell and repeat).
pub(crate) const MAX_EXPLANATION_CHARTS: usize = 48;
/// Features in each top-features bar chart.
pub(crate) const TOP_FEATURES: usize = 12;

/// `(sources in order of appearance, segments, source × segment values)` of the audio
/// features, with `value(j)` for feature `j`.
fn source_grid(
    features: &[Feature],
    value: impl Fn(usize) -> f64,
) -> Option<(Vec<String>, Vec<Vec<f64>>)> {
    let mut sources: Vec<String> = Vec::new();
    let mut segments = 0;
    for f in features.iter().filter(|f| f.modality == Modality::Audio) {
        let source = f.source.clone().unwrap_or_else(|| "mix".into());
        if !sources.contains(&source) {
            sources.push(source);
        }
        segments = segments.max(f.segment.map_or(0, |s| s + 1));
    }
    if sources.is_empty() || segments == 0 {
        return None;
    }
    let mut grid = vec![vec![0.0; segments]; sources.len()];
    for (j, f) in features.iter().enumerate() {
        if f.modality != Modality::Audio {
            continue;
        }
        let source = f.source.clone().unwrap_or_else(|| "mix".into());
        if let (Some(r), Some(s)) = (sources.iter().position(|x| *x == source), f.segment) {
            grid[r][s] += value(j);
        }
    }
    Some((sources, grid))
}

fn modality_color(m: Modality) -> plotters::style::RGBColor {
    if m == Modality::Lyrics {
        LYRICS
    } else {
        AUDIO
    }
}

/// A grid cell's swept values, without their names (`250`, `250,lasso_path`).
fn cell_values(cells: &[GridCell], name: &str) -> String {
    cells
        .iter()
        .find(|c| c.name == name)
        .map(|c| {
            c.values
                .iter()
                .map(|(_, v)| value_text(v))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_else(|| name.to_string())
}

/// The chart of one explained label: a heat map of the audio components' weights (sources ×
/// time segments, when the features form such a grid) beside bars of the features with the
/// largest |weight| (audio blue, words orange).
pub(crate) fn explanation_chart(
    title: &str,
    features: &[Feature],
    weights: &[(usize, f64)],
    half_widths: Option<&[f64]>,
) -> Result<Chart> {
    // weights naming a feature the table does not have (a hand-edited explanation) are skipped
    let weights: Vec<(usize, f64, Option<f64>)> = weights
        .iter()
        .enumerate()
        .filter(|(_, (j, _))| *j < features.len())
        .map(|(i, &(j, w))| (j, w, half_widths.and_then(|h| h.get(i).copied())))
        .collect();
    let mut weight = vec![0.0; features.len()];
    for &(j, w, _) in &weights {
        weight[j] = w;
    }
    let bars: Vec<Bar> = weights
        .iter()
        .take(TOP_FEATURES)
        .map(|&(j, w, half_width)| Bar {
            label: features[j].name.clone(),
            value: w,
            color: modality_color(features[j].modality),
            ci: half_width,
        })
        .collect();
    match source_grid(features, |j| weight[j]) {
        Some((sources, values)) => render_chart!((2100, 760), |root| {
            let (left, right) = root.split_horizontally(1050);
            draw_heatmap(
                &left,
                &format!("{title}: audio weights"),
                "segment",
                &sources,
                &values,
            )?;
            draw_bars(
                &right,
                "top features (blue audio, orange lyrics)",
                "weight",
                &bars,
            )
        }),
        None => render_chart!((1050, 760), |root| draw_bars(
            &root,
            &format!("{title}: top features"),
            "weight",
            &bars
        )),
    }
}

/// Draws every chart of the run into `dir`; returns what was written, in index order.
pub(crate) fn write_run_charts(dir: &Path, data: &RunData) -> Result<Vec<ChartEntry>> {
    let first_cell = data
        .cells
        .first()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let mut entries = explanation_charts(dir, data, &first_cell)?;
    entries.extend(global_charts(dir, data, &first_cell)?);
    entries.extend(comparison_charts(dir, data)?);
    entries.extend(curve_charts(dir, data)?);
    entries.extend(ablation_charts(dir, data)?);
    entries.extend(accuracy_chart(dir, data)?);
    Ok(entries)
}

/// Per explanation of the first cell and repeat (at most [`MAX_EXPLANATION_CHARTS`]): its
/// sources × segments heat map beside its top features.
fn explanation_charts(dir: &Path, data: &RunData, first_cell: &str) -> Result<Vec<ChartEntry>> {
    let mut entries = Vec::new();
    let mut drawn = 0;
    for r in data
        .records
        .iter()
        .filter(|r| r.cell == first_cell && r.repeat == 0)
    {
        if drawn >= MAX_EXPLANATION_CHARTS {
            break;
        }
        let Some(label) = r.labels.iter().find(|l| l.label == r.predicted_label) else {
            continue;
        };
        let stem = format!(
            "explanation_{}_{}",
            safe_file_name(&r.instance),
            safe_file_name(&r.explainer)
        );
        let title = format!(
            "{} · {} · class {}",
            r.instance,
            r.explainer,
            r.class_name(r.predicted_label)
        );
        let chart = explanation_chart(
            &title,
            &r.features,
            &label.weights,
            label.half_widths.as_deref(),
        )?;
        chart.write(dir, &stem)?;
        let grid = source_grid(&r.features, |_| 0.0);
        entries.push(ChartEntry {
            kind: "explanation",
            stem,
            caption: format!(
                "Explanation of {} by `{}` for its predicted class {} ({}; cell `{}`, repeat 0). {}Right: the {} features with the largest |weight|, audio components in blue and words in orange; bars to the right pushed the prediction up.",
                r.instance,
                r.explainer,
                r.predicted_label,
                r.class_name(r.predicted_label),
                r.cell,
                if grid.is_some() { "Left: surrogate weight of every audio component, sources × time segments; red raised the predicted class, blue lowered it, white is 0 (the title gives the colour scale's end). " } else { "" },
                TOP_FEATURES
            ),
        });
        drawn += 1;
    }

    Ok(entries)
}

/// Per explainer and class: the top features by average importance beside their sources ×
/// segments heat map (first cell).
fn global_charts(dir: &Path, data: &RunData, first_cell: &str) -> Result<Vec<ChartEntry>> {
    let mut entries = Vec::new();
    let feature_modality: BTreeMap<&str, Modality> = data
        .records
        .iter()
        .flat_map(|r| r.features.iter().map(|f| (f.name.as_str(), f.modality)))
        .collect();
    let template: Option<&UnitRecord> = data
        .records
        .iter()
        .find(|r| r.features.iter().any(|f| f.modality == Modality::Audio));
    for explainer in &data.config.explainers {
        let rows: Vec<&GlobalImportance> = data
            .global
            .iter()
            .filter(|(e, c, _)| *e == explainer.name && c == first_cell)
            .map(|(_, _, g)| g)
            .collect();
        let mut labels: Vec<usize> = rows.iter().map(|g| g.label).collect();
        labels.sort();
        labels.dedup();
        for label in labels {
            let mut class: Vec<&GlobalImportance> =
                rows.iter().copied().filter(|g| g.label == label).collect();
            class.sort_by(|a, b| {
                b.average_importance
                    .total_cmp(&a.average_importance)
                    .then(a.feature.cmp(&b.feature))
            });
            let bars: Vec<Bar> = class
                .iter()
                .take(TOP_FEATURES)
                .map(|g| Bar {
                    label: g.feature.clone(),
                    value: g.average_importance,
                    color: modality_color(
                        feature_modality
                            .get(g.feature.as_str())
                            .copied()
                            .unwrap_or(Modality::Lyrics),
                    ),
                    ci: None,
                })
                .collect();
            let by_name: BTreeMap<&str, f64> = class
                .iter()
                .map(|g| (g.feature.as_str(), g.average_importance))
                .collect();
            let grid = template.and_then(|t| {
                source_grid(&t.features, |j| {
                    by_name
                        .get(t.features[j].name.as_str())
                        .copied()
                        .unwrap_or(0.0)
                })
            });
            let stem = format!("global_{}_class{label}", safe_file_name(&explainer.name));
            let class_name = data
                .records
                .iter()
                .find(|r| r.explainer == explainer.name)
                .map_or_else(|| label.to_string(), |r| r.class_name(label));
            let title = format!("{} · class {label} ({class_name})", explainer.name);
            match &grid {
                Some((sources, values))
                    if class.iter().any(|g| {
                        feature_modality.get(g.feature.as_str()) == Some(&Modality::Audio)
                    }) =>
                {
                    render_figure!(dir, &stem, (2100, 760), |root| {
                        let (left, right) = root.split_horizontally(1050);
                        draw_bars(
                            &left,
                            &format!("{title}: top features"),
                            "average importance",
                            &bars,
                        )?;
                        draw_heatmap(
                            &right,
                            "audio: global importance",
                            "segment",
                            sources,
                            values,
                        )
                    })?
                }
                _ => render_figure!(dir, &stem, (1050, 760), |root| draw_bars(
                    &root,
                    &format!("{title}: top features"),
                    "average importance",
                    &bars
                ))?,
            }
            entries.push(ChartEntry {
                kind: "global",
                stem,
                caption: format!(
                    "Global importance for class {label} ({class_name}) from `{}` (cell `{first_cell}`): the {TOP_FEATURES} features with the largest average importance (mean positive weight over the explanations of this class: those that predicted it, or for a multi-label model every explanation of the tag; spec §6), audio components in blue and words in orange; where the class has audio evidence, its sources × segments map of the same importance (red = more important).",
                    explainer.name
                ),
            });
        }
    }

    Ok(entries)
}

/// Per metric: mean with 95% CI per explainer (and cell).
fn comparison_charts(dir: &Path, data: &RunData) -> Result<Vec<ChartEntry>> {
    let mut entries = Vec::new();
    for (m, metric) in data.config.metrics.iter().enumerate() {
        let bars: Vec<Bar> = data
            .summaries
            .iter()
            .enumerate()
            .map(|(g, s)| Bar {
                label: if data.cells.len() > 1 {
                    format!("{} · {}", s.explainer, cell_values(data.cells, &s.cell))
                } else {
                    s.explainer.clone()
                },
                value: s.stats[m].1.mean,
                color: PALETTE[(g % data.config.explainers.len().max(1)) % PALETTE.len()],
                ci: Some(s.stats[m].1.ci95),
            })
            .collect();
        if bars.iter().all(|b| !b.value.is_finite()) {
            continue;
        }
        let direction = match super::summary::better_of(metric) {
            crate::metrics::Better::Higher => " (higher is better)",
            crate::metrics::Better::Lower => " (lower is better)",
            crate::metrics::Better::Neither => " (descriptive)",
        };
        let stem = format!("compare_{}", safe_file_name(metric));
        let height = 200 + 56 * bars.len() as u32;
        render_figure!(dir, &stem, (1050, height.max(500)), |root| draw_bars(
            &root,
            &if data.cells.len() > 1 {
                format!(
                    "{metric}{direction} · explainer · {}",
                    data.config
                        .grid
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(",")
                )
            } else {
                format!("{metric}{direction}")
            },
            &format!("{metric} (mean ± 95% CI)"),
            &bars
        ))?;
        entries.push(ChartEntry {
            kind: "comparison",
            stem,
            caption: format!(
                "`{metric}`{direction} per explainer{}: mean over explanations (or over instances for stability metrics) with its 95% confidence interval; missing bars mean the metric does not apply.",
                if data.cells.len() > 1 { " and grid cell" } else { "" }
            ),
        });
    }

    Ok(entries)
}

/// Per cell: one panel per curve metric (`deletion_auc`, `insertion_auc_within`, …, by exact
/// name), one line per explainer: each instance's curve (the mean of its repeats) at the
/// fractions actually removed or added, then the mean over instances with its 95% CI.
fn curve_charts(dir: &Path, data: &RunData) -> Result<Vec<ChartEntry>> {
    let mut entries = Vec::new();
    for cell in data.cells {
        let records: Vec<&UnitRecord> = data
            .records
            .iter()
            .filter(|r| r.cell == cell.name)
            .collect();
        let metrics: Vec<&String> = data
            .config
            .metrics
            .iter()
            .filter(|m| {
                records
                    .iter()
                    .any(|r| r.curves.iter().any(|(n, _)| n == *m))
            })
            .collect();
        let mut panels: Vec<(&str, Vec<Line>)> = Vec::new();
        for metric in metrics {
            let mut lines = Vec::new();
            for (e, explainer) in data.config.explainers.iter().enumerate() {
                let per_instance = instance_curves(&records, &explainer.name, metric);
                if per_instance.is_empty() {
                    continue;
                }
                lines.push(Line {
                    name: format!("{} (n = {})", explainer.name, per_instance.len()),
                    points: mean_curve(&per_instance),
                    color: PALETTE[e % PALETTE.len()],
                });
            }
            if !lines.is_empty() {
                panels.push((metric.as_str(), lines));
            }
        }
        if panels.is_empty() {
            continue;
        }
        let stem = format!("curves_{}", safe_file_name(&cell.name));
        let columns = panels.len().min(2);
        let rows = panels.len().div_ceil(columns);
        render_figure!(
            dir,
            &stem,
            (1050 * columns as u32 + 250, 760 * rows as u32),
            |root| {
                let areas = root.split_evenly((rows, columns));
                for (area, (metric, lines)) in areas.iter().zip(&panels) {
                    let x = if metric.starts_with("deletion") {
                        "fraction of features removed"
                    } else {
                        "fraction of features added"
                    };
                    draw_lines(area, metric, (x, "p(predicted class)"), lines)?;
                }
                Ok(())
            }
        )?;
        entries.push(ChartEntry {
            kind: "curves",
            stem,
            caption: format!(
                "Deletion and insertion curves (cell `{}`), one panel per metric: the predicted class's probability as the features are removed from the instance (deletion; a faithful explanation falls fast) or added to an empty one (insertion; it rises fast), in the order of the ranking rule, at the fractions actually removed; each instance's curve is the mean of its repeats, and the line is the mean over the n instances with its 95% CI.",
                cell.name
            ),
        });
    }

    Ok(entries)
}

/// Each instance's `metric` curve of `explainer` (the mean of its repeats' curves), as
/// `(fractions, values)`; repeats whose curve has another shape than the instance's first are
/// left out of its mean.
fn instance_curves(
    records: &[&UnitRecord],
    explainer: &str,
    metric: &str,
) -> Vec<(Vec<f64>, Vec<f64>)> {
    // instance -> its repeats' (fractions, values)
    type Points<'r> = (&'r Vec<f64>, &'r Vec<f64>);
    let mut by_instance: BTreeMap<&str, Vec<Points>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.explainer == explainer) {
        for (i, (name, values)) in r.curves.iter().enumerate() {
            let Some(fractions) = r.curve_fractions.get(i) else {
                continue;
            };
            if name == metric && fractions.len() == values.len() {
                by_instance
                    .entry(&r.instance)
                    .or_default()
                    .push((fractions, values));
            }
        }
    }
    by_instance
        .into_values()
        .map(|curves| {
            let (x, first) = curves[0];
            let same: Vec<&Vec<f64>> = curves
                .iter()
                .filter(|(f, v)| *f == x && v.len() == first.len())
                .map(|(_, v)| *v)
                .collect();
            let mean = (0..first.len())
                .map(|i| same.iter().map(|v| v[i]).sum::<f64>() / same.len() as f64)
                .collect();
            (x.clone(), mean)
        })
        .collect()
}

/// The mean over instances (with its 95% CI) of piecewise-linear curves, at every fraction any
/// of them was measured at.
fn mean_curve(curves: &[(Vec<f64>, Vec<f64>)]) -> Vec<(f64, f64, f64)> {
    let mut grid: Vec<f64> = curves.iter().flat_map(|(x, _)| x.iter().copied()).collect();
    grid.sort_by(f64::total_cmp);
    grid.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    grid.into_iter()
        .map(|x| {
            let values: Vec<f64> = curves
                .iter()
                .map(|(xs, ys)| interpolate(xs, ys, x))
                .collect();
            let s = MetricStats::of(&values);
            (x, s.mean, s.ci95)
        })
        .collect()
}

/// The piecewise-linear curve through `(xs, ys)` (ascending `xs`) at `x`.
fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    match xs.iter().position(|&v| v >= x - 1e-12) {
        None => ys.last().copied().unwrap_or(f64::NAN),
        Some(0) => ys[0],
        Some(i) if (xs[i] - x).abs() < 1e-12 => ys[i],
        Some(i) => {
            let t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
            ys[i - 1] + t * (ys[i] - ys[i - 1])
        }
    }
}

/// Per numeric grid parameter and metric: the metric against the parameter, per explainer.
/// For `num_samples` these are the sample-size curves: a cell is placed at its mean
/// `samples_used` when the run reports that metric (so `auto` cells land where they stopped,
/// drawn as a point of their own), else at its number.
fn ablation_charts(dir: &Path, data: &RunData) -> Result<Vec<ChartEntry>> {
    let mut entries = Vec::new();
    let samples_used = data.config.metrics.iter().position(|m| m == "samples_used");
    for (key, values) in &data.config.grid {
        let sample_size = key == "num_samples";
        let numeric = values
            .iter()
            .filter(|v| value_text(v).parse::<f64>().is_ok())
            .count();
        let placeable = match (sample_size, samples_used) {
            (true, Some(_)) => values.len(),
            _ => numeric,
        };
        if placeable < 2 || placeable != values.len() {
            continue;
        }
        // Where a summary sits on the x axis, and whether it is an `auto` cell.
        let position = |s: &GroupSummary| -> Option<(f64, bool)> {
            let cell = data.cells.iter().find(|c| c.name == s.cell)?;
            let value = cell
                .values
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| value_text(v))?;
            match (sample_size, samples_used) {
                (true, Some(i)) => Some((s.stats[i].1.mean, value == "auto")),
                _ => value.parse::<f64>().ok().map(|x| (x, false)),
            }
        };
        for (m, metric) in data.config.metrics.iter().enumerate() {
            if Some(m) == samples_used && sample_size {
                continue;
            }
            let mut lines = Vec::new();
            for (e, explainer) in data.config.explainers.iter().enumerate() {
                let mut fixed = Vec::new();
                let mut auto = Vec::new();
                for s in data
                    .summaries
                    .iter()
                    .filter(|s| s.explainer == explainer.name)
                {
                    let Some((x, is_auto)) = position(s) else {
                        continue;
                    };
                    let point = (x, s.stats[m].1.mean, s.stats[m].1.ci95);
                    if !(point.0.is_finite() && point.1.is_finite()) {
                        continue;
                    }
                    match is_auto {
                        true => auto.push(point),
                        false => fixed.push(point),
                    }
                }
                fixed.sort_by(|a, b| a.0.total_cmp(&b.0));
                let color = PALETTE[e % PALETTE.len()];
                if !fixed.is_empty() {
                    lines.push(Line {
                        name: explainer.name.clone(),
                        points: fixed,
                        color,
                    });
                }
                if !auto.is_empty() {
                    lines.push(Line {
                        name: format!("{} (auto)", explainer.name),
                        points: auto,
                        color,
                    });
                }
            }
            if lines.is_empty() {
                continue;
            }
            let stem = format!(
                "ablation_{}_{}",
                safe_file_name(key),
                safe_file_name(metric)
            );
            let x_axis = match (sample_size, samples_used) {
                (true, Some(_)) => "samples used (mean per cell)",
                _ => key.as_str(),
            };
            render_figure!(dir, &stem, (1300, 760), |root| draw_lines(
                &root,
                &format!("{metric} vs {key}"),
                (x_axis, metric.as_str()),
                &lines
            ))?;
            let caption = match (sample_size, samples_used) {
                (true, Some(_)) => format!(
                    "Sample-size curve: `{metric}` against the samples each cell used (mean `samples_used`), one line per explainer over its fixed `num_samples` cells (mean with 95% CI); an `auto` cell is the point labelled `(auto)`, placed at the samples it used on average."
                ),
                _ => format!(
                    "Ablation: `{metric}` against the grid parameter `{key}`, one line per explainer (mean with 95% CI; cells that share a value of `{key}` but differ in another swept parameter appear as separate points)."
                ),
            };
            entries.push(ChartEntry {
                kind: "ablation",
                stem,
                caption,
            });
        }
    }

    Ok(entries)
}

/// Each model's accuracy on the labelled instances.
fn accuracy_chart(dir: &Path, data: &RunData) -> Result<Vec<ChartEntry>> {
    let mut entries = Vec::new();
    if !data.accuracy.is_empty() {
        let bars: Vec<Bar> = data
            .accuracy
            .iter()
            .enumerate()
            .map(|(i, (model, n, acc))| Bar {
                label: format!("{model} (n={n})"),
                value: *acc,
                color: PALETTE[i % PALETTE.len()],
                ci: None,
            })
            .collect();
        let height = (200 + 60 * bars.len() as u32).max(420);
        render_figure!(dir, "accuracy", (1050, height), |root| draw_bars(
            &root,
            "model accuracy",
            "accuracy on the labelled instances",
            &bars
        ))?;
        entries.push(ChartEntry {
            kind: "accuracy",
            stem: "accuracy".into(),
            caption: "Accuracy of each model (unimodal and multimodal) on the instances with a known label, like the paper's Table 1.".into(),
        });
    }
    Ok(entries)
}
