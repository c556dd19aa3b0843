//! Shared state for a fleet of instances: the rate-limit store every instance uses, and (feature `redis`)
//! Redis behind it, the blocked addresses and the event stream.

/// The Lua function the scripts read Redis's clock with, in microseconds since the epoch (Lua numbers are
/// doubles: nanoseconds would lose precision); a non-empty `override` replaces it (tests).
#[cfg(feature = "redis")]
macro_rules! redis_clock_lua {
    () => {
        r#"
local function clock(override)
  if override ~= '' then return tonumber(override) end
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000000 + tonumber(time[2])
end
"#
    };
}

#[cfg(feature = "redis")]
mod backend;
#[cfg(feature = "redis")]
mod batcher;
#[cfg(feature = "redis")]
mod blocks;
#[cfg(feature = "redis")]
mod budget;

#[cfg(feature = "redis")]
mod store;
#[cfg(feature = "redis")]
mod strikes;

mod any_store;

pub use any_store::SharedStore;
#[cfg(feature = "redis")]
pub use backend::{BackendStatus, MAX_EVENTS_IN_FLIGHT, RedisBackend};
#[cfg(feature = "redis")]
pub(crate) use blocks::{SharedAnswer, SharedBlocks};
#[cfg(feature = "redis")]
pub use budget::{BUDGET_SCRIPT, RedisLedger};
#[cfg(feature = "redis")]
pub use store::{GCRA_SCRIPT, RedisStore};
#[cfg(feature = "redis")]
pub use strikes::STRIKE_SCRIPT;
#[cfg(feature = "redis")]
pub(crate) use strikes::SharedStrikes;
