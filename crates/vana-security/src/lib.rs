#![doc = include_str!("../README.md")]

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
    BudgetLedger, Clock, ManualClock, MemoryLedger, MemoryStore, MonotonicClock, Quota, RateDecision,
    RateLimitStore, RateLimiter, TokenQuota, gcra_step,
};
pub use scan::{ScanSummary, scan};
pub use shared::SharedStore;
#[cfg(feature = "redis")]
pub use shared::{
    BUDGET_SCRIPT, BackendStatus, GCRA_SCRIPT, MAX_EVENTS_IN_FLIGHT, RedisBackend, RedisLedger, RedisStore,
    STRIKE_SCRIPT,
};
pub use validate::{
    BUILT_IN_RULES, Category, GRAMMAR_RULES, InputValidator, QUOTED_CODE_RULES, Rejection, Rule, Severity,
    Verdict, rule_level,
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
