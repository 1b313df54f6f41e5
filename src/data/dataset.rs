//! The loaded, split and fitted dataset the runner draws batches from.

use super::augment;
use super::batches::Batches;
use super::preprocess::{Affine, PreprocessStats};
use super::table::{Table, Values};
use crate::error::{Error, Result};
use crate::plan::{AugmentPlan, Shape};
use rayon::prelude::*;
use std::sync::Arc;

/// A split of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    Train,
    Valid,
    Test,
}

impl Part {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Valid => "valid",
            Part::Test => "test",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// One part's rows in a stored table and their labels.
#[derive(Debug, Clone)]
pub(crate) struct PartRows {
    pub table: usize,
    pub rows: Vec<usize>,
    pub labels: Vec<u32>,
}

/// A batch: `x` is `f32`, preprocessed (and augmented when asked), laid
/// out as `dims` (NCHW for images, (N, D) for vectors); `y` are class ids;
/// `indices` are the samples' indices within their part.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub x: Vec<f32>,
    pub dims: Vec<usize>,
    pub y: Vec<u32>,
    pub indices: Vec<usize>,
}

#[derive(Debug)]
pub struct Dataset {
    pub classes: Vec<String>,
    /// Shape of one sample after preprocessing.
    pub input: Shape,
    /// The statistics preprocessing used (for the run manifest).
    pub stats: PreprocessStats,
    pub(crate) tables: Vec<Table>,
    pub(crate) parts: [Option<PartRows>; 3],
    pub(crate) affine: Affine,
}

impl Dataset {
    fn part(&self, part: Part) -> Option<&PartRows> {
        self.parts[part.slot()].as_ref()
    }

    /// Samples in `part`; 0 when absent.
    pub fn len(&self, part: Part) -> usize {
        self.part(part).map_or(0, |p| p.rows.len())
    }

    pub fn labels(&self, part: Part) -> &[u32] {
        self.part(part).map_or(&[], |p| &p.labels)
    }

    pub fn has(&self, part: Part) -> bool {
        self.part(part).is_some()
    }

    /// Where sample `index` of `part` came from (`FILE[j]`, an image
    /// file), as `dlp predict` names that input; `None` for generated or
    /// CSV samples.
    pub(crate) fn source_name(&self, part: Part, index: usize) -> Option<String> {
        let p = self.part(part)?;
        self.tables[p.table].names.get(*p.rows.get(index)?)
    }

    /// The stored bytes of sample `index` of `part` (pixels as loaded and
    /// resized, before augmentation and the value transforms), for
    /// pictures of it; `None` for feature vectors or an index out of range.
    pub(crate) fn raw_pixels(&self, part: Part, index: usize) -> Option<&[u8]> {
        let p = self.part(part)?;
        let row = *p.rows.get(index)?;
        let table = &self.tables[p.table];
        match &table.values {
            Values::U8(v) => v.get(row * table.numel..(row + 1) * table.numel),
            Values::F32(_) => None,
        }
    }

    /// Samples per class in `part`.
    pub fn class_counts(&self, part: Part) -> Vec<usize> {
        let mut c = vec![0; self.classes.len()];
        for &l in self.labels(part) {
            if let Some(x) = c.get_mut(l as usize) {
                *x += 1;
            }
        }
        c
    }

    /// Assembles one batch (f32, preprocessed; augmented when `augment` is
    /// given, with that epoch's randomness per sample index).
    pub fn batch(
        &self,
        part: Part,
        indices: &[usize],
        augment: Option<(&AugmentPlan, u64)>,
    ) -> Result<Batch> {
        let p = self
            .part(part)
            .ok_or_else(|| Error::Runtime(format!("the dataset has no {} split", part.name())))?;
        if let Some(&bad) = indices.iter().find(|&&i| i >= p.rows.len()) {
            return Err(Error::Runtime(format!(
                "sample {bad} is out of range: the {} split has {}",
                part.name(),
                p.rows.len()
            )));
        }
        let augment = augment.filter(|(a, _)| !a.is_empty());
        let geometry = match (self.input, augment) {
            (_, None) => None,
            (
                Shape::Image {
                    channels,
                    height,
                    width,
                },
                Some((plan, _)),
            ) => {
                if let Some((size, _)) = plan.crop
                    && (size != height || size != width)
                {
                    return Err(Error::Runtime(format!(
                        "crop {size} must equal the image size ({height}×{width}) so every split has one shape"
                    )));
                }
                Some((channels, height, width))
            }
            (Shape::Flat(_), Some(_)) => {
                return Err(Error::Runtime(
                    "augmentation needs images, but the data are feature vectors".into(),
                ));
            }
        };
        let table = &self.tables[p.table];
        let numel = self.input.numel();
        let max = match table.values {
            Values::U8(_) => 255.0,
            Values::F32(_) => f32::MAX,
        };
        let mut x = vec![0f32; indices.len() * numel];
        x.par_chunks_mut(numel.max(1))
            .zip(indices.par_iter())
            .for_each_init(Vec::new, |scratch, (out, &i)| {
                table.copy_f32(p.rows[i], out);
                if let (Some((plan, epoch)), Some((c, h, w))) = (augment, geometry) {
                    augment::apply(plan, epoch, i, out, scratch, (c, h, w), max);
                }
                self.affine.apply(out);
            });
        Ok(Batch {
            x,
            dims: self.input.batch_dims(indices.len()),
            y: indices.iter().map(|&i| p.labels[i]).collect(),
            indices: indices.to_vec(),
        })
    }

    /// A prefetching iterator over the batches of `order`, assembled on a
    /// background thread (a bounded queue, so it stays a few batches ahead).
    pub fn batches(
        self: &Arc<Self>,
        part: Part,
        order: Vec<usize>,
        batch_size: usize,
        drop_last: bool,
        augment: Option<(AugmentPlan, u64)>,
    ) -> Batches {
        self.batches_then(part, (order, batch_size, drop_last), augment, Ok)
    }

    /// [`Dataset::batches`], with each batch then passed through `finish`
    /// on the same background thread (the runner puts it on the device
    /// there): `(order, batch_size, drop_last)` as for `batches`.
    pub fn batches_then<T: Send + 'static>(
        self: &Arc<Self>,
        part: Part,
        chunks: (Vec<usize>, usize, bool),
        augment: Option<(AugmentPlan, u64)>,
        finish: impl Fn(Batch) -> Result<T> + Send + 'static,
    ) -> Batches<T> {
        Batches::spawn(Arc::clone(self), part, chunks, augment, finish)
    }
}
