//! Paper-ready charts with `plotters`, each written as SVG and PNG (atomically).
//!
//! Figures are sized for a paper's column (1050 px wide: 3.5 in at 300 dpi) with text drawn
//! from the bundled DejaVu Sans (no system fonts needed), the Okabe–Ito colour-blind-safe
//! palette for categories and a blue–white–red diverging map centred on 0 for signed weights.
//! Category axes are horizontal bars, so long feature names never overlap. The same data give
//! byte-identical SVG.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};
use crate::fs::write_atomically;

/// The font every chart uses (DejaVu Sans, Bitstream Vera license: `fonts/LICENSE-DejaVu.txt`).
const FONT_BYTES: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
/// The family name charts ask for.
pub(crate) const FONT: &str = "DejaVu Sans";

/// Okabe & Ito (2008), colour-blind safe; black last.
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(240, 228, 66),  // yellow
    RGBColor(0, 0, 0),       // black
];

/// Colour of audio features in charts.
pub const AUDIO: RGBColor = PALETTE[0];
/// Colour of lyric features in charts.
pub const LYRICS: RGBColor = PALETTE[1];

/// Registers the bundled font once.
pub(crate) fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Internal(
            "the bundled chart font could not be loaded".into(),
        ))
    }
}

/// A text style of `size` px in the chart font.
pub(crate) fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font())
}

/// Blue (negative) – white (0) – red (positive), `v` in [-1, 1] (ColorBrewer RdBu ends).
pub(crate) fn diverging(v: f64) -> RGBColor {
    let v = if v.is_finite() {
        v.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let (end, t) = if v < 0.0 {
        ((33.0, 102.0, 172.0), -v)
    } else {
        ((178.0, 24.0, 43.0), v)
    };
    let mix = |a: f64| (255.0 + (a - 255.0) * t).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

/// Shortens `text` to at most `max` characters with an ellipsis.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut t: String = text.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn draw_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::encoding("a chart", e)
}

/// A rendered figure: SVG text and PNG bytes of the same drawing.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The SVG document.
    pub svg: String,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
    /// Width and height in pixels.
    pub size: (u32, u32),
}

impl Chart {
    /// A line chart of `series` (name, `(x, y)` points), one colour each: for notebooks.
    pub fn lines(
        title: &str,
        axes: (&str, &str),
        series: &[(String, Vec<(f64, f64)>)],
    ) -> Result<Chart> {
        let lines: Vec<Line> = series
            .iter()
            .enumerate()
            .map(|(i, (name, points))| Line {
                name: name.clone(),
                points: points.iter().map(|&(x, y)| (x, y, f64::NAN)).collect(),
                color: PALETTE[i % PALETTE.len()],
            })
            .collect();
        render_chart!((1050, 700), |root| draw_lines(&root, title, axes, &lines))
    }

    /// Writes `<stem>.svg` and `<stem>.png` into `dir`, each atomically.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<()> {
        write_atomically(&dir.join(format!("{stem}.svg")), self.svg.as_bytes())?;
        write_atomically(&dir.join(format!("{stem}.png")), &self.png)
    }
}

/// Renders one figure to a [`Chart`] (SVG and PNG) in memory; evaluates to `Result<Chart>`.
/// `$draw` is an expression using `$root` (a `&DrawingArea<_, Shift>`) that returns
/// `Result<()>`; it is expanded once per backend.
macro_rules! render_chart {
    ($size:expr, |$root:ident| $draw:expr) => {
        (|| -> $crate::error::Result<$crate::report::charts::Chart> {
            let size: (u32, u32) = $size;
            $crate::report::charts::register_font()?;
            let mut svg = String::new();
            $crate::report::charts::draw_on!(
                plotters::prelude::SVGBackend::with_string(&mut svg, size),
                |$root| $draw
            );
            let mut pixels = vec![255u8; (size.0 * size.1 * 3) as usize];
            $crate::report::charts::draw_on!(
                plotters::prelude::BitMapBackend::with_buffer(&mut pixels, size),
                |$root| $draw
            );
            Ok($crate::report::charts::Chart {
                svg,
                png: $crate::report::charts::encode_png(&pixels, size)?,
                size,
            })
        })()
    };
}
pub(crate) use render_chart;

/// Draws `$draw` on a white `$backend` and presents it, inside [`render_chart!`]'s closure.
macro_rules! draw_on {
    ($backend:expr, |$root:ident| $draw:expr) => {{
        let $root = plotters::prelude::IntoDrawingArea::into_drawing_area($backend);
        $root
            .fill(&plotters::style::colors::WHITE)
            .map_err($crate::report::charts::drawing_error)?;
        let result: $crate::error::Result<()> = $draw;
        result?;
        $root
            .present()
            .map_err($crate::report::charts::drawing_error)?;
    }};
}
pub(crate) use draw_on;

/// Renders one figure and writes it as `<dir>/<stem>.svg` and `.png` (see [`render_chart!`]).
macro_rules! render_figure {
    ($dir:expr, $stem:expr, $size:expr, |$root:ident| $draw:expr) => {{
        let (dir, stem): (&std::path::Path, &str) = ($dir, $stem);
        $crate::report::charts::render_chart!($size, |$root| $draw)?.write(dir, stem)
    }};
}
pub(crate) use render_figure;

/// Converts a plotters error.
pub(crate) fn drawing_error<E: std::fmt::Debug>(e: E) -> Error {
    draw_err(e)
}

/// RGB pixels encoded as a PNG file's bytes.
pub(crate) fn encode_png(pixels: &[u8], size: (u32, u32)) -> Result<Vec<u8>> {
    use image::ImageEncoder;
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(pixels, size.0, size.1, image::ColorType::Rgb8)
        .map_err(|e| Error::encoding("a PNG", e))?;
    Ok(bytes)
}

/// One horizontal bar: label, value, colour, optional 95% CI half-width.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    /// Category label (truncated to fit).
    pub label: String,
    /// Bar length (may be negative).
    pub value: f64,
    /// Fill colour.
    pub color: RGBColor,
    /// Error bar half-width, drawn when finite.
    pub ci: Option<f64>,
}

/// Horizontal bars, first bar on top, with a labelled value axis and optional error bars.
pub(crate) fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    value_axis: &str,
    bars: &[Bar],
) -> Result<()> {
    let n = bars.len().max(1);
    let extent = |b: &Bar| {
        let ci = b.ci.filter(|c| c.is_finite()).unwrap_or(0.0);
        (b.value - ci, b.value + ci)
    };
    let lo = bars
        .iter()
        .map(|b| extent(b).0)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::min);
    let hi = bars
        .iter()
        .map(|b| extent(b).1)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let pad = ((hi - lo) * 0.05).max(1e-9);
    let (lo, hi) = (if lo < 0.0 { lo - pad } else { 0.0 }, hi + pad);
    let labels: Vec<String> = bars.iter().map(|b| truncate(&b.label, 24)).collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4) as u32 * 15 + 20;
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(30.0))
        .margin(16)
        .x_label_area_size(70)
        .y_label_area_size(label_width.min(400))
        .build_cartesian_2d(lo..hi, (0..n as i32 - 1).into_segmented())
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_max_light_lines(0)
        .bold_line_style(RGBColor(225, 225, 225))
        .x_desc(value_axis)
        .x_labels(5)
        .y_labels(n)
        .label_style(font(24.0))
        .axis_desc_style(font(26.0))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels
                .get(n - 1 - (*i as usize).min(n - 1))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(draw_err)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let row = (n - 1 - i) as i32;
            let value = if b.value.is_finite() { b.value } else { 0.0 };
            let mut rect = Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(row)),
                    (value, SegmentValue::Exact(row + 1)),
                ],
                b.color.filled(),
            );
            rect.set_margin(6, 6, 0, 0);
            rect
        }))
        .map_err(draw_err)?;
    chart
        .draw_series(bars.iter().enumerate().filter_map(|(i, b)| {
            let ci = b.ci.filter(|c| c.is_finite() && b.value.is_finite())?;
            let row = (n - 1 - i) as i32;
            Some(ErrorBar::new_horizontal(
                SegmentValue::CenterOf(row),
                b.value - ci,
                b.value,
                b.value + ci,
                BLACK.stroke_width(2),
                12,
            ))
        }))
        .map_err(draw_err)?;
    Ok(())
}

/// A heat map of signed values, `rows × columns`, centred on 0 (blue negative, red positive),
/// with row and column labels and the colour scale's end written in the title.
pub(crate) fn draw_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    column_axis: &str,
    row_labels: &[String],
    values: &[Vec<f64>],
) -> Result<()> {
    let rows = row_labels.len().max(1);
    let columns = values.first().map_or(1, |r| r.len().max(1));
    let scale = values
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let caption = format!("{title} (±{})", format_value(scale));
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(30.0))
        .margin(16)
        .x_label_area_size(70)
        .y_label_area_size(130)
        .build_cartesian_2d(
            (0..columns as i32 - 1).into_segmented(),
            (0..rows as i32 - 1).into_segmented(),
        )
        .map_err(draw_err)?;
    let step = columns.div_ceil(10).max(1);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(column_axis)
        .x_labels(columns)
        .y_labels(rows)
        .label_style(font(24.0))
        .axis_desc_style(font(26.0))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) if (*i as usize) % step == 0 => i.to_string(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => row_labels
                .get(rows - 1 - (*i as usize).min(rows - 1))
                .map(|l| truncate(l, 9))
                .unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(draw_err)?;
    chart
        .draw_series(values.iter().enumerate().flat_map(|(r, row)| {
            let y = (rows - 1 - r) as i32;
            row.iter().enumerate().map(move |(c, v)| {
                let t = if scale > 0.0 { v / scale } else { 0.0 };
                Rectangle::new(
                    [
                        (SegmentValue::Exact(c as i32), SegmentValue::Exact(y)),
                        (
                            SegmentValue::Exact(c as i32 + 1),
                            SegmentValue::Exact(y + 1),
                        ),
                    ],
                    diverging(t).filled(),
                )
            })
        }))
        .map_err(draw_err)?;
    Ok(())
}

/// One line of a line chart.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// Legend entry.
    pub name: String,
    /// `(x, y, 95% CI half-width)` points.
    pub points: Vec<(f64, f64, f64)>,
    /// Colour.
    pub color: RGBColor,
}

/// Lines with markers, error bars where the CI is finite, and a legend.
pub(crate) fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    (x_axis, y_axis): (&str, &str),
    lines: &[Line],
) -> Result<()> {
    // The legend gets its own column on the right, so it never hides data.
    let (width, _) = area.dim_in_pixel();
    let legend_width = (lines
        .iter()
        .map(|l| truncate(&l.name, 22).chars().count())
        .max()
        .unwrap_or(6) as u32
        * 12
        + 64)
        .min(width / 3);
    let (area, legend_area) = area.split_horizontally(width - legend_width);
    let area = &area;
    let finite = |v: f64| v.is_finite();
    let xs: Vec<f64> = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .filter(|v| finite(*v))
        .collect();
    let ys: Vec<f64> = lines
        .iter()
        .flat_map(|l| {
            l.points.iter().flat_map(|p| {
                let ci = if p.2.is_finite() { p.2 } else { 0.0 };
                [p.1 - ci, p.1 + ci]
            })
        })
        .filter(|v| finite(*v))
        .collect();
    let (x0, x1) = bounds(&xs);
    let (y0, y1) = bounds(&ys);
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(30.0))
        .margin(16)
        .x_label_area_size(70)
        .y_label_area_size(90)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_max_light_lines(0)
        .y_max_light_lines(0)
        .bold_line_style(RGBColor(225, 225, 225))
        .x_desc(x_axis)
        .y_desc(y_axis)
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|v| format_value(*v))
        .y_label_formatter(&|v| format_value(*v))
        .label_style(font(24.0))
        .axis_desc_style(font(26.0))
        .draw()
        .map_err(draw_err)?;
    for line in lines {
        let style = line.color.stroke_width(3);
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .filter(|p| finite(p.0) && finite(p.1))
            .map(|p| (p.0, p.1))
            .collect();
        let color = line.color;
        chart
            .draw_series(LineSeries::new(points.clone(), style))
            .map_err(draw_err)?
            .label(truncate(&line.name, 22))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 30, y)], color.stroke_width(3))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 5, color.filled())))
            .map_err(draw_err)?;
        chart
            .draw_series(
                line.points
                    .iter()
                    .filter(|p| finite(p.1) && p.2.is_finite() && p.2 > 0.0)
                    .map(|p| {
                        ErrorBar::new_vertical(
                            p.0,
                            p.1 - p.2,
                            p.1,
                            p.1 + p.2,
                            color.stroke_width(2),
                            10,
                        )
                    }),
            )
            .map_err(draw_err)?;
    }
    for (i, line) in lines.iter().enumerate() {
        let y = 90 + 36 * i as i32;
        legend_area
            .draw(&PathElement::new(
                vec![(8, y), (44, y)],
                line.color.stroke_width(4),
            ))
            .map_err(draw_err)?;
        legend_area
            .draw(&Text::new(
                truncate(&line.name, 22),
                (52, y - 12),
                font(22.0),
            ))
            .map_err(draw_err)?;
    }
    Ok(())
}

fn bounds(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(1e-6);
    (lo - pad, hi + pad)
}

/// A compact number for axes and titles: 3 significant digits, no trailing zeros.
pub(crate) fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-3..5).contains(&magnitude) {
        return format!("{v:.1e}");
    }
    let decimals = (2 - magnitude).clamp(0, 6) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diverging_map_is_white_at_zero_and_saturated_at_the_ends() {
        assert_eq!(diverging(0.0), RGBColor(255, 255, 255));
        assert_eq!(diverging(1.0), RGBColor(178, 24, 43));
        assert_eq!(diverging(-1.0), RGBColor(33, 102, 172));
        assert_eq!(diverging(f64::NAN), RGBColor(255, 255, 255));
    }

    #[test]
    fn values_and_labels_are_compact() {
        assert_eq!(format_value(0.123456), "0.123");
        assert_eq!(format_value(250.0), "250");
        assert_eq!(format_value(1e-5), "1.0e-5");
        assert_eq!(truncate("a-very-long-feature-name", 8), "a-very-…");
    }

    #[test]
    fn text_renders_from_the_bundled_font_and_svg_is_reproducible() {
        let dir = tempfile::tempdir().unwrap();
        let bars = vec![
            Bar {
                label: "drums3".into(),
                value: 0.4,
                color: AUDIO,
                ci: Some(0.05),
            },
            Bar {
                label: "fire".into(),
                value: -0.2,
                color: LYRICS,
                ci: None,
            },
        ];
        let draw = || -> Result<()> {
            render_figure!(dir.path(), "bars", (1050, 500), |root| draw_bars(
                &root,
                "Title text",
                "weight",
                &bars
            ))
        };
        draw().unwrap();
        let first = std::fs::read(dir.path().join("bars.svg")).unwrap();
        draw().unwrap();
        assert_eq!(first, std::fs::read(dir.path().join("bars.svg")).unwrap());
        // The title's band of the PNG holds dark pixels: the text was drawn without any
        // system font.
        let png = image::open(dir.path().join("bars.png")).unwrap().to_rgb8();
        let dark = (0..png.width())
            .flat_map(|x| (0..50).map(move |y| (x, y)))
            .filter(|&(x, y)| png.get_pixel(x, y).0.iter().all(|&c| c < 100))
            .count();
        assert!(dark > 50, "{dark} dark pixels in the title band");
        let svg = String::from_utf8(first).unwrap();
        assert!(svg.contains("Title text") && svg.contains("drums3"));
    }
}
