//! What an AI answer's events say, read one event at a time: when content first came, the tokens, the
//! model and the agent. Each event is parsed on its own (at most `max_event_bytes`); nothing of the
//! stream is kept but these few values.

use std::time::Instant;

use serde_json::Value;
use vana_config::{AiOperation, PointerToken, parse_pointer};

/// Longest model or agent name kept (a label value).
const MAX_NAME_BYTES: usize = 128;

/// An AI route's pointers, parsed once.
pub(crate) struct AnswerSpec {
    pub(crate) operation: Box<str>,
    content: Vec<Vec<PointerToken>>,
    input_tokens: Option<Vec<PointerToken>>,
    output_tokens: Option<Vec<PointerToken>>,
    partial: Option<Vec<PointerToken>>,
    model: Option<Vec<PointerToken>>,
    agent: Option<Vec<PointerToken>>,
    pub(crate) max_event_bytes: usize,
    pub(crate) max_response_bytes: usize,
    /// The usage pointers' last keys, quoted (`"promptTokenCount"`): once an answer's first token, model
    /// and agent are known, an event without one of them is not parsed. `None` when a pointer ends in a
    /// wildcard or is missing: every event is parsed.
    usage_keys: Option<Vec<memchr::memmem::Finder<'static>>>,
}

impl AnswerSpec {
    /// Whether `data` may hold a usage field (always, when the pointers allow no such test).
    fn may_carry_usage(&self, data: &[u8]) -> bool {
        self.usage_keys.as_ref().is_none_or(|keys| keys.iter().any(|key| key.find(data).is_some()))
    }

    /// The spec of a validated `ai_operation` (a pointer that does not parse reads nothing).
    pub(crate) fn new(config: &AiOperation) -> Self {
        let pointer = |text: &str| (!text.is_empty()).then(|| parse_pointer(text).ok()).flatten();
        let size = |bytes: u64| usize::try_from(bytes).unwrap_or(usize::MAX);
        let last_key = |text: &str| match parse_pointer(text).ok()?.last()? {
            PointerToken::Exact(key) => {
                Some(memchr::memmem::Finder::new(format!("\"{key}\"").as_bytes()).into_owned())
            }
            PointerToken::Any => None,
        };
        let usage_keys = [&config.input_tokens, &config.output_tokens]
            .iter()
            .filter(|pointer| !pointer.is_empty())
            .map(|pointer| last_key(pointer))
            .collect::<Option<Vec<_>>>();
        Self {
            usage_keys,
            operation: config.operation.as_str().into(),
            content: config.content.iter().filter_map(|text| parse_pointer(text).ok()).collect(),
            input_tokens: pointer(&config.input_tokens),
            output_tokens: pointer(&config.output_tokens),
            partial: pointer(&config.partial),
            model: pointer(&config.model),
            agent: pointer(&config.agent),
            max_event_bytes: size(config.max_event_bytes),
            max_response_bytes: size(config.max_response_bytes),
        }
    }
}

/// What the events of one answer said so far.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct AnswerReading {
    /// When the first event with content passed.
    pub(crate) first_content: Option<Instant>,
    pub(crate) input_tokens: Option<u64>,
    pub(crate) output_tokens: Option<u64>,
    pub(crate) model: Option<Box<str>>,
    pub(crate) agent: Option<Box<str>>,
    /// Events not read: past the size cap, or not JSON.
    pub(crate) unread: u64,
}

impl AnswerReading {
    /// One event's data (a JSON document), which passed at `now`.
    pub(crate) fn event(&mut self, spec: &AnswerSpec, data: &[u8], now: Instant) {
        if self.settled(spec) && !spec.may_carry_usage(data) {
            // Most events of a stream are words of the answer: nothing left to learn from them. (A usage
            // key written with JSON escapes would be missed here; upstreams write keys plainly.)
            return;
        }
        match serde_json::from_slice::<Value>(data) {
            Ok(event) => self.read(spec, &event, now),
            Err(_) => self.unread += 1,
        }
    }

    /// A whole JSON answer (not streamed): an array of events, or one.
    pub(crate) fn document(&mut self, spec: &AnswerSpec, body: &[u8], now: Instant) {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(events)) => events.iter().for_each(|event| self.read(spec, event, now)),
            Ok(event) => self.read(spec, &event, now),
            Err(_) => self.unread += 1,
        }
    }

    /// Whether only the usage is left to read: the first token, and the model and agent when read.
    fn settled(&self, spec: &AnswerSpec) -> bool {
        self.first_content.is_some()
            && (self.model.is_some() || spec.model.is_none())
            && (self.agent.is_some() || spec.agent.is_none())
    }

    fn read(&mut self, spec: &AnswerSpec, event: &Value, now: Instant) {
        if self.first_content.is_none()
            && spec.content.iter().any(|pointer| {
                visit(event, pointer, &mut |value| value.as_str().is_some_and(|text| !text.is_empty()))
            })
        {
            self.first_content = Some(now);
        }
        for (pointer, name) in [(&spec.model, &mut self.model), (&spec.agent, &mut self.agent)] {
            if name.is_none()
                && let Some(found) = pointer.as_deref().and_then(|pointer| first_string(event, pointer))
            {
                *name = Some(cut_at(found, MAX_NAME_BYTES).into());
            }
        }
        // A partial event's usage is repeated by the final one: counted once.
        let partial = spec
            .partial
            .as_deref()
            .is_some_and(|pointer| visit(event, pointer, &mut |value| value.as_bool() == Some(true)));
        if partial {
            return;
        }
        for (pointer, total) in
            [(&spec.input_tokens, &mut self.input_tokens), (&spec.output_tokens, &mut self.output_tokens)]
        {
            if let Some(tokens) = pointer.as_deref().and_then(|pointer| first_count(event, pointer)) {
                *total = Some(total.unwrap_or(0).saturating_add(tokens));
            }
        }
    }
}

/// Calls `found` on each value `pointer` reaches (every element or member for `*`) until it says `true`.
fn visit<'a>(value: &'a Value, pointer: &[PointerToken], found: &mut impl FnMut(&'a Value) -> bool) -> bool {
    let Some((token, rest)) = pointer.split_first() else { return found(value) };
    match (token, value) {
        (PointerToken::Any, Value::Array(items)) => items.iter().any(|item| visit(item, rest, found)),
        (PointerToken::Any, Value::Object(members)) => {
            members.values().any(|member| visit(member, rest, found))
        }
        (PointerToken::Exact(key), Value::Object(members)) => {
            members.get(key.as_str()).is_some_and(|member| visit(member, rest, found))
        }
        (PointerToken::Exact(index), Value::Array(items)) => index
            .parse::<usize>()
            .ok()
            .and_then(|index| items.get(index))
            .is_some_and(|item| visit(item, rest, found)),
        _ => false,
    }
}

fn first_string<'a>(event: &'a Value, pointer: &[PointerToken]) -> Option<&'a str> {
    let mut text = None;
    visit(event, pointer, &mut |value| {
        text = value.as_str().filter(|text| !text.is_empty());
        text.is_some()
    });
    text
}

fn first_count(event: &Value, pointer: &[PointerToken]) -> Option<u64> {
    let mut count = None;
    visit(event, pointer, &mut |value| {
        count = value.as_u64();
        count.is_some()
    });
    count
}

/// At most `max` bytes of `text`, cut on a character boundary.
pub(crate) fn cut_at(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adk() -> AnswerSpec {
        AnswerSpec::new(&AiOperation::default())
    }

    #[test]
    fn adk_events_give_the_first_content_the_tokens_the_model_and_the_agent() {
        let spec = adk();
        let mut reading = AnswerReading::default();
        let start = Instant::now();
        let at = |ms| start + std::time::Duration::from_millis(ms);
        // A control frame (a state change) is no content; an empty text neither.
        reading.event(&spec, br#"{"author":"vana","actions":{"stateDelta":{"k":1}}}"#, at(10));
        reading.event(
            &spec,
            br#"{"author":"vana","content":{"parts":[{"text":""}]},"partial":true}"#,
            at(20),
        );
        assert_eq!(reading.first_content, None);
        let partial = br#"{"author":"vana","modelVersion":"gemini-2.5-flash","partial":true,"content":{"parts":[{"functionCall":{}},{"text":"Hel"}]},"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":1}}"#;
        reading.event(&spec, partial, at(56));
        let last = br#"{"author":"vana","content":{"parts":[{"text":"Hello"}]},"usageMetadata":{"promptTokenCount":7,"candidatesTokenCount":3}}"#;
        reading.event(&spec, last, at(160));
        reading.event(&spec, b"[DONE]", at(161));
        assert_eq!(reading.first_content, Some(at(56)));
        assert_eq!(
            (reading.input_tokens, reading.output_tokens),
            (Some(7), Some(3)),
            "the partial's usage is not counted"
        );
        assert_eq!(
            (reading.model.as_deref(), reading.agent.as_deref()),
            (Some("gemini-2.5-flash"), Some("vana"))
        );
        assert_eq!(reading.unread, 0, "once settled, an event without usage keys is not parsed at all");
    }

    #[test]
    fn usage_is_read_after_the_first_token_and_a_wildcard_usage_pointer_parses_every_event() {
        let spec = adk();
        assert!(spec.may_carry_usage(br#"{"usageMetadata":{"promptTokenCount":1}}"#));
        assert!(!spec.may_carry_usage(br#"{"content":{"parts":[{"text":"promptTokenCount is 3"}]}}"#));
        let mut wildcard = AiOperation::default();
        wildcard.output_tokens = "/usage/*".into();
        assert!(AnswerSpec::new(&wildcard).may_carry_usage(b"{}"));
    }

    #[test]
    fn a_whole_answer_sums_the_usage_of_its_model_calls() {
        let mut reading = AnswerReading::default();
        let body = br#"[{"content":{"parts":[{"functionCall":{"name":"search"}}]},"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":2}},
            {"content":{"parts":[{"text":"found it"}]},"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":5}}]"#;
        let now = Instant::now();
        reading.document(&adk(), body, now);
        assert_eq!(
            (reading.input_tokens, reading.output_tokens, reading.first_content),
            (Some(40), Some(7), Some(now))
        );
    }

    #[test]
    fn hostile_values_are_bounded_or_ignored() {
        let mut reading = AnswerReading::default();
        let name = "m".repeat(1000);
        let event = format!(
            r#"{{"modelVersion":"{name}","usageMetadata":{{"promptTokenCount":-5,"candidatesTokenCount":18446744073709551615}}}}"#
        );
        reading.event(&adk(), event.as_bytes(), Instant::now());
        reading.event(&adk(), event.as_bytes(), Instant::now());
        assert_eq!(reading.model.as_deref().map(str::len), Some(MAX_NAME_BYTES));
        assert_eq!(
            (reading.input_tokens, reading.output_tokens),
            (None, Some(u64::MAX)),
            "saturates, never wraps"
        );
        assert_eq!(cut_at("é".repeat(100).as_str(), MAX_NAME_BYTES).len(), 128);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 500, ..Default::default() })]

        /// Any bytes as an event or a whole answer: no panic, names within their cap.
        #[test]
        fn any_bytes_are_read_or_counted_unread(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let spec = adk();
            let mut reading = AnswerReading::default();
            reading.event(&spec, &bytes, Instant::now());
            reading.document(&spec, &bytes, Instant::now());
            proptest::prop_assert!(reading.model.as_deref().is_none_or(|model| model.len() <= MAX_NAME_BYTES));
            proptest::prop_assert!(reading.agent.as_deref().is_none_or(|agent| agent.len() <= MAX_NAME_BYTES));
        }
    }
}
