//! `http.route_settings.<route>.ai_operation`: a route that answers with a model's output (ADK's `/run`
//! and `/run_sse`), and where its events say what the gateway measures: the first content, the tokens,
//! the model and the agent. Every field defaults to what ADK's events carry.

use serde::{Deserialize, Serialize};

use crate::checks::Checker;
use crate::input_policy::parse_pointer;
use crate::key_path::KeyPath;
use crate::limits;

/// Most pointers in `content`.
const MAX_CONTENT_POINTERS: usize = 16;

/// How the gateway reads one AI route's responses: a bounded look at each event's JSON as it passes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct AiOperation {
    /// The OpenTelemetry `gen_ai.operation.name` of the route (`chat`, `invoke_agent`, ...).
    pub operation: String,
    /// JSON Pointers (RFC 6901, `*` for any array element or member) to an event's content: the first
    /// event where one of them is a non-empty string is the first token. ADK: the parts' text, so control
    /// frames (a session state change, a function call) are not content.
    pub content: Vec<String>,
    /// Pointer to the tokens the model read (the prompt): ADK's `usageMetadata.promptTokenCount`.
    pub input_tokens: String,
    /// Pointer to the tokens the model wrote: ADK's `usageMetadata.candidatesTokenCount`.
    pub output_tokens: String,
    /// Pointer to a flag marking a partial event, whose usage the final event repeats and so is not
    /// counted (ADK's `partial`); `""`: every event's usage counts.
    pub partial: String,
    /// Pointer to the model's name (`gen_ai.response.model`); `""`: not read.
    pub model: String,
    /// Pointer to the agent's name (`gen_ai.agent.name`); ADK's `author`; `""`: not read.
    pub agent: String,
    /// Largest event read, in bytes; a larger one passes unread (and is counted).
    pub max_event_bytes: u64,
    /// Largest non-streamed JSON answer read (ADK's `/run`: an array of events), in bytes.
    pub max_response_bytes: u64,
}

impl Default for AiOperation {
    fn default() -> Self {
        Self {
            operation: "invoke_agent".into(),
            content: vec!["/content/parts/*/text".into()],
            input_tokens: "/usageMetadata/promptTokenCount".into(),
            output_tokens: "/usageMetadata/candidatesTokenCount".into(),
            partial: "/partial".into(),
            model: "/modelVersion".into(),
            agent: "/author".into(),
            max_event_bytes: 64 * 1024,
            max_response_bytes: 1024 * 1024,
        }
    }
}

impl AiOperation {
    pub(crate) fn check(&self, at: &KeyPath, check: &mut Checker) {
        check.name(at.key("operation"), &self.operation, b"_.-", "an operation name");
        check.at_most_entries(at.key("content"), self.content.len(), MAX_CONTENT_POINTERS);
        if self.content.is_empty() {
            check.fail(
                at.key("content"),
                "needs at least one pointer: without content there is no first token",
            );
        }
        let content =
            self.content.iter().enumerate().map(|(index, pointer)| (at.key("content").index(index), pointer));
        let single = [
            ("input_tokens", &self.input_tokens),
            ("output_tokens", &self.output_tokens),
            ("partial", &self.partial),
            ("model", &self.model),
            ("agent", &self.agent),
        ]
        .map(|(key, pointer)| (at.key(key), pointer));
        for (here, pointer) in content.take(MAX_CONTENT_POINTERS).chain(single) {
            if pointer.len() > limits::MAX_NAME_LENGTH {
                check.fail(here, format!("at most {} bytes", limits::MAX_NAME_LENGTH));
            } else if let Err(problem) = parse_pointer(pointer) {
                check.fail(here, problem);
            }
        }
        check.positive_at_most(
            at.key("max_event_bytes"),
            self.max_event_bytes,
            limits::MAX_BODY_BYTES,
            "bytes",
        );
        check.positive_at_most(
            at.key("max_response_bytes"),
            self.max_response_bytes,
            limits::MAX_BODY_BYTES,
            "bytes",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_read_adk_events_and_a_bad_pointer_is_located() {
        let mut check = Checker::default();
        AiOperation::default().check(&KeyPath::root(), &mut check);
        assert!(check.problems.is_empty());
        let bad = AiOperation {
            content: vec!["content/parts".into()],
            partial: "/a~2".into(),
            ..AiOperation::default()
        };
        let mut check = Checker::default();
        bad.check(&KeyPath::parse("http.route_settings./run.ai_operation"), &mut check);
        let problems: Vec<String> =
            check.problems.iter().map(|problem| format!("{}: {}", problem.path, problem.message)).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("content[0]") && problems[0].contains("must be empty or start with `/`"),
            "{problems:?}"
        );
        assert!(problems[1].contains("ai_operation.partial"), "{problems:?}");
    }
}
