//! Secrets redacted, hostile input escaped, long values cut, and every line valid JSON whatever the input.

mod common;

use proptest::prelude::*;
use serde_json::json;
use vana_logging::{LogEntry, StructuredLogger};

#[test]
fn secrets_are_redacted_in_fields_spans_and_nested_metadata() {
    let entries = common::capture(&common::debug_config(), |_| {
        let _span = tracing::info_span!("request", authorization = "Bearer abc", route = "/login").entered();
        tracing::info!(password = "hunter2", api_key = 123, tokens_used = 42, "login");
        StructuredLogger::new("security").info(
            "nested",
            json!({"user": {"name": "ada", "session_id": "s-1", "keys": [{"apiKey": "k"}]}, "cookie": {"a": 1}}),
        );
    });
    let login = &entries[0].metadata;
    assert_eq!(login["password"], "[REDACTED]");
    assert_eq!(login["api_key"], "[REDACTED]");
    assert_eq!(login["authorization"], "[REDACTED]");
    assert_eq!(login["tokens_used"], 42);
    assert_eq!(login["route"], "/login");
    let nested = &entries[1].metadata;
    assert_eq!(nested["user"]["name"], "ada");
    assert_eq!(nested["user"]["session_id"], "[REDACTED]");
    assert_eq!(nested["user"]["keys"][0]["apiKey"], "[REDACTED]");
    assert_eq!(nested["cookie"], "[REDACTED]");
    let raw =
        common::capture_lines(&common::debug_config(), |_| tracing::info!(secret = "s3cr3t-value", "x"));
    assert!(!raw[0].contains("s3cr3t-value"));
}

#[test]
fn the_redacted_keys_come_from_the_configuration() {
    let mut config = common::debug_config();
    config.redact_keys = vec!["ssn".into()];
    let entries =
        common::capture(&config, |_| tracing::info!(user_ssn = "123-45-6789", password = "visible now", "x"));
    assert_eq!(entries[0].metadata["user_ssn"], "[REDACTED]");
    assert_eq!(entries[0].metadata["password"], "visible now");
}

#[test]
fn hostile_text_cannot_forge_a_line_or_drive_a_terminal() {
    let hostile = "ok\"}\n{\"level\":\"CRITICAL\",\"message\":\"forged\"}\r\x1b[2J\x1b]0;title\x07\u{9b}31m\u{202e}txt.exe";
    let lines = common::capture_lines(&common::debug_config(), |_| {
        tracing::info!(input = hostile, "{hostile}");
        StructuredLogger::new("x").info(hostile, json!({ "k": hostile, hostile: 1 }));
    });
    assert_eq!(lines.len(), 2, "{lines:?}");
    for line in &lines {
        assert!(!line.chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)), "{line:?}");
        let entry = LogEntry::parse(line).unwrap();
        assert_eq!(entry.message, hostile);
    }
    assert_eq!(LogEntry::parse(&lines[0]).unwrap().metadata["input"], hostile);
    assert_eq!(LogEntry::parse(&lines[1]).unwrap().metadata[hostile], 1);
}

#[test]
fn long_messages_and_values_are_cut_with_a_marker() {
    let mut config = common::debug_config();
    config.max_message_bytes = 100;
    config.max_field_bytes = 10;
    let long = "é".repeat(1000);
    let entries = common::capture(&config, |_| {
        tracing::info!(value = %long, "{long}");
        StructuredLogger::new("x").info("m", json!({ "nested": long }));
    });
    assert_eq!(entries[0].message, format!("{}…[truncated 1900 bytes]", "é".repeat(50)));
    assert_eq!(entries[0].metadata["value"], format!("{}…[truncated 1990 bytes]", "é".repeat(5)));
    assert_eq!(entries[1].metadata["nested"], format!("{}…[truncated 1990 bytes]", "é".repeat(5)));
}

#[test]
fn deep_metadata_is_capped() {
    let mut deep = json!("bottom");
    for _ in 0..100 {
        deep = json!({ "d": deep });
    }
    let entries = common::capture(&common::debug_config(), |_| {
        StructuredLogger::new("x").info("deep", json!({ "v": deep }))
    });
    let mut node = &entries[0].metadata["v"];
    let mut depth = 0;
    while let Some(inner) = node.get("d") {
        node = inner;
        depth += 1;
    }
    assert_eq!(node, "…[too deep]");
    assert!(depth < 20, "{depth}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_line_is_valid_json(message in any::<String>(), value in any::<String>(), key in "[a-z_]{1,12}", number in any::<f64>()) {
        let mut config = common::debug_config();
        config.max_field_bytes = 64;
        let lines = common::capture_lines(&config, |_| {
            let _span = tracing::info_span!("s", correlation_id = %value, other = %value).entered();
            tracing::info!(text = %value, number, "{message}");
            StructuredLogger::new(value.as_str()).info(&message, json!({ key.as_str(): value, "n": number.to_string() }));
        });
        prop_assert_eq!(lines.len(), 2);
        for line in &lines {
            let entry = LogEntry::parse(line);
            prop_assert!(entry.is_ok(), "{:?}: {}", entry.err(), line);
        }
    }
}
