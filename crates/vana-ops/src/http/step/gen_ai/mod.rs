//! AI operations (`http.route_settings.<route>.ai_operation`): their answers are read as they pass, one
//! bounded event at a time (a server-sent event stream), or whole up to a cap (a JSON answer), never
//! buffered: the body goes on frame by frame. What is read becomes the GenAI metrics (`metrics.rs`) and the
//! request line's `ttft_ms` and tokens.

mod events;
mod metrics;
mod reading;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use vana_metrics::PerformanceMonitor;

use events::{Event, EventData};
pub(crate) use metrics::{Answer, GenAiMetrics};
pub(crate) use reading::{AnswerReading, AnswerSpec, cut_at};

/// The AI routes of one layer and the metrics they feed.
pub(crate) struct GenAi {
    by_route: HashMap<Box<str>, Arc<AnswerSpec>>,
    pub(crate) metrics: GenAiMetrics,
}

/// How an answer's body is read.
enum Input {
    /// A server-sent event stream: each event's data.
    Events(EventData),
    /// A JSON answer, read whole at its end; `None` once it passed the cap.
    Document(Option<Vec<u8>>),
}

/// The reading of one answer, from its first frame to its end.
pub(crate) struct AnswerWatch {
    spec: Arc<AnswerSpec>,
    pub(crate) reading: AnswerReading,
    input: Input,
}

impl GenAi {
    /// The layer's AI routes; `None` when it has none (then no response is looked at).
    pub(crate) fn new(config: &vana_config::HttpLayer, monitor: &PerformanceMonitor) -> Option<Self> {
        let by_route: HashMap<Box<str>, Arc<AnswerSpec>> = config
            .route_settings
            .iter()
            .filter_map(|(route, settings)| {
                Some((route.as_str().into(), Arc::new(AnswerSpec::new(settings.ai_operation.as_ref()?))))
            })
            .collect();
        (!by_route.is_empty()).then(|| Self { by_route, metrics: GenAiMetrics::new(monitor) })
    }

    /// The watch of an answer on `route`: its events when it streams, the whole body when it is JSON.
    pub(crate) fn watch(&self, route: &str, streamed: bool, json: bool) -> Option<AnswerWatch> {
        let spec = Arc::clone(self.by_route.get(route)?);
        let input = match (streamed, json) {
            (true, _) => Input::Events(EventData::new(spec.max_event_bytes)),
            (false, true) => Input::Document(Some(Vec::new())),
            (false, false) => return None,
        };
        Some(AnswerWatch { spec, reading: AnswerReading::default(), input })
    }
}

impl AnswerWatch {
    /// A frame of the body, which passed at `now`.
    pub(crate) fn feed(&mut self, data: &[u8], now: Instant) {
        let Self { spec, reading, input } = self;
        match input {
            Input::Events(events) => events.feed(data, &mut |event| match event {
                Event::Data(data) => reading.event(spec, data, now),
                Event::Oversized => reading.unread += 1,
            }),
            Input::Document(body) => {
                if let Some(kept) = body
                    && kept.len() + data.len() <= spec.max_response_bytes
                {
                    kept.extend_from_slice(data);
                } else if body.take().is_some() {
                    reading.unread += 1;
                }
            }
        }
    }

    /// The body ended at `now`: a JSON answer is read.
    pub(crate) fn end(&mut self, now: Instant) {
        if let Input::Document(Some(body)) = &mut self.input {
            let body = std::mem::take(body);
            self.reading.document(&self.spec, &body, now);
        }
    }

    pub(crate) fn spec(&self) -> &AnswerSpec {
        &self.spec
    }

    /// Whether the answer is a stream of events.
    pub(crate) fn streamed(&self) -> bool {
        matches!(self.input, Input::Events(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen_ai(yaml_route: &str) -> GenAi {
        let ops = crate::http::step::test_ops(&format!(
            "http:\n  route_templates: [\"/run\", \"/run_sse\", \"/list\"]\n  route_settings:\n{yaml_route}"
        ));
        GenAi::new(&ops.config().security.http, ops.monitor()).expect("an AI route")
    }

    #[test]
    fn only_configured_routes_are_read_and_a_json_answer_past_its_cap_is_not() {
        let gen_ai = gen_ai(
            "    /run:\n      ai_operation:\n        max_response_bytes: 64\n    /run_sse:\n      ai_operation: {}\n",
        );
        assert!(gen_ai.watch("/list", true, false).is_none());
        assert!(gen_ai.watch("/run", false, false).is_none(), "neither a stream nor JSON");
        let now = Instant::now();
        let mut small = gen_ai.watch("/run", false, true).unwrap();
        small.feed(br#"[{"content":{"parts":[{"text":"hi"}]}}]"#, now);
        small.end(now);
        assert_eq!(small.reading.first_content, Some(now));
        let mut large = gen_ai.watch("/run", false, true).unwrap();
        large.feed(&[b' '; 40], now);
        large.feed(br#"[{"content":{"parts":[{"text":"hi"}]}}]"#, now);
        large.end(now);
        assert_eq!((large.reading.first_content, large.reading.unread), (None, 1));
        let mut stream = gen_ai.watch("/run_sse", true, false).unwrap();
        assert!(stream.streamed());
        stream.feed(b"data: {\"content\":{\"parts\":[{\"text\":\"hi\"}]}}\n\n", now);
        assert_eq!(stream.reading.first_content, Some(now));
    }
}
