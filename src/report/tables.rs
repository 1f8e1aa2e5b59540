//! Writing a Polars table four ways: Parquet and CSV (exact values), Markdown and LaTeX
//! (booktabs; metric columns carry ↑ or ↓ for their direction; chosen cells, or the best value
//! of each metric column, in bold). Every file is written atomically.

use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Result};
use crate::fs::write_atomically;

/// Direction of a column that holds a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Higher is better (↑).
    Higher,
    /// Lower is better (↓).
    Lower,
}

/// How a table is rendered for people.
#[derive(Debug, Clone, Default)]
pub struct TableStyle {
    /// `(column, direction)` of metric columns: headers get ↑/↓.
    pub directions: Vec<(String, Direction)>,
    /// Bold the best value of each directed column.
    pub bold_best: bool,
    /// Bold exactly these `(row, column)` cells (e.g. the significantly best); when given,
    /// `bold_best` is ignored.
    pub bold_cells: Option<std::collections::BTreeSet<(usize, String)>>,
    /// Notes printed under the table (what was tested, n), one paragraph each.
    pub notes: Vec<String>,
}

fn table_error(path: &Path, e: PolarsError) -> Error {
    Error::in_file(path, format!("could not write table: {e}"))
}

fn cell_text(value: &AnyValue) -> String {
    match value {
        AnyValue::Null => String::new(),
        AnyValue::Float64(v) => format!("{v:.4}"),
        AnyValue::Float32(v) => format!("{v:.4}"),
        AnyValue::String(s) => s.to_string(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    }
}

fn latex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str(r"\textbackslash{}"),
            '_' | '%' | '&' | '#' | '$' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            '~' => out.push_str(r"\textasciitilde{}"),
            '^' => out.push_str(r"\textasciicircum{}"),
            '±' => out.push_str(r"$\pm$"),
            '†' => out.push_str(r"$^\dagger$"),
            'Δ' => out.push_str(r"$\Delta$"),
            '↑' => out.push_str(r"$\uparrow$"),
            '↓' => out.push_str(r"$\downarrow$"),
            '−' => out.push_str(r"$-$"),
            '–' => out.push_str("--"),
            '×' => out.push_str(r"$\times$"),
            _ => out.push(c),
        }
    }
    out
}

/// The rendered cells of a table, with the `(row, column)` cells to set in bold.
struct Rendered {
    headers: Vec<(String, Option<Direction>)>,
    rows: Vec<Vec<String>>,
    bold: std::collections::BTreeSet<(usize, usize)>,
}

fn render(df: &DataFrame, style: &TableStyle) -> Rendered {
    let columns = df.columns();
    let headers: Vec<(String, Option<Direction>)> = columns
        .iter()
        .map(|c| {
            let name = c.name().to_string();
            let direction = style
                .directions
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, d)| *d);
            (name, direction)
        })
        .collect();
    let rows: Vec<Vec<String>> = (0..df.height())
        .map(|i| {
            columns
                .iter()
                .map(|c| c.get(i).map(|v| cell_text(&v)).unwrap_or_default())
                .collect()
        })
        .collect();
    let bold = match &style.bold_cells {
        Some(cells) => cells
            .iter()
            .filter_map(|(row, name)| {
                let column = headers.iter().position(|(h, _)| h == name)?;
                Some((*row, column))
            })
            .collect(),
        None => best_cells(columns, &headers, style.bold_best),
    };
    Rendered {
        headers,
        rows,
        bold,
    }
}

/// The best row of each directed column, when `bold_best`.
fn best_cells(
    columns: &[Column],
    headers: &[(String, Option<Direction>)],
    bold_best: bool,
) -> std::collections::BTreeSet<(usize, usize)> {
    if !bold_best {
        return Default::default();
    }
    columns
        .iter()
        .zip(headers)
        .enumerate()
        .filter_map(|(column, (c, (_, direction)))| {
            let direction = (*direction)?;
            let values = c.cast(&DataType::Float64).ok()?;
            let values = values.f64().ok()?;
            let mut best: Option<(usize, f64)> = None;
            for (i, v) in values.iter().enumerate() {
                let Some(v) = v.filter(|v| v.is_finite()) else {
                    continue;
                };
                let better = match (best, direction) {
                    (None, _) => true,
                    (Some((_, b)), Direction::Higher) => v > b,
                    (Some((_, b)), Direction::Lower) => v < b,
                };
                if better {
                    best = Some((i, v));
                }
            }
            best.map(|(i, _)| (i, column))
        })
        .collect()
}

fn arrow(direction: Option<Direction>, latex: bool) -> &'static str {
    match (direction, latex) {
        (Some(Direction::Higher), false) => " ↑",
        (Some(Direction::Lower), false) => " ↓",
        (Some(Direction::Higher), true) => r" $\uparrow$",
        (Some(Direction::Lower), true) => r" $\downarrow$",
        (None, _) => "",
    }
}

/// The table as GitHub-flavoured Markdown.
pub(crate) fn to_markdown(df: &DataFrame, style: &TableStyle) -> String {
    let r = render(df, style);
    let mut out = String::new();
    out.push_str(&format!(
        "| {} |\n",
        r.headers
            .iter()
            .map(|(h, d)| format!("{h}{}", arrow(*d, false)))
            .collect::<Vec<_>>()
            .join(" | ")
    ));
    out.push_str(&format!(
        "|{}\n",
        r.headers
            .iter()
            .map(|(_, d)| if d.is_some() { "---:|" } else { "---|" })
            .collect::<String>()
    ));
    for (i, row) in r.rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let v = v.replace('|', "\\|");
                if r.bold.contains(&(i, j)) {
                    format!("**{v}**")
                } else {
                    v
                }
            })
            .collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    for note in &style.notes {
        out.push_str(&format!("\n{note}\n"));
    }
    out
}

/// The table as an HTML `<table>` (for notebooks): headers with ↑/↓, the best values bold.
pub fn to_html(df: &DataFrame, style: &TableStyle) -> String {
    let r = render(df, style);
    let mut out = String::from("<table class=\"musiclime\">\n<thead><tr>");
    for (h, d) in &r.headers {
        out.push_str(&format!("<th>{}{}</th>", html_escape(h), arrow(*d, false)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (i, row) in r.rows.iter().enumerate() {
        out.push_str("<tr>");
        for (j, v) in row.iter().enumerate() {
            let v = html_escape(v);
            if r.bold.contains(&(i, j)) {
                out.push_str(&format!("<td><b>{v}</b></td>"));
            } else {
                out.push_str(&format!("<td>{v}</td>"));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    for note in &style.notes {
        out.push_str(&format!(
            "<p class=\"musiclime-note\">{}</p>\n",
            html_escape(note)
        ));
    }
    out
}

/// Text escaped for HTML content and attribute values.
pub(crate) fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The table as a LaTeX `tabular` with booktabs rules, ready for `\input`.
pub(crate) fn to_latex(df: &DataFrame, style: &TableStyle) -> String {
    let r = render(df, style);
    let spec: String = r
        .headers
        .iter()
        .map(|(_, d)| if d.is_some() { 'r' } else { 'l' })
        .collect();
    let mut out = format!("\\begin{{tabular}}{{{spec}}}\n\\toprule\n");
    out.push_str(
        &r.headers
            .iter()
            .map(|(h, d)| format!("{}{}", latex_escape(h), arrow(*d, true)))
            .collect::<Vec<_>>()
            .join(" & "),
    );
    out.push_str(" \\\\\n\\midrule\n");
    for (i, row) in r.rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, v)| {
                let v = latex_escape(v);
                if r.bold.contains(&(i, j)) {
                    format!("\\textbf{{{v}}}")
                } else {
                    v
                }
            })
            .collect();
        out.push_str(&cells.join(" & "));
        out.push_str(" \\\\\n");
    }
    out.push_str("\\bottomrule\n\\end{tabular}\n");
    for note in &style.notes {
        out.push_str(&format!("\\par{{\\footnotesize {}}}\n", latex_escape(note)));
    }
    out
}

/// The most rows a table may have for its Markdown and LaTeX renderings to be written. Those
/// are for reading and for a paper; a longer table (the per-feature `explanations` of a run of
/// thousands of units: hundreds of MB of Markdown) is written as Parquet and CSV only.
pub(crate) const MAX_RENDERED_ROWS: usize = 100_000;

/// Whether [`write_table`] writes Markdown and LaTeX renderings of `df`.
pub fn is_rendered(df: &DataFrame) -> bool {
    df.height() <= MAX_RENDERED_ROWS
}

/// Writes `<dir>/<name>.parquet` and `.csv`, and `.md` and `.tex` when the table
/// [`is_rendered`] (otherwise renderings left by an earlier, shorter write are removed, so no
/// file disagrees with the table). Returns whether the renderings were written.
pub fn write_table(dir: &Path, name: &str, df: &DataFrame, style: &TableStyle) -> Result<bool> {
    let parquet_path = dir.join(format!("{name}.parquet"));
    let mut frame = df.clone();
    let mut parquet = Vec::new();
    ParquetWriter::new(&mut parquet)
        .finish(&mut frame)
        .map_err(|e| table_error(&parquet_path, e))?;
    let csv_path = dir.join(format!("{name}.csv"));
    let mut csv = Vec::new();
    CsvWriter::new(&mut csv)
        .include_header(true)
        .finish(&mut frame)
        .map_err(|e| table_error(&csv_path, e))?;
    write_atomically(&parquet_path, &parquet)?;
    write_atomically(&csv_path, &csv)?;
    let md_path = dir.join(format!("{name}.md"));
    let tex_path = dir.join(format!("{name}.tex"));
    if !is_rendered(df) {
        for path in [&md_path, &tex_path] {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(path, e))
                }
                _ => {}
            }
        }
        return Ok(false);
    }
    write_atomically(&md_path, to_markdown(df, style).as_bytes())?;
    write_atomically(&tex_path, to_latex(df, style).as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        DataFrame::new(
            3,
            vec![
                Column::new("explainer".into(), ["musiclime", "lime_audio", "a_b"]),
                Column::new("score".into(), [0.9f64, 0.5, 0.7]),
                Column::new("local_error".into(), [0.02f64, 0.01, 0.3]),
            ],
        )
        .unwrap()
    }

    fn style() -> TableStyle {
        TableStyle {
            directions: vec![
                ("score".into(), Direction::Higher),
                ("local_error".into(), Direction::Lower),
            ],
            bold_best: true,
            bold_cells: None,
            notes: Vec::new(),
        }
    }

    #[test]
    fn chosen_cells_are_bold_instead_of_the_best() {
        let mut style = style();
        style.bold_cells = Some([(2, "score".to_string())].into_iter().collect());
        let md = to_markdown(&frame(), &style);
        assert!(md.contains("| a_b | **0.7000** | 0.3000 |"), "{md}");
        assert!(md.contains("| musiclime | 0.9000 | 0.0200 |"), "{md}");
    }

    #[test]
    fn markdown_marks_direction_and_best_values() {
        let md = to_markdown(&frame(), &style());
        assert!(
            md.starts_with("| explainer | score ↑ | local_error ↓ |"),
            "{md}"
        );
        assert!(md.contains("| musiclime | **0.9000** | 0.0200 |"), "{md}");
        assert!(md.contains("| lime_audio | 0.5000 | **0.0100** |"), "{md}");
    }

    #[test]
    fn latex_uses_booktabs_and_escapes() {
        let tex = to_latex(&frame(), &style());
        assert!(tex.contains("\\toprule") && tex.contains("\\bottomrule"));
        assert!(tex.contains("local\\_error $\\downarrow$"), "{tex}");
        assert!(tex.contains("a\\_b"), "{tex}");
        assert!(tex.contains("\\textbf{0.9000}"), "{tex}");
    }

    #[test]
    fn a_table_past_the_rendering_limit_is_parquet_and_csv_only_and_loses_stale_renderings() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_table(dir.path(), "t", &frame(), &style()).unwrap());
        assert!(dir.path().join("t.md").exists() && dir.path().join("t.tex").exists());
        let rows = MAX_RENDERED_ROWS + 1;
        let long = DataFrame::new(rows, vec![Column::new("x".into(), vec![1.0f64; rows])]).unwrap();
        assert!(!write_table(dir.path(), "t", &long, &TableStyle::default()).unwrap());
        assert!(dir.path().join("t.csv").exists() && dir.path().join("t.parquet").exists());
        assert!(!dir.path().join("t.md").exists() && !dir.path().join("t.tex").exists());
    }
}
