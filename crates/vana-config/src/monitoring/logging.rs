//! `logging`: level, format, output, redaction and per-component levels.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::checks::Checker;
use crate::key_path::KeyPath;
use crate::keywords::{LogFormat, LogLevel, LogOutput, LogRotation};
use crate::limits;

/// `logging`: levels, format and the correlation id header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Logging {
    /// The global level.
    pub level: LogLevel,
    /// JSON lines or readable text.
    pub format: LogFormat,
    /// The request header that carries the correlation id.
    pub correlation_id_header: String,
    /// Where lines go.
    pub output: LogOutput,
    /// The log file and its rotation, when `output` is `file`.
    pub file: LogFile,
    /// Lines the non-blocking writer buffers; when it is full, further lines are dropped and counted.
    pub buffer_lines: u64,
    /// Keys whose values are written as `"[REDACTED]"`: a key matches when these words appear in it, in
    /// order (`api_key` matches `x-api-key` and `apiKey`; `token` matches `access_token`, not `tokens`).
    pub redact_keys: Vec<String>,
    /// Longest message written, in bytes; longer ones are cut with a marker.
    pub max_message_bytes: u64,
    /// Longest field value written, in bytes; longer ones are cut with a marker.
    pub max_field_bytes: u64,
    /// Levels of single components, overriding the global one.
    pub components: Vec<ComponentLevel>,
}

/// `logging.file`: a log file rotated by time, with a cap on the files kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct LogFile {
    /// The directory of the log files.
    pub directory: String,
    /// The file name; rotated files get a date suffix.
    pub prefix: String,
    /// When a new file starts.
    pub rotation: LogRotation,
    /// Most files kept; the oldest are deleted.
    pub max_files: u64,
}

impl Default for LogFile {
    fn default() -> Self {
        Self {
            directory: "logs".into(),
            prefix: "vana.log".into(),
            rotation: LogRotation::Daily,
            max_files: 7,
        }
    }
}

/// The words of the default `logging.redact_keys`.
pub const DEFAULT_REDACT_KEYS: [&str; 16] = [
    "password",
    "passwords",
    "passwd",
    "secret",
    "secrets",
    "token",
    "authorization",
    "cookie",
    "cookies",
    "api_key",
    "apikey",
    "csrf",
    "session",
    "private_key",
    "credential",
    "credentials",
];

impl Default for Logging {
    fn default() -> Self {
        let components = [
            ("agent_execution", LogLevel::Debug),
            ("security", LogLevel::Warning),
            ("performance", LogLevel::Info),
        ];
        Self {
            level: LogLevel::Info,
            format: LogFormat::Json,
            correlation_id_header: "X-Correlation-ID".into(),
            output: LogOutput::Stdout,
            file: LogFile::default(),
            buffer_lines: 10_000,
            redact_keys: DEFAULT_REDACT_KEYS.iter().map(|key| (*key).to_owned()).collect(),
            max_message_bytes: 8192,
            max_field_bytes: 2048,
            components: components
                .into_iter()
                .map(|(name, level)| ComponentLevel { name: name.into(), level })
                .collect(),
        }
    }
}

/// The level of one named component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ComponentLevel {
    /// The component (a log target such as `security` or `agent_execution`).
    pub name: String,
    /// Its level.
    pub level: LogLevel,
}

impl ComponentLevel {
    /// Component `name` at `level`.
    pub fn new(name: impl Into<String>, level: LogLevel) -> Self {
        Self { name: name.into(), level }
    }
}

impl Logging {
    pub(super) fn check(&self, at: &KeyPath, check: &mut Checker) {
        let header = &self.correlation_id_header;
        if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            check.fail(
                at.key("correlation_id_header"),
                format!("`{}` is not a valid HTTP header name", header.escape_debug()),
            );
        }
        check.positive_at_most(
            at.key("buffer_lines"),
            self.buffer_lines,
            limits::MAX_LOG_BUFFER_LINES,
            "lines",
        );
        check.positive_at_most(
            at.key("max_message_bytes"),
            self.max_message_bytes,
            limits::MAX_LOG_VALUE_BYTES,
            "bytes",
        );
        check.positive_at_most(
            at.key("max_field_bytes"),
            self.max_field_bytes,
            limits::MAX_LOG_VALUE_BYTES,
            "bytes",
        );
        check.each(&at.key("redact_keys"), &self.redact_keys, limits::MAX_REDACT_KEYS, |check, at, key| {
            check.name(at, key, b"", "a redacted key");
        });
        let file = at.key("file");
        if self.file.directory.is_empty() {
            check.fail(file.key("directory"), "must not be empty");
        }
        check.name(file.key("prefix"), &self.file.prefix, b"", "a log file name");
        check.positive_at_most(file.key("max_files"), self.file.max_files, limits::MAX_LOG_FILES, "files");
        let components = at.key("components");
        check.at_most_entries(components.clone(), self.components.len(), limits::MAX_LOG_COMPONENTS);
        let mut seen = BTreeSet::new();
        for (index, component) in self.components.iter().enumerate().take(limits::MAX_LOG_COMPONENTS) {
            let path = components.index(index).key("name");
            check.name(path.clone(), &component.name, b"", "a component name");
            if !seen.insert(component.name.as_str()) {
                check.fail(path, format!("component `{}` is listed twice", component.name.escape_debug()));
            }
        }
    }
}
