//! The log line schema, as a type: for consumers of the logs and for tests.

use serde::{Deserialize, Serialize};

/// One log line, compatible with the specification's `LogEntry`.
///
/// ```json
/// {"timestamp":1764303600.123456,"level":"INFO","message":"handled","correlation_id":"req-42",
///  "component":"security","metadata":{"route":"/echo","status":200}}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// Seconds since the Unix epoch, with microseconds.
    pub timestamp: f64,
    /// `DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`.
    pub level: String,
    /// The message.
    pub message: String,
    /// The request's correlation id; `null` outside any request.
    pub correlation_id: Option<String>,
    /// The component: a configured component name, or the first part of the event's target.
    pub component: String,
    /// The event's fields, then those of its spans (inner first), secrets redacted.
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

impl LogEntry {
    /// Parses one JSON line.
    pub fn parse(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// The levels a line may have.
    pub const LEVELS: [&'static str; 5] = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
}
