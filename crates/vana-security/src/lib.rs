//! Security hardening for vana-ops.
//!
//! The specification's `SecurityManager` and `security_policies.yaml`, with every key honoured:
//!
//! - [`InputValidator`]: the length limit, then built-in rules by category (XSS, SQL injection, path
//!   traversal, command and code injection) and the configured `forbidden_patterns`, all in one pass, over
//!   the raw input and its normalized form (URL, HTML and escape decoding, comments and controls removed);
//!   [`scan`] and the `vana-scan` command judge a file of inputs.
//! - [`RateLimiter`]: GCRA with an exact promise (`burst + ⌊L / T⌋` requests in any span `L`), 16 bytes per
//!   client in a capped [`MemoryStore`], behind the [`RateLimitStore`] trait for shared backends.
//! - [`IpBlocklist`]: blocks that expire and escalate, a whitelist (IPs and CIDRs) that always wins.
//! - [`SecurityEvents`]: a bounded history with counters, each event also a `tracing` event.
//! - [`ClientAddressResolver`]: `X-Forwarded-For` believed only from trusted proxies.
//! - [`CsrfTokens`]: hardened tokens with key rotation; the specification's format on request. Keys come from
//!   the environment or a file ([`CsrfKeys::from_env`]).
//! - [`SecurityHeaders`]: the configured response headers, without overriding the handler's.
//! - [`SecurityManager`]: all of the above from one `security_policies.yaml`, with auto-blocking after
//!   repeated refused attacks (`auto_block_after` within `auto_block_window_seconds`), never on one.
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
//! - `redis`: rate limits, blocked addresses and security events shared by a fleet through Redis
//!   (`backend.type: redis`): `RedisBackend`, `RedisStore`, and `SecurityManager::with_redis`.

mod block_table;
mod blocking;
mod client_ip;
mod csrf;
mod error;
mod events;
mod headers;
mod manager;
mod networks;
mod rate_limit;
mod scan;
mod shared;
mod strikes;
mod validate;

pub use blocking::{BlockOutcome, BlockedAddress, IpBlocklist, canonical};
pub use client_ip::ClientAddressResolver;
pub use csrf::{
    CsrfKeyError, CsrfKeys, CsrfTokens, KEY_ENV, KEY_FILE_ENV, MAX_CLOCK_SKEW, MIN_KEY_BYTES,
    PREVIOUS_KEY_ENV, generate_legacy_token, validate_legacy,
};
pub use error::SecurityError;
pub use events::{EventQuery, SecurityEvent, SecurityEvents};
pub use headers::{Scheme, SecurityHeaders};
pub use manager::SecurityManager;
pub use networks::ClientNetworks;
pub use rate_limit::{
    Clock, ManualClock, MemoryStore, MonotonicClock, Quota, RateDecision, RateLimitStore, RateLimiter,
    gcra_step,
};
pub use scan::{ScanSummary, scan};
pub use shared::SharedStore;
#[cfg(feature = "redis")]
pub use shared::{BackendStatus, GCRA_SCRIPT, RedisBackend, RedisStore};
pub use validate::{
    BUILT_IN_RULES, Category, GRAMMAR_RULES, InputValidator, Rejection, Rule, Severity, Verdict,
};

/// `text` cut to at most `max_bytes` on a character boundary.
pub(crate) fn truncate_to(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
