//! Run outputs: everything a run leaves in `runs/<pipeline>/<run-id>/` to
//! answer what a person or a CI job asks of it.
//!
//! | file | written by |
//! | --- | --- |
//! | `run.yaml` | [`manifest::Manifest`] — plan, seed, versions, status, final metrics |
//! | `train.csv` | [`history::History`] — one row per epoch, rewritten after each |
//! | `data.csv` | [`data_csv::write_data_csv`] — samples per split and class |
//! | `stages.csv` | [`stages::StageTimer`] — the only file with wall-clock times |
//! | `curves.png`, `curves.svg` | [`curves::write`] — loss and accuracy per epoch |
//! | `confusion.png`, `confusion.svg` | [`confusion_plot::write`] — the test confusion heatmap |
//! | `misclassified.png`, `.csv` | [`misclassified::write`] — the most confident test mistakes (images) |
//! | `diagnosis.txt` | [`diagnosis::Diagnosis`] — over/underfitting verdict and advice |
//! | `report.html` | [`page::write_run_page`] — all of the above on one page |
//! | `sweep.png`, `sweep.svg` | [`sweep_plot::write_picture`] — a sweep's trials, in a sweep folder |
//!
//! Every file is written atomically ([`atomic`]). [`expect`] checks the
//! pipeline's assertions, [`diff`] compares two runs (`dlp diff`),
//! [`page::compare`] several (`dlp report`),
//! [`progress`] shows training on the terminal and [`trace`] sets up logs
//! and Chrome traces.

pub(crate) mod confusion_plot;
pub mod curves;
pub(crate) mod diagnosis;
pub(crate) mod expect;
pub(crate) mod misclassified;
pub(crate) mod page;
pub(crate) mod sweep_plot;

pub use curves::Marks;
pub(crate) use diagnosis::Diagnosis;
