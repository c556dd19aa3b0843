//! End to end: the `vana-ops` binary on loopback, driven by a real HTTP client, in demo mode and in front
//! of an upstream server that the test starts.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, header};
use axum::routing::get;
use reqwest::StatusCode;
use support::{Gateway, client};
use tokio::sync::{Notify, mpsc};

/// Thresholds low enough for `/slow?ms=300` to warn (and far enough above for it never to be critical,
/// however loaded the machine), at once (the default `for` is two minutes), and five requests an hour with
/// a burst of 5: a budget spent in a test is not given back by the clock while the test runs. Three refused
/// attacks block their source.
const SETTINGS: [(&str, &str); 7] = [
    ("VANA_SECURITY__IP_BLOCKING__AUTO_BLOCK_AFTER", "3"),
    ("VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT", "5"),
    ("VANA_SECURITY__RATE_LIMITING__WINDOW_SECONDS", "3600"),
    ("VANA_SECURITY__RATE_LIMITING__BURST_LIMIT", "5"),
    ("VANA_MONITORING__THRESHOLDS__RESPONSE_TIME__WARNING", "0.2"),
    ("VANA_MONITORING__THRESHOLDS__RESPONSE_TIME__CRITICAL", "120"),
    ("VANA_MONITORING__THRESHOLDS__RESPONSE_TIME__FOR_SECONDS", "0"),
];

/// Everything the issue asks of the gateway, in whichever mode it runs.
/// A clean request: correlation id echoed, and in the request's log line.
async fn a_clean_request_is_served_and_logged(gateway: &Gateway) {
    let http = client();
    let get = |path: &str, from: &str| http.get(gateway.url(path)).header("x-forwarded-for", from);

    let response =
        get("/echo?msg=hello", "198.51.100.1").header("x-correlation-id", "e2e-corr-1").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-correlation-id"], "e2e-corr-1");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    assert!(!response.headers().contains_key("server"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["msg"], "hello");
    let line = gateway
        .wait_for_log(&["\"correlation_id\":\"e2e-corr-1\"", "\"route\":\"/echo\""], Duration::from_secs(5));
    let line = line.expect("the request's log line carries the correlation id");
    assert!(line.contains("\"status\":200") && line.contains("\"client\":\"198.51.100.1\""), "{line}");
}

/// The request past the burst: 429 with Retry-After, the rate-limit headers on every response.
async fn the_request_past_the_burst_is_429(gateway: &Gateway) {
    let http = client();
    let get = |path: &str, from: &str| http.get(gateway.url(path)).header("x-forwarded-for", from);

    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response = get("/echo?msg=again", "198.51.100.2").send().await.unwrap();
        assert!(response.headers().contains_key("ratelimit-policy"));
        assert!(response.headers().contains_key("ratelimit"));
        statuses.push((response.status(), response.headers().get("retry-after").cloned()));
    }
    assert!(statuses[..5].iter().all(|(status, _)| *status == StatusCode::OK), "{statuses:?}");
    assert_eq!(statuses[5].0, StatusCode::TOO_MANY_REQUESTS);
    assert!(statuses[5].1.is_some(), "Retry-After on the 429");
}

/// An XSS payload in a query value: 400 naming the category, never echoing, and a security event.
async fn an_xss_payload_is_refused_and_recorded(gateway: &Gateway) {
    let http = client();
    let get = |path: &str, from: &str| http.get(gateway.url(path)).header("x-forwarded-for", from);

    let response = get("/echo?msg=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E", "198.51.100.3")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let text = response.text().await.unwrap();
    assert!(text.contains("\"category\":\"xss\"") && !text.contains("script"), "{text}");
    let unauthorized = http.get(gateway.url("/security/events")).send().await.unwrap();
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    let events = gateway.admin_json("/security/events?type=input_rejected").await;
    let events = events["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|event| event["source_ip"] == "198.51.100.3" && event["details"]["category"] == "xss")
    );
}

/// A blocked address: one refused attack does not block its source, three within ten minutes do.
async fn repeated_attacks_block_their_source(gateway: &Gateway) {
    let http = client();
    let get = |path: &str, from: &str| http.get(gateway.url(path)).header("x-forwarded-for", from);

    let attack = || get("/echo?msg=1%27%20UNION%20SELECT%20password%20FROM%20users--", "203.0.113.5").send();
    assert_eq!(attack().await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(get("/echo?msg=hello", "203.0.113.5").send().await.unwrap().status(), StatusCode::OK);
    for _ in 0..2 {
        assert_eq!(attack().await.unwrap().status(), StatusCode::BAD_REQUEST);
    }
    let blocked = get("/echo?msg=hello", "203.0.113.5").send().await.unwrap();
    assert_eq!(blocked.status(), StatusCode::FORBIDDEN);
    let text = blocked.text().await.unwrap();
    assert!(text.contains("docs/security.md#blocking"), "a 403 says what to do: {text}");
    let health: serde_json::Value =
        http.get(gateway.url("/health")).send().await.unwrap().json().await.unwrap();
    assert!(health["blocked_addresses"].as_u64().unwrap() >= 1, "{health}");
}

/// Unsafe methods: an API client passes with no setup; a browser's cross-site request is refused with
/// what to do; the same page's own request passes.
async fn unsafe_methods_pass_unless_cross_site(gateway: &Gateway) {
    let http = client();

    let post = |from: &str| {
        http.post(gateway.url("/echo"))
            .header("x-forwarded-for", from)
            .header(header::CONTENT_TYPE, "application/json")
            .body(r#"{"note":"a benign note"}"#)
    };
    let accepted = post("198.51.100.4").send().await.unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(accepted.text().await.unwrap(), r#"{"note":"a benign note"}"#);
    let forged = post("198.51.100.4")
        .header("sec-fetch-site", "cross-site")
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let text = forged.text().await.unwrap();
    assert!(text.contains("cross_origin_request") && text.contains("docs/security.md#csrf"), "{text}");
    let own = post("198.51.100.4").header("sec-fetch-site", "same-origin").send().await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
}

/// A slow route past the warning line raises an alert visible on /alerts.
async fn a_slow_route_raises_an_alert(gateway: &Gateway) {
    let http = client();
    let get = |path: &str, from: &str| http.get(gateway.url(path)).header("x-forwarded-for", from);

    assert_eq!(get("/slow?ms=300", "198.51.100.5").send().await.unwrap().status(), StatusCode::OK);
    let alerts: serde_json::Value =
        http.get(gateway.url("/alerts")).send().await.unwrap().json().await.unwrap();
    let active = alerts["active"].as_array().unwrap();
    assert!(
        active.iter().any(|alert| alert["metric"] == "response_time./slow" && alert["level"] == "warning"),
        "{alerts}"
    );
    let health = http.get(gateway.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "degraded is still 200");
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["status"], "degraded");
}

/// /metrics shows the routes, by template.
async fn metrics_show_the_routes_by_template(gateway: &Gateway) {
    let http = client();

    let metrics = http.get(gateway.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(
            "http_server_request_duration_seconds_count{http_route=\"/echo\",http_request_method=\"GET\",http_response_status_code=\"200\"}"
        ),
        "{metrics}"
    );
    assert!(metrics.contains("http_server_request_duration_seconds_bucket{http_route=\"/slow\""));
    // The thresholds' lines (0.2 s and 120 s here) are bucket bounds, so a quantile reads on the line.
    for line in ["0.2", "120"] {
        assert!(metrics.contains(&format!("http_response_status_code=\"200\",le=\"{line}\"}}")), "{metrics}");
    }
}

async fn exercise(gateway: &Gateway) {
    a_clean_request_is_served_and_logged(gateway).await;
    the_request_past_the_burst_is_429(gateway).await;
    an_xss_payload_is_refused_and_recorded(gateway).await;
    repeated_attacks_block_their_source(gateway).await;
    unsafe_methods_pass_unless_cross_site(gateway).await;
    a_slow_route_raises_an_alert(gateway).await;
    metrics_show_the_routes_by_template(gateway).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_does_everything_and_shuts_down_gracefully() {
    let mut gateway = Gateway::start(&[], &SETTINGS);
    exercise(&gateway).await;
    let failing = client().get(gateway.url("/fail")).send().await.unwrap();
    assert_eq!(failing.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(gateway.terminate(Duration::from_secs(10)), "SIGTERM ends the gateway cleanly");
    assert!(
        gateway.wait_for_log(&["shutting down"], Duration::from_secs(2)).is_some(),
        "the last line is flushed before exit"
    );
}

/// A stream's log line comes at its end: its duration reaches the last event, its first byte is the first
/// event's, and it says how many events passed and how it ended; one the client leaves is `client_closed`.
async fn streams_are_timed_to_their_end(gateway: &Gateway) {
    let line = gateway
        .wait_for_log(&["\"route\":\"/events\"", "\"stream_outcome\":\"completed\""], Duration::from_secs(5));
    let line = line.expect("the completed stream's log line");
    let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
    let metadata = &entry["metadata"];
    assert_eq!(metadata["events"], 2, "{line}");
    let (duration, first_byte) =
        (metadata["duration_ms"].as_f64().unwrap(), metadata["first_byte_ms"].as_f64().unwrap());
    assert!(first_byte <= duration, "{line}");
    // Left after its first event: the client went away.
    let mut left = client().get(gateway.url("/events")).send().await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(5), left.chunk()).await.unwrap().unwrap().unwrap();
    assert_eq!(&first[..], b"data: one\n\n");
    drop(left);
    let line = gateway.wait_for_log(
        &["\"route\":\"/events\"", "\"stream_outcome\":\"client_closed\""],
        Duration::from_secs(10),
    );
    let line = line.expect("the abandoned stream's log line");
    assert!(line.contains("\"events\":1"), "{line}");
    let metrics = client().get(gateway.url("/metrics")).send().await.unwrap().text().await.unwrap();
    for outcome in ["completed", "client_closed"] {
        let series = format!("vana_http_streams_total{{http_route=\"/events\",outcome=\"{outcome}\"}} 1");
        assert!(metrics.contains(&series), "{series} in\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_mode_protects_a_service_it_does_not_know() {
    let upstream = Upstream::start();
    let url = format!("http://{}", upstream.address);
    let mut settings = SETTINGS.to_vec();
    settings
        .push(("VANA_SECURITY__HTTP__ROUTE_TEMPLATES", "[\"/echo\", \"/slow\", \"/events\", \"/whoami\"]"));
    settings.push(("VANA_MONITORING__HEALTH__CHECK_INTERVAL_MS", "200"));
    let gateway = Gateway::start(&["--upstream", &url], &settings);
    exercise(&gateway).await;

    // The upstream sees the client chain and the correlation id.
    let whoami = client()
        .get(gateway.url("/whoami"))
        .header("x-forwarded-for", "198.51.100.9")
        .header("x-correlation-id", "e2e-upstream-1")
        .send()
        .await
        .unwrap();
    assert!(!whoami.headers().contains_key("x-powered-by"), "the upstream's framework header is removed");
    assert_eq!(whoami.headers()["x-content-type-options"], "nosniff");
    let whoami: serde_json::Value = whoami.json().await.unwrap();
    assert_eq!(whoami["correlation_id"], "e2e-upstream-1");
    // A client cannot make the id hop-by-hop by naming it in `Connection`.
    let named = client()
        .get(gateway.url("/whoami"))
        .header("x-forwarded-for", "198.51.100.9")
        .header("x-correlation-id", "e2e-upstream-2")
        .header("connection", "keep-alive, X-Correlation-ID")
        .send()
        .await
        .unwrap();
    let named: serde_json::Value = named.json().await.unwrap();
    assert_eq!(named["correlation_id"], "e2e-upstream-2");
    assert_eq!(whoami["forwarded_for"], "198.51.100.9, 127.0.0.1");

    // Server-sent events pass through unbuffered: the first event arrives before the upstream sends the
    // second one, which it only does once the test has seen the first.
    let mut events = client().get(gateway.url("/events")).send().await.unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let first = tokio::time::timeout(Duration::from_secs(5), events.chunk()).await;
    let first = first.expect("the first event arrives while the stream is open").unwrap().unwrap();
    assert_eq!(&first[..], b"data: one\n\n");
    upstream.release_second_event.notify_one();
    let second =
        tokio::time::timeout(Duration::from_secs(5), events.chunk()).await.unwrap().unwrap().unwrap();
    assert_eq!(&second[..], b"data: two\n\n");
    assert!(events.chunk().await.unwrap().is_none(), "the stream ends");
    streams_are_timed_to_their_end(&gateway).await;

    // A dead upstream is a 502, not a hang: once its server has closed (polled), every request gets one.
    // Ready while the upstream answers its probe (every 200 ms here) ...
    assert_eq!(readyz_becomes(&gateway, StatusCode::OK).await, StatusCode::OK);
    drop(upstream);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut status = StatusCode::OK;
    while status != StatusCode::BAD_GATEWAY && tokio::time::Instant::now() < deadline {
        let gone = client().get(gateway.url("/whoami")).header("x-forwarded-for", "198.51.100.10");
        status = gone.send().await.unwrap().status();
    }
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    // ... and unready once it does not, while still live.
    assert_eq!(
        readyz_becomes(&gateway, StatusCode::SERVICE_UNAVAILABLE).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(client().get(gateway.url("/livez")).send().await.unwrap().status(), StatusCode::OK);
}

/// `/readyz`'s status once it is `wanted`, or the last one seen after 20 s.
async fn readyz_becomes(gateway: &Gateway, wanted: StatusCode) -> StatusCode {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = client().get(gateway.url("/readyz")).send().await.unwrap().status();
        if status == wanted || tokio::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_fire_alerts_but_leave_the_probes_up() {
    let gateway = Gateway::start(&[], &[("VANA_MONITORING__THRESHOLDS__RESPONSE_TIME__FOR_SECONDS", "0")]);
    // Twenty requests of 6 s, past the default critical line of 5 s, from addresses of their own.
    let slow: Vec<_> = (0..20u8)
        .map(|n| {
            let request = client()
                .get(gateway.url("/slow?ms=6000"))
                .header("x-forwarded-for", format!("198.51.100.{}", 100 + n));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    for request in slow {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    let health = client().get(gateway.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "health reports, and fails only on configured conditions");
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["status"], "critical", "{health}");
    assert_eq!(client().get(gateway.url("/livez")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(client().get(gateway.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);
}

/// A small service in another language's place: echo, slow, an SSE stream and a header mirror.
struct Upstream {
    address: SocketAddr,
    release_second_event: Arc<Notify>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        // Its own runtime goes with the thread: every connection closes, as when a process dies.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Upstream {
    fn start() -> Upstream {
        let release = Arc::new(Notify::new());
        let app = Self::app(Arc::clone(&release));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
        });
        Upstream { address, release_second_event: release, stop: Some(stop), thread: Some(thread) }
    }

    /// The upstream's routes: `/echo`, `/slow`, `/whoami`, and `/events`, whose second event waits for
    /// `release`; every answer carries a framework header the gateway removes.
    fn app(release: Arc<Notify>) -> Router {
        let for_events = release;
        Router::new()
            .route(
                "/echo",
                get(|query: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                    axum::Json(serde_json::json!({ "msg": query.get("msg").cloned().unwrap_or_default() }))
                })
                .post(|headers: HeaderMap, body: String| async move {
                    let content_type = headers.get(header::CONTENT_TYPE).cloned();
                    (
                        [(
                            header::CONTENT_TYPE,
                            content_type.unwrap_or(header::HeaderValue::from_static("text/plain")),
                        )],
                        body,
                    )
                }),
            )
            .route(
                "/slow",
                get(|query: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                    let ms = query.get("ms").and_then(|ms| ms.parse().ok()).unwrap_or(0u64).min(2000);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    "slept"
                }),
            )
            .route(
                "/whoami",
                get(|headers: HeaderMap| async move {
                    let text =
                        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    axum::Json(serde_json::json!({
                        "correlation_id": text("x-correlation-id"),
                        "forwarded_for": text("x-forwarded-for"),
                    }))
                }),
            )
            .route(
                "/events",
                get(move || {
                    let release = Arc::clone(&for_events);
                    async move {
                        let (sender, receiver) = mpsc::channel(2);
                        tokio::spawn(async move {
                            let _ = sender.send("data: one\n\n").await;
                            release.notified().await;
                            let _ = sender.send("data: two\n\n").await;
                        });
                        ([(header::CONTENT_TYPE, "text/event-stream")], Body::new(ChannelBody(receiver)))
                    }
                }),
            )
            .layer(axum::middleware::from_fn(framework_header))
    }
}

/// A typical framework header on every answer, which the gateway removes.
async fn framework_header(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert("x-powered-by", header::HeaderValue::from_static("upstream/1.0"));
    response
}

/// A streaming body fed by a channel: each message is sent as soon as it is produced.
struct ChannelBody(mpsc::Receiver<&'static str>);

impl http_body::Body for ChannelBody {
    type Data = bytes::Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|message| message.map(|text| Ok(http_body::Frame::data(bytes::Bytes::from(text)))))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operational_endpoints_can_move_under_a_prefix() {
    let gateway = Gateway::start(&["--ops-prefix", "/_vana"], &[]);
    let http = client();
    let moved = http.get(gateway.url("/_vana/health")).send().await.unwrap();
    assert_eq!(moved.status(), StatusCode::OK);
    let metrics = http.get(gateway.url("/_vana/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("# TYPE"), "{metrics}");
    // The old path is now the application's (the demo has none there: 404 through the layer).
    let old = http.get(gateway.url("/health")).send().await.unwrap();
    assert_eq!(old.status(), StatusCode::NOT_FOUND);
    assert!(old.headers().contains_key("x-correlation-id"), "the application's 404 went through the layer");
}

#[tokio::test]
async fn addresses_of_one_ipv6_64_share_a_budget() {
    let gateway = Gateway::start(&[], &SETTINGS);
    let http = client();
    let status = |from: &'static str| {
        let request = http.get(gateway.url("/echo?msg=hi")).header("x-forwarded-for", from);
        async move { request.send().await.unwrap().status() }
    };
    // The budget is five: three from one address and two from another of the same /64 spend it.
    for from in
        ["2001:db8:5:5::1", "2001:db8:5:5::1", "2001:db8:5:5::1", "2001:db8:5:5:ffff::2", "2001:db8:5:5::3"]
    {
        assert_eq!(status(from).await, StatusCode::OK, "{from}");
    }
    assert_eq!(
        status("2001:db8:5:5:1234::9").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the /64's budget is spent"
    );
    assert_eq!(status("2001:db8:5:6::1").await, StatusCode::OK, "the next /64 has its own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unblock_lifts_a_block_in_the_running_gateway() {
    let gateway = Gateway::start(&[], &[("VANA_SECURITY__IP_BLOCKING__AUTO_BLOCK_AFTER", "2")]);
    let http = client();
    let from = |request: reqwest::RequestBuilder| request.header("x-forwarded-for", "203.0.113.77");
    for _ in 0..2 {
        let attack =
            from(http.get(gateway.url("/echo?msg=1%27%20UNION%20SELECT%20password%20FROM%20users--")));
        assert_eq!(attack.send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        from(http.get(gateway.url("/echo?msg=hi"))).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vana-ops"))
        .args(["unblock", "--gateway", &gateway.base, "203.0.113.77"])
        .env("VANA_ADMIN_TOKEN", support::ADMIN_TOKEN)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{said}{}", String::from_utf8_lossy(&output.stderr));
    assert!(said.contains("unblocked 203.0.113.77"), "{said}");
    assert_eq!(from(http.get(gateway.url("/echo?msg=hi"))).send().await.unwrap().status(), StatusCode::OK);
}
