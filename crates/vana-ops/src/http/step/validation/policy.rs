//! `http.input_policies` resolved once per route: for each location of a request, what a finding does.
//! The most specific entry wins: a named field, the location's `"*"`, the route's `action`, then the same
//! in the default policy.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use http::HeaderName;
use vana_config::{HttpLayer, InputAction, PointerToken, RoutePolicy, parse_pointer};

use super::json_walk::JsonStep;

/// The wildcard entry of a named location.
const ANY: &str = "*";

/// Actions by name, and for every other name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Named {
    pub(crate) default: InputAction,
    by_name: Vec<(Box<str>, InputAction)>,
}

impl Named {
    pub(crate) fn action(&self, name: &str) -> InputAction {
        self.by_name.iter().find(|(known, _)| **known == *name).map_or(self.default, |(_, action)| *action)
    }

    /// Whether any name is looked up (else every name gets `default`).
    pub(crate) fn has_names(&self) -> bool {
        !self.by_name.is_empty()
    }

    /// Whether nothing in this location is validated.
    pub(crate) fn is_off(&self) -> bool {
        self.default == InputAction::Off && self.by_name.iter().all(|(_, action)| *action == InputAction::Off)
    }
}

/// Actions of JSON values by pointer pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonActions {
    pub(crate) default: InputAction,
    pointers: Vec<(Vec<PointerToken>, InputAction)>,
}

impl JsonActions {
    pub(crate) fn has_pointers(&self) -> bool {
        !self.pointers.is_empty()
    }

    /// The action of the value at `path`: the longest pattern that covers it, else `default`.
    pub(crate) fn action(&self, path: &[JsonStep]) -> InputAction {
        self.pointers
            .iter()
            .filter(|(pattern, _)| covers(pattern, path))
            .max_by_key(|(pattern, _)| pattern.len())
            .map_or(self.default, |(_, action)| *action)
    }
}

/// Whether `pattern` points at `path` or at a value that contains it.
fn covers(pattern: &[PointerToken], path: &[JsonStep]) -> bool {
    pattern.len() <= path.len()
        && pattern.iter().zip(path).all(|(token, step)| match (token, step) {
            (PointerToken::Any, _) => true,
            (PointerToken::Exact(expected), JsonStep::Key(key)) => expected == key,
            (PointerToken::Exact(expected), JsonStep::Index(index)) => expected.parse() == Ok(*index),
        })
}

/// What validation does in each location of one route's requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteActions {
    pub(crate) path: InputAction,
    pub(crate) query: Named,
    /// Every header validated on this route, with its action.
    pub(crate) headers: Vec<(HeaderName, InputAction)>,
    pub(crate) cookies: Named,
    pub(crate) form: Named,
    pub(crate) json: JsonActions,
    pub(crate) body: InputAction,
}

impl RouteActions {
    /// `route`'s actions over `default` (`route` is `default` itself for routes without a policy);
    /// `validated_headers` are validated everywhere.
    fn resolve(route: &RoutePolicy, default: &RoutePolicy, validated_headers: &[String]) -> Self {
        let single = |own: Option<InputAction>, fallback: Option<InputAction>| {
            own.or(route.action).or(fallback).or(default.action).unwrap_or(InputAction::Block)
        };
        let route_action = route.action.or(default.action).unwrap_or(InputAction::Block);
        let named = |own: &BTreeMap<String, InputAction>, fallback: &BTreeMap<String, InputAction>| {
            named(own, route.action, fallback, default.action, InputAction::Block)
        };
        // Header names ignore case.
        let lowercase = |map: &BTreeMap<String, InputAction>| -> BTreeMap<String, InputAction> {
            map.iter().map(|(name, action)| (name.to_ascii_lowercase(), *action)).collect()
        };
        let header_actions = named(&lowercase(&route.headers), &lowercase(&default.headers));
        let mut header_names: Vec<&str> = validated_headers.iter().map(String::as_str).collect();
        header_names.extend(route.headers.keys().chain(default.headers.keys()).map(String::as_str));
        let mut headers: Vec<(HeaderName, InputAction)> = Vec::new();
        for name in header_names.into_iter().filter(|name| *name != ANY) {
            // Invalid names are reported by configuration validation; they cannot be in a request anyway.
            let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else { continue };
            if headers.iter().all(|(known, _)| *known != header) {
                headers.push((header, header_actions.action(&name.to_ascii_lowercase())));
            }
        }
        Self {
            path: single(route.path, default.path),
            query: named(&route.query, &default.query),
            headers,
            // Cookies are validated only when named: the route's action does not reach unnamed ones.
            cookies: self::named(&route.cookies, None, &default.cookies, None, InputAction::Off),
            form: named(&route.form, &default.form),
            json: json_actions(&route.json, &default.json, route.action, route_action),
            body: single(route.body, default.body),
        }
    }
}

/// Named actions of one location: the route's names over the default's unless the route settles every
/// other name itself (its `"*"` or its `action`).
fn named(
    own: &BTreeMap<String, InputAction>,
    own_action: Option<InputAction>,
    fallback: &BTreeMap<String, InputAction>,
    fallback_action: Option<InputAction>,
    otherwise: InputAction,
) -> Named {
    let own_default = own.get(ANY).copied().or(own_action);
    let (default, inherited) = match own_default {
        Some(action) => (action, None),
        None => (fallback.get(ANY).copied().or(fallback_action).unwrap_or(otherwise), Some(fallback)),
    };
    let mut by_name: Vec<(Box<str>, InputAction)> = own
        .iter()
        .filter(|(name, _)| *name != ANY)
        .map(|(name, action)| (name.as_str().into(), *action))
        .collect();
    for (name, action) in inherited.into_iter().flatten().filter(|(name, _)| *name != ANY) {
        if by_name.iter().all(|(known, _)| **known != **name) {
            by_name.push((name.as_str().into(), *action));
        }
    }
    Named { default, by_name }
}

fn json_actions(
    own: &BTreeMap<String, InputAction>,
    fallback: &BTreeMap<String, InputAction>,
    own_action: Option<InputAction>,
    route_action: InputAction,
) -> JsonActions {
    let mut entries: BTreeMap<&str, InputAction> = BTreeMap::new();
    if own_action.is_none() {
        entries.extend(fallback.iter().map(|(pointer, action)| (pointer.as_str(), *action)));
    }
    entries.extend(own.iter().map(|(pointer, action)| (pointer.as_str(), *action)));
    let pointers = entries
        .into_iter()
        // Malformed pointers are reported by configuration validation.
        .filter_map(|(pointer, action)| parse_pointer(pointer).ok().map(|tokens| (tokens, action)))
        .collect();
    JsonActions { default: route_action, pointers }
}

/// The actions of every configured route, and of the rest.
#[derive(Debug)]
pub(crate) struct Policies {
    default: Arc<RouteActions>,
    by_route: HashMap<Box<str>, Arc<RouteActions>>,
}

impl Policies {
    pub(crate) fn new(config: &HttpLayer) -> Self {
        let policies = &config.input_policies;
        let default = &policies.default;
        let resolve =
            |route: &RoutePolicy| Arc::new(RouteActions::resolve(route, default, &config.validated_headers));
        Self {
            default: resolve(default),
            by_route: policies
                .routes
                .iter()
                .map(|(route, policy)| (route.as_str().into(), resolve(policy)))
                .collect(),
        }
    }

    /// The actions of requests named `route`.
    pub(crate) fn for_route(&self, route: &str) -> &RouteActions {
        if self.by_route.is_empty() {
            return &self.default;
        }
        self.by_route.get(route).unwrap_or(&self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies(yaml: &str) -> Policies {
        let loaded = vana_config::ConfigLoader::new()
            .document_str(vana_config::Document::Security, "test", yaml)
            .load()
            .unwrap_or_else(|error| panic!("{error}"));
        Policies::new(&loaded.config.security.http)
    }

    const YAML: &str = r#"
http:
  route_templates: ["/run", "/search", "/open"]
  validated_headers: [User-Agent]
  input_policies:
    default:
      action: block
      query: {debug: off}
      headers: {X-Api-Note: detect}
      cookies: {prefs: block}
    routes:
      /run:
        json:
          "/newMessage/parts/*/text": detect
          "/state": off
      /search:
        query: {q: detect}
        headers: {user-agent: off}
      /open:
        action: detect
        path: block
        cookies: {"*": detect}
"#;

    #[test]
    fn the_most_specific_entry_wins() {
        let policies = policies(YAML);
        use InputAction::{Block, Detect, Off};
        let other = policies.for_route("other");
        assert_eq!(
            (other.path, other.query.action("page"), other.query.action("debug")),
            (Block, Block, Off)
        );
        assert_eq!(other.cookies.action("prefs"), Block);
        assert_eq!(other.cookies.action("session"), Off, "cookies only when named");
        assert_eq!(other.headers.len(), 2);

        let search = policies.for_route("/search");
        assert_eq!(
            (search.query.action("q"), search.query.action("page"), search.query.action("debug")),
            (Detect, Block, Off)
        );
        let user_agent = search.headers.iter().find(|(name, _)| name == "user-agent").unwrap();
        assert_eq!(user_agent.1, Off, "a header named in any case");

        let open = policies.for_route("/open");
        assert_eq!(
            (open.path, open.body, open.query.action("debug")),
            (Block, Detect, Detect),
            "the route's action beats the default's names"
        );
        assert_eq!((open.cookies.action("prefs"), open.cookies.action("any")), (Detect, Detect));
    }

    #[test]
    fn json_pointers_cover_values_inside_them_and_the_longest_wins() {
        let policies = policies(YAML);
        let run = &policies.for_route("/run").json;
        use JsonStep::{Index, Key};
        let text = [Key("newMessage".into()), Key("parts".into()), Index(3), Key("text".into())];
        assert_eq!(run.action(&text), InputAction::Detect);
        assert_eq!(
            run.action(&[Key("newMessage".into()), Key("parts".into()), Index(0), Key("code".into())]),
            InputAction::Block
        );
        assert_eq!(run.action(&[Key("state".into()), Key("deep".into()), Index(1)]), InputAction::Off);
        assert_eq!(run.action(&[Key("appName".into())]), InputAction::Block);
        assert_eq!(run.action(&[]), InputAction::Block);
    }

    #[test]
    fn a_numeric_token_is_one_array_index_and_every_cookie_can_be_named_at_once() {
        let yaml = "http:\n  route_templates: [\"/x\"]\n  input_policies:\n    routes:\n      /x:\n        json: {\"/items/0/text\": detect}\n        cookies: {\"*\": detect}\n";
        let policies = policies(yaml);
        let x = policies.for_route("/x");
        use JsonStep::{Index, Key};
        assert_eq!(x.json.action(&[Key("items".into()), Index(0), Key("text".into())]), InputAction::Detect);
        assert_eq!(x.json.action(&[Key("items".into()), Index(1), Key("text".into())]), InputAction::Block);
        assert!(!x.cookies.is_off(), "every cookie is validated");
        assert!(policies.for_route("other").cookies.is_off(), "no cookie named: none validated");
    }
}
