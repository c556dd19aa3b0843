//! The operational endpoints in process: `/health`'s status codes, `/security/events` and its filters,
//! and where the admin token comes from.

#![cfg(feature = "http")]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vana_ops::security::{SecurityEvent, Severity};
use vana_ops::{AdminToken, Ops, endpoints};

const TOKEN: &str = "a-long-enough-admin-token";

fn quiet() -> Ops {
    Ops::builder_from_embedded_defaults().install_logging(false).start_collector(false).build().unwrap()
}

async fn get(router: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, serde_json::Value) {
    send(router, "GET", uri, token).await
}

#[tokio::test]
async fn health_reports_alerts_and_fails_only_on_the_configured_ones_while_probes_stay_up() {
    // Alerts at once, resolved at once: this test is about /health, not about hold times.
    let yaml = "alerting:\n  keep_firing_seconds: 0\nthresholds:\n  queue:\n    metric: \"queue.depth\"\n    warning: 10\n    critical: 20\n    for_seconds: 0\n  latency:\n    metric: \"latency.*\"\n    warning: 1\n    critical: 2\n    for_seconds: 0\nhealth:\n  critical_thresholds: [queue]\n";
    let loaded = vana_ops::config::ConfigLoader::new()
        .document_str(vana_ops::config::Document::Monitoring, "test", yaml)
        .load()
        .unwrap();
    let ops = Ops::builder(loaded).install_logging(false).start_collector(false).build().unwrap();
    let router = endpoints(&ops, None);
    // A critical alert of a threshold not named in critical_thresholds is reported, and /health stays 200.
    ops.monitor().record_metric("latency.run", 9.0, "s", &[]);
    for (value, status, word) in [
        (1.0, StatusCode::OK, "critical"),
        (15.0, StatusCode::OK, "critical"),
        (25.0, StatusCode::SERVICE_UNAVAILABLE, "critical"),
        (1.0, StatusCode::OK, "critical"),
    ] {
        ops.monitor().record_metric("queue.depth", value, "jobs", &[]);
        let (got, body) = get(&router, "/health", None).await;
        assert_eq!((got, body["status"].as_str().unwrap()), (status, word), "{value}");
        // Liveness and readiness never follow alerts.
        assert_eq!(get(&router, "/livez", None).await.0, StatusCode::OK);
        assert_eq!(get(&router, "/readyz", None).await.0, StatusCode::OK);
    }
    ops.monitor().record_metric("latency.run", 0.1, "s", &[]);
    assert_eq!(get(&router, "/health", None).await.1["status"], "ok");
}

#[tokio::test]
async fn readiness_follows_the_reported_checks() {
    let ops = quiet();
    let router = endpoints(&ops, None);
    let (status, body) = get(&router, "/readyz", None).await;
    assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("ready")), "{body}");
    ops.report_readiness("upstream", false, "/health: unreachable");
    let (status, body) = get(&router, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let upstream =
        body["checks"].as_array().unwrap().iter().find(|check| check["name"] == "upstream").unwrap();
    assert_eq!((&upstream["ready"], &upstream["detail"]), (&false.into(), &"/health: unreachable".into()));
    ops.report_readiness("upstream", true, "/health answered 200 OK");
    assert_eq!(get(&router, "/readyz", None).await.0, StatusCode::OK);
    assert_eq!(get(&router, "/livez", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn security_events_are_filtered_by_type_severity_and_limit() {
    let ops = quiet();
    let router = endpoints(&ops, AdminToken::new(TOKEN));
    for (kind, severity) in [
        ("input_rejected", Severity::Critical),
        ("rate_limited", Severity::Low),
        ("input_rejected", Severity::High),
        ("csrf_token_invalid", Severity::Medium),
    ] {
        ops.security().events().record(SecurityEvent::new(kind, severity, None));
    }
    let events = |body: &serde_json::Value| -> Vec<(String, String)> {
        body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| {
                (event["event_type"].as_str().unwrap().into(), event["severity"].as_str().unwrap().into())
            })
            .collect()
    };
    let (status, all) = get(&router, "/security/events", Some(TOKEN)).await;
    assert_eq!((status, events(&all).len()), (StatusCode::OK, 4));
    assert_eq!(all["counts"].as_array().unwrap().len(), 4, "one count per type and severity");
    let (_, typed) = get(&router, "/security/events?type=input_rejected", Some(TOKEN)).await;
    assert_eq!(
        events(&typed),
        [("input_rejected".into(), "high".into()), ("input_rejected".into(), "critical".into())]
    );
    let (_, severe) = get(&router, "/security/events?min_severity=high", Some(TOKEN)).await;
    assert!(events(&severe).iter().all(|(_, severity)| severity == "high" || severity == "critical"));
    assert_eq!(events(&severe).len(), 2);
    let (_, limited) = get(&router, "/security/events?limit=1", Some(TOKEN)).await;
    assert_eq!(events(&limited), [("csrf_token_invalid".into(), "medium".into())], "newest first");
    let (status, error) = get(&router, "/security/events?min_severity=urgent", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["error"].as_str().unwrap().contains("low, medium, high or critical"));
    assert_eq!(
        get(&router, "/security/events", Some("a-wrong-token-of-length")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(&router, "/security/events", None).await.0, StatusCode::UNAUTHORIZED);
    let without_token = endpoints(&ops, None);
    assert_eq!(get(&without_token, "/security/events", Some(TOKEN)).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_admin_token_comes_from_a_variable_or_the_first_line_of_a_file() {
    let dir = std::env::temp_dir().join(format!("vana-admin-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("token");
    std::fs::write(&path, format!("{TOKEN}\nignored second line\n")).unwrap();
    let file = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |name: &str| (name == vana_ops::ADMIN_TOKEN_FILE_ENV).then(|| path.clone())
    };
    let from_file = AdminToken::from_vars(file(&path)).unwrap().expect("a token");
    let ops = quiet();
    let router = endpoints(&ops, Some(from_file));
    assert_eq!(get(&router, "/security/events", Some(TOKEN)).await.0, StatusCode::OK);
    assert_eq!(
        get(&router, "/security/events", Some("ignored second line")).await.0,
        StatusCode::UNAUTHORIZED
    );
    // None configured: the route is off. Unreadable or short: an error that shows no token.
    assert!(AdminToken::from_vars(|_| None).unwrap().is_none());
    let missing = AdminToken::from_vars(file(&dir.join("absent"))).unwrap_err();
    assert!(missing.to_string().contains("VANA_ADMIN_TOKEN_FILE"), "{missing}");
    let short = AdminToken::from_vars(|name| (name == vana_ops::ADMIN_TOKEN_ENV).then(|| "short".to_owned()));
    assert!(matches!(short, Err(vana_ops::OpsError::AdminTokenTooShort { min_bytes: 16 })), "{short:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn send(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn blocks_are_listed_and_lifted_with_the_admin_token() {
    let ops = quiet();
    let closed = endpoints(&ops, None);
    assert_eq!(send(&closed, "GET", "/security/blocks", Some(TOKEN)).await.0, StatusCode::NOT_FOUND);
    let router = endpoints(&ops, AdminToken::new(TOKEN));
    assert_eq!(send(&router, "GET", "/security/blocks", None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(&router, "DELETE", "/security/blocks/192.0.2.7", Some("wrong-token-but-long")).await.0,
        StatusCode::UNAUTHORIZED
    );
    ops.security().block_ip("192.0.2.7".parse().unwrap(), "five refused attacks");
    ops.security().block_ip("2001:db8::7".parse().unwrap(), "five refused attacks");
    let (status, listed) = send(&router, "GET", "/security/blocks", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    let addresses: Vec<&str> =
        listed["blocks"].as_array().unwrap().iter().map(|block| block["address"].as_str().unwrap()).collect();
    assert_eq!(addresses.len(), 2, "{listed}");
    assert!(addresses.contains(&"192.0.2.7") && addresses.contains(&"2001:db8::/64"), "{addresses:?}");
    assert_eq!(listed["blocks"][0]["reason"], "five refused attacks");
    // Any address of the blocked /64, or the network as listed, lifts it.
    let (status, lifted) = send(&router, "DELETE", "/security/blocks/2001:db8::1234", Some(TOKEN)).await;
    assert_eq!((status, &lifted["was_blocked"]), (StatusCode::OK, &serde_json::Value::Bool(true)));
    assert!(!ops.security().blocklist().is_blocked("2001:db8::7".parse().unwrap()));
    let (_, again) = send(&router, "DELETE", "/security/blocks/2001:db8::%2F64", Some(TOKEN)).await;
    assert_eq!(again["was_blocked"], false);
    let (status, bad) = send(&router, "DELETE", "/security/blocks/not-an-address", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let events = ops.security().events().query(&Default::default());
    assert!(events.iter().any(|event| event.event_type == "ip_unblocked"));
}
