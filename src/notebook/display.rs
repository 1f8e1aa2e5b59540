//! Rich display of results: HTML for explanations, tables, runs and audio players, SVG and PNG
//! for charts. With the `notebook` feature (on by default) every type here, [`Explanation`] and
//! [`Chart`] have an `evcxr_display` method, so the evcxr Jupyter kernel shows the last value of
//! a cell this way; the `to_html` methods work without it (and are what the tests check).

use std::path::PathBuf;

use base64::Engine;
use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::experiment::charts::{explanation_chart, TOP_FEATURES};
use crate::explanation::{stability_note, Explanation};
use crate::report::charts::Chart;
use crate::report::tables::{html_escape, to_html, TableStyle};

/// Base64 (standard alphabet, padded), for `data:` URLs.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Sends `content` to the notebook as `mime` (evcxr's display protocol).
#[cfg(feature = "notebook")]
fn show(mime: &str, content: &str) {
    evcxr_runtime::mime_type(mime).text(content);
}

/// A named table (a Polars `DataFrame`) that displays as HTML.
#[derive(Debug, Clone)]
pub struct Table {
    /// What the table is (shown as its caption).
    pub name: String,
    /// The data.
    pub frame: DataFrame,
}

impl Table {
    /// A table named `name`.
    pub fn new(name: impl Into<String>, frame: DataFrame) -> Self {
        Table {
            name: name.into(),
            frame,
        }
    }

    /// Reads `<dir>/<name>.parquet`, as the runner writes its tables.
    pub fn read(dir: &std::path::Path, name: &str) -> Result<Self> {
        use polars::prelude::{ParquetReader, SerReader};
        let path = dir.join(format!("{name}.parquet"));
        let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let frame = ParquetReader::new(file)
            .finish()
            .map_err(|e| Error::in_file(&path, format!("not a readable table: {e}")))?;
        Ok(Table::new(name, frame))
    }

    /// Column `name` as numbers (strings are parsed; missing or unparsable values are NaN).
    pub fn column_f64(&self, name: &str) -> Result<Vec<f64>> {
        let values = self.column_as(name, &polars::prelude::DataType::Float64)?;
        let values = values
            .f64()
            .map_err(|e| Error::input(&self.name, format!("column `{name}`: {e}")))?;
        Ok(values.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
    }

    /// Column `name` as text.
    pub(crate) fn column_str(&self, name: &str) -> Result<Vec<String>> {
        let values = self.column_as(name, &polars::prelude::DataType::String)?;
        let values = values
            .str()
            .map_err(|e| Error::input(&self.name, format!("column `{name}`: {e}")))?;
        Ok(values
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    }

    /// Column `name` cast to `dtype`; a missing column is an error listing the columns.
    fn column_as(
        &self,
        name: &str,
        dtype: &polars::prelude::DataType,
    ) -> Result<polars::prelude::Column> {
        let column = self.frame.column(name).map_err(|_| {
            let names: Vec<String> = self
                .frame
                .get_column_names()
                .iter()
                .map(|c| c.to_string())
                .collect();
            Error::input(
                &self.name,
                format!(
                    "has no column `{name}`; its columns are: {}",
                    names.join(", ")
                ),
            )
        })?;
        column
            .cast(dtype)
            .map_err(|e| Error::input(&self.name, format!("column `{name}`: {e}")))
    }

    /// The table as HTML with its name as caption (up to `max_rows` rows; the caption says
    /// how many there are).
    pub(crate) fn to_html_rows(&self, max_rows: usize) -> String {
        let shown = self.frame.head(Some(max_rows));
        let more = if self.frame.height() > max_rows {
            format!(" (first {max_rows} of {} rows)", self.frame.height())
        } else {
            String::new()
        };
        format!(
            "<div><p><b>{}</b>{more}</p>{}</div>",
            html_escape(&self.name),
            to_html(&shown, &TableStyle::default())
        )
    }

    /// The table as HTML (up to 50 rows).
    pub fn to_html(&self) -> String {
        self.to_html_rows(50)
    }

    /// Shows the table in the notebook.
    #[cfg(feature = "notebook")]
    pub fn evcxr_display(&self) {
        show("text/html", &self.to_html());
    }
}

impl Chart {
    /// An `<img>` of the PNG, for embedding in HTML.
    pub fn to_html(&self) -> String {
        format!(
            "<img style=\"max-width: 100%\" width=\"{}\" src=\"data:image/png;base64,{}\"/>",
            self.size.0 / 2,
            base64(&self.png)
        )
    }

    /// Shows the chart in the notebook, as SVG and as PNG.
    #[cfg(feature = "notebook")]
    pub fn evcxr_display(&self) {
        show("image/svg+xml", &self.svg);
        show("image/png", &base64(&self.png));
    }
}

/// Shows a Polars `DataFrame` as an HTML table when it is the last value of a notebook cell
/// (the prelude brings this trait into scope).
#[cfg(feature = "notebook")]
pub trait DataFrameDisplay {
    /// Sends the frame to the notebook as an HTML table (up to 50 rows).
    fn evcxr_display(&self);
}

#[cfg(feature = "notebook")]
impl DataFrameDisplay for DataFrame {
    fn evcxr_display(&self) {
        show(
            "text/html",
            &Table::new("DataFrame", self.clone()).to_html(),
        );
    }
}

/// A mono excerpt that displays as an HTML audio player.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioClip {
    /// What it is (shown above the player).
    pub title: String,
    /// Mono samples.
    pub samples: Vec<f32>,
    /// Samples per second.
    pub sample_rate: u32,
}

impl AudioClip {
    /// The clip as a 16-bit PCM WAV file's bytes (samples clipped to [-1, 1]).
    pub(crate) fn to_wav(&self) -> Result<Vec<u8>> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: self.sample_rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut bytes = std::io::Cursor::new(Vec::new());
        let fail = |e: hound::Error| Error::encoding("a WAV in memory", e);
        let mut writer = hound::WavWriter::new(&mut bytes, spec).map_err(fail)?;
        for &s in &self.samples {
            writer
                .write_sample((s.clamp(-1.0, 1.0) * i16::MAX as f32).round() as i16)
                .map_err(fail)?;
        }
        writer.finalize().map_err(fail)?;
        Ok(bytes.into_inner())
    }

    /// An HTML audio player with the clip inline (base64 WAV).
    pub fn to_html(&self) -> Result<String> {
        Ok(format!(
            "<div><p>{} ({:.1} s)</p><audio controls src=\"data:audio/wav;base64,{}\"></audio></div>",
            html_escape(&self.title),
            self.samples.len() as f64 / self.sample_rate.max(1) as f64,
            base64(&self.to_wav()?)
        ))
    }

    /// Shows the player in the notebook.
    #[cfg(feature = "notebook")]
    pub fn evcxr_display(&self) {
        match self.to_html() {
            Ok(html) => show("text/html", &html),
            Err(e) => eprintln!("{e}"),
        }
    }
}

impl Explanation {
    /// The chart of explained label `label` (a class index): audio weights as a heat map of
    /// sources × segments beside the top features.
    pub fn chart(&self, label: usize) -> Result<Chart> {
        let l = self
            .labels
            .iter()
            .find(|l| l.label == label)
            .ok_or_else(|| {
                Error::input(
                    "chart",
                    format!(
                        "label {label} is not explained; explained: {:?}",
                        self.labels.iter().map(|l| l.label).collect::<Vec<_>>()
                    ),
                )
            })?;
        let half_widths = l.fit.uncertainty.as_ref().map(|u| u.half_widths.as_slice());
        explanation_chart(
            &l.display_name(),
            &self.features,
            &l.fit.weights,
            half_widths,
        )
    }

    /// Per explained label: its output and fit, a table of the top features and its chart.
    pub fn to_html(&self) -> String {
        let mut out = format!(
            "<div><p><b>Explanation</b> ({} samples, {} features)</p>",
            self.num_samples,
            self.features.len()
        );
        for l in &self.labels {
            let name = l.display_name();
            out.push_str(&format!(
                "<p><b>{}</b> (class {}): model output {:.4}, surrogate R² {:.4}, local prediction {:.4}, intercept {:.4}</p>",
                html_escape(&name),
                l.label,
                l.model_output,
                l.fit.score,
                l.fit.local_pred,
                l.fit.intercept
            ));
            if let Some(note) = l.fit.uncertainty.as_ref().and_then(stability_note) {
                out.push_str(&format!("<p>{}</p>", html_escape(&note)));
            }
            out.push_str("<table class=\"musiclime\"><thead><tr><th>rank</th><th>feature</th><th>modality</th><th>weight</th><th>95% interval</th></tr></thead><tbody>");
            for (rank, (j, w)) in l.fit.weights.iter().take(TOP_FEATURES).enumerate() {
                let Some(f) = self.features.get(*j) else {
                    continue;
                };
                let color = if *w >= 0.0 { "#b2182b" } else { "#2166ac" };
                let half_width = l
                    .fit
                    .uncertainty
                    .as_ref()
                    .and_then(|u| u.half_widths.get(rank));
                let interval = match half_width {
                    Some(h) => format!("[{:+.5}, {:+.5}]", w - h, w + h),
                    None => String::new(),
                };
                out.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"color:{color}\">{w:+.5}</td><td>{interval}</td></tr>",
                    rank + 1,
                    html_escape(&f.name),
                    f.modality.as_str()
                ));
            }
            out.push_str("</tbody></table>");
            match self.chart(l.label) {
                Ok(chart) => out.push_str(&chart.to_html()),
                Err(e) => out.push_str(&format!(
                    "<p>(no chart: {})</p>",
                    html_escape(&e.to_string())
                )),
            }
        }
        out.push_str("</div>");
        out
    }

    /// Shows the explanation in the notebook.
    #[cfg(feature = "notebook")]
    pub fn evcxr_display(&self) {
        show("text/html", &self.to_html());
    }
}

/// The results of an experiment run: where they are, the summary and the charts.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The output directory (tables under `tables/`, charts under `charts/`).
    pub output: PathBuf,
    /// Units in the experiment.
    pub units: usize,
    /// Units taken from the store.
    pub resumed: usize,
    /// Instances skipped, with the reason.
    pub failures: Vec<(String, String)>,
}

impl RunResult {
    /// Table `name` of the run (`summary`, `metrics`, `explanations`, `accuracy`, `global`,
    /// `stability`, `timings`, …).
    pub fn table(&self, name: &str) -> Result<Table> {
        Table::read(&self.output.join("tables"), name)
    }

    /// The run's `summary` table as a DataFrame.
    pub fn summary(&self) -> Result<DataFrame> {
        Ok(self.table("summary")?.frame)
    }

    /// The mean wall time of one explanation (unit) per row of the summary: columns
    /// `explainer`, `cell` and `seconds`, in the summary's row order. Not reproducible (it
    /// measures this machine), which is why the summary leaves it out.
    pub fn costs(&self) -> Result<Table> {
        use polars::prelude::Column;
        let timings = self.table("timings")?;
        let (explainers, cells, seconds) = (
            timings.column_str("explainer")?,
            timings.column_str("cell")?,
            timings.column_f64("seconds")?,
        );
        let mut sums: std::collections::BTreeMap<(String, String), (f64, usize)> =
            Default::default();
        for ((e, c), s) in explainers.into_iter().zip(cells).zip(seconds) {
            let entry = sums.entry((e, c)).or_insert((0.0, 0));
            entry.0 += s;
            entry.1 += 1;
        }
        let summary = self.table("summary")?;
        let (explainers, cells) = (
            summary.column_str("explainer")?,
            summary.column_str("cell")?,
        );
        let seconds: Vec<f64> = explainers
            .iter()
            .zip(&cells)
            .map(|(e, c)| {
                sums.get(&(e.clone(), c.clone()))
                    .map_or(f64::NAN, |(s, n)| s / *n as f64)
            })
            .collect();
        let frame = DataFrame::new(
            seconds.len(),
            vec![
                Column::new("explainer".into(), explainers),
                Column::new("cell".into(), cells),
                Column::new("seconds".into(), seconds),
            ],
        )
        .map_err(Error::table)?;
        Ok(Table::new("seconds per explanation", frame))
    }

    /// The names of the run's charts (stems of `charts/*.png`), sorted.
    pub fn chart_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.output.join("charts"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        name.strip_suffix(".png").map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Chart `name` of the run (see [`chart_names`](Self::chart_names)).
    pub fn chart(&self, name: &str) -> Result<Chart> {
        let dir = self.output.join("charts");
        let svg_path = dir.join(format!("{name}.svg"));
        let png_path = dir.join(format!("{name}.png"));
        let svg = std::fs::read_to_string(&svg_path).map_err(|e| Error::io(&svg_path, e))?;
        let png = std::fs::read(&png_path).map_err(|e| Error::io(&png_path, e))?;
        let size = png_size(&png).unwrap_or((1050, 760));
        Ok(Chart { svg, png, size })
    }

    /// The summary table and the comparison and ablation charts, as HTML.
    pub fn to_html(&self) -> String {
        let mut out = format!(
            "<div><p><b>Run</b> {}: {} units ({} from the store){}</p>",
            html_escape(&self.output.display().to_string()),
            self.units,
            self.resumed,
            if self.failures.is_empty() {
                String::new()
            } else {
                format!(", {} instances skipped", self.failures.len())
            }
        );
        match self.table("summary") {
            Ok(t) => out.push_str(&t.to_html()),
            Err(e) => out.push_str(&format!("<p>{}</p>", html_escape(&e.to_string()))),
        }
        for name in self
            .chart_names()
            .iter()
            .filter(|n| n.starts_with("compare_") || n.starts_with("ablation_"))
        {
            if let Ok(chart) = self.chart(name) {
                out.push_str(&chart.to_html());
            }
        }
        out.push_str("</div>");
        out
    }

    /// Shows the run in the notebook.
    #[cfg(feature = "notebook")]
    pub fn evcxr_display(&self) {
        show("text/html", &self.to_html());
    }
}

/// Width and height from a PNG's header.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(png.get(at..at + 4)?.try_into().ok()?))
    };
    Some((word(16)?, word(20)?))
}
