//! Records of the `log` crate (feature `log`): `init` routes them into the same schema. Its own test binary,
//! because `init` installs the process's global subscriber and `log` logger.

#![cfg(feature = "log")]

use vana_config::Logging;
use vana_logging::{LogEntry, LoggingBuilder, MemoryWriter};

#[test]
fn log_records_become_lines_of_the_schema() {
    let memory = MemoryWriter::default();
    let guard = LoggingBuilder::new(&Logging::default()).writer(memory.clone()).init().unwrap();
    log::info!(target: "legacy_lib::client", "connected to {}", "db-1");
    log::debug!(target: "legacy_lib::client", "below the default level");
    let entries: Vec<LogEntry> = memory.lines().iter().map(|line| LogEntry::parse(line).unwrap()).collect();
    let entry = entries.iter().find(|entry| entry.message == "connected to db-1").expect("the log record");
    assert_eq!(entry.level, "INFO");
    assert_eq!(entry.component, "legacy_lib");
    assert!(entries.iter().all(|entry| entry.message != "below the default level"), "levels apply too");
    assert!(LoggingBuilder::new(&Logging::default()).init().is_err(), "a second init is refused");
    guard.shutdown();
}
