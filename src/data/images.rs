//! `source images "folder/"`: one sub-folder per class holding PNG/JPEG
//! files; with `train/` and `test/` sub-folders, `test/` is the official
//! test part. Classes are the sub-folder names in sorted order. Every file
//! must match the first one's size (unless `resize`) and channels (unless
//! `grayscale` or `rgb`); see [`Survey`].

use super::convert::{self, LoadTransform};
use super::table::{Loaded, Names, Table, Values};
use crate::error::{Error, Result};
use crate::plan::Shape;
use image::{DynamicImage, ImageReader};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Whether a file name has an image extension (`.png`, `.jpg`, `.jpeg`).
pub(crate) fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        .unwrap_or(false)
}

/// A folder's entries, sorted by path.
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// The folders holding the training part and the official test part.
pub(crate) fn parts(root: &Path) -> (PathBuf, Option<PathBuf>) {
    let (train, test) = (root.join("train"), root.join("test"));
    if train.is_dir() && test.is_dir() {
        (train, Some(test))
    } else {
        (root.to_path_buf(), None)
    }
}

/// Class folders (sorted) and their image files (sorted).
pub(crate) fn listing(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
    let mut classes = Vec::new();
    for p in sorted_entries(dir)? {
        if p.is_dir() {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let files: Vec<PathBuf> = sorted_entries(&p)?
                .into_iter()
                .filter(|f| f.is_file() && is_image(f))
                .collect();
            classes.push((name, files));
        }
    }
    if classes.is_empty() {
        return Err(Error::file(
            dir,
            "no class sub-folders (expected one folder of PNG/JPEG files per class)",
        ));
    }
    Ok(classes)
}

/// Decodes one image file (the format from its bytes, not its name).
pub fn decode(path: &Path) -> Result<DynamicImage> {
    ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?
        .decode()
        .map_err(|e| Error::file(path, format!("cannot decode image: {e}")))
}

fn channels_of(img: &DynamicImage) -> usize {
    if img.color().has_color() { 3 } else { 1 }
}

/// Channels (1 or 3), height and width of one image file, reading only
/// its header.
fn header(path: &Path) -> Result<(usize, usize, usize)> {
    use image::ImageDecoder;
    let dec = ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?
        .into_decoder()
        .map_err(|e| Error::file(path, format!("cannot read image header: {e}")))?;
    let (w, h) = dec.dimensions();
    let channels = if dec.color_type().has_color() { 3 } else { 1 };
    Ok((channels, h as usize, w as usize))
}

/// The stored shape of one image file, reading only its header.
pub fn probe_file(path: &Path) -> Result<Shape> {
    let (channels, height, width) = header(path)?;
    Ok(Shape::Image {
        channels,
        height,
        width,
    })
}

/// What the files of an image folder say about their channels and sizes,
/// in listing order (the training part, then the official test part).
/// The analyzer reads it from the headers alone, the loader from the
/// decoded images; both report its [`Survey::problems`], so a folder that
/// cannot be loaded as the pipeline says fails `dlp check` already.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    /// The first file, its channels (1 or 3), height and width.
    pub first: (PathBuf, usize, usize, usize),
    /// Files with one channel (grayscale) and with three (colour).
    pub grayscale: usize,
    pub colour: usize,
    /// The first file whose channel count differs from the first file's.
    pub other_channels: Option<PathBuf>,
    /// The first file whose size differs from the first file's, with its
    /// height and width.
    pub other_size: Option<(PathBuf, usize, usize)>,
}

impl Survey {
    /// Surveys `(file, channels, height, width)` in order; `None` when
    /// there is no file.
    pub(crate) fn of<'a>(
        files: impl IntoIterator<Item = (&'a Path, usize, usize, usize)>,
    ) -> Option<Survey> {
        let mut it = files.into_iter();
        let (p0, c0, h0, w0) = it.next()?;
        let mut s = Survey {
            first: (p0.to_path_buf(), c0, h0, w0),
            grayscale: usize::from(c0 == 1),
            colour: usize::from(c0 != 1),
            other_channels: None,
            other_size: None,
        };
        for (p, c, h, w) in it {
            if c == 1 {
                s.grayscale += 1;
            } else {
                s.colour += 1;
            }
            if c != c0 && s.other_channels.is_none() {
                s.other_channels = Some(p.to_path_buf());
            }
            if (h, w) != (h0, w0) && s.other_size.is_none() {
                s.other_size = Some((p.to_path_buf(), h, w));
            }
        }
        Some(s)
    }

    /// Reads the header of every file, in parallel. The first file's
    /// header must be readable (it gives the input shape); another file
    /// whose header cannot be read is left out here and left to the loader,
    /// which names it when decoding fails (a corrupt data file, exit 1).
    pub(crate) fn of_headers(files: &[PathBuf]) -> Result<Option<Survey>> {
        let Some(first) = files.first() else {
            return Ok(None);
        };
        let first = (first.as_path(), header(first)?);
        let rest: Vec<Option<(usize, usize, usize)>> =
            files[1..].par_iter().map(|f| header(f).ok()).collect();
        let rest = files[1..]
            .iter()
            .zip(rest)
            .filter_map(|(f, d)| d.map(|d| (f.as_path(), d)));
        Ok(Survey::of(
            std::iter::once(first)
                .chain(rest)
                .map(|(f, (c, h, w))| (f, c, h, w)),
        ))
    }

    /// Channels of a sample as decoded, before `grayscale` or `rgb`: 3 when
    /// any file has colour.
    pub(crate) fn channels(&self) -> usize {
        if self.colour > 0 { 3 } else { 1 }
    }

    /// Why the folder cannot be loaded with transform `t`: grayscale and
    /// colour files mixed without `grayscale` or `rgb` to say which the
    /// model gets, sizes that differ without `resize`.
    pub fn problems(&self, t: LoadTransform) -> Vec<Error> {
        let (first, c0, h0, w0) = &self.first;
        let kind = |c: usize| {
            if c == 1 {
                "grayscale (1 channel)"
            } else {
                "colour (3 channels)"
            }
        };
        let mut out = Vec::new();
        if let Some(p) = &self.other_channels
            && !t.grayscale
            && !t.rgb
        {
            out.push(Error::file(
                p,
                format!(
                    "image is {} but {} is {}: the folder mixes {} grayscale and {} colour images; add `grayscale` (every image to 1 channel) or `rgb` (every image to 3) to preprocess",
                    kind(if *c0 == 1 { 3 } else { 1 }),
                    first.display(),
                    kind(*c0),
                    self.grayscale,
                    self.colour
                ),
            ));
        }
        if let Some((p, h, w)) = &self.other_size
            && t.resize.is_none()
        {
            out.push(Error::file(
                p,
                format!(
                    "image is {h}×{w} (height×width) but {} is {h0}×{w0}; add `resize H W` to preprocess",
                    first.display()
                ),
            ));
        }
        out
    }
}

/// Every image file of the folder, training part first, in listing order,
/// and the training part's class count.
pub(crate) fn files(root: &Path) -> Result<(Vec<PathBuf>, usize)> {
    let (train, test) = parts(root);
    let listing = listing(&train)?;
    let classes = listing.len();
    let mut files: Vec<PathBuf> = listing.into_iter().flat_map(|(_, f)| f).collect();
    if files.is_empty() {
        return Err(Error::file(
            &train,
            "no PNG or JPEG files in the class folders",
        ));
    }
    if let Some(t) = test {
        files.extend(self::listing(&t)?.into_iter().flat_map(|(_, f)| f));
    }
    Ok((files, classes))
}

/// Decoded images with their files, and their labels.
type Decoded = (Vec<(PathBuf, DynamicImage)>, Vec<u32>);

/// Decodes every file of one part; returns CHW samples and labels.
fn read_part(
    classes: &[String],
    listing: &[(String, Vec<PathBuf>)],
    dir: &Path,
) -> Result<Decoded> {
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for (name, fs) in listing {
        let id = classes.iter().position(|c| c == name).ok_or_else(|| {
            Error::file(
                dir.join(name),
                format!("class folder \"{name}\" is not among the training classes"),
            )
        })?;
        for f in fs {
            files.push(f.clone());
            labels.push(id as u32);
        }
    }
    let imgs = files
        .par_iter()
        .map(|f| decode(f).map(|i| (f.clone(), i)))
        .collect::<Result<Vec<_>>>()?;
    Ok((imgs, labels))
}

/// One decoded image as the model's stored sample: decoded to `channels`
/// (3: RGB, a grayscale image replicated; 1: luma), CHW, then the
/// load-time transform `t` with the output size `(height, width)`. The
/// loader and `dlp predict` both go through here, so a file is read the
/// same way for training and for prediction.
pub(crate) fn sample(
    img: &DynamicImage,
    channels: usize,
    t: LoadTransform,
    (oh, ow): (usize, usize),
) -> Vec<u8> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (src, c) = if channels == 3 {
        (img.to_rgb8().into_raw(), 3)
    } else {
        (img.to_luma8().into_raw(), 1)
    };
    // HWC → CHW, then the shared load-time transform.
    let plane = h * w;
    let mut chw = vec![0u8; src.len()];
    for i in 0..plane {
        for k in 0..c {
            chw[k * plane + i] = src[i * c + k];
        }
    }
    let each = LoadTransform {
        resize: Some((oh, ow)),
        ..t
    };
    convert::sample(&chw, c, h, w, each)
}

/// Loads the folder, applying `grayscale`/`resize` as each image is read.
pub fn load(root: &Path, t: LoadTransform) -> Result<Loaded> {
    let (train_dir, test_dir) = parts(root);
    let train_list = listing(&train_dir)?;
    let classes: Vec<String> = train_list.iter().map(|(n, _)| n.clone()).collect();
    let (train_imgs, train_labels) = read_part(&classes, &train_list, &train_dir)?;
    let test = match &test_dir {
        Some(d) => Some(read_part(&classes, &listing(d)?, d)?),
        None => None,
    };
    let all = train_imgs
        .iter()
        .chain(test.iter().flat_map(|(imgs, _)| imgs.iter()))
        .map(|(p, img)| {
            let (w, h) = (img.width() as usize, img.height() as usize);
            (p.as_path(), channels_of(img), h, w)
        });
    let Some(survey) = Survey::of(all) else {
        return Err(Error::file(
            &train_dir,
            "no PNG or JPEG files in the class folders",
        ));
    };
    if let Some(e) = survey.problems(t).into_iter().next() {
        return Err(e);
    }
    let (_, _, h0, w0) = survey.first;
    // Decoded as colour when any file has colour or `rgb` asks for it
    // (grayscale files are then replicated, as PIL's convert("RGB")).
    let channels = if t.rgb { 3 } else { survey.channels() };
    let (oh, ow) = t.resize.unwrap_or((h0, w0));
    let out_c = if t.grayscale { 1 } else { channels };
    let numel = out_c * oh * ow;
    let to_table = |imgs: &[(PathBuf, DynamicImage)], labels: Vec<u32>| -> Table {
        let mut px = vec![0u8; imgs.len() * numel];
        px.par_chunks_mut(numel.max(1))
            .zip(imgs.par_iter())
            .for_each(|(out, (_, img))| {
                out.copy_from_slice(&sample(img, channels, t, (oh, ow)));
            });
        Table {
            values: Values::U8(px),
            numel,
            labels,
            names: Names::Files(imgs.iter().map(|(p, _)| p.display().to_string()).collect()),
        }
    };
    let train = to_table(&train_imgs, train_labels);
    let test = test.map(|(imgs, labels)| to_table(&imgs, labels));
    Ok(Loaded {
        name: root.display().to_string(),
        classes,
        shape: Shape::Image {
            channels: out_c,
            height: oh,
            width: ow,
        },
        train,
        test,
    })
}
