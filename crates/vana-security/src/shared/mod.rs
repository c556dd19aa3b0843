//! Shared state for a fleet of instances: the rate-limit store every instance uses, and (feature `redis`)
//! Redis behind it, the blocked addresses and the event stream.

#[cfg(feature = "redis")]
mod backend;
#[cfg(feature = "redis")]
mod batcher;
#[cfg(feature = "redis")]
mod blocks;
#[cfg(feature = "redis")]
mod store;

mod any_store;

pub use any_store::SharedStore;
#[cfg(feature = "redis")]
pub use backend::{BackendStatus, RedisBackend};
#[cfg(feature = "redis")]
pub(crate) use blocks::SharedBlocks;
#[cfg(feature = "redis")]
pub use store::{GCRA_SCRIPT, RedisStore};
