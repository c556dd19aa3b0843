//! Validation: the path, query names and values, the configured headers and form, JSON or text bodies go
//! through the input validator (`http.validate_input`); a rejection is a 400 that names the rule.

use std::ops::ControlFlow;

use http::HeaderName;
use http::request::Parts;
use vana_config::HttpLayer;
use vana_security::{InputValidator, Verdict};

use crate::http::body::{BodyKind, each_form_part, each_json_string};
use crate::http::reject::Refusal;
use crate::http::step::under_any;
use crate::ops::Ops;

/// The validation step.
pub(crate) struct Validation {
    ops: Ops,
    headers: Vec<HeaderName>,
    exempt_paths: Vec<String>,
    max_body: usize,
}

impl Validation {
    pub(crate) fn new(ops: &Ops, config: &HttpLayer) -> Self {
        Self {
            ops: ops.clone(),
            // Invalid names are reported by configuration validation; they cannot be in a request anyway.
            headers: config
                .validated_headers
                .iter()
                .filter_map(|name| HeaderName::from_bytes(name.as_bytes()).ok())
                .collect(),
            exempt_paths: config.validation_exempt_paths.clone(),
            max_body: usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX),
        }
    }

    /// Whether the request's input is validated (its path is not exempt).
    pub(crate) fn applies_to(&self, path: &str) -> bool {
        !under_any(path, &self.exempt_paths)
    }

    fn validator(&self) -> &InputValidator {
        self.ops.security().validator()
    }

    /// The path, query names and values, and the configured headers.
    pub(crate) fn check_head(&self, parts: &Parts) -> Result<(), Refusal> {
        let validator = self.validator();
        // Paths, many query values, user agents and referrers recur from request to request.
        refuse(validator.validate_recurring(parts.uri.path()), "path")?;
        if let Some(query) = parts.uri.query() {
            into_result(each_form_part(query, |part| {
                into_flow(refuse(validator.validate_recurring(part), "query"))
            }))?;
        }
        for name in &self.headers {
            for value in parts.headers.get_all(name) {
                let verdict = match value.to_str() {
                    Ok(text) => validator.validate_recurring(text),
                    Err(_) => validator.validate_bytes(value.as_bytes()),
                };
                refuse(verdict, "header")?;
            }
        }
        Ok(())
    }

    /// Form fields, JSON strings and object keys, or the whole text, each up to the body cap.
    pub(crate) fn check_body(&self, kind: BodyKind, bytes: &[u8]) -> Result<(), Refusal> {
        let validator = self.validator();
        let Ok(text) = std::str::from_utf8(bytes) else {
            // A binary body in a textual type: the validator's byte entry point decides.
            return refuse(validator.validate_bytes(bytes), "body");
        };
        let check =
            |part: &str| into_flow(refuse(validator.validate_with_limit(part, self.max_body), "body"));
        into_result(match kind {
            BodyKind::Form => each_form_part(text, check),
            BodyKind::Json => each_json_string(bytes, check).unwrap_or_else(|| check(text)),
            BodyKind::Text => check(text),
            BodyKind::Opaque => ControlFlow::Continue(()),
        })
    }
}

fn refuse(verdict: Verdict, location: &'static str) -> Result<(), Refusal> {
    match verdict.rejection() {
        Some(rejection) => Err(Refusal::invalid_input(rejection, location)),
        None => Ok(()),
    }
}

fn into_flow(result: Result<(), Refusal>) -> ControlFlow<Refusal> {
    match result {
        Ok(()) => ControlFlow::Continue(()),
        Err(refusal) => ControlFlow::Break(refusal),
    }
}

fn into_result(flow: ControlFlow<Refusal>) -> Result<(), Refusal> {
    match flow {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(refusal) => Err(refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::step::test_ops;

    fn step(http_yaml: &str) -> Validation {
        let ops = test_ops(&format!("http:\n{http_yaml}"));
        let config = ops.config().security.http.clone();
        Validation::new(&ops, &config)
    }

    fn head(uri: &str, headers: &[(&str, &str)]) -> Result<(), Refusal> {
        let mut request = http::Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        step("  validated_headers: [X-Comment]\n").check_head(&request.body(()).unwrap().into_parts().0)
    }

    fn location(result: Result<(), Refusal>) -> &'static str {
        match result {
            Err(Refusal::InvalidInput { location, .. }) => location,
            other => panic!("not an input refusal: {other:?}"),
        }
    }

    #[test]
    fn each_part_of_the_head_is_checked_and_named() {
        assert_eq!(head("/items/7?q=shoes&page=2", &[("x-comment", "nice")]), Ok(()));
        assert_eq!(location(head("/a/..%2f..%2fetc%2fpasswd", &[])), "path");
        assert_eq!(location(head("/s?q=1%27%20OR%20%271%27%3D%271", &[])), "query");
        assert_eq!(location(head("/s?%3Cscript%3Ealert(1)%3C%2Fscript%3E=1", &[])), "query");
        assert_eq!(location(head("/s", &[("x-comment", "<script>alert(1)</script>")])), "header");
        // Only the configured headers: User-Agent is a default one, replaced here.
        assert_eq!(head("/s", &[("user-agent", "<script>alert(1)</script>")]), Ok(()));
    }

    #[test]
    fn bodies_are_checked_by_kind() {
        let step = step("  max_body_bytes: 4096\n");
        let attack = "<script>alert(1)</script>";
        let json = format!(r#"{{"message": "hi", "nested": ["{attack}"]}}"#);
        assert_eq!(location(step.check_body(BodyKind::Json, json.as_bytes())), "body");
        assert_eq!(step.check_body(BodyKind::Json, br#"{"message": "hello"}"#), Ok(()));
        assert_eq!(
            location(step.check_body(BodyKind::Form, b"a=1&b=%3Cscript%3Ealert(1)%3C%2Fscript%3E")),
            "body"
        );
        assert_eq!(location(step.check_body(BodyKind::Text, attack.as_bytes())), "body");
        assert_eq!(step.check_body(BodyKind::Opaque, attack.as_bytes()), Ok(()));
    }

    #[test]
    fn exempt_paths_are_not_validated() {
        let step = step("  validation_exempt_paths: [/api/code]\n");
        assert!(!step.applies_to("/api/code"));
        assert!(!step.applies_to("/api/code/run"));
        assert!(step.applies_to("/api/other"));
    }
}
