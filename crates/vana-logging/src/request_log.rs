//! `RequestLog`: one line per served request, written straight to the log output when vana-logging is the
//! subscriber.
//!
//! An access line has fixed fields, so visiting them through `tracing` (callsite, value set, per-field
//! redaction lookup, span walk) is pure overhead, about a third of the HTTP layer's cost through
//! `tracing` (docs/benchmarks.md). When
//! [`LoggingBuilder`](crate::LoggingBuilder) built the subscriber, its guard hands out a `RequestLog` that
//! formats the line itself, in the same schema, levels, caps and output as every other line. Without one
//! ([`RequestLog::via_tracing`]) the line is an ordinary `tracing` event, so any subscriber sees it.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::RwLock;
use tracing::Level;

use crate::drops::DropReporter;
use crate::fields::Style;
use crate::levels::{LevelRules, levels_generation};
use crate::line::{
    LineHead, RenderedJsonHead, level_name, push_json_component, push_json_level_and_message, push_line,
    push_rendered_json_line,
};
use crate::redact::REDACTED;
use crate::setup::SharedWriter;

/// The target (and so the component, for levels) of request lines: `logging.components` can name
/// `access` to quiet them (`WARNING` keeps only the 5xx lines).
pub const ACCESS_TARGET: &str = "access";

/// The message of every request line.
const MESSAGE: &str = "request";

/// The metadata keys, in order.
const KEYS: [&str; 12] = [
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "client",
    "first_byte_ms",
    "events",
    "stream_outcome",
    "ttft_ms",
    "input_tokens",
    "output_tokens",
];

/// What a streamed response (server-sent events) logs besides the request's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamRecord<'a> {
    /// Events sent (blank-line-terminated blocks).
    pub events: u64,
    /// How it ended: `completed`, `client_closed`, `upstream_error`.
    pub outcome: &'a str,
}

/// What an AI operation's answer (a route with `ai_operation`) logs besides the request's fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenAiRecord {
    /// From the request's arrival to the first event with content, when one came.
    pub time_to_first_token: Option<Duration>,
    /// Tokens the model read, as the answer reported them.
    pub input_tokens: Option<u64>,
    /// Tokens the model wrote, as the answer reported them.
    pub output_tokens: Option<u64>,
}

/// What one served request logs.
#[derive(Debug, Clone, Copy)]
pub struct RequestRecord<'a> {
    /// The request method.
    pub method: &'a str,
    /// The route template (bounded cardinality), e.g. `/users/{id}`.
    pub route: &'a str,
    /// The raw path, without the query.
    pub path: &'a str,
    /// The response status; 5xx lines are WARNING, the others INFO.
    pub status: u16,
    /// The time from the request's arrival to the response's last byte (or the client's going away).
    pub duration: Duration,
    /// The time from the request's arrival to the response body's first byte, when it had one.
    pub first_byte: Option<Duration>,
    /// A stream (`text/event-stream`): its events and how it ended.
    pub stream: Option<StreamRecord<'a>>,
    /// An AI operation's answer: its time to first token and tokens.
    pub gen_ai: Option<GenAiRecord>,
    /// The client address as text, when known.
    pub client: Option<&'a str>,
    /// The request's correlation id.
    pub correlation_id: Option<&'a str>,
}

/// Writes request lines; cheap to clone. Get it from
/// [`LoggingGuard::request_log`](crate::LoggingGuard::request_log), or use [`RequestLog::via_tracing`].
///
/// ```
/// use std::time::Duration;
/// use vana_logging::{LogEntry, LoggingBuilder, MemoryWriter, RequestRecord};
///
/// let memory = MemoryWriter::default();
/// let (_dispatch, guard) = LoggingBuilder::new(&vana_config::Logging::default()).writer(memory.clone()).build()?;
/// guard.request_log().write(&RequestRecord {
///     method: "GET",
///     route: "/users/{id}",
///     path: "/users/7",
///     status: 200,
///     duration: Duration::from_micros(1250),
///     first_byte: Some(Duration::from_micros(1100)),
///     stream: None,
///     gen_ai: None,
///     client: Some("203.0.113.9"),
///     correlation_id: Some("req-42"),
/// });
/// let entry = LogEntry::parse(&memory.lines()[0]).unwrap();
/// assert_eq!(entry.correlation_id.as_deref(), Some("req-42"));
/// assert_eq!(entry.metadata["route"], "/users/{id}");
/// assert_eq!(entry.metadata["duration_ms"], 1.25);
/// # Ok::<(), vana_logging::LoggingError>(())
/// ```
#[derive(Clone)]
pub struct RequestLog {
    direct: Option<Arc<Direct>>,
}

/// The log layer's output, style and levels, shared.
struct Direct {
    writer: SharedWriter,
    style: Style,
    rules: Arc<RwLock<LevelRules>>,
    drops: Option<Arc<DropReporter>>,
    /// Each of [`KEYS`] rendered with its separators, once.
    keys: [String; KEYS.len()],
    /// Whether each of [`KEYS`] is redacted by the configured patterns.
    secret: [bool; KEYS.len()],
    /// Tells this log's decisions apart in the per-thread cache.
    id: u64,
}

/// What the levels say about request lines, as of one [`levels_generation`].
struct AccessLevels {
    log: u64,
    generation: u64,
    info: bool,
    warn: bool,
    component: String,
    /// JSON lines' fixed parts, rendered once: the level and message of an INFO and of a WARNING line,
    /// and the component.
    json_info: String,
    json_warn: String,
    json_component: String,
}

/// Per-thread state of request lines.
struct Buffers {
    line: String,
    metadata: String,
    /// The levels' answer for request lines, until the levels change: a line then takes no lock that every
    /// thread writing lines would share.
    levels: Option<AccessLevels>,
}

thread_local! {
    /// The line and its metadata, reused so that a warm thread does not allocate per request.
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers {
        line: String::with_capacity(512),
        metadata: String::with_capacity(256),
        levels: None,
    });
}

impl RequestLog {
    /// Request lines as `tracing` events of target [`ACCESS_TARGET`], for whatever subscriber is installed.
    pub fn via_tracing() -> Self {
        Self { direct: None }
    }

    pub(crate) fn direct(
        writer: SharedWriter,
        style: Style,
        rules: Arc<RwLock<LevelRules>>,
        drops: Option<Arc<DropReporter>>,
    ) -> Self {
        let secret = KEYS.map(|key| style.redactor.is_secret(key));
        let mut index = 0;
        let keys = KEYS.map(|key| {
            let mut rendered = String::new();
            style.push_key(&mut rendered, key, index == 0);
            index += 1;
            rendered
        });
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Self { direct: Some(Arc::new(Direct { writer, style, rules, drops, keys, secret, id })) }
    }

    /// Whether lines go straight to vana-logging's output rather than through `tracing`.
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// Logs `record`: INFO, or WARNING for a 5xx status.
    pub fn write(&self, record: &RequestRecord<'_>) {
        let level = if record.status >= 500 { Level::WARN } else { Level::INFO };
        match &self.direct {
            Some(direct) => direct.write(record, &level),
            None => via_tracing(record, &level),
        }
    }
}

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestLog").field("direct", &self.is_direct()).finish()
    }
}

/// The duration in milliseconds with microsecond precision, as JSON number text: `1.25`, `0.049`.
fn push_millis(out: &mut String, duration: Duration) {
    let micros = duration.as_micros();
    out.push_str(itoa::Buffer::new().format(micros / 1000));
    let fraction = micros % 1000;
    if fraction != 0 {
        // Three digits without the trailing zeros: `.5`, `.05`, `.005`, `.123`.
        let digits =
            [b'0' + (fraction / 100) as u8, b'0' + (fraction / 10 % 10) as u8, b'0' + (fraction % 10) as u8];
        let kept = if digits[2] != b'0' {
            3
        } else if digits[1] != b'0' {
            2
        } else {
            1
        };
        out.push('.');
        out.extend(digits[..kept].iter().map(|&digit| char::from(digit)));
    }
}

fn millis(duration: Duration) -> f64 {
    // Rounded to the microsecond, so the text form stays short (`0.049`, not `0.049203000000000004`).
    duration.as_micros() as f64 / 1000.0
}

fn via_tracing(record: &RequestRecord<'_>, level: &Level) {
    let RequestRecord {
        method,
        route,
        path,
        status,
        duration,
        client,
        correlation_id,
        first_byte,
        stream,
        gen_ai,
    } = *record;
    let duration_ms = millis(duration);
    let first_byte_ms = first_byte.map(millis);
    let events = stream.map(|stream| stream.events);
    let stream_outcome = stream.map(|stream| stream.outcome);
    let gen_ai = gen_ai.unwrap_or_default();
    let ttft_ms = gen_ai.time_to_first_token.map(millis);
    let (input_tokens, output_tokens) = (gen_ai.input_tokens, gen_ai.output_tokens);
    if *level == Level::WARN {
        tracing::warn!(target: ACCESS_TARGET, method, route, path, status, duration_ms, client, first_byte_ms, events, stream_outcome, ttft_ms, input_tokens, output_tokens, correlation_id, "request");
    } else {
        tracing::info!(target: ACCESS_TARGET, method, route, path, status, duration_ms, client, first_byte_ms, events, stream_outcome, ttft_ms, input_tokens, output_tokens, correlation_id, "request");
    }
}

impl Direct {
    fn write(&self, record: &RequestRecord<'_>, level: &Level) {
        BUFFERS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buffers) => {
                let Buffers { line, metadata, levels } = &mut *buffers;
                self.format_and_write(record, level, line, metadata, levels);
            }
            // Only reachable if the writer logged a request line from inside this one: fresh buffers.
            Err(_) => self.format_and_write(record, level, &mut String::new(), &mut String::new(), &mut None),
        });
    }

    /// The levels' answer for this log, from `cached` when the levels have not changed since.
    fn access_levels<'a>(&self, cached: &'a mut Option<AccessLevels>) -> &'a AccessLevels {
        let generation = levels_generation();
        let fresh =
            cached.as_ref().is_some_and(|known| known.log == self.id && known.generation == generation);
        if !fresh {
            return cached.insert(self.read_levels(generation));
        }
        cached.get_or_insert_with(|| self.read_levels(generation))
    }

    fn read_levels(&self, generation: u64) -> AccessLevels {
        let rules = self.rules.read();
        let component = rules.component_for_target(ACCESS_TARGET).unwrap_or(ACCESS_TARGET).to_owned();
        let level_and_message = |level| {
            let mut rendered = String::new();
            push_json_level_and_message(&mut rendered, &self.style, level_name(level, false), MESSAGE);
            rendered
        };
        let mut json_component = String::new();
        push_json_component(&mut json_component, &self.style, &component);
        AccessLevels {
            log: self.id,
            generation,
            info: rules.event_passes(ACCESS_TARGET, None, &Level::INFO, false),
            warn: rules.event_passes(ACCESS_TARGET, None, &Level::WARN, false),
            component,
            json_info: level_and_message(&Level::INFO),
            json_warn: level_and_message(&Level::WARN),
            json_component,
        }
    }

    fn format_and_write(
        &self,
        record: &RequestRecord<'_>,
        level: &Level,
        line: &mut String,
        metadata: &mut String,
        cached: &mut Option<AccessLevels>,
    ) {
        line.clear();
        metadata.clear();
        let levels = self.access_levels(cached);
        if !(if *level == Level::WARN { levels.warn } else { levels.info }) {
            return;
        }
        self.push_metadata(record, metadata);
        if self.style.format == vana_config::LogFormat::Json {
            let level_and_message = if *level == Level::WARN { &levels.json_warn } else { &levels.json_info };
            let head = RenderedJsonHead { level_and_message, component: &levels.json_component };
            push_rendered_json_line(line, &self.style, &head, record.correlation_id, metadata);
        } else {
            let head = LineHead {
                level: level_name(level, false),
                message: MESSAGE,
                correlation_id: record.correlation_id,
                component: &levels.component,
            };
            push_line(line, &self.style, &head, metadata);
        }
        self.writer.write_line(line.as_bytes());
        if let Some(drops) = &self.drops {
            drops.report_if_due(&self.style, |report| self.writer.write_line(report.as_bytes()));
        }
    }

    fn push_metadata(&self, record: &RequestRecord<'_>, out: &mut String) {
        let style = &self.style;
        self.push_field(out, 0, |out| style.push_str_value(out, record.method));
        self.push_field(out, 1, |out| style.push_str_value(out, record.route));
        self.push_field(out, 2, |out| style.push_str_value(out, record.path));
        self.push_field(out, 3, |out| out.push_str(itoa::Buffer::new().format(record.status)));
        self.push_field(out, 4, |out| push_millis(out, record.duration));
        self.push_field(out, 5, |out| match record.client {
            Some(client) => style.push_str_value(out, client),
            None => out.push_str(if style.format == vana_config::LogFormat::Json { "null" } else { "-" }),
        });
        // Only a response with a body says when it began; only a stream counts its events.
        if let Some(first_byte) = record.first_byte {
            self.push_field(out, 6, |out| push_millis(out, first_byte));
        }
        if let Some(stream) = record.stream {
            self.push_field(out, 7, |out| out.push_str(itoa::Buffer::new().format(stream.events)));
            self.push_field(out, 8, |out| style.push_str_value(out, stream.outcome));
        }
        // Only an AI operation's answer has a first token and tokens.
        let gen_ai = record.gen_ai.unwrap_or_default();
        if let Some(ttft) = gen_ai.time_to_first_token {
            self.push_field(out, 9, |out| push_millis(out, ttft));
        }
        for (index, tokens) in [(10, gen_ai.input_tokens), (11, gen_ai.output_tokens)] {
            if let Some(tokens) = tokens {
                self.push_field(out, index, |out| out.push_str(itoa::Buffer::new().format(tokens)));
            }
        }
    }

    /// Appends key `KEYS[index]` and its value (written by `value`, or the redaction marker).
    fn push_field(&self, out: &mut String, index: usize, value: impl FnOnce(&mut String)) {
        out.push_str(&self.keys[index]);
        if self.secret[index] {
            self.style.push_str_value(out, REDACTED);
        } else {
            value(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_keep_microseconds_without_float_noise() {
        let text = |micros| {
            let mut out = String::new();
            push_millis(&mut out, Duration::from_micros(micros));
            out
        };
        assert_eq!(text(0), "0");
        assert_eq!(text(49), "0.049");
        assert_eq!(text(1250), "1.25");
        assert_eq!(text(2000), "2");
        assert_eq!(text(1500), "1.5");
        assert_eq!(text(1050), "1.05");
        assert_eq!(text(1005), "1.005");
        assert_eq!(text(1100), "1.1");
        assert_eq!(text(123_456_789), "123456.789");
        assert_eq!(millis(Duration::from_nanos(49_203)), 0.049);
    }
}
