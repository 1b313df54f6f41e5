//! Load-time image transforms (`grayscale`, `rgb`, `resize`), on `u8` pixels so
//! the stored set stays small. Resizing uses the `image` crate's bilinear
//! (triangle) filter, which, like PIL, widens its support when shrinking.

use super::table::{Table, Values};
use crate::error::{Error, Result};
use crate::plan::{Preprocess, Shape};
use image::imageops::{self, FilterType};
use image::{GrayImage, RgbImage};
use rayon::prelude::*;

/// What the load-time part of `preprocess` asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadTransform {
    pub grayscale: bool,
    /// Every image to 3 channels (a grayscale one replicated).
    pub rgb: bool,
    /// (height, width)
    pub resize: Option<(usize, usize)>,
}

impl LoadTransform {
    pub(crate) fn of(steps: &[Preprocess]) -> Self {
        let mut t = LoadTransform::default();
        for s in steps {
            match s {
                Preprocess::Grayscale => t.grayscale = true,
                Preprocess::Rgb => t.rgb = true,
                Preprocess::Resize { height, width } => t.resize = Some((*height, *width)),
                _ => {}
            }
        }
        t
    }

    pub(crate) fn is_identity(&self) -> bool {
        !self.grayscale && !self.rgb && self.resize.is_none()
    }

    /// The shape of a sample after this transform.
    pub fn shape(&self, shape: Shape) -> Shape {
        match shape {
            Shape::Image {
                channels,
                height,
                width,
            } => {
                let (h, w) = self.resize.unwrap_or((height, width));
                Shape::Image {
                    channels: if self.grayscale {
                        1
                    } else if self.rgb {
                        3
                    } else {
                        channels
                    },
                    height: h,
                    width: w,
                }
            }
            flat => flat,
        }
    }
}

/// ITU-R 601-2 luma with PIL's integer rounding (`Image.convert("L")`).
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((u32::from(r) * 19595 + u32::from(g) * 38470 + u32::from(b) * 7471 + 0x8000) >> 16) as u8
}

/// Converts one CHW sample of `channels` (1 or 3) to the transform's shape.
pub fn sample(src: &[u8], channels: usize, h: usize, w: usize, t: LoadTransform) -> Vec<u8> {
    let plane = h * w;
    let grey_out = t.grayscale || (channels == 1 && !t.rgb);
    let (oh, ow) = t.resize.unwrap_or((h, w));
    if grey_out {
        let grey: Vec<u8> = if channels == 1 {
            src.to_vec()
        } else {
            (0..plane)
                .map(|i| luma(src[i], src[plane + i], src[2 * plane + i]))
                .collect()
        };
        if (oh, ow) == (h, w) {
            return grey;
        }
        let img = GrayImage::from_raw(w as u32, h as u32, grey).unwrap_or_default();
        imageops::resize(&img, ow as u32, oh as u32, FilterType::Triangle).into_raw()
    } else {
        // HWC; a grayscale plane goes to all three channels.
        let mut hwc = vec![0u8; plane * 3];
        for c in 0..3 {
            let from = if channels == 1 { 0 } else { c * plane };
            for i in 0..plane {
                hwc[i * 3 + c] = src[from + i];
            }
        }
        let out = if (oh, ow) == (h, w) {
            hwc
        } else {
            let img = RgbImage::from_raw(w as u32, h as u32, hwc).unwrap_or_default();
            imageops::resize(&img, ow as u32, oh as u32, FilterType::Triangle).into_raw()
        };
        let oplane = oh * ow;
        let mut chw = vec![0u8; oplane * 3];
        for c in 0..3 {
            for i in 0..oplane {
                chw[c * oplane + i] = out[i * 3 + c];
            }
        }
        chw
    }
}

/// Applies the transform to a whole stored table of images.
pub fn table(table: Table, shape: Shape, t: LoadTransform) -> Result<Table> {
    if t.is_identity() {
        return Ok(table);
    }
    let Some((channels, height, width)) = shape.image() else {
        return Err(Error::Runtime(
            "grayscale, rgb and resize need image data, but the source gives feature vectors"
                .into(),
        ));
    };
    let Values::U8(pixels) = &table.values else {
        return Err(Error::Runtime(
            "grayscale, rgb and resize need 8-bit image data".into(),
        ));
    };
    let out_numel = t.shape(shape).numel();
    let mut out = vec![0u8; table.len() * out_numel];
    out.par_chunks_mut(out_numel.max(1))
        .zip(pixels.par_chunks(table.numel.max(1)))
        .for_each(|(o, s)| o.copy_from_slice(&sample(s, channels, height, width, t)));
    Ok(Table {
        values: Values::U8(out),
        numel: out_numel,
        labels: table.labels,
        names: table.names,
    })
}
