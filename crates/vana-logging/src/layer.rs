//! The `tracing_subscriber::Layer` that writes every event as one line of the schema.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use tracing::{Event, Level, Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use vana_config::{LogFormat, Logging};

use crate::escape::{json_str, text_str};
use crate::fields::{FieldVisitor, Sink, Special, Style, push_json_value};
use crate::levels::{ComponentFilter, LOGGER_TARGET, LevelHandle, LevelRules};
use crate::redact::Redactor;

/// What a span carries for the events inside it.
#[derive(Default)]
struct SpanData {
    fields: Vec<(&'static str, String)>,
    correlation_id: Option<String>,
    component: Option<String>,
}

impl SpanData {
    /// Renders `values` into the span's fields; a correlation id or component among them replaces the
    /// span's.
    fn record(&mut self, style: &Style, values: impl tracing_subscriber::field::RecordFields) {
        let mut special = Special::default();
        let mut scratch = String::new();
        values.record(&mut FieldVisitor {
            style,
            sink: Sink::Fields(&mut self.fields),
            special: &mut special,
            scratch: &mut scratch,
        });
        if special.correlation_id.is_some() {
            self.correlation_id = special.correlation_id;
        }
        if special.component.is_some() {
            self.component = special.component;
        }
    }
}

/// Per-thread buffers, reused so that formatting an event does not allocate once warm.
#[derive(Default)]
struct Scratch {
    line: String,
    metadata: String,
    names: Vec<&'static str>,
    special: Special,
    value: String,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Time between two warnings about dropped lines, by default.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Reports lines that the non-blocking writer dropped, at most once per interval.
pub(crate) struct DropReporter {
    counter: crate::batch::DropCounter,
    interval_micros: u64,
    reported: AtomicUsize,
    /// When the last report was written, in microseconds since the epoch (0: never).
    last_report_micros: AtomicU64,
}

/// Writes every event as one line of the vana log schema (JSON or text). Build it with
/// [`LogLayer::new`], or let [`LoggingBuilder`](crate::LoggingBuilder) set everything up.
pub struct LogLayer<W> {
    make_writer: W,
    style: Style,
    rules: Arc<RwLock<LevelRules>>,
    drops: Option<Arc<DropReporter>>,
}

impl<W> LogLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    /// A layer configured by the `logging` section, writing through `make_writer`.
    pub fn new(config: &Logging, make_writer: W) -> Self {
        let style = Style {
            format: config.format,
            redactor: Redactor::new(&config.redact_keys),
            max_message: usize::try_from(config.max_message_bytes).unwrap_or(usize::MAX),
            max_field: usize::try_from(config.max_field_bytes).unwrap_or(usize::MAX),
        };
        Self {
            make_writer,
            style,
            rules: Arc::new(RwLock::new(LevelRules::from_config(config))),
            drops: None,
        }
    }

    /// Reports the lines dropped by a non-blocking writer as a warning line, at most every ten seconds
    /// (see [`drop_report_interval`](Self::drop_report_interval)). Under overload the report itself may be
    /// dropped; it is written again while the count grows.
    pub fn report_drops(mut self, counter: crate::batch::DropCounter) -> Self {
        let interval_micros = u64::try_from(DROP_REPORT_INTERVAL.as_micros()).unwrap_or(u64::MAX);
        self.drops = Some(Arc::new(DropReporter {
            counter,
            interval_micros,
            reported: AtomicUsize::new(0),
            last_report_micros: AtomicU64::new(0),
        }));
        self
    }

    /// Sets the least time between two drop reports.
    pub fn drop_report_interval(mut self, interval: Duration) -> Self {
        if let Some(drops) = self.drops.as_mut().and_then(Arc::get_mut) {
            drops.interval_micros = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX);
        }
        self
    }

    /// A handle that changes this layer's levels at run time.
    pub fn level_handle(&self) -> LevelHandle {
        LevelHandle { rules: Arc::clone(&self.rules) }
    }

    /// This layer behind its level filter: the form to add to a subscriber, so disabled events cost a
    /// cached per-callsite check.
    pub fn with_level_filter<S>(self) -> tracing_subscriber::filter::Filtered<Self, ComponentFilter, S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let filter = self.component_filter();
        tracing_subscriber::Layer::with_filter(self, filter)
    }

    /// The filter of this layer's levels.
    pub(crate) fn component_filter(&self) -> ComponentFilter {
        ComponentFilter { rules: Arc::clone(&self.rules) }
    }

    /// What a [`RequestLog`](crate::RequestLog) shares with this layer: style, levels and drop reports.
    pub(crate) fn shared_parts(&self) -> (Style, Arc<RwLock<LevelRules>>, Option<Arc<DropReporter>>) {
        (self.style.clone(), Arc::clone(&self.rules), self.drops.clone())
    }

    fn write_line(&self, line: &str, metadata: &tracing::Metadata<'_>) {
        let mut writer = self.make_writer.make_writer_for(metadata);
        // A log line that cannot be written has nowhere to be reported; the drop counter covers overload.
        let _ = writer.write_all(line.as_bytes());
    }

    fn format_event<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>, scratch: &mut Scratch) -> bool
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let Scratch { line, metadata, names, special, value } = scratch;
        line.clear();
        metadata.clear();
        names.clear();
        special.clear();
        let style = &self.style;
        event.record(&mut FieldVisitor {
            style,
            sink: Sink::Buffer { out: metadata, names },
            special,
            scratch: value,
        });

        let target = event.metadata().target();
        let level = *event.metadata().level();
        let from_logger = target == LOGGER_TARGET;
        let component_field = special.component.as_deref().filter(|_| from_logger);
        let rules = self.rules.read();
        if !rules.event_passes(target, component_field, &level, special.critical) {
            return false;
        }
        let mut logger_keys = Vec::new();
        if let Some(json) = special.metadata_json.take().filter(|_| from_logger) {
            logger_keys = self.push_logger_metadata(&json, metadata, names);
        }

        // Correlation id and component: the event's own, else the nearest span's.
        let mut correlation_id = special.correlation_id.take();
        let mut component = special.component.take();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                let extensions = span.extensions();
                let Some(data) = extensions.get::<SpanData>() else {
                    continue;
                };
                if correlation_id.is_none() {
                    correlation_id.clone_from(&data.correlation_id);
                }
                if component.is_none() {
                    component.clone_from(&data.component);
                }
                for (name, rendered) in &data.fields {
                    if !names.contains(name) && !logger_keys.iter().any(|key| key == name) {
                        style.push_key(metadata, name, metadata.is_empty());
                        names.push(name);
                        metadata.push_str(rendered);
                    }
                }
            }
        }
        let component = component
            .as_deref()
            .or_else(|| rules.component_for_target(target))
            .unwrap_or_else(|| target.split("::").next().unwrap_or(target));
        let head = LineHead {
            level: level_name(&level, special.critical),
            message: &special.message,
            correlation_id: correlation_id.as_deref(),
            component,
        };
        push_line(line, style, &head, metadata);
        true
    }

    /// Adds a structured logger's metadata (JSON text from this crate) to the event's fields; returns its
    /// keys.
    fn push_logger_metadata(&self, json: &str, metadata: &mut String, names: &[&'static str]) -> Vec<String> {
        let Ok(serde_json::Value::Object(entries)) = serde_json::from_str::<serde_json::Value>(json) else {
            return Vec::new();
        };
        for (key, value) in &entries {
            if names.contains(&key.as_str()) {
                continue;
            }
            let first = metadata.is_empty();
            self.style.push_key(metadata, key, first);
            if self.style.redactor.is_secret(key) {
                self.style.push_str_value(metadata, crate::redact::REDACTED);
            } else {
                push_json_value(&self.style, metadata, value, 0);
            }
        }
        entries.into_iter().map(|(key, _)| key).collect()
    }

    fn report_drops_if_due(&self) {
        if let Some(drops) = &self.drops {
            drops.report_if_due(self.style.format, |line| {
                let _ = self.make_writer.make_writer().write_all(line.as_bytes());
            });
        }
    }
}

impl DropReporter {
    /// Writes a warning through `write` when lines were dropped since the last report and the interval has
    /// passed.
    pub(crate) fn report_if_due(&self, format: LogFormat, write: impl FnOnce(&str)) {
        let dropped = self.counter.dropped_lines();
        let reported = self.reported.load(Ordering::Relaxed);
        if dropped <= reported {
            return;
        }
        let now = u64::try_from(unix_now().as_micros()).unwrap_or(u64::MAX);
        let last = self.last_report_micros.load(Ordering::Relaxed);
        let too_soon = last != 0 && now < last.saturating_add(self.interval_micros);
        if too_soon
            || self
                .last_report_micros
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.reported.store(dropped, Ordering::Relaxed);
        let mut line = String::with_capacity(256);
        match format {
            LogFormat::Json => {
                line.push_str("{\"timestamp\":");
                push_timestamp(&mut line);
                let _ = writeln!(
                    line,
                    ",\"level\":\"WARNING\",\"message\":\"log lines dropped: the writer's buffer was full\",\"correlation_id\":null,\"component\":\"logging\",\"metadata\":{{\"dropped_lines\":{dropped},\"dropped_since_last_report\":{}}}}}",
                    dropped - reported
                );
            }
            _ => {
                let _ = writeln!(
                    line,
                    "{} WARNING  logging log lines dropped: the writer's buffer was full dropped_lines={dropped} dropped_since_last_report={}",
                    humantime::format_rfc3339_micros(SystemTime::now()),
                    dropped - reported
                );
            }
        }
        write(&line);
    }
}

/// The parts of a line before its metadata.
pub(crate) struct LineHead<'a> {
    pub(crate) level: &'static str,
    pub(crate) message: &'a str,
    pub(crate) correlation_id: Option<&'a str>,
    pub(crate) component: &'a str,
}

/// Appends one whole line of the schema to `line`: the head, then `metadata` (fields already rendered in
/// `style`), then the newline.
pub(crate) fn push_line(line: &mut String, style: &Style, head: &LineHead<'_>, metadata: &str) {
    match style.format {
        LogFormat::Json => {
            push_json_start(line);
            push_json_level_and_message(line, style, head.level, head.message);
            push_json_id(line, style, head.correlation_id);
            push_json_component(line, style, head.component);
            push_json_end(line, metadata);
        }
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

/// Appends one JSON line from its parts, the fixed ones already rendered (a request line renders them once).
pub(crate) fn push_json_line(
    line: &mut String,
    style: &Style,
    level_and_message: &str,
    correlation_id: Option<&str>,
    component: &str,
    metadata: &str,
) {
    push_json_start(line);
    line.push_str(level_and_message);
    push_json_id(line, style, correlation_id);
    line.push_str(component);
    push_json_end(line, metadata);
}

fn push_json_start(line: &mut String) {
    line.push_str("{\"timestamp\":");
    push_timestamp(line);
}

fn push_json_id(line: &mut String, style: &Style, correlation_id: Option<&str>) {
    match correlation_id {
        Some(id) => {
            line.push('"');
            json_str(line, id, style.max_field);
            line.push('"');
        }
        None => line.push_str("null"),
    }
}

fn push_json_end(line: &mut String, metadata: &str) {
    line.push_str(metadata);
    line.push_str("}}\n");
}

fn unix_now() -> std::time::Duration {
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

impl<S, W> Layer<S> for LogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut data = SpanData::default();
        data.record(&self.style, attrs);
        span.extensions_mut().insert(data);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(data) = span.extensions_mut().get_mut::<SpanData>() {
            data.record(&self.style, values);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => {
                if self.format_event(event, &ctx, &mut scratch) {
                    self.write_line(&scratch.line, event.metadata());
                }
            }
            // An event logged while formatting another on this thread (a writer that logs): fresh buffers.
            Err(_) => {
                let mut scratch = Scratch::default();
                if self.format_event(event, &ctx, &mut scratch) {
                    self.write_line(&scratch.line, event.metadata());
                }
            }
        });
        self.report_drops_if_due();
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
}
