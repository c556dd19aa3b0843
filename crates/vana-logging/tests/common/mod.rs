//! Shared by the integration tests: run code under a logging setup and collect its lines.

#![allow(dead_code, unreachable_pub)]

use vana_config::Logging;
use vana_logging::{LogEntry, LoggingBuilder, MemoryWriter};

/// Runs `f` with logging configured by `config` into memory; returns the raw lines.
pub fn capture_lines(config: &Logging, f: impl FnOnce(&vana_logging::LoggingGuard)) -> Vec<String> {
    let memory = MemoryWriter::default();
    let (dispatch, guard) =
        LoggingBuilder::new(config).writer(memory.clone()).build().expect("logging builds");
    tracing::dispatcher::with_default(&dispatch, || f(&guard));
    memory.lines()
}

/// Runs `f` with `config` and parses every line; panics on a line that is not in the schema.
pub fn capture(config: &Logging, f: impl FnOnce(&vana_logging::LoggingGuard)) -> Vec<LogEntry> {
    capture_lines(config, f)
        .iter()
        .map(|line| {
            LogEntry::parse(line).unwrap_or_else(|error| panic!("not in the schema ({error}): {line}"))
        })
        .collect()
}

/// The default configuration at DEBUG.
pub fn debug_config() -> Logging {
    let mut config = Logging::default();
    config.level = vana_config::LogLevel::Debug;
    config.components.clear();
    config
}
