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
    mod model;
    mod optim;
    mod schedule;
}

mod frontend {
    mod check_vs_run;
    mod defaults;
    mod errors;
    mod pipelines;
}

mod newcomer {
    mod crlf;
    mod reach;
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
    mod run_folder;
}

mod robust {
    mod faults;
    mod fuzz;
    mod inputs;
}
