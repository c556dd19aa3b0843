//! `StructuredLogger`: the specification's logger, as a thin handle that emits `tracing` events.

use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};
use vana_config::LogLevel;

use crate::correlation::CorrelationId;
use crate::levels::LOGGER_TARGET;

/// Key/value metadata of one log call; nested objects and arrays are kept (secrets in them are redacted).
///
/// It reaches vana-logging's layer as it is, not as text: while a logger's event is dispatched, the
/// metadata waits in a slot of the calling thread that the layer reads. The event also carries it as a
/// `vana.metadata` field displayed as a JSON object, for any other subscriber.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata(Map<String, Value>);

thread_local! {
    /// The metadata of the logger event being dispatched on this thread.
    static DISPATCHING: RefCell<Option<Map<String, Value>>> = const { RefCell::new(None) };
}

/// Calls `visit` with the metadata of the logger event being dispatched on this thread, if any.
pub(crate) fn with_dispatching_metadata<R>(visit: impl FnOnce(Option<&Map<String, Value>>) -> R) -> R {
    DISPATCHING.with(|slot| match slot.try_borrow() {
        Ok(metadata) => visit(metadata.as_ref()),
        Err(_) => visit(None),
    })
}

/// Displays the dispatching metadata as a compact JSON object, for subscribers other than this crate's.
struct DispatchingMetadata;

impl fmt::Display for DispatchingMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        with_dispatching_metadata(|entries| {
            let Some(entries) = entries else { return f.write_str("{}") };
            f.write_str("{")?;
            for (index, (key, value)) in entries.iter().enumerate() {
                let separator = if index == 0 { "" } else { "," };
                // `Value`'s `Display` is JSON; a key is written as a JSON string the same way.
                write!(f, "{separator}{}:{value}", Value::String(key.clone()))?;
            }
            f.write_str("}")
        })
    }
}

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
/// let request_logger = logger.with_correlation_id("req-42".parse()?);
/// request_logger.warning("slow tool call", serde_json::json!({"tool": "search", "ms": 2300}));
/// request_logger.critical("agent crashed", ());
/// assert!("request 42".parse::<vana_logging::CorrelationId>().is_err()); // refused, not replaced
/// # Ok::<(), vana_logging::LoggingError>(())
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

    /// The same component with another correlation id (parse one from text with `"req-42".parse()`, which
    /// refuses a malformed id rather than replacing it).
    pub fn with_correlation_id(&self, correlation_id: CorrelationId) -> Self {
        Self { component: Arc::clone(&self.component), correlation_id }
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
        if metadata.0.is_empty() {
            emit!(
                level,
                component = &*self.component,
                correlation_id = self.correlation_id.as_str(),
                "{message}"
            );
            return;
        }
        // Dispatch is synchronous: the layer finds the metadata in this thread's slot. A logger called while
        // an event is written (a writer that logs) restores the outer event's metadata after its own.
        let outer = DISPATCHING.with(|slot| slot.replace(Some(metadata.0)));
        emit!(
            level,
            component = &*self.component,
            correlation_id = self.correlation_id.as_str(),
            vana.metadata = %DispatchingMetadata,
            "{message}"
        );
        DISPATCHING.with(|slot| *slot.borrow_mut() = outer);
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer into a shared buffer, for a `tracing_subscriber::fmt` subscriber.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn under_another_subscriber_metadata_reads_as_a_json_object() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber =
            tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
        tracing::subscriber::with_default(subscriber, || {
            let logger = StructuredLogger::new("agents");
            logger.warning("slow tool", serde_json::json!({"tool": "search \"web\"", "ms": 2300}));
            logger.info("plain", ());
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains(r#"vana.metadata={"ms":2300,"tool":"search \"web\""}"#), "{text}");
        let plain = text.lines().find(|line| line.contains("plain")).unwrap();
        assert!(!plain.contains("vana.metadata"), "{plain}");
        with_dispatching_metadata(|metadata| assert!(metadata.is_none(), "the slot is emptied"));
    }
}
