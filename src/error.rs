//! The crate's error type. Each variant maps to one documented exit code
//! (README, "Exit codes"): 1 runtime failure, 2 invalid pipeline or usage,
//! 3 expectation failed, 130 interrupted.

use crate::diagnostics::Report;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline is invalid: every error, located in its source
    /// (rendered once, by [`Report`]'s `Display`).
    #[error("{0}")]
    Invalid(Box<Report>),
    /// Bad command-line usage (an unknown `--set` name, a bad flag value).
    #[error("{0}")]
    Usage(String),
    /// A data, checkpoint or other input file is missing, truncated or
    /// malformed. `path` names the file, `message` what is wrong.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// An I/O failure while reading `path` (or opening it).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file or folder could not be written (a full disk, a file-size
    /// limit, a read-only folder, …). Whatever was written before is intact.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Standard output was closed or failed (`dlp plan … | head` closes it:
    /// the command then ends quietly with exit 0).
    #[error("cannot write to standard output: {0}")]
    Stdout(std::io::Error),
    /// Another process holds the run folder's lock.
    #[error("{0}")]
    Busy(String),
    /// A tensor operation failed.
    #[error("tensor error: {0}")]
    Tensor(#[from] candle_core::Error),
    /// A failure at run time.
    #[error("{0}")]
    Runtime(String),
    /// The loss became NaN or infinite; the message names where and why.
    #[error("{0}")]
    Diverged(String),
    /// One or more `expect` assertions failed.
    #[error("{0}")]
    Expectation(String),
    /// Ctrl-C or SIGTERM: the run was stopped and can be resumed.
    #[error("{0}")]
    Interrupted(String),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::Usage(_) | Error::Busy(_) => 2,
            Error::Expectation(_) => 3,
            Error::Interrupted(_) => 130,
            _ => 1,
        }
    }

    /// A file error.
    pub(crate) fn file(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::File {
            path: path.into(),
            message: message.into(),
        }
    }

    /// An I/O error while reading `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A failure to write `path`.
    pub(crate) fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Write {
            path: path.into(),
            source,
        }
    }

    /// Whether this is a closed standard output (a broken pipe), which
    /// ends a command quietly, as `grep` or `rg` do.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}
