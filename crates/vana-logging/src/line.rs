//! One line of the log schema, assembled from its head (timestamp, level, message, correlation id,
//! component) and its rendered metadata, in JSON or text. Every writer of lines (the layer, the request
//! log, the drop reports) goes through here.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::Level;
use vana_config::LogFormat;

use crate::escape::{json_str, text_str};
use crate::fields::Style;

/// The parts of a line before its metadata.
pub(crate) struct LineHead<'a> {
    pub(crate) level: &'static str,
    pub(crate) message: &'a str,
    pub(crate) correlation_id: Option<&'a str>,
    pub(crate) component: &'a str,
}

/// The fixed parts of a JSON line's head, rendered ahead of time (the request log renders them once per
/// change of the levels): from [`push_json_level_and_message`] and [`push_json_component`].
pub(crate) struct RenderedJsonHead<'a> {
    pub(crate) level_and_message: &'a str,
    pub(crate) component: &'a str,
}

/// Appends one whole line of the schema to `line`: the head, then `metadata` (fields already rendered in
/// `style`), then the newline.
pub(crate) fn push_line(line: &mut String, style: &Style, head: &LineHead<'_>, metadata: &str) {
    match style.format {
        LogFormat::Json => push_json(
            line,
            style,
            |line| push_json_level_and_message(line, style, head.level, head.message),
            head.correlation_id,
            |line| push_json_component(line, style, head.component),
            metadata,
        ),
        _ => {
            let now = SystemTime::now();
            let _ = write!(
                line,
                "{} {:<8} {}",
                humantime::format_rfc3339_micros(now),
                head.level,
                head.component
            );
            if let Some(id) = head.correlation_id {
                line.push_str(" [");
                text_str(line, id, style.max_field, false);
                line.push(']');
            }
            line.push(' ');
            text_str(line, head.message, style.max_message, false);
            line.push_str(metadata);
            line.push('\n');
        }
    }
}

/// Appends one JSON line whose fixed parts are already rendered.
pub(crate) fn push_rendered_json_line(
    line: &mut String,
    style: &Style,
    head: &RenderedJsonHead<'_>,
    correlation_id: Option<&str>,
    metadata: &str,
) {
    push_json(
        line,
        style,
        |line| line.push_str(head.level_and_message),
        correlation_id,
        |line| line.push_str(head.component),
        metadata,
    );
}

/// The JSON line's skeleton: `{"timestamp":…` then the level and message, the correlation id, the
/// component and the metadata.
fn push_json(
    line: &mut String,
    style: &Style,
    level_and_message: impl FnOnce(&mut String),
    correlation_id: Option<&str>,
    component: impl FnOnce(&mut String),
    metadata: &str,
) {
    line.push_str("{\"timestamp\":");
    push_timestamp(line);
    level_and_message(line);
    match correlation_id {
        Some(id) => {
            line.push('"');
            json_str(line, id, style.max_field);
            line.push('"');
        }
        None => line.push_str("null"),
    }
    component(line);
    line.push_str(metadata);
    line.push_str("}}\n");
}

/// `,"level":"…","message":"…","correlation_id":`: the part of a JSON line between its timestamp and its
/// correlation id.
pub(crate) fn push_json_level_and_message(out: &mut String, style: &Style, level: &str, message: &str) {
    out.push_str(",\"level\":\"");
    out.push_str(level);
    out.push_str("\",\"message\":\"");
    json_str(out, message, style.max_message);
    out.push_str("\",\"correlation_id\":");
}

/// `,"component":"…","metadata":{`: the part of a JSON line between its correlation id and its metadata.
pub(crate) fn push_json_component(out: &mut String, style: &Style, component: &str) {
    out.push_str(",\"component\":\"");
    json_str(out, component, style.max_field);
    out.push_str("\",\"metadata\":{");
}

/// Time since the Unix epoch.
pub(crate) fn unix_now() -> std::time::Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Appends the current time as epoch seconds with microseconds: `1764303600.123456`.
fn push_timestamp(line: &mut String) {
    let now = unix_now();
    line.push_str(itoa::Buffer::new().format(now.as_secs()));
    line.push('.');
    // Six digits, zero-padded: one more than a million, printed without its leading `1`.
    let padded = 1_000_000 + now.subsec_micros();
    line.push_str(&itoa::Buffer::new().format(padded)[1..]);
}

/// The specification's level names; CRITICAL is an ERROR event marked `critical = true`.
pub(crate) fn level_name(level: &Level, critical: bool) -> &'static str {
    match *level {
        Level::ERROR if critical => "CRITICAL",
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        _ => "DEBUG",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_six_fraction_digits() {
        for _ in 0..1000 {
            let mut line = String::new();
            push_timestamp(&mut line);
            let (seconds, micros) = line.split_once('.').unwrap();
            assert!(seconds.parse::<u64>().unwrap() > 1_700_000_000, "{line}");
            assert_eq!(micros.len(), 6, "{line}");
            assert!(micros.bytes().all(|b| b.is_ascii_digit()), "{line}");
        }
    }

    fn style(format: LogFormat) -> Style {
        Style {
            format,
            redactor: crate::redact::Redactor::new(&[] as &[&str]),
            max_message: 100,
            max_field: 100,
        }
    }

    #[test]
    fn a_rendered_head_makes_the_same_json_line() {
        let style = style(LogFormat::Json);
        let head =
            LineHead { level: "INFO", message: "m \"q\"", correlation_id: Some("id-1"), component: "c" };
        let mut direct = String::new();
        push_line(&mut direct, &style, &head, "\"k\":1");
        let (mut level_and_message, mut component) = (String::new(), String::new());
        push_json_level_and_message(&mut level_and_message, &style, head.level, head.message);
        push_json_component(&mut component, &style, head.component);
        let rendered = RenderedJsonHead { level_and_message: &level_and_message, component: &component };
        let mut ahead = String::new();
        push_rendered_json_line(&mut ahead, &style, &rendered, Some("id-1"), "\"k\":1");
        let parse = |line: &str| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            value.as_object_mut().unwrap().remove("timestamp");
            value
        };
        assert_eq!(parse(&direct), parse(&ahead));
        assert_eq!(parse(&direct)["metadata"]["k"], 1);
        assert_eq!(parse(&direct)["message"], "m \"q\"");
    }

    #[test]
    fn text_lines_carry_the_id_in_brackets() {
        let head =
            LineHead { level: "WARNING", message: "slow", correlation_id: Some("r-2"), component: "db" };
        let mut line = String::new();
        push_line(&mut line, &style(LogFormat::Text), &head, " ms=3");
        assert!(line.ends_with(" WARNING  db [r-2] slow ms=3\n"), "{line}");
    }
}
