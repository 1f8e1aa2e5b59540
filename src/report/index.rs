//! The report index of a run: `<output>/index.md` and `<output>/index.html`, listing every
//! table and chart with a caption saying what it shows and how to read it, plus the LaTeX to
//! put them in a paper.

use std::path::Path;

use crate::error::Result;
use crate::fs::write_atomically;

/// One written chart: its file stem (SVG and PNG beside each other) and caption.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChartEntry {
    /// Kind, for grouping in the index.
    pub kind: &'static str,
    /// File stem under `charts/`.
    pub stem: String,
    /// What it shows and how to read it.
    pub caption: String,
}

/// One written table: its name, caption and whether it has Markdown and LaTeX renderings (a
/// table longer than [`super::tables::MAX_RENDERED_ROWS`] has Parquet and CSV only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableEntry {
    /// File stem under `tables/`.
    pub name: &'static str,
    /// What it holds and how to read it (the writer of the table knows).
    pub caption: &'static str,
    /// Whether `.md` and `.tex` were written.
    pub rendered: bool,
}

impl TableEntry {
    /// The index's Markdown links to the table's files.
    fn markdown_links(&self) -> String {
        let t = self.name;
        match self.rendered {
            true => format!("[`tables/{t}.md`](tables/{t}.md), [CSV](tables/{t}.csv), [Parquet](tables/{t}.parquet), [LaTeX](tables/{t}.tex)."),
            false => format!("[CSV](tables/{t}.csv), [Parquet](tables/{t}.parquet) (too many rows for Markdown and LaTeX)."),
        }
    }

    /// The index's HTML links to the table's files.
    fn html_links(&self) -> String {
        let t = self.name;
        match self.rendered {
            true => format!("<a href=\"tables/{t}.md\">Markdown</a>, <a href=\"tables/{t}.csv\">CSV</a>, <a href=\"tables/{t}.parquet\">Parquet</a>, <a href=\"tables/{t}.tex\">LaTeX</a>."),
            false => format!("<a href=\"tables/{t}.csv\">CSV</a>, <a href=\"tables/{t}.parquet\">Parquet</a> (too many rows for Markdown and LaTeX)."),
        }
    }
}

use super::tables::html_escape;

/// Writes `index.md` and `index.html` into `output` for the run `name`.
pub(crate) fn write_index(
    output: &Path,
    name: &str,
    tables: &[TableEntry],
    charts: &[ChartEntry],
) -> Result<()> {
    let mut md = format!(
        "# {name}\n\nTables are in `tables/` (Parquet, CSV, Markdown, and LaTeX for `\\input`), charts in `charts/` (SVG and PNG).\n\n## Tables\n\n"
    );
    for t in tables {
        md.push_str(&format!(
            "- **{}** — {} {}\n",
            t.name,
            t.markdown_links(),
            t.caption
        ));
    }
    md.push_str("\nIn a paper: `\\input{tables/summary.tex}` inside a `table` environment (booktabs).\n\n## Charts\n");
    let mut kind = "";
    for c in charts {
        if c.kind != kind {
            kind = c.kind;
            md.push_str(&format!("\n### {kind}\n\n"));
        }
        md.push_str(&format!(
            "![{stem}](charts/{stem}.png)\n\n*{caption}* ([SVG](charts/{stem}.svg))\n\n",
            stem = c.stem,
            caption = c.caption
        ));
    }
    if let Some(first) = charts.first() {
        md.push_str(&format!(
            "## A figure block for papers\n\n```latex\n\\begin{{figure}}[t]\n  \\centering\n  \\includegraphics[width=\\columnwidth]{{charts/{}.png}}\n  \\caption{{{}}}\n\\end{{figure}}\n```\n",
            first.stem,
            first.caption.replace('`', "")
        ));
    }
    write_atomically(&output.join("index.md"), md.as_bytes())?;

    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}} img{{max-width:100%;border:1px solid #ddd}} figure{{margin:1.5em 0}} figcaption{{color:#333}}</style>\n</head>\n<body>\n<h1>{title}</h1>\n<h2>Tables</h2>\n<ul>\n",
        title = html_escape(name)
    );
    for t in tables {
        html.push_str(&format!(
            "<li><b>{}</b>: {} {}</li>\n",
            t.name,
            t.html_links(),
            html_escape(t.caption)
        ));
    }
    html.push_str("</ul>\n<h2>Charts</h2>\n");
    let mut kind = "";
    for c in charts {
        if c.kind != kind {
            kind = c.kind;
            html.push_str(&format!("<h3>{kind}</h3>\n"));
        }
        html.push_str(&format!(
            "<figure><a href=\"charts/{stem}.svg\"><img src=\"charts/{stem}.png\" alt=\"{stem}\"></a><figcaption>{caption}</figcaption></figure>\n",
            stem = c.stem,
            caption = html_escape(&c.caption)
        ));
    }
    html.push_str("</body>\n</html>\n");
    write_atomically(&output.join("index.html"), html.as_bytes())
}
