//! Rendering the fields of events and spans: values escaped, capped and redacted, in the layer's format.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use vana_config::LogFormat;

use crate::correlation::CORRELATION_ID_FIELD;
use crate::escape::{json_str, text_str};
use crate::redact::{REDACTED, Redactor};

/// The field that carries a [`StructuredLogger`](crate::StructuredLogger)'s metadata for other subscribers;
/// this crate's layer takes the metadata itself instead (see [`Metadata`](crate::Metadata)).
pub(crate) const METADATA_FIELD: &str = "vana.metadata";
/// The field that names an event's or span's component.
pub(crate) const COMPONENT_FIELD: &str = "component";
/// The field that marks an error event as CRITICAL.
pub(crate) const CRITICAL_FIELD: &str = "critical";

/// How values are written: the format and the caps.
#[derive(Debug, Clone)]
pub(crate) struct Style {
    pub(crate) format: LogFormat,
    pub(crate) redactor: Redactor,
    pub(crate) max_message: usize,
    pub(crate) max_field: usize,
}

impl Style {
    /// Appends a text value.
    pub(crate) fn push_str_value(&self, out: &mut String, value: &str) {
        match self.format {
            LogFormat::Json => {
                out.push('"');
                json_str(out, value, self.max_field);
                out.push('"');
            }
            _ => {
                let needs_quotes =
                    value.is_empty() || value.bytes().any(|b| b == b' ' || b == b'"' || b == b'=');
                if needs_quotes {
                    out.push('"');
                }
                text_str(out, value, self.max_field, needs_quotes);
                if needs_quotes {
                    out.push('"');
                }
            }
        }
    }

    /// Appends `key` and its separator, preceded by a comma or space when `first` is false.
    pub(crate) fn push_key(&self, out: &mut String, key: &str, first: bool) {
        match self.format {
            LogFormat::Json => {
                if !first {
                    out.push(',');
                }
                out.push('"');
                json_str(out, key, usize::MAX);
                out.push_str("\":");
            }
            _ => {
                out.push(' ');
                text_str(out, key, usize::MAX, false);
                out.push('=');
            }
        }
    }
}

/// What an event or span says besides its plain fields.
#[derive(Default)]
pub(crate) struct Special {
    pub(crate) message: String,
    pub(crate) correlation_id: Option<String>,
    pub(crate) component: Option<String>,
    pub(crate) critical: bool,
    /// Whether the event carries a structured logger's metadata.
    pub(crate) has_logger_metadata: bool,
}

impl Special {
    pub(crate) fn clear(&mut self) {
        self.message.clear();
        self.correlation_id = None;
        self.component = None;
        self.critical = false;
        self.has_logger_metadata = false;
    }
}

/// Where plain fields go: appended to one buffer (events) or kept one by one (spans).
pub(crate) enum Sink<'a> {
    Buffer { out: &'a mut String, names: &'a mut Vec<&'static str> },
    Fields(&'a mut Vec<(&'static str, String)>),
}

/// Visits the fields of an event or span.
pub(crate) struct FieldVisitor<'a> {
    pub(crate) style: &'a Style,
    pub(crate) sink: Sink<'a>,
    pub(crate) special: &'a mut Special,
    pub(crate) scratch: &'a mut String,
}

impl FieldVisitor<'_> {
    fn plain(&mut self, field: &Field, render: impl FnOnce(&Style, &mut String)) {
        let name = field.name();
        let style = self.style;
        let secret = style.redactor.is_secret_field(name);
        let render_into = |out: &mut String| {
            if secret {
                style.push_str_value(out, REDACTED);
            } else {
                render(style, out);
            }
        };
        match &mut self.sink {
            Sink::Buffer { out, names } => {
                if names.contains(&name) {
                    return;
                }
                style.push_key(out, name, out.is_empty());
                names.push(name);
                render_into(out);
            }
            Sink::Fields(fields) => {
                let mut value = String::new();
                render_into(&mut value);
                match fields.iter_mut().find(|(existing, _)| *existing == name) {
                    Some((_, old)) => *old = value,
                    None => fields.push((name, value)),
                }
            }
        }
    }

    /// Handles the fields with a meaning of their own; true when `field` was one.
    fn special_str(&mut self, field: &Field, value: &str) -> bool {
        match field.name() {
            "message" => {
                self.special.message.clear();
                self.special.message.push_str(value);
            }
            CORRELATION_ID_FIELD => self.special.correlation_id = Some(value.to_owned()),
            COMPONENT_FIELD => self.special.component = Some(value.to_owned()),
            METADATA_FIELD => self.special.has_logger_metadata = true,
            _ => return false,
        }
        true
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.special_str(field, value) {
            self.plain(field, |style, out| style.push_str_value(out, value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == METADATA_FIELD {
            // Its text is for other subscribers: the layer takes the metadata itself.
            self.special.has_logger_metadata = true;
            return;
        }
        self.scratch.clear();
        let _ = write!(self.scratch, "{value:?}");
        let text = std::mem::take(self.scratch);
        if !self.special_str(field, &text) {
            self.plain(field, |style, out| style.push_str_value(out, &text));
        }
        *self.scratch = text;
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == CRITICAL_FIELD {
            self.special.critical = value;
            return;
        }
        self.plain(field, |_, out| out.push_str(if value { "true" } else { "false" }));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.plain(field, |_, out| out.push_str(itoa::Buffer::new().format(value)));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.plain(field, |_, out| out.push_str(itoa::Buffer::new().format(value)));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.plain(field, |_, out| out.push_str(itoa::Buffer::new().format(value)));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.plain(field, |_, out| out.push_str(itoa::Buffer::new().format(value)));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.plain(field, |style, out| {
            if value.is_finite() {
                let _ = write!(out, "{value}");
            } else {
                // JSON has no NaN or infinity: write them as text.
                style.push_str_value(out, &value.to_string());
            }
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.scratch.clear();
        let _ = write!(self.scratch, "{value}");
        let text = std::mem::take(self.scratch);
        self.plain(field, |style, out| style.push_str_value(out, &text));
        *self.scratch = text;
    }
}

/// Appends a JSON value from a structured logger's metadata: secrets redacted at any depth, strings
/// escaped and capped, depth capped.
pub(crate) fn push_json_value(style: &Style, out: &mut String, value: &serde_json::Value, depth: usize) {
    use serde_json::Value;
    const MAX_DEPTH: usize = 16;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => {
            let _ = write!(out, "{number}");
        }
        Value::String(text) => push_json_string(out, text, style.max_field),
        _ if depth >= MAX_DEPTH => push_json_string(out, "…[too deep]", usize::MAX),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                push_json_value(style, out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Object(entries) => {
            out.push('{');
            for (index, (key, item)) in entries.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                push_json_string(out, key, style.max_field);
                out.push(':');
                if style.redactor.is_secret(key) {
                    push_json_string(out, REDACTED, usize::MAX);
                } else {
                    push_json_value(style, out, item, depth + 1);
                }
            }
            out.push('}');
        }
    }
}

fn push_json_string(out: &mut String, text: &str, max_bytes: usize) {
    out.push('"');
    json_str(out, text, max_bytes);
    out.push('"');
}
