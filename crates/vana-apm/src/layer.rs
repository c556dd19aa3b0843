//! `ApmLayer`: the duration of `tracing` spans (such as `#[tracing::instrument]`) recorded into the
//! monitor, so instrumented code needs no change.

use std::time::Instant;

use tracing::span;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::apm::Apm;

struct Started(Instant);

/// Records each closed span as a call of `<target>::<span name>` (a failure when the span recorded an
/// `error` field). Span names are static, so the number of operations is bounded by the code.
#[derive(Debug, Clone)]
pub struct ApmLayer {
    apm: Apm,
}

impl ApmLayer {
    /// A layer recording into `apm`.
    pub fn new(apm: Apm) -> Self {
        Self { apm }
    }
}

struct Failed;

struct ErrorField(bool);

impl tracing::field::Visit for ErrorField {
    fn record_debug(&mut self, field: &tracing::field::Field, _: &dyn std::fmt::Debug) {
        self.0 |= field.name() == "error";
    }
}

impl<S> Layer<S> for ApmLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Started(Instant::now()));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let mut error = ErrorField(false);
        values.record(&mut error);
        if let (true, Some(span)) = (error.0, ctx.span(id)) {
            span.extensions_mut().insert(Failed);
        }
    }

    fn on_close(&self, id: span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let extensions = span.extensions();
        let Some(Started(start)) = extensions.get::<Started>() else { return };
        let operation = format!("{}::{}", span.metadata().target(), span.metadata().name());
        let mut call = self.apm.span(&operation);
        if extensions.get::<Failed>().is_some() {
            call.fail("error");
        }
        // Back-date the call to the span's start.
        call.set_start(*start);
    }
}
