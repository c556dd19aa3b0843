//! Two gateways behind one Redis (Debian's `redis-server` on a free loopback port, no persistence): one
//! limit for both, a block made by one holds on the other and is lifted on both from either (the admin
//! API, `vana-ops unblock`), Redis killed mid-test and restarted.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use support::{ADMIN_TOKEN, Gateway, as_env, client, fleet_settings};
use vana_testkit::RedisServer;

/// How many of `count` requests from `client_address`, alternating between the gateways, were admitted.
async fn admitted(gateways: &[&Gateway], client_address: &str, count: usize) -> usize {
    let http = client();
    let mut admitted = 0;
    for n in 0..count {
        let gateway = gateways[n % gateways.len()];
        let response = http
            .get(gateway.url("/echo?msg=hi"))
            .header("x-forwarded-for", client_address)
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::OK => admitted += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_share_limits_and_blocks_and_survive_a_redis_outage() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let prefix = format!("fleet{}:", std::process::id());
    // The test is about sharing, not timeouts: a slow round trip on a loaded machine must not fall back to
    // local state (a stopped Redis refuses connections at once, so the outage stays quick).
    let owned = fleet_settings(&url, &prefix, "5000", "100");
    let settings = as_env(&owned);
    let a = Gateway::start(&[], &settings);
    let b = Gateway::start(&[], &settings);

    // Together they admit what one limit promises, not twice that.
    assert_eq!(admitted(&[&a, &b], "198.51.100.1", 10).await, 5);

    blocks_are_shared_and_lifted(&a, &b, &settings).await;
    redis.stop();
    an_outage_falls_back_and_the_return_restores_the_shared_limit(&mut redis, &a, &b).await;
}

/// One refused attack blocks nobody; three through one gateway block the source on both; a block lifted
/// through either gateway's admin API, or by `vana-ops unblock` against Redis, is lifted on both.
async fn blocks_are_shared_and_lifted(a: &Gateway, b: &Gateway, settings: &[(&str, &str)]) {
    let http = client();
    let status = |gateway: &Gateway, path: &str, from: &str| {
        let request = http.get(gateway.url(path)).header("x-forwarded-for", from);
        async move { request.send().await.unwrap().status() }
    };
    let attack = "/echo?msg=1%27%20UNION%20SELECT%20password%20FROM%20users--";
    assert_eq!(status(a, attack, "203.0.113.5").await, StatusCode::BAD_REQUEST);
    assert_eq!(status(b, "/echo?msg=hi", "203.0.113.5").await, StatusCode::OK, "one refusal does not block");
    for _ in 0..2 {
        assert_eq!(status(a, attack, "203.0.113.5").await, StatusCode::BAD_REQUEST);
    }
    // b remembers its "not blocked" answer for block_cache_ms (100 here).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(b, "/echo?msg=hi", "203.0.113.5").await, StatusCode::FORBIDDEN);
    let blocks = b.admin_json("/security/blocks").await;
    assert_eq!(blocks["blocks"][0]["address"], "203.0.113.5", "{blocks}");

    // Lifted through the other gateway's admin API: both admit it once their cached answer (block_cache_ms,
    // 100 here) is stale, the gateway that made the block included.
    let lifted =
        http.delete(b.url("/security/blocks/203.0.113.5")).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(lifted.status(), StatusCode::OK);
    assert_eq!(lifted.json::<serde_json::Value>().await.unwrap()["was_blocked"], true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(a, "/echo?msg=hi", "203.0.113.5").await, StatusCode::OK);

    // ... and through `vana-ops unblock` against the same Redis.
    for _ in 0..3 {
        assert_eq!(status(a, attack, "203.0.113.6").await, StatusCode::BAD_REQUEST);
    }
    assert_eq!(status(b, "/echo?msg=hi", "203.0.113.6").await, StatusCode::FORBIDDEN);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_vana-ops"))
        .args(["unblock", "203.0.113.6"])
        .envs(settings.iter().copied())
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && printed.contains("unblocked 203.0.113.6"), "{printed}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(a, "/echo?msg=hi", "203.0.113.6").await, StatusCode::OK);
    assert_eq!(status(b, "/echo?msg=hi", "203.0.113.6").await, StatusCode::OK);
}

/// Redis dies: with the default local_fallback each gateway limits on its own, no request hangs (the
/// client's 20 s timeout would fail the test), and health says degraded; Redis returns: the shared limit
/// applies again, without a restart of the gateways.
async fn an_outage_falls_back_and_the_return_restores_the_shared_limit(
    redis: &mut RedisServer,
    a: &Gateway,
    b: &Gateway,
) {
    let http = client();
    assert_eq!(admitted(&[a], "198.51.100.2", 8).await, 5, "the local burst holds on gateway a");
    assert_eq!(admitted(&[b], "198.51.100.2", 8).await, 5, "and separately on gateway b");
    let health: serde_json::Value = http.get(a.url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["backend"]["available"], false);
    assert!(health["backend"]["fallbacks"].as_u64().unwrap() >= 8);

    redis.restart();
    for gateway in [a, b] {
        assert!(backend_comes_back(gateway).await, "the gateway uses Redis again within 20 s");
    }
    assert_eq!(admitted(&[a, b], "198.51.100.3", 10).await, 5);
}

/// Whether `gateway`'s health reports the backend available again within 20 s; each look sends a request
/// (from an address of its own) so that the gateway tries Redis once its retry interval has passed.
async fn backend_comes_back(gateway: &Gateway) -> bool {
    let http = client();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        let probe = http.get(gateway.url("/echo?msg=probe")).header("x-forwarded-for", "192.0.2.99");
        probe.send().await.unwrap();
        let health: serde_json::Value =
            http.get(gateway.url("/health")).send().await.unwrap().json().await.unwrap();
        if health["backend"]["available"] == true {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
