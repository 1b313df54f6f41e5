//! The run folder's records: one file here per file a run writes and
//! reads back, holding its name, its writer and its reader. Every file is
//! written atomically ([`atomic`]): a crash or a full disk leaves the old
//! version or the new one, never half of one.
//!
//! | file | record |
//! | --- | --- |
//! | `run.yaml` | [`manifest::Manifest`] — plan, seed, versions, status, final metrics |
//! | `train.csv` | [`history::History`] — one row per epoch, rewritten after each |
//! | `data.csv` | [`data_csv`] — samples per split and class |
//! | `eval.csv`, `confusion.csv` | [`eval_csv`] — test metrics and the confusion matrix |
//! | `export.yaml` | [`export_yaml`] — every `dlp export` of the run |
//! | `stages.csv` | [`stages::StageTimer`] — the only file with wall-clock times |
//!
//! The pictures and pages a person reads (`curves.*`, `confusion.*`,
//! `misclassified.*`, `diagnosis.txt`, `report.html`) are the report's
//! ([`crate::report`]).

pub mod atomic;
pub(crate) mod csv_table;
pub(crate) mod data_csv;
pub(crate) mod eval_csv;
pub(crate) mod export_yaml;
pub(crate) mod history;
pub mod manifest;
pub(crate) mod stages;

pub use atomic::csv_num;
pub use data_csv::write_data_csv;
pub(crate) use eval_csv::write_eval;
pub use history::{EpochRow, History};
pub(crate) use manifest::TransferSource;
pub use manifest::{Manifest, Status};
pub(crate) use stages::StageTimer;
