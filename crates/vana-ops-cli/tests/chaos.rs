//! Faults under traffic, on loopback, bounded in time: two gateways behind one Redis (Debian's
//! `redis-server`, no persistence); Redis frozen (SIGSTOP), killed and restarted empty while requests flow,
//! then one gateway killed mid-traffic. Every request that reaches a living gateway is answered, never with
//! a 5xx of the gateway's own; the shared limit is exact across both gateways before the faults, bounded by
//! one burst per gateway while Redis is away (each limits on its own), and exact again after; a block made
//! before the faults holds after them.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use support::{Gateway, as_env, client, fleet_settings};
use vana_testkit::RedisServer;

/// What the traffic saw: answers by status, requests that found no gateway, the slowest answer.
#[derive(Default, Debug)]
struct Seen {
    statuses: BTreeMap<u16, usize>,
    unreachable: usize,
    slowest: Duration,
}

/// One request's fate into `seen`.
fn record(seen: &Mutex<Seen>, answer: Result<u16, reqwest::Error>, took: Duration) {
    let mut seen = seen.lock().unwrap();
    match answer {
        Ok(status) => {
            *seen.statuses.entry(status).or_default() += 1;
            seen.slowest = seen.slowest.max(took);
        }
        Err(_) => seen.unreachable += 1,
    }
}

/// `count` clean requests, four at a time, alternating between `bases` (from clients of their own, so the
/// rate limit is not what answers), each recorded into `seen`.
async fn traffic(bases: Vec<String>, count: usize, seen: Arc<Mutex<Seen>>) {
    let http = client();
    let mut tasks = Vec::new();
    for worker in 0..4usize {
        let (http, bases, seen) = (http.clone(), bases.clone(), Arc::clone(&seen));
        tasks.push(tokio::spawn(async move {
            for n in (worker..count).step_by(4) {
                let base = &bases[n % bases.len()];
                let started = Instant::now();
                let answer = http
                    .get(format!("{base}/echo?msg=chaos"))
                    .header("x-forwarded-for", format!("198.51.{}.{}", 100 + n / 250, n % 250))
                    .send()
                    .await;
                record(&seen, answer.map(|response| response.status().as_u16()), started.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Three refused attacks from `address` split over both gateways: the fleet's third blocks (shared strikes).
async fn block_by_refusals_over_both(a: &Gateway, b: &Gateway, address: &str) {
    let attack = "/echo?msg=1%27%20UNION%20SELECT%20password%20FROM%20users--";
    for gateway in [a, b, a] {
        let refused =
            client().get(gateway.url(attack)).header("x-forwarded-for", address).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    }
}

/// Twelve requests of one client alternating between the gateways: how many were admitted (burst 5).
async fn admitted_over_both(a: &Gateway, b: &Gateway, address: &str) -> usize {
    let mut admitted = 0;
    for n in 0..12 {
        let gateway = if n % 2 == 0 { a } else { b };
        let answer =
            client().get(gateway.url("/echo?msg=hi")).header("x-forwarded-for", address).send().await;
        admitted += usize::from(answer.is_ok_and(|answer| answer.status() == StatusCode::OK));
    }
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_under_traffic_leave_every_request_answered_and_blocks_and_limits_right() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let prefix = format!("chaos{}:", std::process::id());
    let owned = fleet_settings(&url, &prefix, "300", "200");
    let settings = as_env(&owned);
    let a = Gateway::start(&[], &settings);
    let mut b = Gateway::start(&[], &settings);
    let http = client();
    block_by_refusals_over_both(&a, &b, "203.0.113.77").await;

    assert_eq!(admitted_over_both(&a, &b, "192.0.2.50").await, 5, "one limit for the fleet, exact");

    let seen = Arc::new(Mutex::new(Seen::default()));
    let flow = tokio::spawn(traffic(vec![a.base.clone(), b.base.clone()], 1200, Arc::clone(&seen)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.freeze();
    tokio::time::sleep(Duration::from_secs(1)).await;
    redis.thaw();
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.stop();
    // While Redis is away each gateway limits on its own: the fleet admits at most one burst per gateway.
    let during_outage = admitted_over_both(&a, &b, "192.0.2.51").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.restart();
    flow.await.unwrap();
    let both = std::mem::take(&mut *seen.lock().unwrap());
    assert!((5..=10).contains(&during_outage), "during the outage: {during_outage} of 12 admitted");

    // Gateway b dies mid-traffic: what a's clients see does not change.
    let flow = tokio::spawn(traffic(vec![a.base.clone()], 300, Arc::clone(&seen)));
    tokio::time::sleep(Duration::from_millis(100)).await;
    b.kill();
    flow.await.unwrap();
    let after = std::mem::take(&mut *seen.lock().unwrap());
    eprintln!(
        "chaos: two gateways through a freeze, a kill and a restart of Redis: {both:?}; admitted during the outage: {during_outage} of 12; gateway a while b was killed: {after:?}"
    );
    for (phase, seen) in [("Redis faults", &both), ("a gateway killed", &after)] {
        let errors: usize =
            seen.statuses.iter().filter(|(status, _)| **status >= 500).map(|(_, count)| count).sum();
        assert_eq!(errors, 0, "{phase}: no 5xx of the gateway's own: {seen:?}");
        assert_eq!(seen.unreachable, 0, "{phase}: every request to a living gateway answered: {seen:?}");
    }
    assert_eq!(both.statuses.values().sum::<usize>(), 1200);

    // After recovery: the block made before the faults holds (written back after Redis came back empty),
    // and the shared limit is exact again.
    let blocked =
        http.get(a.url("/echo?msg=hi")).header("x-forwarded-for", "203.0.113.77").send().await.unwrap();
    assert_eq!(blocked.status(), StatusCode::FORBIDDEN, "the block survived the restart");
    let mut admitted = 0;
    for _ in 0..8 {
        let answer =
            http.get(a.url("/echo?msg=hi")).header("x-forwarded-for", "192.0.2.55").send().await.unwrap();
        admitted += usize::from(answer.status() == StatusCode::OK);
    }
    assert_eq!(admitted, 5, "the limit is exact again");
}
