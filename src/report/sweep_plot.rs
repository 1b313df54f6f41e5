//! The picture of a sweep: `sweep.png` and `sweep.svg` in the sweep
//! folder. On the left, the monitored metric per epoch of every trial,
//! overlaid, one colour per trial, the legend giving its values: where a
//! trial was pruned its curve ends in a cross, where it diverged in a
//! triangle, and the best trial's best epoch is ringed. On the right, one
//! panel per swept axis: each trial's best monitored value against its
//! value on that axis (a log axis for log-uniform draws and for positive
//! values spread over two decades or more, as learning rates are), the
//! best trial ringed. Losses spread over a factor of four or more get a
//! log axis too, so one diverging trial does not flatten the others.
//!
//! Text uses the embedded DejaVu Sans, as the learning curves do; the
//! bytes depend only on the trials' files.

use super::curves::{FAMILY, register_font};
use crate::error::{Error, Result};
use crate::plan::Mode;
use crate::records::atomic;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;

/// Pixel size of both files.
pub(crate) const SIZE: (u32, u32) = (1500, 650);
pub(crate) const PNG: &str = "sweep.png";
pub(crate) const SVG: &str = "sweep.svg";

/// At most this many trials are named in the legend (the best ranked).
const LEGEND_MAX: usize = 12;

/// matplotlib's tab10, the colours of the book's plots.
const TAB10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const BEST: RGBColor = RGBColor(0, 0, 0);

/// How a trial's curve ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// It ran until its last epoch or early stopping.
    Ran,
    /// Pruned after this 1-based epoch.
    Pruned(usize),
    Diverged,
    /// Failed, interrupted or not started.
    Unfinished,
}

/// One trial as the picture draws it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    /// Its legend text (`3: lr=0.01`).
    pub label: String,
    /// (epoch, monitored value).
    pub curve: Vec<(usize, f64)>,
    pub end: End,
    /// Its best epoch and value.
    pub score: Option<(usize, f64)>,
}

/// A trial's value on one axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AxisValue {
    Num(f64),
    /// A value with no order (a string, a list): placed by first
    /// appearance.
    Cat(String),
}

/// One swept axis.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    pub name: String,
    /// One per trial, in trial order.
    pub values: Vec<AxisValue>,
    /// Drawn on a log scale.
    pub log: bool,
}

/// Everything the picture shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Picture {
    pub monitor: String,
    pub goal: Mode,
    pub trials: Vec<Line>,
    pub axes: Vec<Axis>,
    /// Trial indices, best first (which the legend names when crowded).
    pub order: Vec<usize>,
    pub best: Option<usize>,
}

/// Whether numbers are drawn on a log axis: all positive, spread over
/// `factor` or more.
pub(crate) fn wants_log(values: impl Iterator<Item = f64>, factor: f64) -> bool {
    let (mut lo, mut hi, mut any) = (f64::INFINITY, 0.0f64, false);
    for v in values.filter(|v| v.is_finite()) {
        if v <= 0.0 {
            return false;
        }
        lo = lo.min(v);
        hi = hi.max(v);
        any = true;
    }
    any && hi / lo >= factor
}

/// A linear or log axis from `lo` to `hi` (plotters' own log axis puts
/// too few ticks on a range under a decade).
#[derive(Clone)]
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    inner: RangedCoordf64,
}

impl Scale {
    fn new(lo: f64, hi: f64, log: bool) -> Scale {
        let inner = if log {
            (lo.ln()..hi.ln()).into()
        } else {
            (lo..hi).into()
        };
        Scale { lo, hi, log, inner }
    }
}

/// Ticks of a log axis: 1·10ᵏ, 2·10ᵏ and 5·10ᵏ in the range, only the
/// powers of ten when those are too many, every 1…9·10ᵏ when too few.
fn log_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let k0 = lo.log10().floor() as i32 - 1;
    let k1 = hi.log10().ceil() as i32 + 1;
    let pick = |mults: &[u32]| -> Vec<f64> {
        let mut out = Vec::new();
        for k in k0..=k1 {
            for m in mults {
                // Parsed, so 1e-6 is the nearest double to 10⁻⁶.
                let v: f64 = format!("{m}e{k}").parse().unwrap_or(f64::NAN);
                if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                    out.push(v);
                }
            }
        }
        out
    };
    let mid = pick(&[1, 2, 5]);
    if mid.len() > max {
        let decades = pick(&[1]);
        let step = decades.len().div_ceil(max.max(1)).max(1);
        return decades.into_iter().step_by(step).collect();
    }
    if mid.len() < 3 {
        let all = pick(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        if all.len() <= max {
            return all;
        }
    }
    mid
}

impl Ranged for Scale {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        if self.log {
            self.inner.map(&value.ln(), limit)
        } else {
            self.inner.map(value, limit)
        }
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if self.log {
            log_ticks(self.lo, self.hi, hint.max_num_points())
        } else {
            self.inner.key_points(hint)
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// The range of the finite values, padded (5 % of the span, or of the log
/// span); a single value gets a range around it.
fn padded(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return if log { (0.1, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        let (a, b) = (lo.ln(), hi.ln());
        let pad = if b - a < 1e-9 { 0.5 } else { (b - a) * 0.06 };
        ((a - pad).exp(), (b + pad).exp())
    } else if hi - lo < 1e-12 {
        let pad = if lo.abs() > 1e-12 {
            lo.abs() * 0.1
        } else {
            0.5
        };
        (lo - pad, hi + pad)
    } else {
        let pad = (hi - lo) * 0.06;
        (lo - pad, hi + pad)
    }
}

/// A tick label: `0.001`, `1e-5`, `250`, no more digits than needed.
fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        let s = format!("{v:e}");
        // 1.0000000000000002e-5 → 1e-5
        return match s.split_once('e') {
            Some((m, e)) => {
                let m: f64 = m.parse().unwrap_or(0.0);
                let m = format!("{:.3}", m);
                let m = m.trim_end_matches('0').trim_end_matches('.');
                format!("{m}e{e}")
            }
            None => s,
        };
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn colour(i: usize, n: usize) -> RGBColor {
    if n <= TAB10.len() {
        return TAB10[i];
    }
    // Evenly spread hues, darker than pastel.
    let h = i as f64 / n as f64;
    let (r, g, b) = hsl_to_rgb(h, 0.7, 0.45);
    RGBColor(r, g, b)
}

fn hsl_to_rgb(h: f64, s: f64, l: f64) -> (u8, u8, u8) {
    let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
    let hp = h * 6.0;
    let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
    let (r, g, b) = match hp as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (to(r), to(g), to(b))
}

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> Error {
    Error::Runtime(format!("cannot draw the sweep's picture: {e}"))
}

/// Renders the picture as PNG bytes.
pub(crate) fn render_png(p: &Picture) -> Result<Vec<u8>> {
    register_font()?;
    let (w, h) = SIZE;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
        draw(&root, p).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    let img = image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| Error::Runtime("the sweep bitmap has the wrong size".into()))?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::Runtime(format!("cannot encode the sweep's picture as PNG: {e}")))?;
    Ok(png)
}

/// Renders the picture as an SVG document.
pub(crate) fn render_svg(p: &Picture) -> Result<String> {
    register_font()?;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        draw(&root, p).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(s)
}

/// Writes `sweep.png` and `sweep.svg` into `dir`, each atomically.
pub(crate) fn write_picture(dir: &Path, p: &Picture) -> Result<()> {
    atomic::write(&dir.join(PNG), &render_png(p)?)?;
    atomic::write(&dir.join(SVG), render_svg(p)?.as_bytes())
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, p: &Picture) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (w, _) = SIZE;
    let (left, right) = root.split_horizontally(w * 56 / 100);
    curves(&left, p)?;
    let panels = right.split_evenly((p.axes.len().max(1), 1));
    for (axis, area) in p.axes.iter().zip(&panels) {
        by_value(area, p, axis)?;
    }
    Ok(())
}

/// Whether the monitored values get a log axis.
fn y_log(p: &Picture, values: &[f64]) -> bool {
    p.goal == Mode::Min && wants_log(values.iter().copied(), 4.0)
}

fn y_formatter(lo: f64, hi: f64, log: bool) -> impl Fn(&f64) -> String {
    let span = hi - lo;
    let decimals = if span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else if span >= 0.1 {
        2
    } else {
        3
    };
    move |y: &f64| {
        if log {
            tick(*y)
        } else {
            format!("{y:.decimals$}")
        }
    }
}

fn curves<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Picture) -> DrawResult<DB> {
    let n = p.trials.len();
    let all: Vec<f64> = p
        .trials
        .iter()
        .flat_map(|t| t.curve.iter().map(|c| c.1))
        .collect();
    let log = y_log(p, &all);
    let (y0, y1) = padded(all.iter().copied(), log);
    let last = p
        .trials
        .iter()
        .flat_map(|t| t.curve.iter().map(|c| c.0))
        .max()
        .unwrap_or(1);
    let (x0, x1) = if last > 1 {
        (1.0, last as f64)
    } else {
        (0.0, 2.0)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{} per epoch, one line per trial", p.monitor),
            (FAMILY, 22),
        )
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(Scale::new(x0, x1, false), Scale::new(y0, y1, log))?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(if log {
            format!("{} (log scale)", p.monitor)
        } else {
            p.monitor.clone()
        })
        .axis_desc_style((FAMILY, 17))
        .label_style((FAMILY, 14))
        .x_labels(10)
        .y_labels(10)
        .max_light_lines(1)
        .x_label_formatter(&|x| {
            if x.fract() == 0.0 {
                format!("{x}")
            } else {
                String::new()
            }
        })
        .y_label_formatter(&y_formatter(y0, y1, log))
        .draw()?;

    let named: Vec<usize> = if n <= LEGEND_MAX {
        (0..n).collect()
    } else {
        let mut top: Vec<usize> = p.order.iter().copied().take(LEGEND_MAX - 1).collect();
        top.sort_unstable();
        top
    };
    let finite = |v: f64| v.is_finite() && (!log || v > 0.0);
    // Wide lines are drawn as polygons with mitred corners, which spike
    // where a noisy curve turns sharply within a pixel or two: thin lines
    // once epochs are denser than about one per three pixels.
    let dense = last > 250;
    for (i, t) in p.trials.iter().enumerate() {
        let c = colour(i, n);
        let width = match (dense, p.best == Some(i)) {
            (true, _) => 1,
            (false, true) => 3,
            (false, false) => 2,
        };
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for &(e, v) in &t.curve {
            if finite(v) {
                if let Some(s) = segments.last_mut() {
                    s.push((e as f64, v));
                }
            } else if segments.last().is_some_and(|s| !s.is_empty()) {
                segments.push(Vec::new());
            }
        }
        segments.retain(|s| !s.is_empty());
        for (k, seg) in segments.into_iter().enumerate() {
            let series = chart.draw_series(LineSeries::new(seg, c.stroke_width(width)))?;
            if k == 0 && named.contains(&i) {
                series.label(t.label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3))
                });
            }
        }
        let tail = t.curve.iter().rev().find(|(_, v)| finite(*v));
        match (t.end, tail) {
            (End::Pruned(_), Some(&(e, v))) => {
                chart.draw_series(std::iter::once(Cross::new(
                    (e as f64, v),
                    7,
                    c.stroke_width(3),
                )))?;
            }
            (End::Diverged, Some(&(e, v))) => {
                chart.draw_series(std::iter::once(TriangleMarker::new(
                    (e as f64, v),
                    8,
                    c.filled(),
                )))?;
            }
            _ => {}
        }
    }
    if n > named.len() {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label(format!("… {} more trials", n - named.len()))
            .legend(|(x, y)| EmptyElement::at((x, y)));
    }
    if p.trials.iter().any(|t| matches!(t.end, End::Pruned(_))) {
        chart
            .draw_series(std::iter::empty::<Cross<(f64, f64), i32>>())?
            .label("× pruned")
            .legend(|(x, y)| Cross::new((x + 10, y), 6, BLACK.stroke_width(2)));
    }
    if p.trials.iter().any(|t| t.end == End::Diverged) {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?
            .label("▲ diverged")
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, BLACK.filled()));
    }
    if let Some(b) = p.best
        && let Some((e, v)) = p.trials[b].score
        && finite(v)
    {
        chart
            .draw_series(std::iter::once(Circle::new(
                (e as f64, v),
                9,
                BEST.stroke_width(3),
            )))?
            .label(format!("best: trial {}, epoch {e}", b + 1))
            .legend(|(x, y)| Circle::new((x + 10, y), 6, BEST.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(if p.goal == Mode::Min {
            SeriesLabelPosition::UpperRight
        } else {
            SeriesLabelPosition::LowerRight
        })
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FAMILY, 14))
        .draw()?;
    Ok(())
}

/// The categories of an axis, in first-appearance order.
fn categories(axis: &Axis) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in &axis.values {
        let text = match v {
            AxisValue::Num(x) => tick(*x),
            AxisValue::Cat(s) => s.clone(),
        };
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out
}

fn by_value<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Picture,
    axis: &Axis,
) -> DrawResult<DB> {
    let n = p.trials.len();
    let numeric = axis.values.iter().all(|v| matches!(v, AxisValue::Num(_)));
    let cats = categories(axis);
    let xs: Vec<f64> = axis
        .values
        .iter()
        .map(|v| match (v, numeric) {
            (AxisValue::Num(x), true) => *x,
            (AxisValue::Num(x), false) => {
                cats.iter().position(|c| *c == tick(*x)).unwrap_or(0) as f64
            }
            (AxisValue::Cat(s), _) => cats.iter().position(|c| c == s).unwrap_or(0) as f64,
        })
        .collect();
    let xlog = numeric && axis.log && xs.iter().all(|x| *x > 0.0);
    let (x0, x1) = if numeric {
        padded(xs.iter().copied(), xlog)
    } else {
        (-0.5, cats.len() as f64 - 0.5)
    };
    let scores: Vec<Option<f64>> = p
        .trials
        .iter()
        .map(|t| t.score.map(|s| s.1).filter(|v| v.is_finite()))
        .collect();
    let ys: Vec<f64> = scores.iter().flatten().copied().collect();
    let ylog = y_log(p, &ys);
    let (y0, y1) = padded(ys.iter().copied(), ylog);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("best {} by {}", p.monitor, axis.name), (FAMILY, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(Scale::new(x0, x1, xlog), Scale::new(y0, y1, ylog))?;
    let cat_label = |x: &f64| -> String {
        if x.fract() != 0.0 || *x < 0.0 {
            return String::new();
        }
        cats.get(*x as usize).cloned().unwrap_or_default()
    };
    let x_fmt = |x: &f64| -> String { if numeric { tick(*x) } else { cat_label(x) } };
    chart
        .configure_mesh()
        .x_desc(if xlog {
            format!("{} (log scale)", axis.name)
        } else {
            axis.name.clone()
        })
        .y_desc(format!("best {}", p.monitor))
        .axis_desc_style((FAMILY, 16))
        .label_style((FAMILY, 13))
        .x_labels(if numeric { 8 } else { cats.len() + 1 })
        .y_labels(6)
        .max_light_lines(1)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_formatter(y0, y1, ylog))
        .draw()?;
    // One axis: a thin line through the trials in value order shows the
    // shape (too slow, right, too fast).
    if p.axes.len() == 1 {
        let mut pts: Vec<(f64, f64)> = xs
            .iter()
            .zip(&scores)
            .filter_map(|(x, s)| s.map(|s| (*x, s)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart.draw_series(LineSeries::new(pts, BLACK.mix(0.35).stroke_width(1)))?;
    }
    for (i, t) in p.trials.iter().enumerate() {
        let Some(y) = scores[i] else { continue };
        let c = colour(i, n);
        let at = (xs[i], y);
        match t.end {
            End::Pruned(_) => {
                chart.draw_series(std::iter::once(Cross::new(at, 6, c.stroke_width(3))))?;
            }
            End::Diverged => {
                chart.draw_series(std::iter::once(TriangleMarker::new(at, 7, c.filled())))?;
            }
            End::Ran | End::Unfinished => {
                chart.draw_series(std::iter::once(Circle::new(at, 5, c.filled())))?;
            }
        }
        if p.best == Some(i) {
            chart
                .draw_series(std::iter::once(Circle::new(at, 10, BEST.stroke_width(3))))?
                .label(format!("best: trial {} ({})", i + 1, tick(y)))
                .legend(|(x, y)| Circle::new((x + 10, y), 6, BEST.stroke_width(2)));
        }
    }
    if p.best.is_some() {
        // Away from the best value, in the middle, where a U-shaped
        // sweep has no points.
        chart
            .configure_series_labels()
            .position(if p.goal == Mode::Min {
                SeriesLabelPosition::UpperMiddle
            } else {
                SeriesLabelPosition::LowerMiddle
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font((FAMILY, 13))
            .draw()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_table() {
        assert_eq!(
            log_ticks(1e-6, 1.0, 10),
            [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1.0]
        );
        assert_eq!(log_ticks(0.3, 6.0, 10), [0.5, 1.0, 2.0, 5.0]);
        // Too few 1-2-5 ticks: every integer multiple.
        assert_eq!(log_ticks(0.35, 0.95, 10), [0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
        // Too many: every other decade.
        assert_eq!(log_ticks(1e-8, 1.0, 5), [1e-8, 1e-6, 1e-4, 1e-2, 1.0]);
    }

    #[test]
    fn log_axes_and_tick_labels() {
        assert!(wants_log([1.0, 0.1, 1e-6].into_iter(), 100.0));
        assert!(!wants_log([16.0, 32.0, 64.0].into_iter(), 100.0));
        assert!(!wants_log([0.0, 1.0, 1000.0].into_iter(), 100.0));
        assert!(!wants_log(std::iter::empty(), 100.0));
        let t: Vec<String> = [1e-5, 0.001, 0.01, 0.5, 1.0, 250.0, 2e-6]
            .iter()
            .map(|v| tick(*v))
            .collect();
        assert_eq!(t, ["1e-5", "0.001", "0.01", "0.5", "1", "250", "2e-6"]);
    }
}
