//! The crate's error type.

use std::path::PathBuf;

/// What can go wrong setting up logging.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// The log directory or file could not be created or opened.
    #[error("cannot open log files in {}: {source}", directory.display())]
    Io {
        /// The log directory.
        directory: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The log writer thread could not be started.
    #[error("cannot start the log writer thread: {0}")]
    WriterThread(std::io::Error),
    /// A global `tracing` subscriber was already installed (by this crate or another).
    #[error("a global tracing subscriber is already installed")]
    AlreadyInitialized,
}
