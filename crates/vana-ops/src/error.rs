//! The crate's error type.

/// What can go wrong starting vana-ops.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// The configuration could not be read or is not valid (every problem is listed).
    #[error("{0}")]
    Config(#[from] vana_config::ConfigError),
    /// The security rules could not be built.
    #[error("{0}")]
    Security(#[from] vana_security::SecurityError),
    /// Logging could not be set up.
    #[error("{0}")]
    Logging(#[from] vana_logging::LoggingError),
    /// An alert channel could not be set up (its server settings or URL from the environment).
    #[error("{0}")]
    Alerting(String),
    /// The HTTP layer or the gateway could not be set up (a route template, a CSRF key, an upstream URL).
    #[error("{0}")]
    Http(String),
}
