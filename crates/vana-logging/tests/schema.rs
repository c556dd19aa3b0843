//! Every kind of line the crate writes parses as the documented schema.

mod common;

use common::{capture, debug_config};
use serde_json::json;
use vana_logging::{CorrelationId, StructuredLogger, request_span};

#[derive(Debug)]
struct Failure;

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upstream timed out")
    }
}

impl std::error::Error for Failure {}

#[test]
fn every_field_type_and_level_parses() {
    let entries = capture(&debug_config(), |_| {
        let id = CorrelationId::parse("req-1").unwrap();
        let _request = request_span(&id, "GET", "/echo").entered();
        let _inner = tracing::info_span!("tool", tool = "search", attempt = 2u64).entered();
        tracing::debug!(n = -5i64, big = u128::MAX, ratio = 0.25, ok = true, "debug");
        tracing::info!(shown = %"display", debugged = ?vec![1, 2], "info");
        tracing::warn!(nan = f64::NAN, inf = f64::INFINITY, "warn");
        tracing::error!(error = &Failure as &dyn std::error::Error, "error");
        tracing::error!(critical = true, "critical");
        tracing::info!("no fields");
    });
    let levels: Vec<&str> = entries.iter().map(|e| e.level.as_str()).collect();
    assert_eq!(levels, ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "INFO"]);
    let debug = &entries[0];
    assert_eq!(debug.metadata["n"], -5);
    // Written exactly; serde_json reads integers this large as floats.
    assert!(debug.metadata["big"].as_f64().is_some_and(|big| big > 3.4e38));
    assert_eq!(debug.metadata["ratio"], 0.25);
    assert_eq!(debug.metadata["ok"], true);
    assert_eq!(debug.metadata["tool"], "search");
    assert_eq!(debug.metadata["attempt"], 2);
    assert_eq!(debug.metadata["method"], "GET");
    assert_eq!(entries[1].metadata["shown"], "display");
    assert_eq!(entries[1].metadata["debugged"], "[1, 2]");
    assert_eq!(entries[2].metadata["nan"], "NaN");
    assert_eq!(entries[2].metadata["inf"], "inf");
    assert_eq!(entries[3].metadata["error"], "upstream timed out");
    assert!(!entries[4].metadata.contains_key("critical"));
    for entry in &entries {
        assert_eq!(entry.correlation_id.as_deref(), Some("req-1"));
        assert_eq!(entry.component, "schema");
        assert!(entry.timestamp > 1.7e9, "{}", entry.timestamp);
    }
}

#[test]
fn event_fields_win_over_span_fields_and_inner_spans_over_outer() {
    let entries = capture(&debug_config(), |_| {
        let _outer = tracing::info_span!("outer", who = "outer", only_outer = 1).entered();
        let _inner = tracing::info_span!("inner", who = "inner").entered();
        tracing::info!("from inner");
        tracing::info!(who = "event", "from event");
    });
    assert_eq!(entries[0].metadata["who"], "inner");
    assert_eq!(entries[0].metadata["only_outer"], 1);
    assert_eq!(entries[1].metadata["who"], "event");
}

#[test]
fn the_structured_logger_writes_the_specification_entry() {
    let entries = capture(&debug_config(), |_| {
        let logger = StructuredLogger::new("agent_execution");
        logger.debug("planning", ());
        logger.info("agent started", [("agent", "planner")]);
        let scoped = logger.with_correlation_id("corr-9".parse().unwrap());
        scoped.warning("slow tool", json!({"tool": {"name": "search", "ms": 2300}, "tags": ["a", "b"]}));
        scoped.error("failed", json!(42));
        scoped.critical("crashed", ());
        assert_eq!(scoped.correlation_id().as_str(), "corr-9");
        let generated = logger.correlation_id().as_str().to_owned();
        assert_eq!(generated.len(), 36);
    });
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[0].component, "agent_execution");
    assert_eq!(entries[1].metadata["agent"], "planner");
    assert_eq!(entries[0].correlation_id, entries[1].correlation_id);
    assert_eq!(entries[2].correlation_id.as_deref(), Some("corr-9"));
    assert_eq!(entries[2].metadata["tool"]["ms"], 2300);
    assert_eq!(entries[2].metadata["tags"][1], "b");
    assert_eq!(entries[3].metadata["value"], 42);
    assert_eq!(entries[4].level, "CRITICAL");
    assert!(!entries[4].metadata.contains_key("vana.metadata"));
}

#[test]
fn text_format_is_one_readable_line() {
    let mut config = debug_config();
    config.format = vana_config::LogFormat::Text;
    let lines = common::capture_lines(&config, |_| {
        let id = CorrelationId::parse("req-7").unwrap();
        let _request = request_span(&id, "GET", "/x").entered();
        tracing::warn!(user = "ada lovelace", count = 3, "line\nbreak \x1b[31m");
    });
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    println!("{line}");
    let (timestamp, rest) = line.split_once(' ').unwrap();
    assert!(humantime::parse_rfc3339(timestamp).is_ok(), "{timestamp}");
    assert_eq!(
        rest,
        r#"WARNING  schema [req-7] line\nbreak \u001b[31m user="ada lovelace" count=3 method=GET route=/x"#
    );
    assert!(!line.contains('\x1b'));
}
