//! An AI answer's metrics, by the OpenTelemetry GenAI conventions: time to first token, time per output
//! token, tokens by type, and answers with and without content. Model and agent names come from the
//! upstream's events, so each label keeps at most [`MAX_LABEL_VALUES`] values (the rest read `_other`).

use std::collections::HashSet;
use std::time::Instant;

use parking_lot::Mutex;
use vana_config::metric_names::{
    GEN_AI_RESPONSES, GEN_AI_TIME_PER_OUTPUT_TOKEN, GEN_AI_TIME_TO_FIRST_TOKEN, GEN_AI_TOKEN_USAGE,
};
use vana_metrics::PerformanceMonitor;

use super::reading::{AnswerReading, AnswerSpec};

/// Most distinct values of one label taken from an upstream's events.
pub(crate) const MAX_LABEL_VALUES: usize = 100;

/// The label value past the cap.
const OTHER: &str = "_other";

/// The values one label has taken, at most [`MAX_LABEL_VALUES`].
#[derive(Default)]
struct LabelValues(Mutex<HashSet<Box<str>>>);

impl LabelValues {
    fn admit<'a>(&self, value: &'a str) -> &'a str {
        let mut seen = self.0.lock();
        if seen.contains(value) {
            return value;
        }
        if seen.len() < MAX_LABEL_VALUES {
            seen.insert(value.into());
            return value;
        }
        OTHER
    }
}

/// Records AI answers into the monitor.
pub(crate) struct GenAiMetrics {
    monitor: PerformanceMonitor,
    models: LabelValues,
    agents: LabelValues,
}

/// One finished answer.
pub(crate) struct Answer<'a> {
    pub(crate) route: &'a str,
    pub(crate) spec: &'a AnswerSpec,
    pub(crate) reading: &'a AnswerReading,
    /// The request's arrival and the answer's last byte.
    pub(crate) started: Instant,
    pub(crate) ended: Instant,
    /// Whether the answer streamed (a time per output token means something only then).
    pub(crate) streamed: bool,
}

impl GenAiMetrics {
    pub(crate) fn new(monitor: &PerformanceMonitor) -> Self {
        Self { monitor: monitor.clone(), models: LabelValues::default(), agents: LabelValues::default() }
    }

    pub(crate) fn record(&self, answer: &Answer<'_>) {
        let reading = answer.reading;
        let mut tags: Vec<(&str, &str)> =
            vec![("http_route", answer.route), ("gen_ai.operation.name", &answer.spec.operation)];
        if let Some(model) = &reading.model {
            tags.push(("gen_ai.response.model", self.models.admit(model)));
        }
        if let Some(agent) = &reading.agent {
            tags.push(("gen_ai.agent.name", self.agents.admit(agent)));
        }
        let content = if reading.first_content.is_some() { "present" } else { "absent" };
        let counted = [tags.as_slice(), &[("gen_ai.content", content)]].concat();
        self.monitor.record_metric(GEN_AI_RESPONSES, 1.0, "count", &counted);
        if let Some(first) = reading.first_content {
            let ttft = first.saturating_duration_since(answer.started).as_secs_f64();
            self.monitor.record_metric(GEN_AI_TIME_TO_FIRST_TOKEN, ttft, "seconds", &tags);
            if let (true, Some(output)) =
                (answer.streamed, reading.output_tokens.filter(|&tokens| tokens > 1))
            {
                let after_first = answer.ended.saturating_duration_since(first).as_secs_f64();
                let per_token = after_first / (output - 1) as f64;
                self.monitor.record_metric(GEN_AI_TIME_PER_OUTPUT_TOKEN, per_token, "seconds", &tags);
            }
        }
        for (kind, tokens) in [("input", reading.input_tokens), ("output", reading.output_tokens)] {
            if let Some(tokens) = tokens {
                let typed = [tags.as_slice(), &[("gen_ai.token.type", kind)]].concat();
                self.monitor.record_metric(GEN_AI_TOKEN_USAGE, tokens as f64, "{token}", &typed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_keeps_at_most_its_cap_of_values() {
        let labels = LabelValues::default();
        let names: Vec<String> = (0..=MAX_LABEL_VALUES).map(|n| format!("model-{n}")).collect();
        let admitted: Vec<&str> = names.iter().map(|name| labels.admit(name)).collect();
        assert_eq!(admitted[MAX_LABEL_VALUES - 1], "model-99");
        assert_eq!(admitted[MAX_LABEL_VALUES], OTHER);
        assert_eq!(labels.admit("model-3"), "model-3", "a value seen before keeps its name");
        assert_eq!(labels.0.lock().len(), MAX_LABEL_VALUES);
    }
}
