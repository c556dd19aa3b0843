//! Validation: the path, query names and values, headers, named cookies and form, JSON or text bodies go
//! through the input validator (`http.validate_input`). What a finding does depends on the route and the
//! location (`http.input_policies`): `block` refuses with a 400 that names the rules and the score,
//! `detect` records it and lets the request go on, `off` does not look. A score under the threshold is
//! recorded, never refused.

pub(crate) mod json_walk;
pub(crate) mod multipart;
mod policy;

use std::ops::ControlFlow;

use http::request::Parts;
use vana_config::{HttpLayer, InputAction};
use vana_security::{InputValidator, Verdict};

use crate::http::body::{BodyKind, each_form_part};
use crate::http::path::{PathPrefixes, normalized};
use crate::http::reject::{Finding, FindingAction, Refusal};
use crate::ops::Ops;
use json_walk::{JsonStep, JsonText, each_json_string, each_json_string_at};
use multipart::each_text_part;
pub(crate) use policy::RouteActions;
use policy::{Named, Policies};

/// Most findings one request records; past it, the rest of its findings are not recorded (a refusal is
/// still a refusal).
pub(crate) const MAX_FINDINGS: usize = 8;

/// The validation step.
pub(crate) struct Validation {
    ops: Ops,
    policies: Policies,
    exempt_paths: PathPrefixes,
}

/// Findings that let the request go on (a `detect` action, or a score under the threshold), with the action
/// that applied, to be recorded as events.
#[derive(Debug, Default)]
pub(crate) struct Findings(Vec<(Finding, FindingAction)>);

impl Findings {
    fn push(&mut self, finding: Finding, action: FindingAction) {
        if self.0.len() < MAX_FINDINGS {
            self.0.push((finding, action));
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &(Finding, FindingAction)> {
        self.0.iter()
    }
}

/// What one check needs: the validator, where the findings go.
struct Judge<'a> {
    validator: &'a InputValidator,
    findings: &'a mut Findings,
}

impl Judge<'_> {
    /// Applies `action` to the verdict on `input` at `location`.
    fn check(
        &mut self,
        action: InputAction,
        location: &'static str,
        verdict: impl FnOnce(&InputValidator) -> Verdict,
    ) -> Result<(), Refusal> {
        if action == InputAction::Off {
            return Ok(());
        }
        match (verdict(self.validator), action) {
            (Verdict::Passed, _) => Ok(()),
            (Verdict::Rejected(rejection), InputAction::Block) => {
                Err(Refusal::invalid_input(&rejection, location))
            }
            (Verdict::Rejected(rejection), _) => {
                self.findings.push(Finding::new(&rejection, location), FindingAction::Detect);
                Ok(())
            }
            (Verdict::Suspicious(finding), _) => {
                self.findings.push(Finding::new(&finding, location), FindingAction::BelowThreshold);
                Ok(())
            }
        }
    }
}

impl Validation {
    pub(crate) fn new(ops: &Ops, config: &HttpLayer) -> Self {
        Self {
            ops: ops.clone(),
            policies: Policies::new(config),
            exempt_paths: PathPrefixes::new(&config.validation_exempt_paths),
        }
    }

    /// Whether the request's input is validated: its path, as the service will see it, is not exempt.
    pub(crate) fn applies_to(&self, path: &str) -> bool {
        self.exempt_paths.is_empty() || !self.exempt_paths.covers(&normalized(path))
    }

    /// The actions of requests named `route`.
    pub(crate) fn actions(&self, route: &str) -> &RouteActions {
        self.policies.for_route(route)
    }

    fn judge<'a>(&'a self, findings: &'a mut Findings) -> Judge<'a> {
        Judge { validator: self.ops.security().validator(), findings }
    }

    /// The path, query names and values, the route's headers and named cookies.
    pub(crate) fn check_head(
        &self,
        parts: &Parts,
        actions: &RouteActions,
        findings: &mut Findings,
    ) -> Result<(), Refusal> {
        let mut judge = self.judge(findings);
        // Paths, many query values, user agents and referrers recur from request to request.
        judge.check(actions.path, "path", |v| v.validate_request_path(parts.uri.path()))?;
        if let Some(query) = parts.uri.query() {
            into_result(each_named_pair(query, &actions.query, |action, text| {
                into_flow(judge.check(action, "query", |v| v.validate_recurring(text)))
            }))?;
        }
        for (name, action) in &actions.headers {
            for value in parts.headers.get_all(name) {
                judge.check(*action, "header", |v| match value.to_str() {
                    Ok(text) => v.validate_recurring(text),
                    Err(_) => v.validate_bytes(value.as_bytes()),
                })?;
            }
        }
        if !actions.cookies.is_off() {
            for line in parts.headers.get_all(http::header::COOKIE) {
                let Ok(line) = line.to_str() else { continue };
                for (name, value) in line.split(';').filter_map(|pair| pair.trim().split_once('=')) {
                    judge.check(actions.cookies.action(name), "cookie", |v| v.validate_recurring(value))?;
                }
            }
        }
        Ok(())
    }

    /// Whether validation reads a body of `kind` (binary kinds are not inspected).
    pub(crate) fn needs_body(kind: BodyKind) -> bool {
        kind != BodyKind::Opaque
    }

    /// The body (decoded, its kind from `headers`): form fields (urlencoded, or the text parts of a multipart
    /// form), JSON strings and object keys, or the whole text, each up to `max_value` bytes (the route's
    /// body cap).
    pub(crate) fn check_body(
        &self,
        headers: &http::HeaderMap,
        bytes: &[u8],
        max_value: usize,
        actions: &RouteActions,
        findings: &mut Findings,
    ) -> Result<(), Refusal> {
        let kind = BodyKind::of(headers);
        let boundary = (kind == BodyKind::Multipart).then(|| multipart::boundary(headers)).flatten();
        let boundary = boundary.as_deref();
        let mut judge = self.judge(findings);
        let Ok(text) = std::str::from_utf8(bytes) else {
            // A binary body in a textual type: the validator's byte entry point decides.
            return judge.check(actions.body, "body", |v| v.validate_bytes(bytes));
        };
        // An object's keys are names: judged for structure only (a key named `ls` is no command).
        let mut check = |action, location, part: &str, text: JsonText| {
            into_flow(judge.check(action, location, |v| match text {
                JsonText::Key => v.validate_name(part, max_value),
                JsonText::Value => v.validate_with_limit(part, max_value),
            }))
        };
        let value = JsonText::Value;
        into_result(match kind {
            BodyKind::Form => {
                each_named_pair(text, &actions.form, |action, part| check(action, "form", part, value))
            }
            BodyKind::Json if actions.json.has_pointers() => {
                let json = &actions.json;
                each_json_string_at(bytes, |path: &[JsonStep], kind, part| {
                    check(json.action(path), "json", part, kind)
                })
                .unwrap_or_else(|| check(json.default, "body", text, value))
            }
            BodyKind::Json => {
                let action = actions.json.default;
                each_json_string(bytes, |kind, part| check(action, "json", part, kind))
                    .unwrap_or_else(|| check(action, "body", text, value))
            }
            BodyKind::Text => check(actions.body, "body", text, value),
            // A body that is not the multipart it says is read as the text it is.
            BodyKind::Multipart => boundary
                .and_then(|boundary| {
                    each_text_part(bytes, boundary, |name, part| {
                        check(actions.form.action(name), "form", part, value)
                    })
                })
                .unwrap_or_else(|| check(actions.body, "body", text, value)),
            BodyKind::Opaque => ControlFlow::Continue(()),
        })
    }
}

/// Calls `visit` on each name (with the location's default action) and value (with its name's action) of
/// a urlencoded text. Names are decoded only when some name has an action of its own.
fn each_named_pair<T>(
    text: &str,
    named: &Named,
    mut visit: impl FnMut(InputAction, &str) -> ControlFlow<T>,
) -> ControlFlow<T> {
    if !named.has_names() {
        return each_form_part(text, |part| visit(named.default, part));
    }
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        visit(named.default, name)?;
        if !value.is_empty() {
            let action = match form_urlencoded::parse(name.as_bytes()).next() {
                Some((decoded, _)) => named.action(&decoded),
                None => named.default,
            };
            visit(action, value)?;
        }
    }
    ControlFlow::Continue(())
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

    fn head_on(
        step: &Validation,
        route: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (Result<(), Refusal>, Findings) {
        let mut request = http::Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut findings = Findings::default();
        let parts = request.body(()).unwrap().into_parts().0;
        (step.check_head(&parts, step.actions(route), &mut findings), findings)
    }

    fn head(uri: &str, headers: &[(&str, &str)]) -> Result<(), Refusal> {
        head_on(&step("  validated_headers: [X-Comment]\n"), "other", uri, headers).0
    }

    fn body(step: &Validation, route: &str, kind: BodyKind, bytes: &[u8]) -> (Result<(), Refusal>, Findings) {
        let mut findings = Findings::default();
        let content_type = match kind {
            BodyKind::Form => "application/x-www-form-urlencoded",
            BodyKind::Json => "application/json",
            BodyKind::Text => "text/plain",
            BodyKind::Multipart => "multipart/form-data",
            BodyKind::Opaque => "image/png",
        };
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
        (step.check_body(&headers, bytes, 1 << 20, step.actions(route), &mut findings), findings)
    }

    fn location(result: Result<(), Refusal>) -> &'static str {
        match result {
            Err(Refusal::InvalidInput(finding)) => finding.location,
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
        assert_eq!(location(body(&step, "other", BodyKind::Json, json.as_bytes()).0), "json");
        assert_eq!(body(&step, "other", BodyKind::Json, br#"{"message": "hello"}"#).0, Ok(()));
        let form = b"a=1&b=%3Cscript%3Ealert(1)%3C%2Fscript%3E";
        assert_eq!(location(body(&step, "other", BodyKind::Form, form).0), "form");
        assert_eq!(location(body(&step, "other", BodyKind::Text, attack.as_bytes()).0), "body");
        assert_eq!(body(&step, "other", BodyKind::Opaque, attack.as_bytes()).0, Ok(()));
    }

    #[test]
    fn exempt_paths_are_not_validated() {
        let step = step("  validation_exempt_paths: [/api/code]\n");
        assert!(!step.applies_to("/api/code"));
        assert!(!step.applies_to("/api/code/run"));
        assert!(step.applies_to("/api/other"));
        assert!(step.applies_to("/api/codeX/admin"));
    }

    const CHAT: &str = r#"  route_templates: ["/run", "/search"]
  input_policies:
    routes:
      /run:
        json: {"/newMessage/parts/*/text": detect}
      /search:
        query: {q: detect}
        cookies: {theme: block}
"#;

    #[test]
    fn detect_records_and_lets_the_request_go_on_block_refuses() {
        let step = step(CHAT);
        let question =
            br#"{"appName": "a", "newMessage": {"parts": [{"text": "why does ' OR '1'='1' -- work?"}]}}"#;
        let (result, findings) = body(&step, "/run", BodyKind::Json, question);
        assert_eq!(result, Ok(()));
        let (finding, action) = findings.iter().next().expect("recorded");
        assert_eq!((finding.location, *action), ("json", FindingAction::Detect));
        assert!(finding.score >= 5 && !finding.rules().is_empty());
        // The same text in another field of the same route is refused.
        let elsewhere = br#"{"appName": "' OR '1'='1' --", "newMessage": {"parts": [{"text": "hi"}]}}"#;
        assert_eq!(location(body(&step, "/run", BodyKind::Json, elsewhere).0), "json");
        // ... and on a route without a policy.
        assert_eq!(location(body(&step, "other", BodyKind::Json, question).0), "json");
    }

    #[test]
    fn query_parameters_and_cookies_by_name() {
        let step = step(CHAT);
        let (result, findings) =
            head_on(&step, "/search", "/search?q=%27%20OR%20%271%27%3D%271%27%20--", &[]);
        assert_eq!((result, findings.iter().count()), (Ok(()), 1));
        let (result, _) = head_on(&step, "/search", "/search?page=%27%20OR%20%271%27%3D%271%27%20--", &[]);
        assert_eq!(location(result), "query");
        let attack = [("cookie", "theme=<script>alert(1)</script>; other=<script>alert(1)</script>")];
        assert_eq!(location(head_on(&step, "/search", "/search", &attack).0), "cookie");
        let unnamed = [("cookie", "other=<script>alert(1)</script>")];
        assert_eq!(
            head_on(&step, "/search", "/search", &unnamed).0,
            Ok(()),
            "unnamed cookies are not validated"
        );
    }

    #[test]
    fn a_weak_signal_is_recorded_under_the_threshold_even_where_it_would_block() {
        let step = step("");
        let (result, findings) = head_on(&step, "other", "/notes?text=...and%20then%20she%20left", &[]);
        assert_eq!(result, Ok(()));
        let (finding, action) = findings.iter().next().expect("recorded");
        assert_eq!(*action, FindingAction::BelowThreshold);
        assert!(finding.score < 5);
    }

    #[test]
    fn findings_per_request_are_capped() {
        let step = step(CHAT);
        let parts: Vec<String> =
            (0..50).map(|_| r#"{"text": "<script>alert(1)</script>"}"#.to_owned()).collect();
        let json = format!(r#"{{"newMessage": {{"parts": [{}]}}}}"#, parts.join(","));
        let (result, findings) = body(&step, "/run", BodyKind::Json, json.as_bytes());
        assert_eq!(result, Ok(()));
        assert_eq!(findings.iter().count(), MAX_FINDINGS);
    }
}
