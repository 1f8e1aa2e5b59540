//! Global importances written out: the `global` table (per class, every feature), the
//! `top_k` and `top_words` tables, and per class a chart of its top features and the paper's
//! figure (audio heat map beside the top words), as `musiclime aggregate` writes them (the run
//! writes its own `global` table per explainer × cell).

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use crate::aggregate::{
    audio_component, is_audio_component, top_k, top_words, GlobalImportance, AUDIO_SOURCES,
};
use crate::error::{Error, Result};
use crate::report::charts::{draw_bars, draw_heatmap, render_figure, Bar, AUDIO, LYRICS};
use crate::report::tables::{write_table, Direction, TableStyle};

/// The global importances as a table.
pub(crate) fn global_frame(global: &[GlobalImportance]) -> Result<DataFrame> {
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

/// Features per class in the `top_k` table when none is asked for (`aggregate --top-k`).
pub const DEFAULT_TOP_K: usize = 10;

/// Words in the word panel of each class's figure (the paper shows 20).
pub(crate) const FIGURE_WORDS: usize = 20;

/// What [`write_global`] writes besides the `global` table.
#[derive(Debug, Clone, Copy)]
pub struct GlobalOutput<'a> {
    /// Features per class in the `top_k` table and the `class<k>` charts.
    pub top_k: usize,
    /// Class names by index (a `class` column and chart titles); empty for none.
    pub names: &'a BTreeMap<usize, String>,
    /// What the lyric features are, for chart titles: `words`, `lower-cased words`, `lemmas`.
    pub words: &'a str,
}

/// Writes into `dir`: the `global` table, the `top_k` and `top_words` tables (Parquet, CSV,
/// Markdown, LaTeX), and per class two charts: `charts/class<k>` (the top features, audio and
/// words together) and `charts/figure_class<k>` (the paper's figure: the sources × segments
/// heat map of the audio components' average importances beside the top 20 words).
pub fn write_global(dir: &Path, global: &[GlobalImportance], output: GlobalOutput) -> Result<()> {
    let mut frame = global_frame(global)?;
    insert_class_column(
        &mut frame,
        global.iter().map(|g| g.label).collect(),
        output.names,
    )?;
    write_table(dir, "global", &frame, &TableStyle::default())?;
    // bold_best: false (the default)
    let style = TableStyle {
        directions: vec![("average_importance".into(), Direction::Higher)],
        ..TableStyle::default()
    };
    let top = top_k(global, output.top_k);
    write_table(dir, "top_k", &ranking_frame(&top, output.names)?, &style)?;
    let words = top_words(global, FIGURE_WORDS);
    write_table(
        dir,
        "top_words",
        &ranking_frame(&words, output.names)?,
        &style,
    )?;
    write_charts(&dir.join("charts"), global, &top, &words, output)
}

/// Both charts of every class (rendered in parallel: a chart costs more than its tables).
fn write_charts(
    dir: &Path,
    global: &[GlobalImportance],
    top: &[(usize, usize, &GlobalImportance)],
    words: &[(usize, usize, &GlobalImportance)],
    output: GlobalOutput,
) -> Result<()> {
    let grid = audio_grid(global);
    let mut labels: Vec<usize> = global.iter().map(|g| g.label).collect();
    labels.sort_unstable();
    labels.dedup();
    let bars = |ranking: &[(usize, usize, &GlobalImportance)], label: usize| -> Vec<Bar> {
        ranking
            .iter()
            .filter(|(l, _, _)| *l == label)
            .map(|(_, _, g)| bar(g))
            .collect()
    };
    labels.into_par_iter().try_for_each(|label| {
        let class = class_title(label, output.names);
        write_top_chart(dir, label, &class, &bars(top, label))?;
        let audio = grid.as_ref().map(|grid| {
            let rows: Vec<String> = grid.0.iter().map(|s| s.to_string()).collect();
            (rows, audio_values(global, label, grid))
        });
        write_class_figure(dir, label, &class, audio, &bars(words, label), output.words)
    })
}

/// Inserts a `class` column (the class names) after `label` when there are names.
fn insert_class_column(
    frame: &mut DataFrame,
    labels: Vec<usize>,
    names: &BTreeMap<usize, String>,
) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let column: Vec<String> = labels
        .iter()
        .map(|l| names.get(l).cloned().unwrap_or_else(|| l.to_string()))
        .collect();
    frame
        .insert_column(1, Column::new("class".into(), column))
        .map_err(Error::table)?;
    Ok(())
}

/// A per-class ranking as a table: label, (class), rank, feature, average importance, count,
/// weight sum.
fn ranking_frame(
    top: &[(usize, usize, &GlobalImportance)],
    names: &BTreeMap<usize, String>,
) -> Result<DataFrame> {
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
            Column::new(
                "weight_sum".into(),
                top.iter().map(|(_, _, g)| g.weight_sum).collect::<Vec<_>>(),
            ),
        ],
    )
    .map_err(Error::table)?;
    insert_class_column(&mut frame, top.iter().map(|(l, _, _)| *l).collect(), names)?;
    Ok(frame)
}

/// `class 6 (punk)`, or `class 6` without a name.
fn class_title(label: usize, names: &BTreeMap<usize, String>) -> String {
    names.get(&label).map_or_else(
        || format!("class {label}"),
        |n| format!("class {label} ({n})"),
    )
}

/// A feature's bar: its average importance, blue for audio components, orange for words.
fn bar(g: &GlobalImportance) -> Bar {
    Bar {
        label: g.feature.clone(),
        value: g.average_importance,
        color: if is_audio_component(&g.feature) {
            AUDIO
        } else {
            LYRICS
        },
        ci: None,
    }
}

/// A class's top features by average importance (audio components blue, words orange), as
/// the paper's `barplot_<class>_AVG` figures: `charts/class<k>.svg` and `.png`.
fn write_top_chart(dir: &Path, label: usize, class: &str, bars: &[Bar]) -> Result<()> {
    let height = (200 + 56 * bars.len() as u32).max(500);
    render_figure!(dir, &format!("class{label}"), (1050, height), |root| {
        draw_bars(
            &root,
            &format!("{class}: top features (blue audio, orange lyrics)"),
            "average importance",
            bars,
        )
    })
}

/// The audio components' grid over all classes: source names (rows, in
/// [`AUDIO_SOURCES`] order) and the number of segments (columns); `None` without audio.
fn audio_grid(global: &[GlobalImportance]) -> Option<(Vec<&'static str>, usize)> {
    let components: Vec<(&str, usize)> = global
        .iter()
        .filter_map(|g| audio_component(&g.feature))
        .collect();
    let segments = components.iter().map(|(_, s)| s + 1).max()?;
    let sources = AUDIO_SOURCES
        .into_iter()
        .filter(|s| components.iter().any(|(c, _)| c == s))
        .collect();
    Some((sources, segments))
}

/// One class's audio average importances on the grid (0 where a component is absent, as the
/// paper's heat maps).
fn audio_values(
    global: &[GlobalImportance],
    label: usize,
    (sources, segments): &(Vec<&'static str>, usize),
) -> Vec<Vec<f64>> {
    let mut values = vec![vec![0.0; *segments]; sources.len()];
    for g in global.iter().filter(|g| g.label == label) {
        if let Some((source, segment)) = audio_component(&g.feature) {
            if let Some(row) = sources.iter().position(|s| *s == source) {
                values[row][segment] = g.average_importance;
            }
        }
    }
    values
}

/// A class's paper figure (`heatmap&barplot_<class>_AVG`): the sources × segments heat map of
/// the audio components' average importances (`audio`: row names and values) beside bars of
/// its top words (`words` says what they are); `charts/figure_class<k>.svg` and `.png`.
/// Without audio (or words) the figure has only the other panel.
fn write_class_figure(
    dir: &Path,
    label: usize,
    class: &str,
    audio: Option<(Vec<String>, Vec<Vec<f64>>)>,
    bars: &[Bar],
    words: &str,
) -> Result<()> {
    let stem = format!("figure_class{label}");
    let bars_title = format!("{class}: top {} {words}", bars.len());
    let height = (200 + 44 * bars.len() as u32).max(760);
    let heatmap_title = format!("{class}: audio, average importance");
    match audio {
        Some((rows, values)) if bars.is_empty() => {
            render_figure!(dir, &stem, (1050, 760), |root| {
                draw_heatmap(&root, &heatmap_title, "segment", &rows, &values)
            })
        }
        Some((rows, values)) => render_figure!(dir, &stem, (2100, height), |root| {
            let (left, right) = root.split_horizontally(1050);
            draw_heatmap(&left, &heatmap_title, "segment", &rows, &values)?;
            draw_bars(&right, &bars_title, "average importance", bars)
        }),
        None => render_figure!(dir, &stem, (1050, height), |root| {
            draw_bars(&root, &bars_title, "average importance", bars)
        }),
    }
}
