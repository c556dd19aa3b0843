//! `StructuredLogger`: the specification's logger, as a thin handle that emits `tracing` events.

use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};
use vana_config::LogLevel;

use crate::correlation::CorrelationId;
use crate::levels::LOGGER_TARGET;

/// Key/value metadata of one log call; nested objects and arrays are kept (secrets in them are redacted).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata(Map<String, Value>);

impl Metadata {
    /// No metadata.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds one entry.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }
}

impl From<()> for Metadata {
    fn from((): ()) -> Self {
        Self::default()
    }
}

impl From<Map<String, Value>> for Metadata {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

/// An object becomes the metadata; any other value is kept under `value`.
impl From<Value> for Metadata {
    fn from(value: Value) -> Self {
        match value {
            Value::Object(map) => Self(map),
            Value::Null => Self::default(),
            other => Self(Map::from_iter([("value".to_owned(), other)])),
        }
    }
}

impl<K: Into<String>, V: Into<Value>, const N: usize> From<[(K, V); N]> for Metadata {
    fn from(entries: [(K, V); N]) -> Self {
        Self(entries.into_iter().map(|(key, value)| (key.into(), value.into())).collect())
    }
}

/// The specification's `StructuredLogger`: a component name and a correlation id, cheap to clone.
///
/// Each call emits a `tracing` event, so its line goes through the same layer, levels, redaction and
/// outputs as every other event. A new logger gets a fresh UUID v4 correlation id, as in the specification.
///
/// ```
/// use vana_logging::StructuredLogger;
///
/// let logger = StructuredLogger::new("agent_execution");
/// logger.info("agent started", [("agent", "planner")]);
/// let request_logger = logger.with_correlation_id("req-42");
/// request_logger.warning("slow tool call", serde_json::json!({"tool": "search", "ms": 2300}));
/// request_logger.critical("agent crashed", ());
/// ```
#[derive(Clone)]
pub struct StructuredLogger {
    component: Arc<str>,
    correlation_id: CorrelationId,
}

macro_rules! emit {
    ($level:expr, $($fields:tt)*) => {
        match $level {
            LogLevel::Debug => tracing::event!(target: LOGGER_TARGET, tracing::Level::DEBUG, $($fields)*),
            LogLevel::Info => tracing::event!(target: LOGGER_TARGET, tracing::Level::INFO, $($fields)*),
            LogLevel::Warning => tracing::event!(target: LOGGER_TARGET, tracing::Level::WARN, $($fields)*),
            LogLevel::Error => tracing::event!(target: LOGGER_TARGET, tracing::Level::ERROR, $($fields)*),
            LogLevel::Critical => tracing::event!(target: LOGGER_TARGET, tracing::Level::ERROR, critical = true, $($fields)*),
        }
    };
}

impl StructuredLogger {
    /// A logger for `component` with a fresh correlation id.
    pub fn new(component: impl Into<Arc<str>>) -> Self {
        Self { component: component.into(), correlation_id: CorrelationId::new() }
    }

    /// The same component with another correlation id; an id that is not well-formed is replaced by a
    /// fresh one, as for incoming headers.
    pub fn with_correlation_id(&self, correlation_id: &str) -> Self {
        Self {
            component: Arc::clone(&self.component),
            correlation_id: CorrelationId::parse(correlation_id).unwrap_or_default(),
        }
    }

    /// The component name.
    pub fn component(&self) -> &str {
        &self.component
    }

    /// The correlation id.
    pub fn correlation_id(&self) -> &CorrelationId {
        &self.correlation_id
    }

    /// Logs `message` at `level` with `metadata`.
    pub fn log(&self, level: LogLevel, message: impl fmt::Display, metadata: impl Into<Metadata>) {
        let metadata = metadata.into();
        let json = if metadata.0.is_empty() { String::new() } else { Value::Object(metadata.0).to_string() };
        emit!(
            level,
            component = &*self.component,
            correlation_id = self.correlation_id.as_str(),
            vana.metadata = json.as_str(),
            "{message}"
        );
    }

    /// Logs at DEBUG.
    pub fn debug(&self, message: impl fmt::Display, metadata: impl Into<Metadata>) {
        self.log(LogLevel::Debug, message, metadata);
    }

    /// Logs at INFO.
    pub fn info(&self, message: impl fmt::Display, metadata: impl Into<Metadata>) {
        self.log(LogLevel::Info, message, metadata);
    }

    /// Logs at WARNING.
    pub fn warning(&self, message: impl fmt::Display, metadata: impl Into<Metadata>) {
        self.log(LogLevel::Warning, message, metadata);
    }

    /// Logs at ERROR.
    pub fn error(&self, message: impl fmt::Display, metadata: impl Into<Metadata>) {
        self.log(LogLevel::Error, message, metadata);
    }

    /// Logs at CRITICAL (a tracing ERROR marked `critical = true`).
    pub fn critical(&self, message: impl fmt::Display, metadata: impl Into<Metadata>) {
        self.log(LogLevel::Critical, message, metadata);
    }
}

impl fmt::Debug for StructuredLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StructuredLogger")
            .field("component", &self.component)
            .field("correlation_id", &self.correlation_id.as_str())
            .finish()
    }
}
