//! The integration tests, as one test binary (`cargo test --test it`):
//! one module per area, one file per subject. One binary links the
//! library, candle, plotters and ureq once instead of once per file.
//!
//! The tests of every module run on threads of this one process, so none
//! may change what the process shares: environment variables, the current
//! folder, the umask, resource limits, signal dispositions. A test that
//! needs any of these sets them for a child process (`Command::env`, a
//! `sh -c 'umask …; exec …'` wrapper), never for this one.

mod common;
mod floor_plan;
mod run_outputs;

mod data {
    mod augment;
    mod batches;
    mod blobs;
    mod builtin;
    mod download;
    mod loaders;
    mod preprocess;
    mod split;
}

mod engine {
    mod choices;
    mod graph;
    mod model;
    mod optim;
    mod schedule;
    mod words;
}

mod export {
    mod cases;
    mod errors;
    mod runtimes;
}

mod frontend {
    mod check_vs_run;
    mod defaults;
    mod errors;
    mod highlight;
    mod pipelines;
    mod reference;
}

mod newcomer {
    mod crlf;
    mod reach;
    mod report_groups;
    mod seeds_expect;
    mod small;
    mod summary_epoch;
    mod sweep_best;
}

mod ops {
    mod common;
    mod conv;
    mod norm;
    mod pool;
}

mod report {
    mod files;
    mod formats;
    mod run_folder;
    mod untrusted;
}

mod track {
    mod dvc;
    mod mlflow;
    mod tensorboard;
    mod tools;
}

mod robust {
    mod faults;
    mod fuzz;
    mod fuzz_files;
    mod inputs;
    mod wrong_answers;
}
