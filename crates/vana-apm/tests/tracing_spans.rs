//! `#[trace]` calls as `tracing` spans, children of the span they run in, once `emit_tracing_spans` is on;
//! alone in its binary (the switch is process-wide).

#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};

use tracing::span;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A new span: its name, its `otel.name`, its parent's name.
type Seen = (String, String, Option<String>);

/// Records every new span.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Seen>>>);

struct OtelName(String);

impl tracing::field::Visit for OtelName {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "otel.name" {
            self.0 = value.to_owned();
        }
    }
    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Spans {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut name = OtelName(String::new());
        attrs.record(&mut name);
        let span = ctx.span(id).expect("the new span");
        let parent = span.parent().map(|parent| parent.name().to_owned());
        self.0.lock().unwrap().push((span.name().to_owned(), name.0, parent));
    }
}

#[vana_apm::trace(name = "lookup")]
fn lookup() -> u32 {
    7
}

#[vana_apm::trace(name = "fetch")]
async fn fetch() -> u32 {
    tokio::task::yield_now().await;
    8
}

#[tokio::test]
async fn trace_calls_are_child_spans_once_switched_on() {
    let spans = Spans::default();
    let subscriber = tracing_subscriber::registry().with(spans.clone());
    let _default = tracing::subscriber::set_default(subscriber);
    assert_eq!(lookup(), 7);
    assert!(spans.0.lock().unwrap().is_empty(), "off by default: no span");
    vana_apm::emit_tracing_spans(true);
    let request = tracing::info_span!("request");
    {
        let _entered = request.enter();
        assert_eq!(lookup(), 7);
    }
    assert_eq!(tracing::Instrument::instrument(fetch(), request.clone()).await, 8);
    let recorded = spans.0.lock().unwrap().clone();
    let child =
        |operation: &str| (String::from("operation"), operation.to_owned(), Some(String::from("request")));
    assert_eq!(recorded[1..], [child("lookup"), child("fetch")], "{recorded:?}");
}
