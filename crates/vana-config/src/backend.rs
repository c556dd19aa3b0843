//! `backend` in `security_policies.yaml`: where rate limits and blocked addresses live.

use serde::{Deserialize, Serialize};

use crate::checks::Checker;
use crate::key_path::KeyPath;
use crate::keywords::{BackendKind, FailureMode};

/// `backend`: memory (one instance) or Redis (a fleet), and how to behave when Redis is away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Backend {
    /// `memory` or `redis`.
    #[serde(rename = "type")]
    pub kind: BackendKind,
    /// The environment variable that holds the Redis URL (`redis://[user:password@]host:port/db`).
    pub url_env: String,
    /// Put before every Redis key, so several deployments can share one Redis.
    pub key_prefix: String,
    /// Longest wait for a connection, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Longest wait for one command, in milliseconds: past it the failure behaviour applies.
    pub command_timeout_ms: u64,
    /// Connections kept open.
    pub pool_size: u64,
    /// While Redis is unreachable or slow: `fail_open` or `local_fallback`.
    pub on_failure: FailureMode,
    /// After a failure, Redis is tried again after this long, in milliseconds.
    pub retry_interval_ms: u64,
    /// How long an answer about a blocked address is reused before asking Redis again, in milliseconds.
    pub block_cache_ms: u64,
    /// Most addresses whose answer is cached.
    pub block_cache_entries: u64,
    /// Security events are also added to the Redis stream `<key_prefix>events`, capped at this many
    /// entries (0: not published).
    pub events_stream_maxlen: u64,
}

impl Default for Backend {
    fn default() -> Self {
        Self {
            kind: BackendKind::Memory,
            url_env: "VANA_REDIS_URL".into(),
            key_prefix: "vana:".into(),
            connect_timeout_ms: 200,
            command_timeout_ms: 50,
            pool_size: 8,
            on_failure: FailureMode::LocalFallback,
            retry_interval_ms: 1000,
            block_cache_ms: 1000,
            block_cache_entries: 100_000,
            events_stream_maxlen: 0,
        }
    }
}

impl Backend {
    pub(crate) fn check(&self, at: &KeyPath, check: &mut Checker) {
        let valid_env = !self.url_env.is_empty()
            && self.url_env.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !valid_env {
            check.fail(at.key("url_env"), "must be an environment variable name (A-Z, 0-9, _)");
        }
        if self.key_prefix.len() > 100 || self.key_prefix.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            check
                .fail(at.key("key_prefix"), "must be at most 100 bytes without spaces or control characters");
        }
        check.positive_at_most(at.key("connect_timeout_ms"), self.connect_timeout_ms, 60_000, "ms");
        check.positive_at_most(at.key("command_timeout_ms"), self.command_timeout_ms, 60_000, "ms");
        check.positive_at_most(at.key("pool_size"), self.pool_size, 1024, "connections");
        check.positive_at_most(at.key("retry_interval_ms"), self.retry_interval_ms, 3_600_000, "ms");
        check.positive_at_most(at.key("block_cache_ms"), self.block_cache_ms, 3_600_000, "ms");
        check.positive_at_most(
            at.key("block_cache_entries"),
            self.block_cache_entries,
            10_000_000,
            "entries",
        );
        if self.events_stream_maxlen > 100_000_000 {
            check.fail(at.key("events_stream_maxlen"), "must be at most 100000000 entries");
        }
    }
}
