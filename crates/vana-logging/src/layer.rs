//! The `tracing_subscriber::Layer` that writes every event as one line of the schema.

use std::cell::RefCell;
use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use tracing::{Event, Subscriber, span};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use vana_config::Logging;

use crate::drops::{DROP_REPORT_INTERVAL, DropReporter};
use crate::fields::{FieldVisitor, Sink, Special, Style, push_json_value};
use crate::levels::{ComponentFilter, LOGGER_TARGET, LevelHandle, LevelRules};
use crate::line::{LineHead, level_name, push_line};
use crate::logger::with_dispatching_metadata;
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

/// Writes every event as one line of the vana log schema (JSON or text). Build it with
/// [`LogLayer::new`], or let [`LoggingBuilder`](crate::LoggingBuilder) set everything up.
pub struct LogLayer<W> {
    make_writer: W,
    style: Style,
    rules: Arc<RwLock<LevelRules>>,
    drops: Option<Arc<DropReporter>>,
    drop_report_interval: Duration,
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
            drop_report_interval: DROP_REPORT_INTERVAL,
        }
    }

    /// Reports the lines dropped by a non-blocking writer as a warning line, at most every ten seconds
    /// (see [`drop_report_interval`](Self::drop_report_interval)). Under overload the report itself may be
    /// dropped; it is written again while the count grows.
    pub fn report_drops(mut self, counter: crate::batch::DropCounter) -> Self {
        self.drops = Some(Arc::new(DropReporter::new(counter, self.drop_report_interval)));
        self
    }

    /// Sets the least time between two drop reports (ten seconds by default), before or after
    /// [`report_drops`](Self::report_drops).
    pub fn drop_report_interval(mut self, interval: Duration) -> Self {
        self.drop_report_interval = interval;
        if let Some(drops) = &self.drops {
            drops.set_interval(interval);
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

        // A record of the `log` crate arrives with target `log`; its own target is in its fields.
        #[cfg(feature = "log")]
        let normalized = tracing_log::NormalizeEvent::normalized_metadata(event);
        #[cfg(feature = "log")]
        let callsite = normalized.as_ref().unwrap_or_else(|| event.metadata());
        #[cfg(not(feature = "log"))]
        let callsite = event.metadata();
        let target = callsite.target();
        let level = *callsite.level();
        let from_logger = target == LOGGER_TARGET;
        let component_field = special.component.as_deref().filter(|_| from_logger);
        let rules = self.rules.read();
        if !rules.event_passes(target, component_field, &level, special.critical) {
            return false;
        }
        let mut logger_keys = Vec::new();
        if from_logger && special.has_logger_metadata {
            logger_keys = self.push_logger_metadata(metadata, names);
        }

        self.inherit_from_spans(event, ctx, special, metadata, names, &logger_keys);
        let component = special
            .component
            .as_deref()
            .or_else(|| rules.component_for_target(target))
            .unwrap_or_else(|| target.split("::").next().unwrap_or(target));
        let head = LineHead {
            level: level_name(&level, special.critical),
            message: &special.message,
            correlation_id: special.correlation_id.as_deref(),
            component,
        };
        push_line(line, style, &head, metadata);
        true
    }

    /// What an event takes from its spans, nearest first: the correlation id and component it does not
    /// set itself, and the span fields it (or its logger's metadata, `logger_keys`) does not carry.
    fn inherit_from_spans<S>(
        &self,
        event: &Event<'_>,
        ctx: &Context<'_, S>,
        special: &mut Special,
        metadata: &mut String,
        names: &mut Vec<&'static str>,
        logger_keys: &[String],
    ) where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let Some(scope) = ctx.event_scope(event) else { return };
        for span in scope {
            let extensions = span.extensions();
            let Some(data) = extensions.get::<SpanData>() else {
                continue;
            };
            if special.correlation_id.is_none() {
                special.correlation_id.clone_from(&data.correlation_id);
            }
            if special.component.is_none() {
                special.component.clone_from(&data.component);
            }
            for (name, rendered) in &data.fields {
                if !names.contains(name) && !logger_keys.iter().any(|key| key == name) {
                    self.style.push_key(metadata, name, metadata.is_empty());
                    names.push(name);
                    metadata.push_str(rendered);
                }
            }
        }
    }

    /// Adds the metadata of the structured logger's event being dispatched to the event's fields; returns
    /// its keys.
    fn push_logger_metadata(&self, metadata: &mut String, names: &[&'static str]) -> Vec<String> {
        with_dispatching_metadata(|entries| {
            let Some(entries) = entries else { return Vec::new() };
            for (key, value) in entries {
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
            entries.keys().cloned().collect()
        })
    }

    fn report_drops_if_due(&self) {
        if let Some(drops) = &self.drops {
            drops.report_if_due(&self.style, |line| {
                let _ = self.make_writer.make_writer().write_all(line.as_bytes());
            });
        }
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
