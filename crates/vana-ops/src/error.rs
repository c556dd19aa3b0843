//! The crate's error type.

/// What can go wrong starting vana-ops. Each variant keeps the error it comes from as its `source`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// The configuration could not be read or is not valid (every problem is listed).
    #[error(transparent)]
    Config(#[from] vana_config::ConfigError),
    /// The security rules could not be built.
    #[error(transparent)]
    Security(#[from] vana_security::SecurityError),
    /// Logging could not be set up.
    #[error(transparent)]
    Logging(#[from] vana_logging::LoggingError),
    /// An alert channel could not be set up (its server settings or URL from the environment).
    #[error("alert channel `{channel}`")]
    Alerting {
        /// The channel's name in `alerting.channels`.
        channel: String,
        /// What went wrong.
        #[source]
        source: vana_metrics::DeliveryError,
    },
    /// A configured header name is not valid HTTP.
    #[cfg(feature = "http")]
    #[error("`{key}` is not a valid header name")]
    HeaderName {
        /// The configuration key.
        key: &'static str,
        /// Why.
        #[source]
        source: http::header::InvalidHeaderName,
    },
    /// A route template conflicts with another one.
    #[cfg(feature = "http")]
    #[error("route template `{template}`")]
    RouteTemplate {
        /// The template.
        template: String,
        /// The conflict.
        #[source]
        source: matchit::InsertError,
    },
    /// The CSRF keys in the environment are not valid.
    #[cfg(feature = "http")]
    #[error(transparent)]
    CsrfKey(#[from] vana_security::CsrfKeyError),
    /// The file named by `VANA_ADMIN_TOKEN_FILE` could not be read.
    #[cfg(feature = "http")]
    #[error("cannot read the file named by VANA_ADMIN_TOKEN_FILE")]
    AdminTokenFile(#[source] std::io::Error),
    /// The admin token of `/security/events` is too short to be safe.
    #[cfg(feature = "http")]
    #[error("the admin token must be at least {min_bytes} bytes")]
    AdminTokenTooShort {
        /// The shortest length accepted.
        min_bytes: usize,
    },
    /// The trace exporter could not be built for the configured endpoint.
    #[cfg(feature = "otel")]
    #[error("cannot export traces to `{url}`")]
    Traces {
        /// The OTLP/HTTP URL spans would go to.
        url: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The configuration asks for a capability this build of vana-ops was compiled without.
    #[error(
        "{what} needs vana-ops' `{feature}` feature, which this build lacks: add it to the dependency's features (`vana-ops = {{ version = \"…\", features = [\"{feature}\"] }}`)"
    )]
    MissingFeature {
        /// What the configuration asks for.
        what: String,
        /// The feature that brings it.
        feature: &'static str,
    },
    /// The upstream URL is not one the gateway can forward to.
    #[cfg(feature = "http")]
    #[error("upstream `{url}`: {reason}")]
    Upstream {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
        /// The parse error, when it did not parse.
        #[source]
        source: Option<http::uri::InvalidUri>,
    },
}
