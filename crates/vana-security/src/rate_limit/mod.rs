//! Rate limiting with GCRA: exact promises, O(1) state per key, a bounded key table, a store trait.

mod budget;
mod clock;
mod gcra;
mod limiter;
mod store;

pub use budget::{BudgetLedger, MemoryLedger, TokenQuota};
pub use clock::{Clock, ManualClock, MonotonicClock};
pub use gcra::{Quota, RateDecision, gcra_step};
pub use limiter::RateLimiter;
pub use store::{MemoryStore, RateLimitStore};
