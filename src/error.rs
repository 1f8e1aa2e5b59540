//! One error type for the whole crate.
//!
//! Every variant says what went wrong, where (file, line, column, key or row) and, where it
//! can, what to do about it. The binary maps [`Error::exit_code`] to the process exit status:
//! `2` for problems with the user's input, `1` for failures of the tool itself.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in musiclime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input supplied by the user is malformed or inconsistent (a file, a flag, a config key).
    /// `source` names the file or flag; `message` says what is wrong and how to fix it.
    #[error("{source_name}: {message}")]
    Input {
        /// The file, flag or key the problem was found in.
        source_name: String,
        /// What is wrong and what to do about it.
        message: String,
    },
    /// A parameter value is out of its valid range (returned by the `check()` of a params struct).
    #[error("invalid parameter `{name}`: {message}")]
    Param {
        /// The parameter's name as it is spelled in configs and on the command line.
        name: &'static str,
        /// What is wrong and what values are accepted.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file that could not be read or written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A numerical routine could not produce a finite answer.
    #[error("numerical failure: {0}")]
    Numeric(String),
    /// A value could not be written as JSON or YAML.
    #[error("could not serialize {0}")]
    Serialization(String),
    /// A table could not be built or written (Polars).
    #[error("table: {0}")]
    Table(String),
    /// A chart, image or sound could not be drawn or encoded.
    #[error("could not encode {0}")]
    Encoding(String),
    /// musiclime broke one of its own invariants (a bug, not the user's input).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An input error about `source_name` (a path, flag or key).
    pub fn input(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            source_name: source_name.into(),
            message: message.into(),
        }
    }

    /// An input error about a file.
    pub fn in_file(path: &Path, message: impl Into<String>) -> Self {
        Error::input(path.display().to_string(), message)
    }

    /// An I/O error about a file.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A parameter out of range.
    pub(crate) fn param(name: &'static str, message: impl Into<String>) -> Self {
        Error::Param {
            name,
            message: message.into(),
        }
    }

    /// Serializing `what` failed with `error`.
    pub fn serialization(what: &str, error: impl std::fmt::Display) -> Self {
        Error::Serialization(format!("{what}: {error}"))
    }

    /// Building or writing a table failed with `error`.
    pub fn table(error: impl std::fmt::Display) -> Self {
        Error::Table(error.to_string())
    }

    /// Drawing or encoding `what` failed with `error`.
    pub fn encoding(what: &str, error: impl std::fmt::Debug) -> Self {
        Error::Encoding(format!("{what}: {error:?}"))
    }

    /// The process exit status for this error: 2 for bad input, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } | Error::Param { .. } | Error::Io { .. } => 2,
            Error::Numeric(_)
            | Error::Serialization(_)
            | Error::Table(_)
            | Error::Encoding(_)
            | Error::Internal(_) => 1,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
