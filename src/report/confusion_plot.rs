//! `confusion.png` and `confusion.svg`: the test confusion matrix as a
//! heatmap, true class down, predicted class across, each cell coloured by
//! its share of the true class (the row) and, when cells are large enough
//! to read, labelled with its count and that share. The report page draws
//! the same colours ([`blues`]).

use super::curves::{FAMILY, register_font};
use crate::error::{Error, Result};
use crate::records::atomic;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

pub(crate) const PNG: &str = "confusion.png";
pub(crate) const SVG: &str = "confusion.svg";

/// Cells narrower than this carry no text.
const TEXT_CELL: u32 = 34;

/// Matplotlib's `Blues` colour map, from white-blue (0) to navy (1),
/// through its middle colour.
pub(crate) fn blues(rate: f64) -> (u8, u8, u8) {
    let stops = [
        (247.0, 251.0, 255.0),
        (107.0, 174.0, 214.0),
        (8.0, 48.0, 107.0),
    ];
    let r = if rate.is_finite() {
        rate.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (a, b, t) = if r <= 0.5 {
        (stops[0], stops[1], r * 2.0)
    } else {
        (stops[1], stops[2], r * 2.0 - 1.0)
    };
    let mix = |x: f64, y: f64| (x + (y - x) * t).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The share of each cell in its row (0 for an empty row).
pub(crate) fn row_rates(counts: &[Vec<u64>]) -> Vec<Vec<f64>> {
    counts
        .iter()
        .map(|row| {
            let total: u64 = row.iter().sum();
            row.iter()
                .map(|&c| {
                    if total == 0 {
                        0.0
                    } else {
                        c as f64 / total as f64
                    }
                })
                .collect()
        })
        .collect()
}

fn short(name: &str) -> String {
    if name.chars().count() > 16 {
        let mut s: String = name.chars().take(15).collect();
        s.push('…');
        s
    } else {
        name.to_string()
    }
}

/// The picture's layout: cell size, label room and the whole size.
struct Layout {
    cell: u32,
    label: u32,
    left: u32,
    top: u32,
    size: (u32, u32),
}

fn layout(classes: &[String]) -> Layout {
    let k = classes.len().max(1) as u32;
    let cell = (720 / k).clamp(12, 64);
    let longest = classes
        .iter()
        .map(|c| short(c).chars().count() as u32)
        .max()
        .unwrap_or(1);
    let label = (longest * 8 + 12).clamp(30, 150);
    let left = label + 34;
    let top = 44;
    Layout {
        cell,
        label,
        left,
        top,
        // A few classes make a narrow grid; the title still fits.
        size: (
            (left + k * cell + 24).max(TITLE_WIDTH),
            top + k * cell + label + 36,
        ),
    }
}

const TITLE: &str = "Confusion matrix (test split, share of each true class)";
/// The least picture width: the title at 17 px (about 470 px in the
/// bundled font) with a margin on each side.
const TITLE_WIDTH: u32 = 520;

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    classes: &[String],
    counts: &[Vec<u64>],
) -> DrawResult<DB> {
    let l = layout(classes);
    let k = classes.len() as i32;
    let cell = l.cell as i32;
    let (left, top) = (l.left as i32, l.top as i32);
    root.fill(&WHITE)?;
    let centre = Pos::new(HPos::Center, VPos::Center);
    let text = |size: u32, colour: &'static RGBColor| {
        TextStyle::from((FAMILY, size).into_font())
            .color(colour)
            .pos(centre)
    };
    let grid = k * cell;
    root.draw(&Text::new(
        TITLE,
        (l.size.0 as i32 / 2, 20),
        text(17, &BLACK),
    ))?;
    let rates = row_rates(counts);
    let font = if cell >= 56 { 14 } else { 12 };
    for (t, row) in counts.iter().enumerate() {
        for (p, &count) in row.iter().enumerate() {
            let rate = rates[t][p];
            let (r, g, b) = blues(rate);
            let (x, y) = (left + p as i32 * cell, top + t as i32 * cell);
            root.draw(&Rectangle::new(
                [(x, y), (x + cell, y + cell)],
                RGBColor(r, g, b).filled(),
            ))?;
            if l.cell >= TEXT_CELL {
                let ink: &'static RGBColor = if rate > 0.5 { &WHITE } else { &BLACK };
                root.draw(&Text::new(
                    count.to_string(),
                    (x + cell / 2, y + cell / 2 - font as i32 / 2),
                    text(font, ink),
                ))?;
                root.draw(&Text::new(
                    format!("{:.0}%", rate * 100.0),
                    (x + cell / 2, y + cell / 2 + font as i32 / 2 + 1),
                    text(font - 3, ink),
                ))?;
            }
        }
    }
    root.draw(&Rectangle::new(
        [(left, top), (left + grid, top + grid)],
        BLACK.mix(0.4).stroke_width(1),
    ))?;
    let label_font = if cell >= 20 { 13 } else { 10 };
    let right = TextStyle::from((FAMILY, label_font).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, name) in classes.iter().enumerate() {
        let mid = i as i32 * cell + cell / 2;
        root.draw(&Text::new(
            short(name),
            (left - 6, top + mid),
            right.clone(),
        ))?;
        // Rotated a quarter turn, reading upwards, ending under the column.
        let up = TextStyle::from((FAMILY, label_font).into_font())
            .color(&BLACK)
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new(short(name), (left + mid, top + grid + 6), up))?;
    }
    root.draw(&Text::new(
        "predicted",
        (left + grid / 2, top + grid + l.label as i32 + 18),
        text(15, &BLACK),
    ))?;
    let side = TextStyle::from((FAMILY, 15).into_font())
        .color(&BLACK)
        .transform(FontTransform::Rotate270)
        .pos(centre);
    root.draw(&Text::new("true", (14, top + grid / 2), side))?;
    Ok(())
}

fn draw_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> Error {
    Error::Runtime(format!("cannot draw the confusion matrix: {e}"))
}

fn check(classes: &[String], counts: &[Vec<u64>]) -> Result<()> {
    if classes.is_empty() || counts.len() != classes.len() {
        return Err(Error::Runtime(format!(
            "a confusion matrix of {} rows for {} classes",
            counts.len(),
            classes.len()
        )));
    }
    if let Some(row) = counts.iter().find(|r| r.len() != classes.len()) {
        return Err(Error::Runtime(format!(
            "a confusion matrix row of {} cells for {} classes",
            row.len(),
            classes.len()
        )));
    }
    Ok(())
}

/// The heatmap as PNG bytes.
pub(crate) fn render_png(classes: &[String], counts: &[Vec<u64>]) -> Result<Vec<u8>> {
    check(classes, counts)?;
    register_font()?;
    let (w, h) = layout(classes).size;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(&root, classes, counts).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    let img = image::RgbImage::from_raw(w, h, buf)
        .ok_or_else(|| Error::Runtime("the confusion bitmap has the wrong size".into()))?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::Runtime(format!("cannot encode the confusion matrix as PNG: {e}")))?;
    Ok(png)
}

/// The heatmap as an SVG document.
pub(crate) fn render_svg(classes: &[String], counts: &[Vec<u64>]) -> Result<String> {
    check(classes, counts)?;
    register_font()?;
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, layout(classes).size).into_drawing_area();
        draw(&root, classes, counts).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(s)
}

/// Writes `confusion.png` and `confusion.svg` into `dir`, each atomically.
pub(crate) fn write(dir: &Path, classes: &[String], counts: &[Vec<u64>]) -> Result<()> {
    let _span = tracing::info_span!("confusion_plot").entered();
    atomic::write(&dir.join(PNG), &render_png(classes, counts)?)?;
    atomic::write(&dir.join(SVG), render_svg(classes, counts)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The title fits the picture of two or three classes, as measured in
    /// the font it is drawn with.
    #[test]
    fn the_title_fits_a_small_matrix() {
        register_font().unwrap();
        for k in [2usize, 3, 10] {
            let classes: Vec<String> = (0..k).map(|i| i.to_string()).collect();
            let (w, h) = layout(&classes).size;
            let mut buf = vec![0u8; (w * h * 3) as usize];
            let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
            let style = TextStyle::from((FAMILY, 17).into_font());
            let (tw, _) = root.estimate_text_size(TITLE, &style).unwrap();
            assert!(
                tw + 20 <= w,
                "{k} classes: title {tw} px in a {w} px picture"
            );
        }
    }

    #[test]
    fn blues_ends_and_middle() {
        assert_eq!(blues(0.0), (247, 251, 255));
        assert_eq!(blues(0.5), (107, 174, 214));
        assert_eq!(blues(1.0), (8, 48, 107));
        assert_eq!(blues(f64::NAN), (247, 251, 255));
    }

    #[test]
    fn rates_are_row_shares() {
        let r = row_rates(&[vec![3, 1], vec![0, 0]]);
        assert_eq!(r, vec![vec![0.75, 0.25], vec![0.0, 0.0]]);
    }

    /// Every count and share is written in the SVG, with the class names.
    #[test]
    fn svg_carries_counts_shares_and_names() -> Result<()> {
        let classes: Vec<String> = ["cat", "dog", "T-shirt/top & co"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let counts = vec![vec![8, 2, 0], vec![1, 9, 0], vec![0, 0, 10]];
        let svg = render_svg(&classes, &counts)?;
        for t in [
            ">\n8\n<",
            ">\n80%\n<",
            ">\n9\n<",
            ">\n90%\n<",
            ">\n100%\n<",
            "cat",
            "dog",
        ] {
            assert!(svg.contains(t), "{t} missing");
        }
        assert!(svg.contains("T-shirt/top &amp; co"));
        assert_eq!(svg.matches("<rect").count(), 1 + 9 + 1);
        let png = render_png(&classes, &counts)?;
        assert!(png.starts_with(b"\x89PNG"));
        let bad = render_png(&classes, &counts[..2]).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "a confusion matrix of 2 rows for 3 classes"
        );
        Ok(())
    }
}
