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
    #[error("the validation rules do not compile: {0}")]
    Rules(String),
    /// The shared backend could not be set up (never carries the URL, which may hold a password).
    #[error("backend: {0}")]
    Backend(String),
}
