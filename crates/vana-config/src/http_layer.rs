//! `http` in `security_policies.yaml`: the steps of the HTTP layer and where it finds what it checks.

use serde::{Deserialize, Serialize};

use crate::checks::Checker;
use crate::key_path::KeyPath;
use crate::limits;

/// The rate-limit headers of `http.rate_limit_headers`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RateLimitHeaders {
    /// `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers).
    Ietf,
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`.
    Legacy,
    /// Both.
    Both,
}

/// `http`: which steps of the HTTP layer run, and their settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct HttpLayer {
    /// Refuse requests from blocked addresses (403).
    pub block_addresses: bool,
    /// Rate-limit each client address (429); `X-RateLimit-*` headers on every response.
    pub rate_limit: bool,
    /// Validate the path, query values, the headers below and form/JSON/text bodies (400).
    pub validate_input: bool,
    /// Add the configured security headers and remove `Server` and `X-Powered-By`.
    pub security_headers: bool,
    /// Echo the correlation id on responses and pass it to the inner service (the id names the request's
    /// span and log line either way).
    pub correlation_id: bool,
    /// One log line per request.
    pub access_log: bool,
    /// Each request's duration in the `response_time.<route>` metric, tagged with the method and status
    /// code (exported as `http_server_request_duration_seconds`).
    pub route_metrics: bool,
    /// The live dashboard at `<ops prefix>/dashboard` (behind the admin token; loopback only without one).
    pub dashboard: bool,
    /// Largest request body accepted, in bytes (413 past it); bodies are read up to it to be validated.
    pub max_body_bytes: u64,
    /// Request headers whose values carry user data and are validated.
    pub validated_headers: Vec<String>,
    /// Path prefixes whose input is not validated (fields that legitimately carry code or markup).
    pub validation_exempt_paths: Vec<String>,
    /// The request header that carries a CSRF token.
    pub csrf_header: String,
    /// The form field that carries a CSRF token.
    pub csrf_form_field: String,
    /// The cookie that carries the session id a CSRF token is bound to.
    pub session_cookie: String,
    /// `GET` here returns a CSRF token (and sets the session cookie when absent).
    pub csrf_token_path: String,
    /// Path prefixes where unsafe methods need no CSRF token (machine-to-machine APIs).
    pub csrf_exempt_paths: Vec<String>,
    /// Route templates (`/agents/{id}`) that name requests in metrics and logs when the inner service does
    /// not (the gateway in front of an upstream); a path that matches none is named `other`.
    pub route_templates: Vec<String>,
    /// What validation does with a finding, by route template and location (`block`, `detect`, `off`).
    pub input_policies: crate::input_policy::InputPolicies,
    /// What single routes do differently, by route template: their own body cap, security headers over
    /// the global ones.
    pub route_settings: std::collections::BTreeMap<String, crate::route_settings::RouteSettings>,
    /// Token budgets by name: so many tokens per window for each identity a route's `ai_operation.budgets`
    /// names; past it, the identity's next requests are 429 until the budget has room again.
    pub token_budgets: std::collections::BTreeMap<String, crate::ai_operation::TokenBudget>,
    /// Most identities whose spending this instance tracks in memory (with Redis, while it is away).
    pub max_budget_identities: u64,
    /// Where `vana-ops serve` mounts `/metrics`, `/health`, `/alerts` and `/security/*` (`/_vana`), so the
    /// upstream's own paths of those names stay reachable; empty: at the root.
    pub ops_prefix: String,
    /// `vana-ops serve`: a client must send a request's headers within this many milliseconds, and a
    /// kept-alive connection waits this long for the next request before it is closed.
    pub header_read_timeout_ms: u64,
    /// The longest the layer waits for a body it reads (to validate it), in milliseconds; 408 past it.
    pub body_read_timeout_ms: u64,
    /// `vana-ops serve`: most connections open at once; past it, new ones get 503 and are closed.
    pub max_connections: u64,
    /// `vana-ops serve`: most connections open at once from one client network (trusted proxies excepted).
    pub max_connections_per_client: u64,
    /// Most bytes a compressed request body may decode to per byte sent (a decompression bomb is refused
    /// with 413 at this ratio or at `max_body_bytes`, whichever comes first).
    pub max_decompression_ratio: u64,
    /// Identical refusals (same client network, same status) within this many milliseconds are logged
    /// once and then counted into one summary line; 0 logs every one.
    pub refusal_log_window_ms: u64,
    /// Which rate-limit headers responses carry: `ietf` (`RateLimit` and `RateLimit-Policy`, the IETF
    /// httpapi draft), `legacy` (`X-RateLimit-Limit`, `-Remaining`, `-Reset`) or `both`.
    pub rate_limit_headers: RateLimitHeaders,
    /// Requests a minute per client network to the operational endpoints (`/metrics`, `/health`, ...), a
    /// budget apart from the service's.
    pub ops_rate_limit: u64,
    /// `vana-ops serve`: serve the operational endpoints only on this address (`127.0.0.1:9090`), not on the
    /// service's; empty: on the service's, under `ops_prefix`.
    pub ops_listen: String,
    /// `vana-ops serve --upstream`: a WebSocket session through the gateway that moves nothing either way for
    /// this many milliseconds is closed.
    pub websocket_idle_timeout_ms: u64,
    /// A server-sent event stream that sends nothing for this many milliseconds is ended (its outcome is
    /// `idle_timeout`): an upstream stuck mid-answer does not hold the client forever.
    pub stream_idle_timeout_ms: u64,
    /// `vana-ops serve`: after SIGTERM or SIGINT, requests in flight get this many milliseconds to finish;
    /// connections still open then are closed.
    pub shutdown_timeout_ms: u64,
}

impl Default for HttpLayer {
    fn default() -> Self {
        Self {
            block_addresses: true,
            rate_limit: true,
            validate_input: true,
            security_headers: true,
            correlation_id: true,
            access_log: true,
            route_metrics: true,
            dashboard: true,
            max_body_bytes: 1024 * 1024,
            validated_headers: vec!["User-Agent".into(), "Referer".into()],
            validation_exempt_paths: Vec::new(),
            csrf_header: "X-CSRF-Token".into(),
            csrf_form_field: "csrf_token".into(),
            session_cookie: "vana_session".into(),
            csrf_token_path: "/csrf-token".into(),
            csrf_exempt_paths: Vec::new(),
            route_templates: Vec::new(),
            input_policies: crate::input_policy::InputPolicies::default(),
            route_settings: std::collections::BTreeMap::new(),
            token_budgets: std::collections::BTreeMap::new(),
            max_budget_identities: 100_000,
            ops_prefix: String::new(),
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 30_000,
            max_connections: 10_000,
            max_connections_per_client: 100,
            shutdown_timeout_ms: 10_000,
            websocket_idle_timeout_ms: 300_000,
            stream_idle_timeout_ms: 300_000,
            max_decompression_ratio: 100,
            rate_limit_headers: RateLimitHeaders::Ietf,
            refusal_log_window_ms: 10_000,
            ops_rate_limit: 600,
            ops_listen: String::new(),
        }
    }
}

impl HttpLayer {
    pub(crate) fn check(&self, at: &KeyPath, check: &mut Checker) {
        self.check_names(at, check);
        self.check_limits(at, check);
    }

    /// Header, field and cookie names, paths, route templates and what names routes.
    fn check_names(&self, at: &KeyPath, check: &mut Checker) {
        check.positive_at_most(
            at.key("max_body_bytes"),
            self.max_body_bytes,
            limits::MAX_BODY_BYTES,
            "bytes",
        );
        check.each(
            &at.key("validated_headers"),
            &self.validated_headers,
            limits::MAX_HTTP_LIST,
            |c, at, name| header_name(c, at, name),
        );
        header_name(check, at.key("csrf_header"), &self.csrf_header);
        let field = &self.csrf_form_field;
        if field.is_empty() || field.len() > limits::MAX_NAME_LENGTH {
            check.fail(at.key("csrf_form_field"), "must be a non-empty field name of at most 200 bytes");
        }
        let cookie = &self.session_cookie;
        if cookie.is_empty() || !cookie.bytes().all(is_cookie_name_byte) {
            check.fail(
                at.key("session_cookie"),
                format!("`{}` is not a valid cookie name", cookie.escape_debug()),
            );
        }
        path(check, at.key("csrf_token_path"), &self.csrf_token_path);
        check.each(
            &at.key("validation_exempt_paths"),
            &self.validation_exempt_paths,
            limits::MAX_HTTP_LIST,
            |c, at, p| path(c, at, p),
        );
        check.each(
            &at.key("csrf_exempt_paths"),
            &self.csrf_exempt_paths,
            limits::MAX_HTTP_LIST,
            |c, at, p| path(c, at, p),
        );
        check.each(&at.key("route_templates"), &self.route_templates, limits::MAX_HTTP_LIST, |c, at, t| {
            route_template(c, at, t)
        });
        self.input_policies.check(&at.key("input_policies"), &self.route_templates, check);
        crate::route_settings::check(
            &self.route_settings,
            &self.route_templates,
            &self.token_budgets,
            &at.key("route_settings"),
            check,
        );
        self.check_budgets(at, check);
        if !self.ops_prefix.is_empty() {
            path(check, at.key("ops_prefix"), &self.ops_prefix);
        }
    }

    /// The token budgets and the identities they track.
    fn check_budgets(&self, at: &KeyPath, check: &mut Checker) {
        let budgets = at.key("token_budgets");
        check.at_most_entries(budgets.clone(), self.token_budgets.len(), limits::MAX_HTTP_LIST);
        for (name, budget) in self.token_budgets.iter().take(limits::MAX_HTTP_LIST) {
            check.name(budgets.key(name.clone()), name, b"", "a budget name");
            budget.check(&budgets.key(name.clone()), check);
        }
        check.positive_at_most(
            at.key("max_budget_identities"),
            self.max_budget_identities,
            limits::MAX_TABLE_ENTRIES,
            "identities",
        );
    }

    /// Timeouts, connection caps, ratios and the endpoints' own settings.
    fn check_limits(&self, at: &KeyPath, check: &mut Checker) {
        for (key, value) in [
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("body_read_timeout_ms", self.body_read_timeout_ms),
            ("shutdown_timeout_ms", self.shutdown_timeout_ms),
            ("websocket_idle_timeout_ms", self.websocket_idle_timeout_ms),
            ("stream_idle_timeout_ms", self.stream_idle_timeout_ms),
        ] {
            check.positive_at_most(at.key(key), value, limits::MAX_SECONDS * 1000, "milliseconds");
        }
        check.positive_at_most(
            at.key("max_connections"),
            self.max_connections,
            limits::MAX_CONNECTIONS,
            "connections",
        );
        check.positive_at_most(
            at.key("max_connections_per_client"),
            self.max_connections_per_client,
            self.max_connections.clamp(1, limits::MAX_CONNECTIONS),
            "connections (at most max_connections)",
        );
        if self.refusal_log_window_ms > limits::MAX_SECONDS * 1000 {
            check.fail(at.key("refusal_log_window_ms"), "must be at most 30 days in milliseconds (0: off)");
        }
        check.positive_at_most(
            at.key("max_decompression_ratio"),
            self.max_decompression_ratio,
            1_000_000,
            "times",
        );
        check.positive_at_most(
            at.key("ops_rate_limit"),
            self.ops_rate_limit,
            u32::MAX.into(),
            "requests a minute",
        );
        if !self.ops_listen.is_empty() && self.ops_listen.parse::<std::net::SocketAddr>().is_err() {
            check.fail(
                at.key("ops_listen"),
                format!(
                    "`{}` is not an address and port such as 127.0.0.1:9090",
                    self.ops_listen.escape_debug()
                ),
            );
        }
    }
}

fn header_name(check: &mut Checker, at: KeyPath, name: &str) {
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        check.fail(at, format!("`{}` is not a valid HTTP header name", name.escape_debug()));
    }
}

fn path(check: &mut Checker, at: KeyPath, path: &str) {
    if !path.starts_with('/') || path.len() > limits::MAX_NAME_LENGTH || path.chars().any(char::is_whitespace)
    {
        check.fail(
            at,
            format!(
                "`{}` must be a path starting with `/`, without spaces, of at most 200 bytes",
                path.escape_debug()
            ),
        );
    }
}

/// A template is a path whose segments may be `{name}` (one segment) or, last, `{*name}` (the rest).
fn route_template(check: &mut Checker, at: KeyPath, template: &str) {
    let before = check.problems.len();
    path(check, at.clone(), template);
    if check.problems.len() > before {
        return;
    }
    let segments: Vec<&str> = template[1..].split('/').collect();
    for (index, segment) in segments.iter().enumerate() {
        let is_param = segment.starts_with('{') && segment.ends_with('}') && segment.len() > 2;
        let name = if is_param { &segment[1..segment.len() - 1] } else { "" };
        let catch_all = is_param && name.starts_with('*');
        let bad = if is_param {
            let name = name.trim_start_matches('*');
            name.is_empty()
                || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                || (catch_all && index + 1 != segments.len())
        } else {
            segment.contains(['{', '}'])
        };
        if bad {
            check.fail(
                at,
                format!(
                    "segment `{}` of `{}`: write a parameter as a whole segment, `{{name}}`, or `{{*name}}` last",
                    segment.escape_debug(),
                    template.escape_debug()
                ),
            );
            return;
        }
    }
}

pub(crate) fn is_cookie_name_byte(byte: u8) -> bool {
    byte.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&byte)
}
