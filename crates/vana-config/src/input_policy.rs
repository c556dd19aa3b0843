//! `http.input_policies`: what input validation does with a finding, by route and by where in the request
//! the input was found.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checks::Checker;
use crate::key_path::KeyPath;
use crate::limits;

/// What a finding in one location does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InputAction {
    /// Refuse the request with 400 when the location's score reaches the threshold.
    Block,
    /// Record the finding (a security event, its counter and a log line) and let the request go on.
    Detect,
    /// Do not validate this location.
    Off,
}

impl InputAction {
    /// `block`, `detect` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            InputAction::Block => "block",
            InputAction::Detect => "detect",
            InputAction::Off => "off",
        }
    }
}

/// `http.input_policies`: a default policy and one per route template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct InputPolicies {
    /// Every route without a policy of its own, and what a route's policy leaves unsaid.
    pub default: RoutePolicy,
    /// By route template (each one of `http.route_templates`).
    pub routes: BTreeMap<String, RoutePolicy>,
}

impl Default for InputPolicies {
    fn default() -> Self {
        Self {
            default: RoutePolicy { action: Some(InputAction::Block), ..RoutePolicy::default() },
            routes: BTreeMap::new(),
        }
    }
}

/// The actions of one route, by location. The most specific entry wins: a named field, then the location's
/// `"*"`, then the route's `action`, then the same in the default policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RoutePolicy {
    /// Every location this policy does not name.
    pub action: Option<InputAction>,
    /// The request path.
    pub path: Option<InputAction>,
    /// Query parameters by name (`"*"`: every other one); names are checked with the `"*"` action.
    pub query: BTreeMap<String, InputAction>,
    /// Request headers by name: these are validated besides `http.validated_headers`.
    pub headers: BTreeMap<String, InputAction>,
    /// Cookies by name (`"*"`: every cookie); cookies are validated only when named here.
    pub cookies: BTreeMap<String, InputAction>,
    /// Form fields (`application/x-www-form-urlencoded`) by name (`"*"`: every other one).
    pub form: BTreeMap<String, InputAction>,
    /// JSON values by JSON Pointer (RFC 6901), `*` standing for any one key or array index
    /// (`/newMessage/parts/*/text`); a pointer covers the value and everything inside it, the longest
    /// matching pointer wins, and `""` is the whole document.
    pub json: BTreeMap<String, InputAction>,
    /// Other textual bodies, whole.
    pub body: Option<InputAction>,
}

/// One reference token of a JSON Pointer pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PointerToken {
    /// `*`: any key or index.
    Any,
    /// A key or an index, unescaped (`~1` is `/`, `~0` is `~`).
    Exact(String),
}

/// Parses a JSON Pointer pattern: `""`, or `/`-separated tokens with `~0`/`~1` escapes. A token that is
/// exactly `*` matches any one key or index (RFC 6901 has no escape for `*`, so a key that is literally `*`
/// is matched by the wildcard as well).
pub fn parse_pointer(pointer: &str) -> Result<Vec<PointerToken>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!(
            "`{}` is not a JSON Pointer: it must be empty or start with `/`",
            pointer.escape_debug()
        ));
    };
    rest.split('/')
        .map(|token| {
            if token == "*" {
                return Ok(PointerToken::Any);
            }
            let mut unescaped = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                match (c, c == '~') {
                    (_, false) => unescaped.push(c),
                    (_, true) => match chars.next() {
                        Some('0') => unescaped.push('~'),
                        Some('1') => unescaped.push('/'),
                        _ => {
                            return Err(format!(
                                "`{}`: `~` must be followed by `0` (for `~`) or `1` (for `/`)",
                                pointer.escape_debug()
                            ));
                        }
                    },
                }
            }
            Ok(PointerToken::Exact(unescaped))
        })
        .collect()
}

impl InputPolicies {
    /// `route_templates` are the known routes a policy may name.
    pub(crate) fn check(&self, at: &KeyPath, route_templates: &[String], check: &mut Checker) {
        self.default.check(&at.key("default"), check);
        check.at_most_entries(at.key("routes"), self.routes.len(), limits::MAX_HTTP_LIST);
        for (route, policy) in self.routes.iter().take(limits::MAX_HTTP_LIST) {
            let here = at.key("routes").key(route.clone());
            if !route_templates.iter().any(|template| template == route) {
                let known = if route_templates.is_empty() {
                    "none are configured".to_owned()
                } else {
                    route_templates.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                };
                check.fail(
                    here.clone(),
                    format!(
                        "unknown route `{}`: a policy names one of http.route_templates ({known})",
                        route.escape_debug()
                    ),
                );
            }
            policy.check(&here, check);
        }
    }
}

impl RoutePolicy {
    fn check(&self, at: &KeyPath, check: &mut Checker) {
        let names =
            |check: &mut Checker, key: &str, map: &BTreeMap<String, InputAction>, valid: fn(&str) -> bool| {
                check.at_most_entries(at.key(key), map.len(), limits::MAX_HTTP_LIST);
                for name in map.keys().take(limits::MAX_HTTP_LIST) {
                    if !valid(name) {
                        check.fail(
                            at.key(key).key(name.clone()),
                            format!("`{}` is not a valid {key} name", name.escape_debug()),
                        );
                    }
                }
            };
        names(check, "query", &self.query, |name| !name.is_empty() && name.len() <= limits::MAX_NAME_LENGTH);
        names(check, "form", &self.form, |name| !name.is_empty() && name.len() <= limits::MAX_NAME_LENGTH);
        names(check, "headers", &self.headers, |name| http::HeaderName::from_bytes(name.as_bytes()).is_ok());
        names(check, "cookies", &self.cookies, |name| {
            name == "*" || (!name.is_empty() && name.bytes().all(crate::http_layer::is_cookie_name_byte))
        });
        check.at_most_entries(at.key("json"), self.json.len(), limits::MAX_HTTP_LIST);
        for pointer in self.json.keys().take(limits::MAX_HTTP_LIST) {
            if let Err(message) = parse_pointer(pointer) {
                check.fail(at.key("json").key(pointer.clone()), message);
            }
        }
    }
}
