//! A table of samples as loaded: pixels stay `u8` (a quarter of the memory
//! of `f32`) until a batch is assembled; tabular features are `f32`.

use crate::plan::Shape;

/// Sample values, row-major, one sample after another (images CHW).
#[derive(Debug, Clone)]
pub enum Values {
    U8(Vec<u8>),
    F32(Vec<f32>),
}

/// Samples of one stored part (a source's training part or its official
/// test part) with their class ids.
#[derive(Debug, Clone)]
pub struct Table {
    pub values: Values,
    /// Scalars per sample.
    pub numel: usize,
    pub labels: Vec<u32>,
    /// Where each sample came from.
    pub names: Names,
}

/// How the outputs name a stored sample (`misclassified.csv`'s `source`),
/// as `dlp predict` names the same input.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Names {
    /// Generated samples (blobs), or read from rows (CSV): not named.
    #[default]
    Unnamed,
    /// Records stored back to back in files (IDX, CIFAR-10 batches), in
    /// order: each file and its record count; sample `j` of a file is
    /// `FILE[j]`.
    Records(Vec<(String, usize)>),
    /// A file per sample (image folders).
    Files(Vec<String>),
}

impl Names {
    /// The name of sample `row`, if the source names its samples.
    pub fn get(&self, row: usize) -> Option<String> {
        match self {
            Names::Unnamed => None,
            Names::Records(files) => {
                let mut first = 0;
                for (file, count) in files {
                    if row < first + count {
                        return Some(format!("{file}[{}]", row - first));
                    }
                    first += count;
                }
                None
            }
            Names::Files(paths) => paths.get(row).cloned(),
        }
    }
}

impl Table {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Writes sample `row` as `f32` into `out` (`numel` long).
    pub(crate) fn copy_f32(&self, row: usize, out: &mut [f32]) {
        let range = row * self.numel..(row + 1) * self.numel;
        match &self.values {
            Values::U8(v) => {
                for (o, &b) in out.iter_mut().zip(&v[range]) {
                    *o = f32::from(b);
                }
            }
            Values::F32(v) => out.copy_from_slice(&v[range]),
        }
    }
}

/// A source after loading: its classes, sample shape and stored parts.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// How errors name the source (`cifar10`, `iris.csv`).
    pub name: String,
    pub classes: Vec<String>,
    /// Shape of one stored sample (after grayscale/resize at load time).
    pub shape: Shape,
    pub train: Table,
    /// The official test part, when the source has one.
    pub test: Option<Table>,
}
