//! Data: sources, splits, preprocessing, augmentation and batching.

use crate::error::{Error, Result};
use crate::plan::{Builtin, Shape, Source};
use std::path::Path;

/// What the planner needs to know of a source before loading it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceInfo {
    /// Shape of one sample as stored (before preprocessing).
    pub input: Shape,
    /// Number of classes, when it is known without reading all labels.
    pub classes: Option<usize>,
}

/// The shape and class count of a source, reading at most file headers.
/// `base` is the pipeline file's folder, against which paths resolve.
pub fn probe(source: &Source, _base: &Path) -> Result<SourceInfo> {
    match source {
        Source::Builtin(Builtin::Cifar10) => Ok(SourceInfo {
            input: Shape::Image {
                channels: 3,
                height: 32,
                width: 32,
            },
            classes: Some(10),
        }),
        Source::Builtin(Builtin::Mnist | Builtin::FashionMnist) => Ok(SourceInfo {
            input: Shape::Image {
                channels: 1,
                height: 28,
                width: 28,
            },
            classes: Some(10),
        }),
        Source::Blobs {
            features, centers, ..
        } => Ok(SourceInfo {
            input: Shape::Flat(*features),
            classes: Some(*centers),
        }),
        other => Err(Error::Runtime(format!(
            "probing {other:?} is not built yet"
        ))),
    }
}
