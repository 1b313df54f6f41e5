//! `dlp` runs a declarative deep-learning pipeline, in stages:
//!
//! 1. [`syntax`] parses a `.dlp` file (grammar in `grammar/dlp.pest`) into
//!    an AST that keeps spans;
//! 2. [`analyze`] resolves variables, `repeat` blocks and defaults, checks
//!    every statement and infers shapes, producing a [`plan::Plan`] or every
//!    error at once;
//! 3. [`data`] loads, splits, preprocesses and augments the samples;
//! 4. [`nn`], [`optim`] and [`ops`] turn the plan into candle graphs;
//! 5. [`run`] trains, validates, checkpoints and evaluates;
//! 6. [`report`] writes the run folder: CSVs, manifest, curves, diagnosis.
//!
//! [`cli`] and [`commands`] are the `dlp` binary's front door; [`fmt`] and
//! `lsp` (the language server) serve people writing pipelines in an editor.

pub mod alloc;
pub mod analyze;
pub mod cli;
pub mod commands;
pub mod data;
pub mod diagnostics;
pub mod diff;
pub mod error;
pub mod export;
mod fault;
pub(crate) mod file_format;
pub mod fmt;
pub(crate) mod lockfile;
pub(crate) mod lsp;
pub mod metrics;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod plan;
pub mod records;
pub mod report;
pub mod rng;
pub mod run;
pub mod sweeps;
pub mod syntax;
pub mod terminal;
pub(crate) mod track;
