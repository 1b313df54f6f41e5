//! One file per subcommand; each returns the process exit code.

pub mod bench;
pub mod check;
pub mod diff;
pub mod eval;
pub mod plan;
pub mod run;
