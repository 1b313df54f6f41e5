//! Learning curves: `curves.png` and `curves.svg`, two panels side by side
//! (loss, then accuracy, per epoch; train against validation), as the
//! book's figures 4.12 and 4.33 draw them, with the best epoch and an early
//! stop marked. These are how a person sees over- and underfitting at a
//! glance.
//!
//! Text is rendered with DejaVu Sans embedded in the binary
//! (`assets/fonts/`, Bitstream Vera licence), so the figure is the same on
//! a machine without system fonts (a CI container, a bare server).

use crate::error::{Error, Result};
use crate::records::atomic;
use crate::records::history::History;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// Pixel size of both files.
pub(crate) const SIZE: (u32, u32) = (1200, 500);

/// File names inside a run folder.
pub(crate) const PNG: &str = "curves.png";
pub(crate) const SVG: &str = "curves.svg";

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub(crate) const FAMILY: &str = "sans-serif";

/// Train in matplotlib's blue, validation in its orange, as the book's
/// Keras plots.
pub(crate) const TRAIN: RGBColor = RGBColor(31, 119, 180);
pub(crate) const VALID: RGBColor = RGBColor(255, 127, 14);
pub(crate) const BEST: RGBColor = RGBColor(44, 160, 44);
pub(crate) const STOP: RGBColor = RGBColor(214, 39, 40);

/// Epochs to mark on the curves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Marks {
    /// The epoch with the best monitored value (the weights kept).
    pub best_epoch: Option<usize>,
    /// The epoch where early stopping ended training, when it did.
    pub early_stop: Option<usize>,
}

pub(crate) fn register_font() -> Result<()> {
    static LOADED: OnceLock<bool> = OnceLock::new();
    if *LOADED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok())
    {
        Ok(())
    } else {
        Err(Error::Runtime(
            "the embedded DejaVu Sans font does not load".into(),
        ))
    }
}

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> Error {
    Error::Runtime(format!("cannot draw the learning curves: {e}"))
}

/// Renders the curves as PNG bytes.
pub fn render_png(history: &History, marks: &Marks) -> Result<Vec<u8>> {
    register_font()?;
    let (w, h) = SIZE;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
        draw(&root, history, marks).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    let img = image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| Error::Runtime("the curve bitmap has the wrong size".into()))?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::Runtime(format!("cannot encode the learning curves as PNG: {e}")))?;
    Ok(png)
}

/// Renders the curves as an SVG document.
pub fn render_svg(history: &History, marks: &Marks) -> Result<String> {
    register_font()?;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, SIZE).into_drawing_area();
        draw(&root, history, marks).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(s)
}

/// Writes `curves.png` and `curves.svg` into `dir`, each atomically.
pub fn write(dir: &Path, history: &History, marks: &Marks) -> Result<()> {
    atomic::write(&dir.join(PNG), &render_png(history, marks)?)?;
    atomic::write(&dir.join(SVG), render_svg(history, marks)?.as_bytes())
}

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    history: &History,
    marks: &Marks,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 2));
    panel(
        &panels[0], history, marks, "Loss", "loss", "loss", "val_loss", false,
    )?;
    panel(
        &panels[1],
        history,
        marks,
        "Accuracy",
        "accuracy",
        "accuracy",
        "val_accuracy",
        true,
    )?;
    Ok(())
}

/// Splits a series at non-finite values, so a NaN epoch leaves a gap
/// instead of breaking the plot.
fn segments(points: &[(usize, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for &(e, v) in points {
        if v.is_finite() {
            if let Some(last) = out.last_mut() {
                last.push((e as f64, v));
            }
        } else if out.last().is_some_and(|s| !s.is_empty()) {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The y range of the finite values, padded by 5 %; a flat series gets a
/// range around its value; accuracy stays within [0, 1].
fn y_range(values: impl Iterator<Item = f64>, unit: bool) -> (f64, f64) {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let pad = if lo.abs() > 1e-12 {
            lo.abs() * 0.1
        } else {
            0.5
        };
        lo -= pad;
        hi += pad;
    } else {
        let pad = (hi - lo) * 0.05;
        lo -= pad;
        hi += pad;
    }
    if unit {
        lo = lo.max(0.0);
        hi = hi.min(1.0);
    }
    (lo, hi)
}

#[allow(clippy::too_many_arguments)]
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    history: &History,
    marks: &Marks,
    title: &str,
    y_desc: &str,
    train: &str,
    valid: &str,
    unit: bool,
) -> DrawResult<DB> {
    let train_pts = history.series(train);
    let valid_pts = history.series(valid);
    let epochs: Vec<usize> = history.rows.iter().map(|r| r.epoch).collect();
    let (x0, x1) = match (epochs.iter().min(), epochs.iter().max()) {
        (Some(&a), Some(&b)) if b > a => (a as f64, b as f64),
        (Some(&a), _) => (a as f64 - 1.0, a as f64 + 1.0),
        _ => (0.0, 1.0),
    };
    let (y0, y1) = y_range(train_pts.iter().chain(&valid_pts).map(|p| p.1), unit);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FAMILY, 24))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let whole = x1 - x0 >= 2.0;
    // Enough decimals to tell the ticks apart, no more.
    let span = y1 - y0;
    let decimals = if span >= 10.0 {
        0
    } else if span >= 1.0 {
        1
    } else if span >= 0.1 {
        2
    } else {
        3
    };
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .axis_desc_style((FAMILY, 18))
        .label_style((FAMILY, 14))
        .x_labels(10)
        .x_label_formatter(&|x| {
            if whole && x.fract() != 0.0 {
                String::new()
            } else {
                format!("{x}")
            }
        })
        .y_label_formatter(&|y| format!("{y:.decimals$}"))
        .draw()?;

    if train_pts.is_empty() && valid_pts.is_empty() {
        let style = TextStyle::from((FAMILY, 18).into_font()).color(&BLACK);
        chart.draw_series(std::iter::once(Text::new(
            format!("no {train} recorded"),
            (x0 + (x1 - x0) * 0.35, (y0 + y1) / 2.0),
            style,
        )))?;
        return Ok(());
    }

    for (points, color, label) in [
        (&train_pts, TRAIN, "train"),
        (&valid_pts, VALID, "validation"),
    ] {
        for (i, seg) in segments(points).into_iter().enumerate() {
            let series = chart.draw_series(LineSeries::new(seg, color.stroke_width(2)))?;
            if i == 0 {
                series.label(label).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
        }
    }

    // The marks go in the legend, so their labels never cover a curve or
    // run off the edge of the figure.
    if let Some(b) = marks.best_epoch {
        let x = b as f64;
        chart
            .draw_series(LineSeries::new(
                vec![(x, y0), (x, y1)],
                BEST.stroke_width(2),
            ))?
            .label(format!("best: epoch {b}"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BEST.stroke_width(2)));
    }
    if let Some(s) = marks.early_stop {
        let x = s as f64;
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x, y0), (x, y1)],
                8,
                6,
                STOP.stroke_width(2),
            ))?
            .label(format!("early stop: epoch {s}"))
            .legend(|(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 20, y)], 6, 3, STOP.stroke_width(2))
            });
    }

    chart
        .configure_series_labels()
        .position(if unit {
            SeriesLabelPosition::LowerRight
        } else {
            SeriesLabelPosition::UpperRight
        })
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font((FAMILY, 15))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_skip_non_finite() {
        let pts = [
            (1, 1.0),
            (2, f64::NAN),
            (3, 2.0),
            (4, 3.0),
            (5, f64::INFINITY),
        ];
        assert_eq!(
            segments(&pts),
            vec![vec![(1.0, 1.0)], vec![(3.0, 2.0), (4.0, 3.0)]]
        );
    }

    #[test]
    fn y_range_table() {
        let t: &[(&[f64], bool, (f64, f64))] = &[
            (&[0.0, 1.0], false, (-0.05, 1.05)),
            (&[0.0, 1.0], true, (0.0, 1.0)),
            (&[2.0, 2.0], false, (1.8, 2.2)),
            (&[], false, (0.0, 1.0)),
            (&[f64::NAN, 0.0], false, (-0.5, 0.5)),
        ];
        for (v, unit, want) in t {
            let got = y_range(v.iter().copied(), *unit);
            assert!(
                (got.0 - want.0).abs() < 1e-12 && (got.1 - want.1).abs() < 1e-12,
                "{v:?}: {got:?}"
            );
        }
    }
}
