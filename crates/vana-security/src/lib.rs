//! Security hardening for vana-ops.
//!
//! The specification's `SecurityManager` and `security_policies.yaml`, with every key honoured:
//!
//! - [`InputValidator`]: the length limit, then built-in rules by category (XSS, SQL injection, path
//!   traversal, command and code injection) and the configured `forbidden_patterns`, all in one pass, over
//!   the raw input and its normalized form (URL, HTML and escape decoding, comments and controls removed).
//!
//! # Example
//!
//! ```
//! use vana_security::InputValidator;
//!
//! let validator = InputValidator::new(&vana_config::InputValidation::default())?;
//! assert!(validator.validate("O'Brien and Sons -- since 1912").is_passed());
//! assert!(!validator.validate("../../etc/passwd").is_passed());
//! # Ok::<(), vana_security::SecurityError>(())
//! ```
//!
//! # Feature flags
//!
//! - `cli` (default): the `vana-scan` command.

mod error;
mod rate_limit;
mod scan;
mod validate;

pub use error::SecurityError;
pub use rate_limit::{
    Clock, ManualClock, MemoryStore, MonotonicClock, Quota, RateDecision, RateLimitStore, RateLimiter,
    gcra_step,
};
pub use scan::{ScanSummary, scan};
pub use validate::{BUILT_IN_RULES, Category, InputValidator, Rejection, Rule, Severity, Verdict};
