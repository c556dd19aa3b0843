//! Where a request names who spends a budget: a route parameter, or one value of its JSON body, found by
//! walking the body along the pointer only (everything else is skipped unread, so a large attachment
//! beside `userId` costs a scan, not a copy).

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use vana_config::{BudgetIdentity, PointerToken, parse_pointer};

/// A budget's identity source on one route.
pub(super) enum Identity {
    /// A JSON Pointer into the body.
    Json(Vec<PointerToken>),
    /// A parameter of the route template: the template alone in a router, to read it.
    Path { router: matchit::Router<()>, parameter: String },
}

impl Identity {
    /// The source of `route`'s configuration (validated: one of the two, well formed).
    pub(super) fn new(route: &str, source: &BudgetIdentity) -> Option<Self> {
        if let Some(pointer) = &source.json {
            return parse_pointer(pointer).ok().map(Identity::Json);
        }
        let parameter = source.path.clone()?;
        let mut router = matchit::Router::new();
        router.insert(route, ()).ok()?;
        Some(Identity::Path { router, parameter })
    }

    pub(super) fn is_json(&self) -> bool {
        matches!(self, Identity::Json(_))
    }

    /// The identity in a request to `path` with the JSON body `json` (when read), if it names one.
    pub(super) fn of(&self, path: &str, json: Option<&[u8]>) -> Option<String> {
        match self {
            Identity::Json(pointer) => {
                let mut reader = serde_json::Deserializer::from_slice(json?);
                Walk(pointer).deserialize(&mut reader).ok().flatten()
            }
            Identity::Path { router, parameter } => {
                let matched = router.at(path).ok()?;
                matched.params.get(parameter.as_str()).filter(|value| !value.is_empty()).map(str::to_owned)
            }
        }
    }
}

/// The value at the pointer's end when it is a string or a number; everything off the path skipped.
struct Walk<'p>(&'p [PointerToken]);

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(self.0.is_empty().then(|| value.to_owned()).filter(|value| !value.is_empty()))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(self.0.is_empty().then(|| value.to_string()))
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(self.0.is_empty().then(|| value.to_string()))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match self.0.split_first() {
                Some((token, rest)) if found.is_none() && token_matches(token, &key) => {
                    found = map.next_value_seed(Walk(rest))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let mut index = 0usize;
        loop {
            let here = match self.0.split_first() {
                Some((token, rest)) if found.is_none() && index_matches(token, index) => {
                    match seq.next_element_seed(Walk(rest))? {
                        Some(value) => value,
                        None => break,
                    }
                }
                _ => match seq.next_element::<IgnoredAny>()? {
                    Some(_) => None,
                    None => break,
                },
            };
            found = found.or(here);
            index += 1;
        }
        Ok(found)
    }
}

fn index_matches(token: &PointerToken, index: usize) -> bool {
    match token {
        PointerToken::Any => true,
        PointerToken::Exact(exact) => exact.parse::<usize>().is_ok_and(|wanted| wanted == index),
    }
}

fn token_matches(token: &PointerToken, key: &str) -> bool {
    match token {
        PointerToken::Any => true,
        PointerToken::Exact(exact) => exact == key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(pointer: &str, body: &str) -> Option<String> {
        Identity::Json(parse_pointer(pointer).unwrap()).of("/run", Some(body.as_bytes()))
    }

    #[test]
    fn a_json_identity_is_found_along_its_pointer_whatever_surrounds_it() {
        let body = format!(
            r#"{{"newMessage":{{"parts":[{{"inlineData":{{"data":"{}"}}}}]}},"userId":"ana","appName":"vana","n":7}}"#,
            "A".repeat(100_000)
        );
        assert_eq!(json("/userId", &body).as_deref(), Some("ana"));
        assert_eq!(json("/appName", &body).as_deref(), Some("vana"));
        assert_eq!(json("/n", &body).as_deref(), Some("7"));
        assert_eq!(json("/newMessage/parts/0/inlineData/data", &body).map(|data| data.len()), Some(100_000));
        assert_eq!(json("/missing", &body), None);
        assert_eq!(json("/newMessage", &body), None, "an object is no identity");
        assert_eq!(json("/userId", r#"{"userId":"a\"b"}"#).as_deref(), Some("a\"b"));
        assert_eq!(json("/userId", r#"{"userId":""}"#), None, "an empty identity is none");
        assert_eq!(json("/userId", "not json"), None);
        assert_eq!(json("/userId", r#"{"userId":"ana""#), None, "a cut body names nobody");
    }

    #[test]
    fn a_path_identity_is_the_route_parameter() {
        let mut source = BudgetIdentity::default();
        source.path = Some("user_id".into());
        let identity = Identity::new("/apps/{app}/users/{user_id}/sessions", &source).unwrap();
        assert_eq!(identity.of("/apps/vana/users/ana/sessions", None).as_deref(), Some("ana"));
        assert_eq!(identity.of("/other", None), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 500, ..Default::default() })]

        /// Any bytes as a body, any pointer: no panic (a cut or broken body names nobody).
        #[test]
        fn any_body_and_pointer_are_walked_without_a_panic(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            pointer in "(/[a-z0-9*~]{0,4}){0,4}",
        ) {
            if let Ok(tokens) = parse_pointer(&pointer) {
                let _ = Identity::Json(tokens).of("/run", Some(&body));
            }
        }
    }
}
