//! The crate's error type.

/// What can go wrong building the security components.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityError {
    /// A configured forbidden pattern does not compile.
    #[error("input_validation.forbidden_patterns[{index}]: {reason}")]
    Pattern {
        /// Its position in the list.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The rule set as a whole does not compile (too large).
    #[error("the validation rules do not compile")]
    Rules(#[source] regex::Error),
    /// `backend.type` is `redis` but the variable that should hold its URL is not set.
    #[error("backend.type is redis but {variable} is not set")]
    RedisUrlUnset {
        /// The variable named by `backend.url_env`.
        variable: String,
    },
    /// The Redis URL is not a valid `redis://` URL. The parser's error is left out on purpose: it can quote
    /// the URL, which may hold a password.
    #[error("the Redis URL in {variable} is not a valid redis:// URL")]
    RedisUrlInvalid {
        /// The variable named by `backend.url_env`.
        variable: String,
    },
    /// `backend.type` is `redis` in a build without the `redis` feature.
    #[error("backend.type is redis, but vana-security was built without its `redis` feature")]
    RedisNotBuilt,
    /// A word that is not a severity (`low`, `medium`, `high`, `critical`).
    #[error("severity must be low, medium, high or critical, not {0:?}")]
    UnknownSeverity(String),
}
