//! `source images "folder/"`: one sub-folder per class holding PNG/JPEG
//! files; with `train/` and `test/` sub-folders, `test/` is the official
//! test part. Classes are the sub-folder names in sorted order.

use super::convert::{self, LoadTransform};
use super::table::{Loaded, Table, Values};
use crate::error::{Error, Result};
use crate::plan::Shape;
use image::{DynamicImage, ImageReader};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
        .unwrap_or(false)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// The folders holding the training part and the official test part.
pub fn parts(root: &Path) -> (PathBuf, Option<PathBuf>) {
    let (train, test) = (root.join("train"), root.join("test"));
    if train.is_dir() && test.is_dir() {
        (train, Some(test))
    } else {
        (root.to_path_buf(), None)
    }
}

/// Class folders (sorted) and their image files (sorted).
pub fn listing(dir: &Path) -> Result<Vec<(String, Vec<PathBuf>)>> {
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

fn decode(path: &Path) -> Result<DynamicImage> {
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

/// The stored shape of one image file, reading only its header.
pub fn probe_file(path: &Path) -> Result<Shape> {
    use image::ImageDecoder;
    let dec = ImageReader::open(path)
        .map_err(|e| Error::io(path, e))?
        .with_guessed_format()
        .map_err(|e| Error::io(path, e))?
        .into_decoder()
        .map_err(|e| Error::file(path, format!("cannot read image header: {e}")))?;
    let (w, h) = dec.dimensions();
    Ok(Shape::Image {
        channels: if dec.color_type().has_color() { 3 } else { 1 },
        height: h as usize,
        width: w as usize,
    })
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
        .chain(test.iter().flat_map(|(imgs, _)| imgs.iter()));
    let Some((first_path, first)) = train_imgs.first() else {
        return Err(Error::file(
            &train_dir,
            "no PNG or JPEG files in the class folders",
        ));
    };
    let (w0, h0) = (first.width() as usize, first.height() as usize);
    let mut channels = 1;
    for (p, img) in all {
        channels = channels.max(channels_of(img));
        let (w, h) = (img.width() as usize, img.height() as usize);
        if t.resize.is_none() && (w, h) != (w0, h0) {
            return Err(Error::file(
                p,
                format!(
                    "image is {h}×{w} (height×width) but {} is {h0}×{w0}; add `resize H W` to preprocess",
                    first_path.display()
                ),
            ));
        }
    }
    let (oh, ow) = t.resize.unwrap_or((h0, w0));
    let out_c = if t.grayscale { 1 } else { channels };
    let numel = out_c * oh * ow;
    let to_table = |imgs: &[(PathBuf, DynamicImage)], labels: Vec<u32>| -> Table {
        let mut px = vec![0u8; imgs.len() * numel];
        px.par_chunks_mut(numel.max(1))
            .zip(imgs.par_iter())
            .for_each(|(out, (_, img))| {
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
                    grayscale: t.grayscale,
                    resize: Some((oh, ow)),
                };
                out.copy_from_slice(&convert::sample(&chw, c, h, w, each));
            });
        Table {
            values: Values::U8(px),
            numel,
            labels,
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
