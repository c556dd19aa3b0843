//! `SecurityManager`: the specification's class, every part built from `security_policies.yaml`.

use std::net::IpAddr;
use std::sync::Arc;

use vana_config::SecurityPolicies;

use crate::blocking::{BlockOutcome, IpBlocklist};
use crate::client_ip::ClientAddressResolver;
use crate::error::SecurityError;
use crate::events::{SecurityEvent, SecurityEvents};
use crate::headers::SecurityHeaders;
use crate::networks::ClientNetworks;
use crate::rate_limit::{Clock, MemoryStore, MonotonicClock, RateLimiter};
use crate::shared::SharedStore;
use crate::strikes::Strikes;
use crate::validate::{InputValidator, Severity, Verdict};

/// Input validation, rate limits, blocking, events, client addresses and headers, configured together.
///
/// ```
/// use vana_security::{SecurityEvent, SecurityManager, Severity};
///
/// let security = SecurityManager::from_config(&vana_config::SecurityPolicies::default())?;
/// let attacker = "198.51.100.7".parse().unwrap();
/// // An event alone never blocks; repeated refused attacks do (auto_block_after, 5 by default).
/// security.log_security_event(SecurityEvent::new("input_rejected", Severity::Critical, Some(attacker)));
/// for _ in 0..4 {
///     security.record_refused_attack(attacker);
/// }
/// assert!(!security.blocklist().is_blocked(attacker));
/// security.record_refused_attack(attacker);
/// assert!(security.blocklist().is_blocked(attacker));
/// let localhost = "127.0.0.1".parse().unwrap();
/// for _ in 0..10 {
///     security.record_refused_attack(localhost);
/// }
/// assert!(!security.blocklist().is_blocked(localhost)); // the whitelist wins
/// # Ok::<(), vana_security::SecurityError>(())
/// ```
#[derive(Debug)]
pub struct SecurityManager {
    validator: InputValidator,
    limiter: RateLimiter<SharedStore>,
    #[cfg(feature = "redis")]
    backend: Option<Arc<crate::shared::RedisBackend>>,
    blocklist: IpBlocklist,
    events: SecurityEvents,
    resolver: ClientAddressResolver,
    headers: SecurityHeaders,
    /// Refused attacks by client network; `None` when `auto_block` is off.
    strikes: Option<Strikes>,
    networks: ClientNetworks,
    /// The clock of rate limits, blocks and token budgets.
    clock: Arc<dyn Clock>,
}

impl SecurityManager {
    /// Everything as `config` says, on the system's monotonic clock.
    pub fn from_config(config: &SecurityPolicies) -> Result<Self, SecurityError> {
        Self::with_clock(config, Arc::new(MonotonicClock::default()))
    }

    /// The same on `clock` (for tests).
    pub fn with_clock(config: &SecurityPolicies, clock: Arc<dyn Clock>) -> Result<Self, SecurityError> {
        #[cfg(feature = "redis")]
        let backend = match config.backend.kind {
            vana_config::BackendKind::Redis => {
                Some(Arc::new(crate::shared::RedisBackend::from_env(&config.backend)?))
            }
            _ => None,
        };
        #[cfg(not(feature = "redis"))]
        if config.backend.kind == vana_config::BackendKind::Redis {
            return Err(SecurityError::RedisNotBuilt);
        }
        Self::build(
            config,
            clock,
            #[cfg(feature = "redis")]
            backend,
        )
    }

    /// Everything as `config` says, sharing rate limits, blocks and events through `backend` whatever
    /// `backend.type` says (for a Redis URL that does not come from the environment).
    #[cfg(feature = "redis")]
    pub fn with_redis(
        config: &SecurityPolicies,
        backend: Arc<crate::shared::RedisBackend>,
    ) -> Result<Self, SecurityError> {
        Self::build(config, Arc::new(MonotonicClock::default()), Some(backend))
    }

    fn build(
        config: &SecurityPolicies,
        clock: Arc<dyn Clock>,
        #[cfg(feature = "redis")] backend: Option<Arc<crate::shared::RedisBackend>>,
    ) -> Result<Self, SecurityError> {
        let max_clients = usize::try_from(config.rate_limiting.max_tracked_clients).unwrap_or(usize::MAX);
        let max_events = usize::try_from(config.security_events.max_events).unwrap_or(usize::MAX);
        let local = MemoryStore::with_clock(max_clients, Arc::clone(&clock));
        let blocking = &config.ip_blocking;
        let strikes = blocking.auto_block.then(|| {
            let limit =
                std::num::NonZeroU32::new(blocking.auto_block_after).unwrap_or(std::num::NonZeroU32::MIN);
            let cap = usize::try_from(blocking.max_blocked).unwrap_or(usize::MAX);
            let strikes = Strikes::new(limit, blocking.auto_block_window(), cap, Arc::clone(&clock));
            #[cfg(feature = "redis")]
            let strikes = match &backend {
                Some(backend) => strikes.shared_through(Arc::clone(backend)),
                None => strikes,
            };
            strikes
        });
        let networks = ClientNetworks::from_config(&config.client_address);
        let blocklist = IpBlocklist::with_clock(blocking, Arc::clone(&clock)).with_networks(networks);
        #[cfg(feature = "redis")]
        let (store, blocklist) = match &backend {
            Some(backend) => (
                SharedStore::Redis(crate::shared::RedisStore::new(Arc::clone(backend), local)),
                blocklist.shared_through(Arc::clone(backend)),
            ),
            None => (SharedStore::Memory(local), blocklist),
        };
        #[cfg(not(feature = "redis"))]
        let store = SharedStore::Memory(local);
        Ok(Self {
            validator: InputValidator::new(&config.input_validation)?,
            limiter: RateLimiter::with_store(&config.rate_limiting, store),
            #[cfg(feature = "redis")]
            backend,
            blocklist,
            events: SecurityEvents::new(max_events),
            resolver: ClientAddressResolver::from_config(&config.client_address),
            headers: SecurityHeaders::from_config(&config.headers),
            strikes,
            networks,
            clock,
        })
    }

    /// Validates `input` with the configured length limit.
    pub fn validate_input(&self, input: &str) -> Verdict {
        self.validator.validate(input)
    }

    /// Records an event (it never blocks by itself: see [`record_refused_attack`](Self::record_refused_attack)).
    pub fn log_security_event(&self, event: SecurityEvent) {
        #[cfg(feature = "redis")]
        if let Some(backend) = &self.backend {
            if let Ok(json) = serde_json::to_string(&event) {
                crate::shared::RedisBackend::publish(backend, json);
            }
        }
        self.events.record(event);
    }

    /// Counts a request from `address` refused for its input; with `auto_block` on, the
    /// `auto_block_after`-th within `auto_block_window_seconds` blocks the address (escalating as
    /// configured). A whitelisted address or a trusted proxy is never counted. The block, if any.
    pub fn record_refused_attack(&self, address: IpAddr) -> Option<BlockOutcome> {
        let strikes = self.strikes.as_ref()?;
        if self.blocklist.is_whitelisted(address) || self.resolver.is_trusted_proxy(address) {
            return None;
        }
        if !strikes.strike(self.networks.key(address)) {
            return None;
        }
        let reason = format!("{} refused attacks within {} s", strikes.limit(), strikes.window().as_secs());
        Some(self.block_ip(address, &reason))
    }

    /// [`record_refused_attack`](Self::record_refused_attack), with Redis (strikes, the block) asked on
    /// the multiplexed connection: for callers on a Tokio runtime.
    pub async fn record_refused_attack_async(&self, address: IpAddr) -> Option<BlockOutcome> {
        let strikes = self.strikes.as_ref()?;
        if self.blocklist.is_whitelisted(address) || self.resolver.is_trusted_proxy(address) {
            return None;
        }
        if !strikes.strike_async(self.networks.key(address)).await {
            return None;
        }
        let reason = format!("{} refused attacks within {} s", strikes.limit(), strikes.window().as_secs());
        let outcome = self.blocklist.block_async(address, &reason).await;
        self.blocked_event(address, &reason, &outcome);
        Some(outcome)
    }

    /// Blocks `address` (unless whitelisted) and records an `ip_blocked` event.
    pub fn block_ip(&self, address: IpAddr, reason: &str) -> BlockOutcome {
        let outcome = self.blocklist.block(address, reason);
        self.blocked_event(address, reason, &outcome);
        outcome
    }

    fn blocked_event(&self, address: IpAddr, reason: &str, outcome: &BlockOutcome) {
        if let BlockOutcome::Blocked { duration, offences } = outcome {
            self.events.record(
                SecurityEvent::new("ip_blocked", Severity::High, Some(address))
                    .detail("reason", reason)
                    .detail("duration_seconds", duration.as_secs())
                    .detail("offences", *offences),
            );
        }
    }

    /// How clients are grouped for rate limits, refusal counts and blocks.
    pub fn networks(&self) -> ClientNetworks {
        self.networks
    }

    /// The input validator.
    pub fn validator(&self) -> &InputValidator {
        &self.validator
    }

    /// The shared backend, when `backend.type` is `redis` (feature `redis`).
    #[cfg(feature = "redis")]
    pub fn backend(&self) -> Option<&crate::shared::RedisBackend> {
        self.backend.as_deref()
    }

    /// A ledger of token budgets where the rate limits are: Redis when `backend.type` is `redis` (this
    /// process's memory while it does not answer), else this process's memory; at most `max_identities`
    /// in memory, on this manager's clock.
    pub fn token_ledger(&self, max_identities: usize) -> std::sync::Arc<dyn crate::BudgetLedger> {
        let local = crate::MemoryLedger::new(max_identities, std::sync::Arc::clone(&self.clock));
        #[cfg(feature = "redis")]
        if let Some(backend) = &self.backend {
            return std::sync::Arc::new(crate::RedisLedger::new(std::sync::Arc::clone(backend), local));
        }
        std::sync::Arc::new(local)
    }

    /// The rate limiter.
    pub fn rate_limiter(&self) -> &RateLimiter<SharedStore> {
        &self.limiter
    }

    /// The blocklist.
    pub fn blocklist(&self) -> &IpBlocklist {
        &self.blocklist
    }

    /// The event history.
    pub fn events(&self) -> &SecurityEvents {
        &self.events
    }

    /// The client address resolver.
    pub fn client_addresses(&self) -> &ClientAddressResolver {
        &self.resolver
    }

    /// The response headers.
    pub fn headers(&self) -> &SecurityHeaders {
        &self.headers
    }
}
