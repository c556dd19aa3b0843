//! The operational endpoints under hostile clients, over real sockets: behind the blocklist, with security
//! headers, a request log line and a rate limit of their own; failed admin logins recorded and, repeated,
//! blocked; `/metrics` behind a bearer token when one is set; the endpoints on a listener of their own.

mod support;

use reqwest::StatusCode;
use support::{ADMIN_TOKEN, Gateway, client};

const ATTACK: &str = "/echo?msg=1%27%20UNION%20SELECT%20password%20FROM%20users--";

#[tokio::test]
async fn endpoints_stand_behind_the_blocklist_with_headers_logs_and_their_own_limit() {
    let gateway = Gateway::start(
        &[],
        &[
            ("VANA_SECURITY__IP_BLOCKING__AUTO_BLOCK_AFTER", "2"),
            ("VANA_SECURITY__HTTP__OPS_RATE_LIMIT", "3"),
            ("VANA_METRICS_TOKEN", "a-metrics-token-for-prometheus"),
        ],
    );
    let http = client();
    let from = |path: &str, address: &str| http.get(gateway.url(path)).header("x-forwarded-for", address);

    // A scrape with the metrics token gets the text with security headers and leaves a request line.
    let scrape = from("/metrics", "198.51.100.20").bearer_auth("a-metrics-token-for-prometheus").send().await;
    let scrape = scrape.unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    assert_eq!(scrape.headers()["x-content-type-options"], "nosniff");
    assert!(
        gateway
            .wait_for_log(&["\"route\":\"/metrics\"", "198.51.100.20"], std::time::Duration::from_secs(20))
            .is_some()
    );
    // Without it, or with a wrong one, 401; the scheme's name in any case is fine.
    assert_eq!(from("/metrics", "198.51.100.21").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let lowercase =
        from("/metrics", "198.51.100.22").header("authorization", "bearer a-metrics-token-for-prometheus");
    assert_eq!(lowercase.send().await.unwrap().status(), StatusCode::OK);

    // Their own budget: three a minute here, the service's untouched.
    for _ in 0..3 {
        assert_eq!(from("/livez", "198.51.100.23").send().await.unwrap().status(), StatusCode::OK);
    }
    assert_eq!(from("/livez", "198.51.100.23").send().await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(from("/echo?msg=hi", "198.51.100.23").send().await.unwrap().status(), StatusCode::OK);

    // A blocked address gets 403 on the endpoints too.
    for _ in 0..2 {
        assert_eq!(from(ATTACK, "203.0.113.30").send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    }
    let metrics = from("/metrics", "203.0.113.30").bearer_auth("a-metrics-token-for-prometheus").send().await;
    assert_eq!(metrics.unwrap().status(), StatusCode::FORBIDDEN);

    // Wrong admin tokens are recorded, and repeated ones block their source.
    for _ in 0..2 {
        let guess = from("/security/events", "203.0.113.31").bearer_auth("not-the-admin-token-at-all");
        assert_eq!(guess.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
    let guess = from("/security/events", "203.0.113.31").bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(guess.status(), StatusCode::FORBIDDEN, "blocked after the second failure");
    let events = from("/security/events?type=admin_auth_failed", "198.51.100.24").bearer_auth(ADMIN_TOKEN);
    let events: serde_json::Value = events.send().await.unwrap().json().await.unwrap();
    let failures = events["events"].as_array().unwrap();
    assert_eq!(failures.len(), 2, "{events}");
    assert_eq!(failures[0]["source_ip"], "203.0.113.31");
}

#[tokio::test]
async fn endpoints_can_have_a_listener_of_their_own() {
    let gateway = Gateway::start(&[], &[("VANA_SECURITY__HTTP__OPS_LISTEN", "127.0.0.1:0")]);
    let ops_base = gateway.ops_base.clone().expect("the endpoints' listener is announced");
    let http = client();
    assert_eq!(http.get(format!("{ops_base}/livez")).send().await.unwrap().status(), StatusCode::OK);
    let metrics = http.get(format!("{ops_base}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    // The service's listener has no endpoints: the demo application answers its own 404.
    assert_eq!(http.get(gateway.url("/metrics")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(http.get(gateway.url("/echo?msg=hi")).send().await.unwrap().status(), StatusCode::OK);
}
