//! Classification metrics: the [`Confusion`] matrix (rows = true class,
//! columns = predicted) and everything derived from it — accuracy,
//! per-class precision/recall/F1/support, macro and weighted averages,
//! with scikit-learn's conventions — and top-k accuracy; [`stats`]
//! summarises a metric over seeds (mean, spread, Welch's t-test).
//!
//! For a binary task the positive class is class 1
//! ([`Confusion::binary_positive`]).

pub(crate) mod classification;
pub(crate) mod confusion;
pub(crate) mod stats;
pub(crate) mod top_k;

pub use classification::{ClassFigures, predicted_classes};
pub use confusion::Confusion;
pub(crate) use top_k::top_k_accuracy;
