//! `RedisBackend`: a small pool of blocking connections with timeouts, one multiplexed async connection for
//! callers on a Tokio runtime (every request's commands share one socket, pipelined as they come), and what
//! happens when Redis is away: the backend is marked down for `retry_interval_ms` (no request pays a timeout
//! meanwhile), failures and fallbacks are counted, and a warning is logged at most every ten seconds.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use parking_lot::Mutex;
use vana_config::{Backend, FailureMode};

use crate::error::SecurityError;

/// Most security events on their way to the Redis stream at once from a Tokio runtime; past it, an event
/// stays in the instance's table only and counts as a backend failure.
pub const MAX_EVENTS_IN_FLIGHT: usize = 1024;

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
    /// The async connection, made on its first use (inside the runtime that drives it).
    multiplexed: OnceLock<ConnectionManager>,
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
    /// Events on their way to the stream.
    events_in_flight: AtomicUsize,
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
            multiplexed: OnceLock::new(),
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
            events_in_flight: AtomicUsize::new(0),
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
        self.outcome(result)
    }

    /// The answer of a command, or `None` with the failure recorded: the backend is marked down for the
    /// retry interval, the blocking pool emptied, a warning logged (at most every ten seconds).
    fn outcome<T>(&self, result: redis::RedisResult<T>) -> Option<T> {
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

    /// The multiplexed connection; it reconnects by itself after Redis restarts. Made inside the runtime.
    fn multiplexed(&self) -> redis::RedisResult<ConnectionManager> {
        if let Some(connection) = self.multiplexed.get() {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.command_timeout))
            // The failure window, not the manager, decides when Redis is tried again.
            .set_number_of_retries(0);
        let made = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        Ok(self.multiplexed.get_or_init(|| made).clone())
    }

    /// Runs `pipeline` on the multiplexed connection without holding a thread: `None` when Redis is down,
    /// failed or was too slow, as [`run`](Self::run) says. Scripts go by their hash; a Redis that lost
    /// them (it restarted) is given `scripts` and the pipeline once more. Must run on a Tokio runtime.
    pub(crate) async fn run_async<T: redis::FromRedisValue>(
        &self,
        pipeline: &redis::Pipeline,
        scripts: &[&str],
    ) -> Option<T> {
        if !self.is_tried() {
            return None;
        }
        let attempt = async {
            let mut connection = self.multiplexed()?;
            match pipeline.query_async(&mut connection).await {
                Err(error) if error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                    let mut load = redis::pipe();
                    for script in scripts {
                        load.cmd("SCRIPT").arg("LOAD").arg(*script).ignore();
                    }
                    load.query_async::<()>(&mut connection).await?;
                    pipeline.query_async(&mut connection).await
                }
                other => other,
            }
        };
        // The connection's own timeouts bound each step; this bounds them together.
        let patience = self.connect_timeout + self.command_timeout * 2;
        let result = match tokio::time::timeout(patience, attempt).await {
            Ok(result) => result,
            Err(_) => Err(redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))),
        };
        self.outcome(result)
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
    /// entries, when configured. Best effort, and never waited for on a Tokio runtime: there it goes out on
    /// the multiplexed connection in a task of its own (at most [`MAX_EVENTS_IN_FLIGHT`] at once; past it,
    /// the event stays in the instance's table only and counts as a failure); elsewhere, on a blocking
    /// connection.
    pub(crate) fn publish(backend: &Arc<Self>, json: String) {
        if backend.events_stream_maxlen == 0 {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            backend.run(|connection| backend.event_pipeline(&json).query::<()>(connection));
            return;
        };
        if backend.events_in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_EVENTS_IN_FLIGHT {
            backend.events_in_flight.fetch_sub(1, Ordering::AcqRel);
            backend.failures.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let backend = Arc::clone(backend);
        runtime.spawn(async move {
            backend.run_async::<()>(&backend.event_pipeline(&json), &[]).await;
            backend.events_in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }

    fn event_pipeline(&self, json: &str) -> redis::Pipeline {
        let mut pipeline = redis::pipe();
        pipeline
            .cmd("XADD")
            .arg(self.key(&["events"]))
            .arg("MAXLEN")
            .arg(self.events_stream_maxlen)
            .arg("*")
            .arg("event")
            .arg(json)
            .ignore();
        pipeline
    }
}
