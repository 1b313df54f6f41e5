//! The `data`, `preprocess` and `augment` sections, resolved.

use super::Loc;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataPlan {
    pub source: Source,
    pub split: SplitPlan,
    /// Where the `source` statement is, for load errors.
    pub source_loc: Loc,
}

/// Built-in datasets with an official test part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    Cifar10,
    Mnist,
    FashionMnist,
}

impl Builtin {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Builtin::Cifar10 => "cifar10",
            Builtin::Mnist => "mnist",
            Builtin::FashionMnist => "fashion_mnist",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Builtin(Builtin),
    /// scikit-learn's `make_blobs`. `seed` is the statement's `seed=` or,
    /// when absent, the pipeline seed's data stream (its low 32 bits for
    /// `generator=numpy`).
    Blobs {
        samples: usize,
        centers: usize,
        features: usize,
        std: f64,
        seed: u64,
        /// Absent from the `run.yaml` of runs before `generator=` existed.
        #[serde(default)]
        generator: BlobsGenerator,
    },
    /// Paths are resolved against the pipeline file's folder.
    Csv {
        path: PathBuf,
        label: String,
    },
    Images {
        path: PathBuf,
    },
    Idx {
        images: PathBuf,
        labels: PathBuf,
        test_images: Option<PathBuf>,
        test_labels: Option<PathBuf>,
    },
}

/// What draws `source blobs` (see [`crate::data::blobs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlobsGenerator {
    /// The seeded ChaCha8 data stream: scikit-learn's distribution.
    #[default]
    Chacha,
    /// NumPy's legacy `RandomState`: scikit-learn's exact points.
    Numpy,
}

impl BlobsGenerator {
    pub(crate) fn name(self) -> &'static str {
        match self {
            BlobsGenerator::Chacha => "chacha",
            BlobsGenerator::Numpy => "numpy",
        }
    }
}

impl Source {
    /// Whether the source has an official test part (`test=official`).
    pub(crate) fn has_official_test(&self) -> bool {
        match self {
            Source::Builtin(_) => true,
            Source::Idx { test_images, .. } => test_images.is_some(),
            // Decided when the folder is read (a `test/` sub-folder).
            Source::Images { .. } => true,
            Source::Blobs { .. } | Source::Csv { .. } => false,
        }
    }
}

/// A split size: a count of samples or a fraction of the available ones.
/// Serialised as the bare number (`800`, `0.7`): YAML cannot nest enum tags.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SplitSize {
    Count(usize),
    Fraction(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestSplit {
    Size(SplitSize),
    Official,
    /// No test split was asked for.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitPlan {
    pub train: SplitSize,
    pub valid: Option<SplitSize>,
    pub test: TestSplit,
    pub stratify: bool,
    pub shuffle: bool,
    /// `validate_on=test`: validation metrics come from the test split.
    pub validate_on_test: bool,
    /// Seed of the split shuffle (the pipeline's split stream).
    pub seed: u64,
    pub loc: Loc,
}

/// Deterministic transforms, in the order written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preprocess {
    Grayscale,
    /// Every image to 3 channels (a grayscale one replicated).
    Rgb,
    Resize {
        height: usize,
        width: usize,
    },
    Scale {
        factor: f64,
    },
    /// (x − μ) / (σ + 1e-7), statistics from the train split.
    Normalize {
        per_channel: bool,
    },
    OneHot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillMode {
    Nearest,
    Constant,
    Reflect,
    Wrap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flip {
    Horizontal,
    Vertical,
    Both,
}

/// Random transforms for training batches, applied in a fixed order:
/// affine (rotate, shift, zoom), flip, brightness, crop.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AugmentPlan {
    /// Degrees, uniform in ±rotate.
    pub rotate: Option<f64>,
    /// (width, height) fractions, uniform in ±.
    pub shift: Option<(f64, f64)>,
    /// x and y scales drawn independently from [1−zoom, 1+zoom].
    pub zoom: Option<f64>,
    pub fill: Option<FillMode>,
    pub flip: Option<Flip>,
    /// Multiplier drawn from [lo, hi].
    pub brightness: Option<(f64, f64)>,
    /// (size, padding).
    pub crop: Option<(usize, usize)>,
    /// Seed of the augmentation stream.
    pub seed: u64,
}

impl AugmentPlan {
    pub(crate) fn is_empty(&self) -> bool {
        self.rotate.is_none()
            && self.shift.is_none()
            && self.zoom.is_none()
            && self.flip.is_none()
            && self.brightness.is_none()
            && self.crop.is_none()
    }
}
