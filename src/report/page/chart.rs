//! The charts of the report pages: line charts (values per epoch) and
//! scatter charts (a swept value against a metric).
//!
//! plotters draws each chart's frame — axes, ticks, tick labels, axis
//! names and the vertical marks (best epoch, early stop) — as SVG, the
//! same way it draws `curves.svg`. The series themselves are written here,
//! one `<g class="series">` each (a `<polyline>` per unbroken run of finite
//! values, or a `<circle>` per point), so the page's script and its tests
//! can find them, and the values go into the page as JSON for the hover
//! read-out. Without the script the chart is still complete.

use super::html::escape;
use crate::error::{Error, Result};
use crate::report::curves;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;
use std::fmt::Write;

/// Pixel size of one chart (its `viewBox`; the page scales it to fit).
pub(crate) const SIZE: (u32, u32) = (420, 280);

/// Matplotlib's `tab10`, the colours of the book's Keras plots.
pub(crate) const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// The colour of series `i`, cycling through [`PALETTE`].
pub(crate) fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Points joined in order of x; a non-finite value leaves a gap.
    Line,
    /// One dot per point.
    Scatter,
}

/// One series: its name (shown in the legend and the hover read-out),
/// colour (`#rrggbb`), whether it is dashed, and its points; a point whose
/// y is not finite is not drawn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub name: String,
    pub colour: String,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
    /// A label per point for the hover read-out of a scatter chart.
    pub labels: Vec<String>,
}

impl Series {
    pub(crate) fn new(name: &str, colour: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.to_string(),
            colour: colour.to_string(),
            dashed: false,
            points,
            labels: Vec::new(),
        }
    }
}

/// A vertical line at `x` (the best epoch, an early stop), named in the legend.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mark {
    pub x: f64,
    pub label: String,
    pub colour: RGBColor,
    pub dashed: bool,
}

/// A chart to draw.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chart {
    /// The element id (`chart-loss`); unique in the page.
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub kind: Kind,
    pub series: Vec<Series>,
    pub marks: Vec<Mark>,
    /// Keep y within [0, 1] (accuracies).
    pub unit_y: bool,
    /// Logarithmic axes (used when every value is positive and they span
    /// more than a decade: learning rates).
    pub log_x: bool,
    pub log_y: bool,
}

impl Chart {
    pub(crate) fn new(id: &str, title: &str, x_label: &str, y_label: &str, kind: Kind) -> Chart {
        Chart {
            id: id.to_string(),
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            kind,
            series: Vec::new(),
            marks: Vec::new(),
            unit_y: false,
            log_x: false,
            log_y: false,
        }
    }

    /// Whether any series has a finite point.
    pub(crate) fn has_data(&self) -> bool {
        self.series
            .iter()
            .any(|s| s.points.iter().any(|p| p.0.is_finite() && p.1.is_finite()))
    }
}

/// Whether values (all positive, spanning a factor of 10 or more: learning
/// rates) read better on a logarithmic axis.
pub(crate) fn wants_log(values: impl IntoIterator<Item = f64>) -> bool {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        if v <= 0.0 {
            return false;
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    lo.is_finite() && hi / lo >= 10.0
}

/// How data coordinates map to the SVG's pixels: x pixel = `px.0` at
/// `x.0` and `px.1` at `x.1`, linearly (in log10 of the value on a log
/// axis), likewise y.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Mapping {
    pub x: (f64, f64),
    pub y: (f64, f64),
    pub px: (f64, f64),
    pub py: (f64, f64),
    pub logx: bool,
    pub logy: bool,
}

impl Mapping {
    fn axis(v: f64, log: bool, from: (f64, f64), to: (f64, f64)) -> f64 {
        let v = if log { v.log10() } else { v };
        if from.1 == from.0 {
            return (to.0 + to.1) / 2.0;
        }
        to.0 + (v - from.0) / (from.1 - from.0) * (to.1 - to.0)
    }

    /// The pixel of a data point.
    pub(crate) fn pixel(&self, x: f64, y: f64) -> (f64, f64) {
        (
            Self::axis(x, self.logx, self.x, self.px),
            Self::axis(y, self.logy, self.y, self.py),
        )
    }
}

/// What the page's script reads for one chart.
#[derive(Debug, Serialize)]
pub(crate) struct ChartData<'a> {
    pub kind: &'static str,
    pub xlabel: &'a str,
    pub ylabel: &'a str,
    pub map: Mapping,
    pub series: Vec<SeriesData<'a>>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SeriesData<'a> {
    pub name: &'a str,
    pub colour: &'a str,
    pub x: Vec<f64>,
    /// `f32`, so the page carries 8 digits instead of 17 (the read-out
    /// shows 4); `null` where the value is not finite.
    pub y: Vec<Option<f32>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub labels: &'a [String],
}

/// A drawn chart: the SVG element and the data for the script.
pub(crate) struct Rendered<'a> {
    pub svg: String,
    pub data: ChartData<'a>,
}

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> Error {
    Error::Runtime(format!("cannot draw a chart of the report: {e}"))
}

/// The padded range of the finite values (log10 of them on a log axis);
/// a flat series gets a range around its value; `unit` keeps it in [0, 1].
fn range(values: impl Iterator<Item = f64>, log: bool, unit: bool, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .map(|v| if log { v.log10() } else { v })
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let d = if log {
            0.5
        } else if lo.abs() > 1e-12 {
            lo.abs() * 0.1
        } else {
            0.5
        };
        lo -= d;
        hi += d;
    } else {
        let d = (hi - lo) * pad;
        lo -= d;
        hi += d;
    }
    if unit && !log {
        lo = lo.max(0.0);
        hi = hi.min(1.0);
    }
    (lo, hi)
}

/// A tick label: as many decimals as tell ticks about a fifth of `span`
/// apart; on a log axis the value itself (`1e-4`, `3.2e-3`).
fn tick(v: f64, span: f64, log: bool) -> String {
    if log {
        let x = 10f64.powf(v);
        let rounded: f64 = format!("{x:.1e}").parse().unwrap_or(x);
        return crate::plan::summary::written_num(rounded);
    }
    let step = span / 5.0;
    let decimals = if step > 0.0 && step.is_finite() {
        (-step.log10().floor()).clamp(0.0, 8.0) as usize
    } else {
        0
    };
    let s = format!("{v:.decimals$}");
    // `-0.00` → `0.00`
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// Draws the chart: the SVG element (frame by plotters, series by
/// [`series_svg`]) and its data.
pub(crate) fn render(chart: &Chart) -> Result<Rendered<'_>> {
    curves::register_font()?;
    // A scatter's range covers the points it draws; a line chart's every
    // epoch, so a run that diverged shows where.
    let scatter = chart.kind == Kind::Scatter;
    let xs = || {
        chart.series.iter().flat_map(move |s| {
            s.points
                .iter()
                .filter(move |p| !scatter || p.1.is_finite())
                .map(|p| p.0)
        })
    };
    let ys = || {
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
    };
    let (x0, x1) = match chart.kind {
        Kind::Line => range(xs(), chart.log_x, false, 0.0),
        Kind::Scatter => range(xs(), chart.log_x, false, 0.08),
    };
    let (y0, y1) = range(ys(), chart.log_y, chart.unit_y, 0.05);
    let mut svg = String::new();
    let mapping;
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        mapping = frame(&root, chart, (x0, x1), (y0, y1)).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    let body = series_svg(chart, &mapping);
    let open_end = svg.find('>').map_or(0, |i| i + 1);
    let close = svg.rfind("</svg>").unwrap_or(svg.len());
    let (w, h) = SIZE;
    let out = format!(
        "<svg class=\"chart\" id=\"{}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\">{}{body}</svg>",
        escape(&chart.id),
        escape(&format!(
            "{}: {} by {}",
            chart.title, chart.y_label, chart.x_label
        )),
        svg[open_end..close].trim(),
    );
    let data = ChartData {
        kind: match chart.kind {
            Kind::Line => "line",
            Kind::Scatter => "scatter",
        },
        xlabel: &chart.x_label,
        ylabel: &chart.y_label,
        map: mapping,
        series: chart
            .series
            .iter()
            .map(|s| SeriesData {
                name: &s.name,
                colour: &s.colour,
                x: s.points.iter().map(|p| p.0).collect(),
                y: s.points
                    .iter()
                    .map(|p| Some(p.1 as f32).filter(|v| v.is_finite()))
                    .collect(),
                labels: &s.labels,
            })
            .collect(),
    };
    Ok(Rendered { svg: out, data })
}

fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> std::result::Result<Mapping, DrawingAreaErrorKind<DB::ErrorType>> {
    let family = curves::FAMILY;
    root.fill(&WHITE)?;
    let (log_x, log_y) = (chart.log_x, chart.log_y);
    let (xspan, yspan) = (x1 - x0, y1 - y0);
    // Room for the longest tick label (the chart's title names the y axis).
    let widest = [y0, y1, (y0 + y1) / 2.0]
        .iter()
        .map(|&y| tick(y, yspan, log_y).chars().count())
        .max()
        .unwrap_or(1) as u32;
    let mut c = ChartBuilder::on(root)
        .margin(8)
        .margin_right(14)
        .x_label_area_size(44)
        .y_label_area_size(16 + 10 * widest)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    // Epochs, seeds, unit counts: whole numbers only on the x axis.
    let integral = chart
        .series
        .iter()
        .flat_map(|s| &s.points)
        .all(|p| p.0.fract() == 0.0);
    let whole = integral && !chart.log_x && x1 - x0 >= 2.0;
    c.configure_mesh()
        .max_light_lines(0)
        .bold_line_style(BLACK.mix(0.08))
        .x_desc(chart.x_label.as_str())
        .axis_desc_style((family, 17))
        .label_style((family, 17))
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|x| {
            if whole && x.fract() != 0.0 {
                String::new()
            } else {
                tick(*x, xspan, log_x)
            }
        })
        .y_label_formatter(&|y| tick(*y, yspan, log_y))
        .draw()?;
    for m in &chart.marks {
        let x = if log_x { m.x.log10() } else { m.x };
        let line = vec![(x, y0), (x, y1)];
        if m.dashed {
            c.draw_series(DashedLineSeries::new(line, 6, 4, m.colour.stroke_width(2)))?;
        } else {
            c.draw_series(std::iter::once(PathElement::new(
                line,
                m.colour.stroke_width(2),
            )))?;
        }
    }
    let (ax, ay) = c.backend_coord(&(x0, y0));
    let (bx, by) = c.backend_coord(&(x1, y1));
    Ok(Mapping {
        x: (x0, x1),
        y: (y0, y1),
        px: (f64::from(ax), f64::from(bx)),
        py: (f64::from(ay), f64::from(by)),
        logx: log_x,
        logy: log_y,
    })
}

/// The series as SVG: a group per series, named, with a polyline per
/// unbroken run of finite points (line charts) or a circle per point.
fn series_svg(chart: &Chart, map: &Mapping) -> String {
    let mut out = String::new();
    for s in &chart.series {
        let _ = write!(
            out,
            "<g class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{}\"",
            escape(&s.name),
            escape(&s.colour)
        );
        if s.dashed {
            out.push_str(" stroke-dasharray=\"6 4\"");
        }
        out.push('>');
        let visible = |p: &(f64, f64)| {
            p.0.is_finite()
                && p.1.is_finite()
                && (!map.logx || p.0 > 0.0)
                && (!map.logy || p.1 > 0.0)
        };
        match chart.kind {
            Kind::Line => {
                let mut run: Vec<(f64, f64)> = Vec::new();
                let flush = |run: &mut Vec<(f64, f64)>, out: &mut String| {
                    if run.is_empty() {
                        return;
                    }
                    out.push_str("<polyline stroke-width=\"2\" points=\"");
                    for (i, &(x, y)) in run.iter().enumerate() {
                        let (px, py) = map.pixel(x, y);
                        let sep = if i == 0 { "" } else { " " };
                        let _ = write!(out, "{sep}{px:.1},{py:.1}");
                    }
                    out.push_str("\"/>");
                    run.clear();
                };
                for p in &s.points {
                    if visible(p) {
                        run.push(*p);
                    } else {
                        flush(&mut run, &mut out);
                    }
                }
                flush(&mut run, &mut out);
            }
            Kind::Scatter => {
                for p in s.points.iter().filter(|p| visible(p)) {
                    let (px, py) = map.pixel(p.0, p.1);
                    let _ = write!(
                        out,
                        "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"5\" fill=\"{}\" fill-opacity=\"0.8\" stroke-width=\"1\"/>",
                        escape(&s.colour)
                    );
                }
            }
        }
        out.push_str("</g>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_chart(points: Vec<(f64, f64)>) -> Chart {
        let mut c = Chart::new("chart-t", "T", "epoch", "loss", Kind::Line);
        c.series.push(Series::new("train", colour(0), points));
        c
    }

    #[test]
    fn tick_labels() {
        let t: &[(f64, f64, bool, &str)] = &[
            (0.5, 1.0, false, "0.5"),
            (-0.0001, 0.5, false, "0.0"),
            (12.0, 40.0, false, "12"),
            (0.25, 0.05, false, "0.25"),
            (0.00095, 0.0002, false, "0.00095"),
            (1.5, 2.0, false, "1.5"),
            (-3.0, 2.0, true, "0.001"),
            (-4.0, 2.0, true, "1e-4"),
            (-2.5, 2.0, true, "0.0032"),
            (0.0, 2.0, true, "1"),
        ];
        for &(v, span, log, want) in t {
            assert_eq!(tick(v, span, log), want, "{v} {span} {log}");
        }
    }

    #[test]
    fn log_only_for_positive_values_spanning_a_decade() {
        assert!(wants_log([1e-4, 1e-3, 1e-2]));
        assert!(wants_log([0.001, 0.01]));
        assert!(!wants_log([0.001, 0.005]));
        assert!(!wants_log([0.0, 1e-3, 1.0]));
        assert!(!wants_log([f64::NAN]));
    }

    /// The series are placed where plotters places the same coordinates
    /// (within its whole-pixel rounding), and the mapping carries them.
    #[test]
    fn series_sit_on_the_frame() -> Result<()> {
        let chart = line_chart(vec![(1.0, 2.0), (2.0, 1.0), (3.0, f64::NAN), (4.0, 0.5)]);
        let r = render(&chart)?;
        let m = r.data.map;
        assert_eq!(m.x, (1.0, 4.0));
        let (px, py) = m.pixel(1.0, m.y.1);
        assert!((px - m.px.0).abs() < 1e-9 && (py - m.py.1).abs() < 1e-9);
        // The frame spans the area left after the label areas and margins.
        assert_eq!(m.px.0, f64::from(8 + 16 + 10 * 3));
        assert!(m.py.0 > m.py.1, "y grows upwards: {m:?}");
        // One group, two polylines (the NaN breaks the line), 2 + 1 points.
        assert_eq!(r.svg.matches("<g class=\"series\"").count(), 1);
        assert_eq!(r.svg.matches("<polyline stroke-width=\"2\"").count(), 2);
        assert!(
            r.svg
                .starts_with("<svg class=\"chart\" id=\"chart-t\" viewBox=\"0 0 420 280\"")
        );
        let json = serde_json::to_string(&r.data).map_err(|e| Error::Runtime(e.to_string()))?;
        assert!(json.contains("\"y\":[2.0,1.0,null,0.5]"), "{json}");
        Ok(())
    }

    #[test]
    fn scatter_draws_a_circle_per_finite_point() -> Result<()> {
        let mut c = Chart::new("chart-s", "S", "lr", "val_loss", Kind::Scatter);
        c.log_x = true;
        let mut s = Series::new(
            "runs",
            colour(0),
            vec![(1e-3, 0.5), (1e-2, 0.4), (0.1, f64::NAN)],
        );
        s.labels = vec!["a".into(), "b".into(), "c".into()];
        c.series.push(s);
        let r = render(&c)?;
        assert_eq!(r.svg.matches("<circle").count(), 2);
        assert!(r.data.map.logx);
        // 1e-3 and 1e-2 are a decade apart: log10 range −3 … −2, padded 8 %.
        assert!((r.data.map.x.0 - (-3.08)).abs() < 1e-9, "{:?}", r.data.map);
        Ok(())
    }
}
