//! `Ops`: every part built from one configuration and run together.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use vana_apm::Apm;
use vana_config::{Config, ConfigLoader, LoadedConfig};
use vana_logging::{LoggingBuilder, LoggingError, LoggingGuard, RequestLog};
use vana_metrics::{AlertSink, PerformanceMonitor, SystemCollector};
use vana_security::SecurityManager;

use crate::error::OpsError;
use crate::health::{Health, HealthStatus};

/// How long shutdown waits for queued alerts to be delivered.
const SHUTDOWN_DELIVERY: Duration = Duration::from_secs(5);

/// How [`Ops`] is built: which background work it starts.
#[derive(Debug, Clone)]
pub struct OpsBuilder {
    loaded: LoadedConfig,
    install_logging: bool,
    start_collector: bool,
    request_log: Option<RequestLog>,
    security_clock: Option<Arc<dyn vana_security::Clock>>,
    scraped_at: Option<String>,
}

/// The monitor, its system collector, the APM, the security manager and logging, configured together.
///
/// Cheap to clone (the HTTP layer and endpoints hold clones); the background work stops when the last
/// clone is dropped, or at once with [`shutdown`](Self::shutdown).
///
/// ```
/// let ops = vana_ops::Ops::builder_from_embedded_defaults().install_logging(false).build()?;
/// ops.monitor().record_metric("queue.depth", 3.0, "jobs", &[]);
/// assert!(ops.security().validate_input("hello").is_passed());
/// assert_eq!(ops.health().status, vana_ops::HealthStatus::Ok);
/// ops.shutdown();
/// # Ok::<(), vana_ops::OpsError>(())
/// ```
#[derive(Clone)]
pub struct Ops {
    inner: Arc<OpsInner>,
}

struct OpsInner {
    loaded: LoadedConfig,
    monitor: PerformanceMonitor,
    apm: Apm,
    security: SecurityManager,
    collector: Mutex<Option<SystemCollector>>,
    collector_expected: bool,
    logging: Mutex<Option<LoggingGuard>>,
    log_levels: Option<vana_logging::LevelHandle>,
    request_log: RequestLog,
    channels: Vec<crate::channels::Channel>,
    started: Instant,
    readiness: crate::health::ReadinessBoard,
    /// The trace export, when traces are on.
    #[cfg(feature = "otel")]
    traces: Option<crate::traces::TraceExport>,
}

impl OpsBuilder {
    /// Installs the global `tracing` subscriber of the `logging` section (default: yes). When another one
    /// is installed already, logging goes there and this is not an error.
    pub fn install_logging(mut self, install: bool) -> Self {
        self.install_logging = install;
        self
    }

    /// Starts the system collector at `collection_interval` (default: yes).
    pub fn start_collector(mut self, start: bool) -> Self {
        self.start_collector = start;
        self
    }

    /// Writes the HTTP layer's request lines to `log`: for an application that set up vana-logging itself
    /// ([`LoggingBuilder`]) and passes its guard's [`request_log`](LoggingGuard::request_log). By default
    /// they go to the logging this `Ops` installed, else through `tracing` to whatever subscriber is there.
    pub fn request_log(mut self, log: RequestLog) -> Self {
        self.request_log = Some(log);
        self
    }

    /// Runs rate limits and blocks on `clock` instead of the system's monotonic clock: for tests that
    /// move time themselves.
    pub fn security_clock(mut self, clock: Arc<dyn vana_security::Clock>) -> Self {
        self.security_clock = Some(clock);
        self
    }

    /// The configuration it builds from.
    pub fn config(&self) -> &Config {
        &self.loaded.config
    }

    /// The `host:port` Prometheus scrapes this instance at: the `instance` label of its alerts (unless
    /// `VANA_ALERT_INSTANCE` names another), so they match the exported rules' alerts. The gateway sets it
    /// to the address `/metrics` listens on.
    pub fn scraped_at(mut self, address: impl Into<String>) -> Self {
        self.scraped_at = Some(address.into());
        self
    }

    /// Builds and starts everything.
    pub fn build(self) -> Result<Ops, OpsError> {
        let config = &self.loaded.config;
        #[cfg(feature = "otel")]
        let traces = start_traces(config)?;
        #[cfg(not(feature = "otel"))]
        traces_need_the_feature(config)?;
        #[cfg(feature = "otel")]
        let trace_layer = traces.as_ref().and_then(crate::traces::TraceExport::take_layer);
        #[cfg(not(feature = "otel"))]
        let trace_layer = None;
        let logging =
            if self.install_logging { install(&config.monitoring.logging, trace_layer)? } else { None };
        let context = match &self.scraped_at {
            Some(address) => vana_metrics::AlertContext::scraped_at(address),
            None => vana_metrics::AlertContext::from_environment(),
        };
        let channels = crate::channels::build(config, &context)?;
        let mut sinks: Vec<Arc<dyn AlertSink>> = Vec::new();
        if config.monitoring.alerting.enabled {
            sinks.extend(channels.iter().map(crate::channels::Channel::sink));
        }
        let monitor = PerformanceMonitor::with_sinks(&config.monitoring, sinks);
        for channel in &channels {
            channel.attach(&monitor);
        }
        let collector = if self.start_collector {
            SystemCollector::start(&monitor, config.monitoring.performance_monitoring.collection_interval())
        } else {
            None
        };
        let security = match self.security_clock {
            Some(clock) => SecurityManager::with_clock(&config.security, clock)?,
            None => SecurityManager::from_config(&config.security)?,
        };
        for source in &self.loaded.sources {
            tracing::info!(target: "vana_ops", document = %source.document, origin = %source.origin, overrides = ?source.env_overrides, "configuration loaded");
        }
        Ok(Ops {
            inner: Arc::new(OpsInner {
                apm: Apm::new(monitor.clone()),
                monitor,
                security,
                collector: Mutex::new(collector),
                collector_expected: self.start_collector,
                log_levels: logging.as_ref().map(|guard| guard.levels().clone()),
                request_log: self
                    .request_log
                    .or_else(|| logging.as_ref().map(LoggingGuard::request_log))
                    .unwrap_or_else(RequestLog::via_tracing),
                logging: Mutex::new(logging),
                channels,
                started: Instant::now(),
                readiness: crate::health::ReadinessBoard::default(),
                #[cfg(feature = "otel")]
                traces,
                loaded: self.loaded,
            }),
        })
    }
}

impl Ops {
    /// Loads `<dir>/security/security_policies.yaml` and `<dir>/monitoring/monitoring.yaml` (a missing file
    /// means its defaults) with `VANA_*` overrides, and starts everything.
    pub fn from_config_dir(dir: impl AsRef<Path>) -> Result<Ops, OpsError> {
        Self::builder_from_config_dir(dir)?.build()
    }

    /// The embedded defaults with `VANA_*` overrides, and everything started.
    pub fn from_embedded_defaults() -> Result<Ops, OpsError> {
        Self::builder(ConfigLoader::new().process_env().load()?).build()
    }

    /// A builder over a configuration directory.
    pub fn builder_from_config_dir(dir: impl AsRef<Path>) -> Result<OpsBuilder, OpsError> {
        Ok(Self::builder(ConfigLoader::new().dir(dir).process_env().load()?))
    }

    /// A builder over the embedded defaults (without environment overrides).
    pub fn builder_from_embedded_defaults() -> OpsBuilder {
        Self::builder(LoadedConfig::embedded())
    }

    /// A builder over a configuration loaded by the caller.
    pub fn builder(loaded: LoadedConfig) -> OpsBuilder {
        OpsBuilder {
            loaded,
            install_logging: true,
            start_collector: true,
            request_log: None,
            security_clock: None,
            scraped_at: None,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.inner.loaded.config
    }

    /// Where each document came from.
    pub fn config_sources(&self) -> &[vana_config::ConfigSource] {
        &self.inner.loaded.sources
    }

    /// The monitor.
    pub fn monitor(&self) -> &PerformanceMonitor {
        &self.inner.monitor
    }

    /// The APM over the monitor.
    pub fn apm(&self) -> &Apm {
        &self.inner.apm
    }

    /// The security manager.
    pub fn security(&self) -> &SecurityManager {
        &self.inner.security
    }

    /// Each alert channel's name and what it has delivered so far.
    pub fn alert_channels(&self) -> Vec<(String, vana_metrics::DeliveryStats)> {
        self.inner.channels.iter().map(|channel| (channel.name().to_owned(), channel.stats())).collect()
    }

    /// Where request lines go (see [`OpsBuilder::request_log`]).
    pub fn request_log(&self) -> &RequestLog {
        &self.inner.request_log
    }

    /// The logging levels, when this `Ops` installed logging.
    pub fn log_levels(&self) -> Option<&vana_logging::LevelHandle> {
        self.inner.log_levels.as_ref()
    }

    /// The tower layer of the `http` section, over this `Ops` (feature `http`).
    #[cfg(feature = "http")]
    pub fn http_layer(&self) -> Result<crate::http::OpsLayer, OpsError> {
        crate::http::OpsLayer::new(self)
    }

    /// The router of the operational endpoints (feature `http`; see [`endpoints`](crate::endpoints)), behind
    /// the blocklist, a rate limit of their own (`http.ops_rate_limit`), the security headers and the
    /// request log. The admin token comes from `VANA_ADMIN_TOKEN` or `VANA_ADMIN_TOKEN_FILE`; with
    /// `VANA_METRICS_TOKEN` (or `_FILE`) set, `/metrics` asks for it too.
    #[cfg(feature = "http")]
    pub fn endpoints(&self) -> Result<axum::Router, OpsError> {
        let admin = crate::http::AdminToken::from_env()?;
        let metrics = crate::http::metrics_token_from_env()?;
        let layer = crate::http::OpsLayer::for_endpoints(self)?;
        Ok(crate::http::endpoints_with_metrics_token(self, admin, metrics).layer(layer))
    }

    /// Time since start, on a monotonic clock.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// Everything `/metrics` answers, in the Prometheus text format 0.0.4: the monitor's series by the
    /// Prometheus conventions, the `process_*` series, and the families read from this instance's parts
    /// (`vana_build_info`, `vana_ready`, `vana_security_events_total`, the backend's and the log writer's
    /// counters).
    pub fn metrics_text(&self) -> String {
        crate::exposition::render(self)
    }

    /// The `tracing` layer that exports spans as OpenTelemetry traces, when traces are on and `Ops` did not
    /// install the subscriber itself (`install_logging(false)`): add it to yours, once.
    #[cfg(feature = "otel")]
    pub fn trace_layer(&self) -> Option<vana_logging::ExtraLayer> {
        self.inner.traces.as_ref().and_then(crate::traces::TraceExport::take_layer)
    }

    /// Whether traces are exported (the `traces` section, or the OTLP variables, with the `otel` feature).
    pub fn traces_enabled(&self) -> bool {
        #[cfg(feature = "otel")]
        return self.inner.traces.is_some();
        #[cfg(not(feature = "otel"))]
        false
    }

    #[cfg(feature = "otel")]
    pub(crate) fn trace_export(&self) -> Option<&crate::traces::TraceExport> {
        self.inner.traces.as_ref()
    }

    /// Ok, degraded or critical, from firing alerts, the collector and blocked addresses.
    pub fn health(&self) -> Health {
        let inner = &*self.inner;
        let active = inner.monitor.active_alerts();
        let critical = active.iter().filter(|alert| alert.level == vana_config::AlertLevel::Critical).count();
        let warning = active.len() - critical;
        let collector_running = inner.collector.lock().is_some();
        let backend = backend_health(&inner.security);
        let backend_away = backend.is_some_and(|backend| !backend.available);
        let status = if critical > 0 {
            HealthStatus::Critical
        } else if warning > 0 || (inner.collector_expected && !collector_running) || backend_away {
            HealthStatus::Degraded
        } else {
            HealthStatus::Ok
        };
        Health {
            status,
            uptime: self.uptime(),
            firing_warning: warning,
            firing_critical: critical,
            blocked_addresses: inner.security.blocklist().blocked_count(),
            collector_running,
            dropped_log_lines: inner.logging.lock().as_ref().map_or(0, LoggingGuard::dropped_lines),
            backend,
        }
    }

    /// Whether `/health` should answer 503: a critical alert of a threshold named in
    /// `health.critical_thresholds` fires (none by default).
    pub fn health_fails(&self) -> bool {
        let conditions = &self.inner.loaded.config.monitoring.health.critical_thresholds;
        !conditions.is_empty()
            && self.inner.monitor.active_alerts().iter().any(|alert| {
                alert.level == vana_config::AlertLevel::Critical
                    && conditions.iter().any(|name| **name == *alert.threshold)
            })
    }

    /// Whether the instance should get traffic: the log writer keeps up and every reported check (the
    /// gateway's upstream) passes. Firing alerts and slow requests never make an instance unready; the
    /// Redis backend is reported but never fails it (its fallback answers meanwhile).
    pub fn readiness(&self) -> crate::health::Readiness {
        let inner = &*self.inner;
        let dropped = inner.logging.lock().as_ref().map_or(0, LoggingGuard::dropped_lines);
        let mut checks = vec![inner.readiness.log_writer(dropped)];
        if let Some(backend) = backend_health(&inner.security) {
            let detail = if backend.available { "Redis answers" } else { "Redis away: its fallback answers" };
            checks.push(crate::health::ReadinessCheck {
                name: "backend",
                ready: true,
                detail: detail.into(),
            });
        }
        checks.extend(inner.readiness.reported());
        crate::health::Readiness { ready: checks.iter().all(|check| check.ready), checks }
    }

    /// Records the outcome of a readiness check made outside (the gateway's upstream probe, `name`
    /// `upstream`); it replaces the last one of that name.
    pub fn report_readiness(&self, name: &'static str, ready: bool, detail: impl Into<String>) {
        self.inner.readiness.report(name, ready, detail.into());
    }

    /// Stops the collector, delivers queued alerts and flushes logs, for every clone (as dropping the last
    /// clone does). Recording still works afterwards; nothing runs in the background any more.
    pub fn shutdown(&self) {
        self.inner.stop();
    }
}

#[cfg(feature = "redis")]
fn backend_health(security: &SecurityManager) -> Option<crate::health::BackendHealth> {
    security.backend().map(|backend| {
        let status = backend.status();
        crate::health::BackendHealth {
            available: status.available,
            failures: status.failures,
            fallbacks: status.fallbacks,
        }
    })
}

#[cfg(not(feature = "redis"))]
fn backend_health(_security: &SecurityManager) -> Option<crate::health::BackendHealth> {
    None
}

impl OpsInner {
    fn stop(&self) {
        if let Some(collector) = self.collector.lock().take() {
            collector.stop();
        }
        self.monitor.shutdown();
        // Queued alerts get a few seconds to go out; a channel that is down does not hold the exit.
        let deadline = Instant::now() + SHUTDOWN_DELIVERY;
        for channel in &self.channels {
            channel.shutdown(deadline);
        }
        #[cfg(feature = "otel")]
        if let Some(traces) = &self.traces {
            traces.shutdown();
        }
        if let Some(logging) = self.logging.lock().take() {
            logging.shutdown();
        }
    }
}

/// The global subscriber of `logging`, with the trace layer when traces are on; `None` when another one is
/// installed already (not an error).
fn install(
    logging: &vana_config::Logging,
    trace_layer: Option<vana_logging::ExtraLayer>,
) -> Result<Option<LoggingGuard>, OpsError> {
    let builder = LoggingBuilder::new(logging);
    let builder = match trace_layer {
        Some(layer) => builder.with_layer(layer),
        None => builder,
    };
    match builder.init() {
        Ok(guard) => Ok(Some(guard)),
        Err(LoggingError::AlreadyInitialized) => Ok(None),
        Err(error) => Err(OpsError::Logging(error)),
    }
}

/// The trace export, when the configuration or the environment turns traces on; `#[trace]` calls become
/// spans then.
#[cfg(feature = "otel")]
fn start_traces(config: &vana_config::Config) -> Result<Option<crate::traces::TraceExport>, OpsError> {
    let Some(settings) = config.monitoring.traces.resolve(|name| std::env::var(name).ok()) else {
        return Ok(None);
    };
    let export = crate::traces::TraceExport::start(&settings)?;
    vana_apm::emit_tracing_spans(true);
    Ok(Some(export))
}

/// Without the `otel` feature, `traces.enabled` is an error; an OTLP endpoint in the environment (meant
/// for another program, maybe) only a warning.
#[cfg(not(feature = "otel"))]
fn traces_need_the_feature(config: &vana_config::Config) -> Result<(), OpsError> {
    if config.monitoring.traces.enabled {
        return Err(OpsError::MissingFeature { what: "traces.enabled".into(), feature: "otel" });
    }
    if config.monitoring.traces.resolve(|name| std::env::var(name).ok()).is_some() {
        tracing::warn!(target: "vana_ops", "OTEL_EXPORTER_OTLP_ENDPOINT is set, but this build of vana-ops has no `otel` feature: no traces are exported");
    }
    Ok(())
}

impl Drop for OpsInner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("monitor", &self.inner.monitor)
            .field("uptime", &self.uptime())
            .finish_non_exhaustive()
    }
}
