//! The runner: training loop, early stopping, checkpoints, evaluation.
