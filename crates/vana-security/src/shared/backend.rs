//! `RedisBackend`: a small pool of connections with timeouts, and what happens when Redis is away: the
//! backend is marked down for `retry_interval_ms` (no request pays a timeout meanwhile), failures and
//! fallbacks are counted, and a warning is logged at most every ten seconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use vana_config::{Backend, FailureMode};

use crate::error::SecurityError;

/// Least time between two warnings about Redis.
const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// What the backend has seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackendStatus {
    /// Whether the last command succeeded.
    pub available: bool,
    /// Commands that failed or timed out.
    pub failures: u64,
    /// Decisions taken without Redis (fail-open allowances and local fallbacks).
    pub fallbacks: u64,
}

/// Connections to one Redis, with timeouts and a failure window.
pub struct RedisBackend {
    client: redis::Client,
    pool: Mutex<Vec<redis::Connection>>,
    pool_size: usize,
    connect_timeout: Duration,
    command_timeout: Duration,
    retry_interval: Duration,
    pub(crate) prefix: String,
    pub(crate) on_failure: FailureMode,
    pub(crate) block_cache: Duration,
    pub(crate) block_cache_entries: usize,
    pub(crate) events_stream_maxlen: u64,
    base: Instant,
    /// Nanoseconds since `base` until which Redis is not tried (0: up).
    down_until: AtomicU64,
    /// The last command's outcome.
    healthy: std::sync::atomic::AtomicBool,
    failures: AtomicU64,
    fallbacks: AtomicU64,
    last_warning: AtomicU64,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: never printed.
        f.debug_struct("RedisBackend").field("prefix", &self.prefix).field("status", &self.status()).finish()
    }
}

impl RedisBackend {
    /// A backend for `url` as `config` says. Redis need not be up: until it answers, the failure behaviour
    /// applies. Errors never contain the URL (it may hold a password).
    pub fn new(config: &Backend, url: &str) -> Result<Self, SecurityError> {
        let client = redis::Client::open(url)
            .map_err(|_| SecurityError::RedisUrlInvalid { variable: config.url_env.clone() })?;
        Ok(Self {
            client,
            pool: Mutex::new(Vec::new()),
            pool_size: usize::try_from(config.pool_size).unwrap_or(8).max(1),
            connect_timeout: Duration::from_millis(config.connect_timeout_ms.max(1)),
            command_timeout: Duration::from_millis(config.command_timeout_ms.max(1)),
            retry_interval: Duration::from_millis(config.retry_interval_ms.max(1)),
            prefix: config.key_prefix.clone(),
            on_failure: config.on_failure,
            block_cache: Duration::from_millis(config.block_cache_ms),
            block_cache_entries: usize::try_from(config.block_cache_entries).unwrap_or(usize::MAX).max(1),
            events_stream_maxlen: config.events_stream_maxlen,
            base: Instant::now(),
            down_until: AtomicU64::new(0),
            healthy: std::sync::atomic::AtomicBool::new(true),
            failures: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            last_warning: AtomicU64::new(0),
        })
    }

    /// The backend of `config`, with the URL from the environment variable it names.
    pub fn from_env(config: &Backend) -> Result<Self, SecurityError> {
        let url = std::env::var(&config.url_env)
            .map_err(|_| SecurityError::RedisUrlUnset { variable: config.url_env.clone() })?;
        Self::new(config, &url)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX).max(1)
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    pub(crate) fn command_timeout(&self) -> Duration {
        self.command_timeout
    }

    /// Whether Redis is tried now (false during the failure window after a failure).
    fn is_tried(&self) -> bool {
        self.down_until.load(Ordering::Relaxed) <= self.now()
    }

    /// Whether the last command succeeded.
    pub fn is_available(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Availability and counts.
    pub fn status(&self) -> BackendStatus {
        BackendStatus {
            available: self.is_available(),
            failures: self.failures.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count_fallback(&self) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
    }

    fn fresh_connection(&self) -> redis::RedisResult<redis::Connection> {
        let connection = self.client.get_connection_with_timeout(self.connect_timeout)?;
        connection.set_read_timeout(Some(self.command_timeout))?;
        connection.set_write_timeout(Some(self.command_timeout))?;
        Ok(connection)
    }

    /// `command` on `connection`, which goes back to the pool when it answered.
    fn attempt<T>(
        &self,
        mut connection: redis::Connection,
        command: &mut impl FnMut(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> redis::RedisResult<T> {
        let value = command(&mut connection)?;
        let mut pool = self.pool.lock();
        if pool.len() < self.pool_size {
            pool.push(connection);
        }
        Ok(value)
    }

    /// Runs `command` on a pooled connection; `None` when Redis is down, failed or was too slow (the
    /// backend is then marked down for the retry interval). A pooled connection that Redis dropped (it
    /// restarted) is replaced once by a fresh one, so a restart costs no request its answer; a slow Redis is
    /// never asked twice.
    pub(crate) fn run<T>(
        &self,
        mut command: impl FnMut(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Option<T> {
        if !self.is_tried() {
            return None;
        }
        let pooled = self.pool.lock().pop();
        let result = match pooled {
            Some(connection) => match self.attempt(connection, &mut command) {
                Err(error)
                    if !error.is_timeout() && (error.is_connection_dropped() || error.is_io_error()) =>
                {
                    self.pool.lock().clear();
                    self.fresh_connection().and_then(|connection| self.attempt(connection, &mut command))
                }
                other => other,
            },
            None => self.fresh_connection().and_then(|connection| self.attempt(connection, &mut command)),
        };
        match result {
            Ok(value) => {
                self.healthy.store(true, Ordering::Relaxed);
                Some(value)
            }
            Err(error) => {
                self.healthy.store(false, Ordering::Relaxed);
                self.failures.fetch_add(1, Ordering::Relaxed);
                let retry_at = self
                    .now()
                    .saturating_add(u64::try_from(self.retry_interval.as_nanos()).unwrap_or(u64::MAX));
                self.down_until.store(retry_at, Ordering::Relaxed);
                // Connections may be broken: start afresh when Redis is back.
                self.pool.lock().clear();
                self.warn(&error);
                None
            }
        }
    }

    fn warn(&self, error: &redis::RedisError) {
        let now = self.now();
        let last = self.last_warning.load(Ordering::Relaxed);
        let interval = u64::try_from(WARNING_INTERVAL.as_nanos()).unwrap_or(u64::MAX);
        if (last == 0 || now.saturating_sub(last) >= interval)
            && self.last_warning.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
        {
            let behaviour = match self.on_failure {
                FailureMode::FailOpen => "allowing requests (fail_open)",
                _ => "using this instance's memory (local_fallback)",
            };
            // The error's kind and category only: its text could include the server address.
            tracing::warn!(
                target: "vana_security::backend",
                kind = ?error.kind(),
                timeout = error.is_timeout(),
                fallbacks = self.fallbacks.load(Ordering::Relaxed),
                "Redis is unreachable or slow; {behaviour} until it answers"
            );
        }
    }

    /// A key under the configured prefix.
    pub(crate) fn key(&self, parts: &[&str]) -> String {
        let mut key = self.prefix.clone();
        for (index, part) in parts.iter().enumerate() {
            if index > 0 {
                key.push(':');
            }
            key.push_str(part);
        }
        key
    }

    /// Adds `event` (JSON) to the stream `<prefix>events`, trimmed to exactly `events_stream_maxlen`
    /// entries, when configured. Best effort.
    pub(crate) fn publish_event(&self, json: &str) {
        if self.events_stream_maxlen == 0 {
            return;
        }
        let stream = self.key(&["events"]);
        let maxlen = self.events_stream_maxlen;
        self.run(|connection| {
            redis::cmd("XADD")
                .arg(&stream)
                .arg("MAXLEN")
                .arg(maxlen)
                .arg("*")
                .arg("event")
                .arg(json)
                .query::<String>(connection)
        });
    }
}
