//! Request lines: the direct path writes the same schema, levels, redaction and escaping as the log layer,
//! and the `tracing` path carries the same fields to any subscriber.

use std::time::Duration;

use vana_config::{ComponentLevel, LogFormat, LogLevel, Logging};
use vana_logging::{LogEntry, LoggingBuilder, MemoryWriter, RequestLog, RequestRecord};

fn record(status: u16) -> RequestRecord<'static> {
    RequestRecord {
        method: "POST",
        route: "/agents/{id}",
        path: "/agents/7\"\n\u{1b}[31m",
        status,
        duration: Duration::from_nanos(1_234_567),
        first_byte: None,
        stream: None,
        gen_ai: None,
        client: Some("2001:db8::1"),
        correlation_id: Some("req-1"),
    }
}

fn direct(config: &Logging) -> (MemoryWriter, vana_logging::LoggingGuard) {
    let memory = MemoryWriter::default();
    let (_dispatch, guard) = LoggingBuilder::new(config).writer(memory.clone()).build().unwrap();
    (memory, guard)
}

#[test]
fn direct_lines_follow_the_schema_and_escape_what_the_client_sent() {
    let (memory, guard) = direct(&Logging::default());
    let log = guard.request_log();
    assert!(log.is_direct());
    log.write(&record(201));
    log.write(&RequestRecord { client: None, correlation_id: None, ..record(503) });
    let lines = memory.lines();
    assert_eq!(lines.len(), 2);
    assert!(!lines[0].contains('\u{1b}') && !lines[0].contains('\n'), "{}", lines[0]);
    let entry = LogEntry::parse(&lines[0]).unwrap();
    assert_eq!(
        (entry.level.as_str(), entry.message.as_str(), entry.component.as_str()),
        ("INFO", "request", "access")
    );
    assert_eq!(entry.correlation_id.as_deref(), Some("req-1"));
    assert_eq!(entry.metadata["method"], "POST");
    assert_eq!(entry.metadata["route"], "/agents/{id}");
    assert_eq!(entry.metadata["path"], "/agents/7\"\n\u{1b}[31m");
    assert_eq!(entry.metadata["status"], 201);
    assert_eq!(entry.metadata["duration_ms"], 1.234);
    assert_eq!(entry.metadata["client"], "2001:db8::1");
    let failed = LogEntry::parse(&lines[1]).unwrap();
    assert_eq!(failed.level, "WARNING");
    assert_eq!(failed.correlation_id, None);
    assert!(failed.metadata["client"].is_null());
}

#[test]
fn the_access_component_level_and_redaction_apply() {
    let mut config = Logging::default();
    config.components = vec![ComponentLevel::new("access", LogLevel::Warning)];
    config.redact_keys = vec!["path".into()];
    let (memory, guard) = direct(&config);
    let log = guard.request_log();
    log.write(&record(200));
    assert!(memory.lines().is_empty(), "INFO request lines are below the access component's level");
    log.write(&record(500));
    let entry = LogEntry::parse(&memory.lines()[0]).unwrap();
    assert_eq!(entry.metadata["path"], vana_logging::REDACTED);
    assert_eq!(entry.metadata["route"], "/agents/{id}");
    guard.levels().set_component_level("access", LogLevel::Critical);
    log.write(&record(500));
    assert_eq!(memory.lines().len(), 1, "levels changed at run time apply to the direct path");
    guard.levels().set_component_level("access", LogLevel::Info);
    log.write(&record(200));
    assert_eq!(memory.lines().len(), 2, "and when they change back");
    // Another log on the same thread keeps its own levels.
    let (other_memory, other_guard) = direct(&Logging::default());
    other_guard.request_log().write(&record(200));
    guard.levels().set_component_level("access", LogLevel::Error);
    log.write(&record(200));
    other_guard.request_log().write(&record(200));
    assert_eq!((memory.lines().len(), other_memory.lines().len()), (2, 2));
}

#[test]
fn text_format_lines_are_one_readable_line() {
    let mut config = Logging::default();
    config.format = LogFormat::Text;
    let (memory, guard) = direct(&config);
    guard.request_log().write(&record(200));
    let line = &memory.lines()[0];
    assert!(line.contains(" INFO     access [req-1] request method=POST route=/agents/{id} "), "{line}");
    assert!(line.contains(" status=200 duration_ms=1.234 client=2001:db8::1"), "{line}");
    assert!(!line.contains('\n') && !line.contains('\u{1b}'), "{line}");
}

#[test]
fn without_vana_logging_lines_are_tracing_events_with_the_same_fields() {
    let memory = MemoryWriter::default();
    let (dispatch, _guard) = LoggingBuilder::new(&Logging::default()).writer(memory.clone()).build().unwrap();
    let log = RequestLog::via_tracing();
    assert!(!log.is_direct());
    tracing::dispatcher::with_default(&dispatch, || log.write(&record(200)));
    let entry = LogEntry::parse(&memory.lines()[0]).unwrap();
    assert_eq!((entry.message.as_str(), entry.component.as_str()), ("request", "access"));
    assert_eq!(entry.correlation_id.as_deref(), Some("req-1"));
    assert_eq!(entry.metadata["status"], 200);
    assert_eq!(entry.metadata["duration_ms"], 1.234);
    assert_eq!(entry.metadata["route"], "/agents/{id}");
    // An AI answer's fields too (one test per callsite: tracing registers it once, for the first dispatcher).
    let gen_ai = vana_logging::GenAiRecord {
        time_to_first_token: Some(Duration::from_micros(57_700)),
        input_tokens: Some(12),
        output_tokens: Some(30),
    };
    tracing::dispatcher::with_default(&dispatch, || {
        log.write(&RequestRecord { gen_ai: Some(gen_ai), ..record(200) })
    });
    let entry = LogEntry::parse(&memory.lines()[1]).unwrap();
    assert_eq!(
        (entry.metadata["ttft_ms"].as_f64(), entry.metadata["output_tokens"].as_u64()),
        (Some(57.7), Some(30))
    );
}

#[test]
fn a_stream_s_line_says_when_its_first_byte_left_how_many_events_and_how_it_ended() {
    let (memory, guard) = direct(&Logging::default());
    let stream = vana_logging::StreamRecord { events: 5, outcome: "client_closed" };
    let streamed = RequestRecord {
        duration: Duration::from_millis(1009),
        first_byte: Some(Duration::from_micros(200_250)),
        stream: Some(stream),
        ..record(200)
    };
    guard.request_log().write(&streamed);
    let entry = LogEntry::parse(&memory.lines()[0]).unwrap();
    assert_eq!(entry.metadata["duration_ms"], 1009.0);
    assert_eq!(entry.metadata["first_byte_ms"], 200.25);
    assert_eq!(entry.metadata["events"], 5);
    assert_eq!(entry.metadata["stream_outcome"], "client_closed");
    // A response without a body or a stream has neither field.
    guard.request_log().write(&record(204));
    let plain = LogEntry::parse(&memory.lines()[1]).unwrap();
    assert!(plain.metadata.get("first_byte_ms").is_none() && plain.metadata.get("events").is_none());
}

#[test]
fn an_ai_answer_s_line_has_its_time_to_first_token_and_tokens() {
    let gen_ai = vana_logging::GenAiRecord {
        time_to_first_token: Some(Duration::from_micros(57_700)),
        input_tokens: Some(12),
        output_tokens: None,
    };
    let answer = RequestRecord { gen_ai: Some(gen_ai), ..record(200) };
    let (memory, guard) = direct(&Logging::default());
    guard.request_log().write(&answer);
    let entry = LogEntry::parse(&memory.lines()[0]).unwrap();
    assert_eq!(entry.metadata["ttft_ms"], 57.7);
    assert_eq!(entry.metadata["input_tokens"], 12);
    assert!(entry.metadata.get("output_tokens").is_none(), "a count the answer did not report is left out");
}
