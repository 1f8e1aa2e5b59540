//! Global importances written out: the `global` table (per class, every feature), the
//! `top_k` table and one chart per class of its top features, as `musiclime aggregate` writes
//! them (the run writes its own `global` table per explainer × cell).

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;

use crate::aggregate::{top_k, GlobalImportance};
use crate::error::{Error, Result};
use crate::report::charts::{draw_bars, render_figure, Bar, AUDIO, LYRICS};
use crate::report::tables::{write_table, Direction, TableStyle};

/// The global importances as a table.
pub fn global_frame(global: &[GlobalImportance]) -> Result<DataFrame> {
    let polars = |e: PolarsError| Error::table(e);
    DataFrame::new(
        global.len(),
        vec![
            Column::new(
                "label".into(),
                global.iter().map(|g| g.label as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "feature".into(),
                global.iter().map(|g| g.feature.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "count".into(),
                global.iter().map(|g| g.count).collect::<Vec<_>>(),
            ),
            Column::new(
                "weight_sum".into(),
                global.iter().map(|g| g.weight_sum).collect::<Vec<_>>(),
            ),
            Column::new(
                "lime_importance".into(),
                global.iter().map(|g| g.lime_importance).collect::<Vec<_>>(),
            ),
            Column::new(
                "average_importance".into(),
                global
                    .iter()
                    .map(|g| g.average_importance)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "homogeneity_weighted_importance".into(),
                global
                    .iter()
                    .map(|g| g.homogeneity_weighted_importance)
                    .collect::<Vec<_>>(),
            ),
        ],
    )
    .map_err(polars)
}

/// Writes `global` (Parquet, CSV, Markdown, LaTeX) and `top_k` per class into `dir`.
pub fn write_global(
    dir: &Path,
    global: &[GlobalImportance],
    k: usize,
    names: &BTreeMap<usize, String>,
) -> Result<()> {
    let named = |frame: &mut DataFrame, labels: Vec<usize>| -> Result<()> {
        if !names.is_empty() {
            let column: Vec<String> = labels
                .iter()
                .map(|l| names.get(l).cloned().unwrap_or_else(|| l.to_string()))
                .collect();
            frame
                .insert_column(1, Column::new("class".into(), column))
                .map_err(Error::table)?;
        }
        Ok(())
    };
    let mut frame = global_frame(global)?;
    named(&mut frame, global.iter().map(|g| g.label).collect())?;
    write_table(dir, "global", &frame, &TableStyle::default())?;
    let top = top_k(global, k);
    let mut frame = DataFrame::new(
        top.len(),
        vec![
            Column::new(
                "label".into(),
                top.iter().map(|(l, _, _)| *l as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "rank".into(),
                top.iter().map(|(_, r, _)| *r as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "feature".into(),
                top.iter()
                    .map(|(_, _, g)| g.feature.clone())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "average_importance".into(),
                top.iter()
                    .map(|(_, _, g)| g.average_importance)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "count".into(),
                top.iter().map(|(_, _, g)| g.count).collect::<Vec<_>>(),
            ),
        ],
    )
    .map_err(Error::table)?;
    named(&mut frame, top.iter().map(|(l, _, _)| *l).collect())?;
    let style = TableStyle {
        directions: vec![("average_importance".into(), Direction::Higher)],
        bold_best: false,
    };
    write_table(dir, "top_k", &frame, &style)?;
    write_global_charts(&dir.join("charts"), &top, names)
}

/// Whether a feature name is an audio component (`vocals3`, `drums0`, `T4`, …) rather than a
/// word.
fn is_audio_name(name: &str) -> bool {
    let digits = name.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let stem = &name[..name.len() - digits.len()];
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && matches!(
            stem,
            "vocals" | "drums" | "bass" | "other" | "T" | "harmonic" | "percussive" | "residual"
        )
}

/// One bar chart per class of its top features by average importance (audio components blue,
/// words orange), as the paper's global figures: `charts/class<k>.svg` and `.png`.
fn write_global_charts(
    dir: &Path,
    top: &[(usize, usize, &GlobalImportance)],
    names: &BTreeMap<usize, String>,
) -> Result<()> {
    let mut labels: Vec<usize> = top.iter().map(|(l, _, _)| *l).collect();
    labels.dedup();
    for label in labels {
        let bars: Vec<Bar> = top
            .iter()
            .filter(|(l, _, _)| *l == label)
            .map(|(_, _, g)| Bar {
                label: g.feature.clone(),
                value: g.average_importance,
                color: if is_audio_name(&g.feature) {
                    AUDIO
                } else {
                    LYRICS
                },
                ci: None,
            })
            .collect();
        let height = (200 + 56 * bars.len() as u32).max(500);
        render_figure!(dir, &format!("class{label}"), (1050, height), |root| {
            draw_bars(
                &root,
                &format!(
                    "{}: top features (blue audio, orange lyrics)",
                    names.get(&label).map_or_else(
                        || format!("class {label}"),
                        |n| format!("class {label} ({n})")
                    )
                ),
                "average importance",
                &bars,
            )
        })?;
    }
    Ok(())
}
