//! The crate's error type.

use std::path::PathBuf;

/// What can go wrong setting up logging.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// The log directory or file could not be created or opened.
    #[error("cannot open log files in {}", directory.display())]
    Io {
        /// The log directory.
        directory: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The log writer thread could not be started.
    #[error("cannot start the log writer thread")]
    WriterThread(#[source] std::io::Error),
    /// A correlation id that is not 1 to 128 characters of `A-Z a-z 0-9 - _ . :`.
    #[error("a correlation id must be 1 to 128 characters of A-Z a-z 0-9 - _ . :")]
    InvalidCorrelationId,
    /// A global `tracing` subscriber was already installed (by this crate or another).
    #[error("a global tracing subscriber is already installed")]
    AlreadyInitialized,
}
