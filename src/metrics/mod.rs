//! Classification metrics: the [`Confusion`] matrix (rows = true class,
//! columns = predicted) and everything derived from it — accuracy,
//! per-class precision/recall/F1/support, macro and weighted averages,
//! with scikit-learn's conventions — and top-k accuracy.
//!
//! For a binary task the positive class is class 1: its figures are
//! `precision(1)`, `recall(1)`, `f1(1)`.

pub mod classification;
pub mod confusion;
pub mod top_k;

pub use classification::predicted_classes;
pub use confusion::Confusion;
pub use top_k::top_k_accuracy;
