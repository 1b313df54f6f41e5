//! Tensor shapes of one sample, as the planner infers them layer by layer.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The shape of one sample (no batch axis). Images are stored
/// channels-first (candle's NCHW) but printed as Keras does, `(H, W, C)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// A feature vector of this length.
    Flat(usize),
    /// An image or feature map.
    Image {
        channels: usize,
        height: usize,
        width: usize,
    },
}

impl Shape {
    /// Number of scalars in one sample.
    pub fn numel(&self) -> usize {
        match *self {
            Shape::Flat(n) => n,
            Shape::Image {
                channels,
                height,
                width,
            } => channels * height * width,
        }
    }

    /// `(channels, height, width)` of an image, `None` for a feature vector.
    pub(crate) fn image(&self) -> Option<(usize, usize, usize)> {
        match *self {
            Shape::Image {
                channels,
                height,
                width,
            } => Some((channels, height, width)),
            Shape::Flat(_) => None,
        }
    }

    /// The dims of a batch of `n` samples, as candle wants them.
    pub(crate) fn batch_dims(&self, n: usize) -> Vec<usize> {
        match *self {
            Shape::Flat(d) => vec![n, d],
            Shape::Image {
                channels,
                height,
                width,
            } => vec![n, channels, height, width],
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Shape::Flat(n) => write!(f, "(None, {n})"),
            Shape::Image {
                channels,
                height,
                width,
            } => {
                write!(f, "(None, {height}, {width}, {channels})")
            }
        }
    }
}
