//! Walking the strings and keys of a JSON body as the parser meets them, without building the document.
//! Every value of a repeated key is visited: a map keeps only the last, and an upstream that keeps the first
//! (many do) would read a value that was never validated.

use std::fmt;
use std::ops::ControlFlow;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// One step from a JSON document's root to a value: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JsonStep {
    Key(String),
    Index(usize),
}

/// What a visited string is in its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonText {
    /// An object's key: a name.
    Key,
    /// A string value.
    Value,
}

/// Calls `visit` on every string and key of a JSON document. `None` when the body is not JSON (or nests
/// deeper than the parser's limit of 128): it is then inspected as text.
pub(crate) fn each_json_string<T>(
    body: &[u8],
    mut visit: impl FnMut(JsonText, &str) -> ControlFlow<T>,
) -> Option<ControlFlow<T>> {
    walk(body, None, &mut |_: &[JsonStep], kind, text: &str| visit(kind, text))
}

/// The same with the steps that lead to each string (a key's steps end with the key itself).
pub(crate) fn each_json_string_at<T>(
    body: &[u8],
    mut visit: impl FnMut(&[JsonStep], JsonText, &str) -> ControlFlow<T>,
) -> Option<ControlFlow<T>> {
    walk(body, Some(Vec::new()), &mut visit)
}

type Visit<'v, T> = dyn FnMut(&[JsonStep], JsonText, &str) -> ControlFlow<T> + 'v;

fn walk<T>(body: &[u8], path: Option<Vec<JsonStep>>, visit: &mut Visit<'_, T>) -> Option<ControlFlow<T>> {
    let mut state = Walk { visit, path, stopped: None };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let walked = (&mut state).deserialize(&mut deserializer).and_then(|()| deserializer.end());
    match (walked, state.stopped) {
        (_, Some(found)) => Some(ControlFlow::Break(found)),
        (Ok(()), None) => Some(ControlFlow::Continue(())),
        (Err(_), None) => None,
    }
}

struct Walk<'v, T> {
    visit: &'v mut Visit<'v, T>,
    /// `None` when the caller needs no path: keys are then never copied.
    path: Option<Vec<JsonStep>>,
    /// What `visit` broke with; the walk then ends with an error that is not the body's.
    stopped: Option<T>,
}

impl<T> Walk<'_, T> {
    fn see<E: de::Error>(&mut self, kind: JsonText, text: &str) -> Result<(), E> {
        let path = self.path.as_deref().unwrap_or(&[]);
        match (self.visit)(path, kind, text) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(found) => {
                self.stopped = Some(found);
                Err(E::custom("stopped"))
            }
        }
    }

    fn enter(&mut self, step: impl FnOnce() -> JsonStep) {
        if let Some(path) = &mut self.path {
            path.push(step());
        }
    }

    fn leave(&mut self) {
        if let Some(path) = &mut self.path {
            path.pop();
        }
    }
}

impl<'de, T> DeserializeSeed<'de> for &mut Walk<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T> Visitor<'de> for &mut Walk<'_, T> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.see(JsonText::Value, text)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            self.enter(|| JsonStep::Index(index));
            let item = items.next_element_seed(&mut *self);
            self.leave();
            if item?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<(), A::Error> {
        while let Some(key) = members.next_key::<std::borrow::Cow<'de, str>>()? {
            self.enter(|| JsonStep::Key(key.to_string()));
            let seen = self.see(JsonText::Key, &key).and_then(|()| members.next_value_seed(&mut *self));
            self.leave();
            seen?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pointer(path: &[JsonStep]) -> String {
        path.iter()
            .map(|step| match step {
                JsonStep::Key(key) => format!("/{key}"),
                JsonStep::Index(index) => format!("/{index}"),
            })
            .collect()
    }

    #[test]
    fn strings_and_keys_come_with_their_steps() {
        let body = br#"{"newMessage": {"parts": [{"text": "hi"}, {"text": "there", "n": 1.5}]}, "appName": "a", "ok": true, "z": null}"#;
        let mut seen = Vec::new();
        let flow = each_json_string_at::<()>(body, |path, _, text| {
            seen.push(format!("{}={text}", pointer(path)));
            ControlFlow::Continue(())
        });
        assert_eq!(flow, Some(ControlFlow::Continue(())));
        assert_eq!(
            seen,
            [
                "/newMessage=newMessage",
                "/newMessage/parts=parts",
                "/newMessage/parts/0/text=text",
                "/newMessage/parts/0/text=hi",
                "/newMessage/parts/1/text=text",
                "/newMessage/parts/1/text=there",
                "/newMessage/parts/1/n=n",
                "/appName=appName",
                "/appName=a",
                "/ok=ok",
                "/z=z",
            ]
        );
    }

    #[test]
    fn every_value_of_a_repeated_key_is_visited() {
        let body = br#"{"bio": "<script>alert(1)</script>", "bio": "harmless"}"#;
        let mut values = Vec::new();
        each_json_string::<()>(body, |_, text| {
            values.push(text.to_owned());
            ControlFlow::Continue(())
        });
        assert!(values.contains(&"<script>alert(1)</script>".to_owned()), "{values:?}");
    }

    #[test]
    fn escaped_strings_are_visited_decoded_and_a_break_stops_the_walk() {
        let body = br#"["a\u003cb", "\"q\"", "never"]"#;
        let mut values = Vec::new();
        let flow = each_json_string(body, |_, text| {
            values.push(text.to_owned());
            if text == "\"q\"" { ControlFlow::Break(values.len()) } else { ControlFlow::Continue(()) }
        });
        assert_eq!(flow, Some(ControlFlow::Break(2)));
        assert_eq!(values, ["a<b", "\"q\""]);
    }

    #[test]
    fn what_is_not_json_is_none() {
        assert_eq!(each_json_string::<()>(b"not json", |_, _| ControlFlow::Continue(())), None);
        assert_eq!(each_json_string::<()>(br#"{"a": 1} trailing"#, |_, _| ControlFlow::Continue(())), None);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(
            each_json_string::<()>(deep.as_bytes(), |_, _| ControlFlow::Continue(())),
            None,
            "past the nesting limit"
        );
        assert_eq!(
            each_json_string::<()>(b"\"just a string\"", |_, _| ControlFlow::Continue(())),
            Some(ControlFlow::Continue(()))
        );
    }
}
