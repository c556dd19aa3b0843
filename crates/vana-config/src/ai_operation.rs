//! `http.route_settings.<route>.ai_operation`: a route that answers with a model's output (ADK's `/run`
//! and `/run_sse`), and where its events say what the gateway measures: the first content, the tokens,
//! the model and the agent. Every field defaults to what ADK's events carry.

use std::collections::BTreeMap;

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
    /// The token budgets (`http.token_budgets`, by name) this route's requests count against, and where
    /// each finds its identity: a JSON Pointer into the request's JSON body, or a parameter of the route
    /// template. A request without the identity is not counted against that budget.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub budgets: BTreeMap<String, BudgetIdentity>,
}

/// Where a request names who spends a budget: one of `json` and `path`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct BudgetIdentity {
    /// A JSON Pointer into the request's JSON body (ADK: `/userId`, `/appName`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// A parameter of the route template (`user_id` of `/apps/{app_name}/users/{user_id}/...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// `http.token_budgets.<name>`: so many tokens per window for each identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TokenBudget {
    /// Tokens (in and out, as the answers report them) per window.
    pub tokens: u64,
    /// The window, in seconds; the budget refills continuously, `tokens` per window.
    pub window_seconds: u64,
}

impl TokenBudget {
    pub(crate) fn check(&self, at: &KeyPath, check: &mut Checker) {
        check.positive_at_most(at.key("tokens"), self.tokens, 1_000_000_000_000, "tokens");
        check.positive_at_most(at.key("window_seconds"), self.window_seconds, limits::MAX_SECONDS, "seconds");
    }
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
            budgets: BTreeMap::new(),
        }
    }
}

impl AiOperation {
    /// `budgets` names budgets of `known` and says where each identity is, in `route`'s terms.
    pub(crate) fn check_budgets(
        &self,
        route: &str,
        known: &BTreeMap<String, TokenBudget>,
        at: &KeyPath,
        check: &mut Checker,
    ) {
        let at = at.key("budgets");
        check.at_most_entries(at.clone(), self.budgets.len(), MAX_CONTENT_POINTERS);
        for (name, identity) in self.budgets.iter().take(MAX_CONTENT_POINTERS) {
            let here = at.key(name.clone());
            if !known.contains_key(name) {
                check.fail(
                    here.clone(),
                    format!(
                        "unknown budget `{}`: budgets are named in http.token_budgets",
                        name.escape_debug()
                    ),
                );
            }
            match (&identity.json, &identity.path) {
                (Some(pointer), None) => {
                    if let Err(problem) = parse_pointer(pointer) {
                        check.fail(here.key("json"), problem);
                    }
                }
                (None, Some(parameter)) => {
                    let placeholder = [format!("{{{parameter}}}"), format!("{{*{parameter}}}")];
                    if !placeholder.iter().any(|placeholder| route.contains(placeholder.as_str())) {
                        check.fail(
                            here.key("path"),
                            format!("`{}` is no parameter of the route `{route}`", parameter.escape_debug()),
                        );
                    }
                }
                _ => check.fail(
                    here,
                    "needs one of `json` (a JSON Pointer into the body) and `path` (a route parameter)",
                ),
            }
        }
    }

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

    #[test]
    fn budgets_name_known_budgets_and_one_place_their_identity_is() {
        let known: BTreeMap<String, TokenBudget> =
            [("user".to_owned(), TokenBudget { tokens: 1000, window_seconds: 60 })].into_iter().collect();
        let identity = |json: Option<&str>, path: Option<&str>| BudgetIdentity {
            json: json.map(str::to_owned),
            path: path.map(str::to_owned),
        };
        let mut operation = AiOperation {
            budgets: [
                ("user".to_owned(), identity(None, Some("user_id"))),
                ("app".to_owned(), identity(Some("/appName"), None)),
                ("team".to_owned(), identity(Some("/a"), Some("b"))),
            ]
            .into_iter()
            .collect(),
            ..AiOperation::default()
        };
        let mut check = Checker::default();
        operation.check_budgets(
            "/apps/{app}/users/{user_id}",
            &known,
            &KeyPath::parse("ai_operation"),
            &mut check,
        );
        let problems: Vec<String> =
            check.problems.iter().map(|problem| format!("{}: {}", problem.path, problem.message)).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems.iter().any(|p| p.contains("budgets.app") && p.contains("unknown budget")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("budgets.team") && p.contains("needs one of")),
            "{problems:?}"
        );
        let mut check = Checker::default();
        operation.budgets.retain(|name, _| name == "user");
        operation.check_budgets("/run", &known, &KeyPath::parse("ai_operation"), &mut check);
        assert!(
            check.problems.iter().any(|problem| problem.message.contains("no parameter of the route `/run`"))
        );
    }
}
