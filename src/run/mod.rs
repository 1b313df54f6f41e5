//! The runner: training loop, early stopping, checkpoints, evaluation.
pub mod early_stop;
