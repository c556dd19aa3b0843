//! The crate's error type.

/// A boxed error from a library underneath (lettre, rustls).
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What can go wrong setting up an alert channel or delivering an alert. Messages name environment
/// variables, never their values; attempts never show a URL or a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// A setting from the environment is not valid.
    #[error("{variable} {expected}")]
    Setting {
        /// The environment variable.
        variable: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The environment variable that should hold a setting is not set.
    #[error("the environment variable {variable} is not set")]
    Unset {
        /// The variable.
        variable: String,
    },
    /// A network channel has neither `url` nor `url_env`.
    #[error("the channel has no url (set url or url_env)")]
    NoUrl,
    /// A file named by an environment variable could not be read.
    #[error("cannot read the file named by {variable}")]
    File {
        /// The environment variable.
        variable: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A configured recipient is not an email address.
    #[error("`{address}` is not an email address")]
    Address {
        /// The address as configured.
        address: String,
        /// The parser's complaint.
        #[source]
        source: BoxError,
    },
    /// TLS could not be set up.
    #[error("cannot set up TLS: {reason}")]
    Tls {
        /// What is wrong.
        reason: &'static str,
        /// The TLS library's error, when it gave one.
        #[source]
        source: Option<BoxError>,
    },
    /// The channel's thread could not be started.
    #[error("cannot start the delivery thread")]
    Spawn(#[source] std::io::Error),
    /// One attempt failed: the server refused the alert or could not be reached.
    #[error("{reason}")]
    Attempt {
        /// What failed, short (`HTTP 503`, `timed out`, the SMTP server's reply).
        reason: String,
        /// The library's error, when its text cannot carry a secret.
        #[source]
        source: Option<BoxError>,
    },
}

impl DeliveryError {
    /// A failed attempt described by `reason`.
    pub fn attempt(reason: impl Into<String>) -> Self {
        DeliveryError::Attempt { reason: reason.into(), source: None }
    }
}
