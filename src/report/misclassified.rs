//! `misclassified.png` and `misclassified.csv`: the test images the model
//! got wrong with the most confidence, for the report page to show (a
//! file of the run, so the page stays a function of the run's files).
//!
//! The PNG is one strip of tiles, one per image, left to right, each the
//! image as the model saw it before the value transforms (after
//! `grayscale`/`rgb`/`resize`), shrunk to fit [`MAX_SIDE`] pixels or, below
//! [`MIN_SIDE`], enlarged by whole pixels; the CSV
//! has a row per tile: `index` (the sample's position in the test split,
//! from 0), `true` and `predicted` class names, the predicted class's
//! `probability`, and `source`: where the image came from (an image file,
//! `FILE[j]` for the j-th record of an IDX file or CIFAR-10 batch), as
//! `dlp predict` names that input.

use crate::data::{Dataset, Part};
use crate::error::{Error, Result};
use crate::plan::Shape;
use crate::records::atomic;
use image::{ImageReader, RgbImage, imageops};
use std::path::Path;

pub(crate) const PNG: &str = "misclassified.png";
pub(crate) const CSV: &str = "misclassified.csv";

/// How many images the strip holds at most.
pub(crate) const COUNT: usize = 12;
/// Tiles larger than this (in either side) are shrunk to fit.
pub(crate) const MAX_SIDE: u32 = 96;
/// Tiles smaller than this (on their longer side) are enlarged by a whole
/// factor, each pixel a square, until they reach it.
pub(crate) const MIN_SIDE: u32 = 32;

/// One misclassified test sample.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mistake {
    /// Position in the test split (0-based).
    pub index: usize,
    pub truth: String,
    pub predicted: String,
    pub probability: f64,
    /// Where the image came from (empty in files written before the
    /// column existed).
    pub source: String,
}

/// The strip and its rows, as read back from a run folder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Misclassified {
    pub rows: Vec<Mistake>,
    pub png: Vec<u8>,
    /// The size of one tile (width, height).
    pub tile: (u32, u32),
}

/// The predicted class and its probability from one row of probabilities:
/// the first maximum, as candle's `argmax` takes it (the class the
/// confusion matrix counted), or for a single sigmoid unit class 1 when
/// p > 0.5.
pub(crate) fn prediction(probs: &[f32]) -> (usize, f32) {
    if let [p] = probs {
        return if *p > 0.5 { (1, *p) } else { (0, 1.0 - *p) };
    }
    let mut best = (0, probs.first().copied().unwrap_or(f32::NAN));
    for (i, &p) in probs.iter().enumerate() {
        if best.1 < p {
            best = (i, p);
        }
    }
    best
}

/// The misclassified samples, most confident first (ties by index): the
/// position in the split, the true and the predicted class, and the
/// probability of the prediction.
pub(crate) fn choose(
    probs: &[f32],
    outputs: usize,
    truth: &[u32],
    count: usize,
) -> Vec<(usize, u32, u32, f32)> {
    if outputs == 0 {
        return Vec::new();
    }
    let mut wrong: Vec<(usize, u32, u32, f32)> = probs
        .chunks_exact(outputs)
        .zip(truth)
        .enumerate()
        .filter_map(|(i, (p, &t))| {
            let (k, q) = prediction(p);
            (k as u32 != t).then_some((i, t, k as u32, q))
        })
        .collect();
    wrong.sort_by(|a, b| b.3.total_cmp(&a.3).then(a.0.cmp(&b.0)));
    wrong.truncate(count);
    wrong
}

/// One stored sample (CHW bytes of `shape`) as an RGB tile.
fn tile(pixels: &[u8], shape: Shape) -> Option<RgbImage> {
    let (channels, height, width) = shape.image()?;
    let plane = height * width;
    if pixels.len() != channels * plane || !(channels == 1 || channels == 3) {
        return None;
    }
    let mut rgb = Vec::with_capacity(plane * 3);
    for i in 0..plane {
        for c in 0..3 {
            rgb.push(pixels[if channels == 1 { i } else { c * plane + i }]);
        }
    }
    let img = RgbImage::from_raw(width as u32, height as u32, rgb)?;
    let (w, h) = img.dimensions();
    if w.max(h) < MIN_SIDE {
        // 8×8 digits would be specks: whole pixels, enlarged.
        let k = MIN_SIDE.div_ceil(w.max(h));
        return Some(imageops::resize(
            &img,
            w * k,
            h * k,
            imageops::FilterType::Nearest,
        ));
    }
    if w.max(h) <= MAX_SIDE {
        return Some(img);
    }
    let scale = f64::from(MAX_SIDE) / f64::from(w.max(h));
    let (nw, nh) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    Some(imageops::resize(
        &img,
        nw,
        nh,
        imageops::FilterType::Triangle,
    ))
}

/// Writes the strip and its CSV for image data with a test split; for
/// feature vectors, or when nothing was misclassified, removes any left
/// from an earlier attempt and writes nothing.
pub(crate) fn write(
    dir: &Path,
    data: &Dataset,
    probs: &[f32],
    outputs: usize,
    truth: &[u32],
) -> Result<()> {
    let _span = tracing::info_span!("misclassified").entered();
    let chosen = choose(probs, outputs, truth, COUNT);
    let tiles: Vec<RgbImage> = chosen
        .iter()
        .filter_map(|&(i, ..)| tile(data.raw_pixels(Part::Test, i)?, data.input))
        .collect();
    if chosen.is_empty() || tiles.len() != chosen.len() {
        for name in [PNG, CSV] {
            match std::fs::remove_file(dir.join(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::write(dir.join(name), e));
                }
                _ => {}
            }
        }
        return Ok(());
    }
    let (tw, th) = tiles[0].dimensions();
    let mut strip = RgbImage::new(tw * tiles.len() as u32, th);
    for (k, t) in tiles.iter().enumerate() {
        imageops::replace(&mut strip, t, i64::from(tw) * k as i64, 0);
    }
    let mut png = Vec::new();
    strip
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| Error::Runtime(format!("cannot encode {PNG}: {e}")))?;
    let name = |k: u32| {
        data.classes
            .get(k as usize)
            .cloned()
            .unwrap_or_else(|| k.to_string())
    };
    let rows: Vec<Vec<String>> = chosen
        .iter()
        .map(|&(i, t, p, q)| {
            let source = data.source_name(Part::Test, i).unwrap_or_default();
            vec![i.to_string(), name(t), name(p), q.to_string(), source]
        })
        .collect();
    let header = ["index", "true", "predicted", "probability", "source"].map(String::from);
    atomic::write_csv(&dir.join(CSV), &header, &rows)?;
    atomic::write(&dir.join(PNG), &png)
}

/// Reads the strip and its CSV back; `None` when the run has none.
pub(crate) fn read(dir: &Path) -> Result<Option<Misclassified>> {
    let (csv_path, png_path) = (dir.join(CSV), dir.join(PNG));
    if !csv_path.is_file() || !png_path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read(&csv_path).map_err(|e| Error::io(&csv_path, e))?;
    let mut reader = csv::Reader::from_reader(text.as_slice());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| Error::file(&csv_path, e.to_string()))?;
        let line = record.position().map_or(0, |p| p.line());
        let bad = |what: &str| {
            Error::file(
                &csv_path,
                format!("line {line}: {what} (expected index,true,predicted,probability,source)"),
            )
        };
        // Runs of earlier versions have no `source`.
        if !(4..=5).contains(&record.len()) {
            return Err(bad(&format!("{} fields", record.len())));
        }
        rows.push(Mistake {
            index: record[0]
                .parse()
                .map_err(|_| bad(&format!("index `{}` is not a whole number", &record[0])))?,
            truth: record[1].to_string(),
            predicted: record[2].to_string(),
            probability: atomic::parse_num(&record[3])
                .ok_or_else(|| bad(&format!("probability `{}` is not a number", &record[3])))?,
            source: record.get(4).unwrap_or_default().to_string(),
        });
    }
    let png = std::fs::read(&png_path).map_err(|e| Error::io(&png_path, e))?;
    let (w, h) = ImageReader::new(std::io::Cursor::new(&png))
        .with_guessed_format()
        .map_err(|e| Error::io(&png_path, e))?
        .into_dimensions()
        .map_err(|e| Error::file(&png_path, format!("cannot read the PNG header: {e}")))?;
    let n = rows.len() as u32;
    if n == 0 || w % n != 0 {
        return Err(Error::file(
            &png_path,
            format!(
                "{w} pixels wide does not split into the {n} tiles {} lists",
                csv_path.display()
            ),
        ));
    }
    Ok(Some(Misclassified {
        rows,
        png,
        tile: (w / n, h),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prediction_takes_the_first_maximum_and_the_sigmoid_threshold() {
        assert_eq!(prediction(&[0.2, 0.4, 0.4]), (1, 0.4));
        assert_eq!(prediction(&[0.7, 0.1, 0.2]), (0, 0.7));
        assert_eq!(prediction(&[0.5]), (0, 0.5));
        assert_eq!(prediction(&[0.75]), (1, 0.75));
    }

    #[test]
    fn the_most_confident_mistakes_come_first() {
        // Four samples of three classes: sample 0 right, 1 wrong at 0.6,
        // 2 wrong at 0.9, 3 wrong at 0.6 (tie with 1: index order).
        let probs = [
            0.8, 0.1, 0.1, //
            0.6, 0.3, 0.1, //
            0.05, 0.05, 0.9, //
            0.2, 0.6, 0.2,
        ];
        let truth = [0, 1, 0, 2];
        let got = choose(&probs, 3, &truth, 12);
        assert_eq!(got, vec![(2, 0, 2, 0.9), (1, 1, 0, 0.6), (3, 2, 1, 0.6)]);
        assert_eq!(choose(&probs, 3, &truth, 1).len(), 1);
    }

    #[test]
    fn read_takes_the_source_column_and_files_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut png = Vec::new();
        RgbImage::new(4, 2)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        std::fs::write(dir.path().join(PNG), &png).unwrap();
        for (text, source) in [
            (
                "index,true,predicted,probability,source\n3,cat,dog,0.75,imgs/cat/7.png\n5,dog,cat,0.5,imgs/dog/1.png\n",
                "imgs/cat/7.png",
            ),
            // A run written before the column existed.
            (
                "index,true,predicted,probability\n3,cat,dog,0.75\n5,dog,cat,0.5\n",
                "",
            ),
        ] {
            std::fs::write(dir.path().join(CSV), text).unwrap();
            let m = read(dir.path()).unwrap().unwrap();
            assert_eq!(m.tile, (2, 2));
            assert_eq!(
                m.rows[0],
                Mistake {
                    index: 3,
                    truth: "cat".into(),
                    predicted: "dog".into(),
                    probability: 0.75,
                    source: source.into(),
                }
            );
        }
        std::fs::write(dir.path().join(CSV), "index,true,predicted\n3,cat,dog\n").unwrap();
        assert_eq!(
            read(dir.path()).unwrap_err().to_string(),
            format!(
                "{}: line 2: 3 fields (expected index,true,predicted,probability,source)",
                dir.path().join(CSV).display()
            )
        );
    }

    #[test]
    fn tiles_are_rgb_and_shrunk_to_fit() {
        let grey = tile(
            &[0, 128, 255, 7],
            Shape::Image {
                channels: 1,
                height: 2,
                width: 2,
            },
        )
        .unwrap();
        // 2×2 is enlarged 16 times: pixel (1, 0) is the square at (16…31, 0…15).
        assert_eq!(grey.dimensions(), (32, 32));
        assert_eq!(grey.get_pixel(16, 0).0, [128, 128, 128]);
        assert_eq!(grey.get_pixel(31, 15).0, [128, 128, 128]);
        assert_eq!(grey.get_pixel(15, 0).0, [0, 0, 0]);
        let digit = tile(
            &[5u8; 64],
            Shape::Image {
                channels: 1,
                height: 8,
                width: 8,
            },
        )
        .unwrap();
        assert_eq!(digit.dimensions(), (32, 32));
        let big = tile(
            &vec![9u8; 3 * 200 * 100],
            Shape::Image {
                channels: 3,
                height: 200,
                width: 100,
            },
        )
        .unwrap();
        assert_eq!(big.dimensions(), (48, 96));
        assert!(tile(&[1, 2], Shape::Flat(2)).is_none());
    }
}
