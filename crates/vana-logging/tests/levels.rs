//! Levels from the configuration, per component, CRITICAL, and changes at run time.

mod common;

use vana_config::{ComponentLevel, LogLevel, Logging};

fn messages(entries: &[vana_logging::LogEntry]) -> Vec<&str> {
    entries.iter().map(|entry| entry.message.as_str()).collect()
}

#[test]
fn the_shipped_levels_apply_per_component() {
    let entries = common::capture(&Logging::default(), |_| {
        tracing::debug!(target: "agent_execution::planner", "agent debug");
        tracing::info!(target: "security", "security info");
        tracing::warn!(target: "vana_security::validate", "security warning");
        tracing::debug!(target: "performance", "performance debug");
        tracing::info!(target: "vana_apm", "performance info");
        tracing::debug!(target: "other", "other debug");
        tracing::info!(target: "other", "other info");
    });
    assert_eq!(messages(&entries), ["agent debug", "security warning", "performance info", "other info"]);
    assert_eq!(entries[0].component, "agent_execution");
    assert_eq!(entries[1].component, "security");
    assert_eq!(entries[2].component, "performance");
    assert_eq!(entries[3].component, "other");
}

#[test]
fn levels_change_at_run_time() {
    let entries = common::capture(&Logging::default(), |guard| {
        tracing::debug!(target: "other", "hidden");
        guard.levels().set_level(LogLevel::Debug);
        tracing::debug!(target: "other", "shown after the change");
        guard.levels().set_component_level("security", LogLevel::Error);
        tracing::warn!(target: "security", "hidden warning");
        tracing::error!(target: "security", "shown error");
        let mut config = Logging::default();
        config.level = LogLevel::Error;
        guard.levels().apply(&config);
        tracing::warn!(target: "other", "hidden again");
        assert_eq!(guard.levels().level_for_target("other"), LogLevel::Error);
    });
    assert_eq!(messages(&entries), ["shown after the change", "shown error"]);
}

#[test]
fn critical_keeps_only_marked_errors() {
    let mut config = Logging::default();
    config.components = vec![ComponentLevel::new("security", LogLevel::Critical)];
    let entries = common::capture(&config, |_| {
        tracing::error!(target: "security", "plain error");
        tracing::error!(target: "security", critical = true, "critical error");
        vana_logging::StructuredLogger::new("security").error("logger error", ());
        vana_logging::StructuredLogger::new("security").critical("logger critical", ());
    });
    assert_eq!(messages(&entries), ["critical error", "logger critical"]);
    assert!(entries.iter().all(|entry| entry.level == "CRITICAL"));
}

#[test]
fn structured_loggers_follow_their_component_level() {
    let entries = common::capture(&Logging::default(), |_| {
        vana_logging::StructuredLogger::new("agent_execution").debug("agent debug", ());
        vana_logging::StructuredLogger::new("security").info("security info", ());
        vana_logging::StructuredLogger::new("security").warning("security warning", ());
        vana_logging::StructuredLogger::new("unknown").debug("unknown debug", ());
    });
    assert_eq!(messages(&entries), ["agent debug", "security warning"]);
}

#[test]
fn spans_below_the_level_still_carry_the_request_id() {
    let entries = common::capture(&Logging::default(), |_| {
        let _request = tracing::info_span!(target: "security", "request", correlation_id = "req-5").entered();
        tracing::warn!(target: "security", "inside");
    });
    assert_eq!(entries[0].correlation_id.as_deref(), Some("req-5"));
}
