//! Hostile connections against the `vana-ops` binary over real sockets: a slowloris client and an idle
//! kept-alive connection are cut, a connection flood from one address is capped while another address is
//! served, and SIGTERM ends the process even while a request's body never arrives.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use support::Gateway;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn address(gateway: &Gateway) -> SocketAddr {
    gateway.base.trim_start_matches("http://").parse().unwrap()
}

/// A connection to `to` from `from` (any address of 127.0.0.0/8).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Everything the server sends until it closes the connection; the test fails if it is still open after
/// 20 s (generous: the timeouts under test are at most a second).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the connection is still open: {}", String::from_utf8_lossy(&received));
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn slowloris_and_idle_connections_are_cut_at_the_header_timeout() {
    let gateway = Gateway::start(&[], &[("VANA_SECURITY__HTTP__HEADER_READ_TIMEOUT_MS", "500")]);
    // Half a request, and then nothing: closed.
    let mut slow = TcpStream::connect(address(&gateway)).await.unwrap();
    slow.write_all(b"GET /echo?msg=hi HTTP/1.1\r\nHost: x\r\nX-Trickle: a").await.unwrap();
    let answer = read_until_closed(&mut slow).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    // A whole request is answered; the kept-alive connection then idles and is closed.
    let mut idle = TcpStream::connect(address(&gateway)).await.unwrap();
    idle.write_all(b"GET /echo?msg=hi HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let answer = read_until_closed(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.contains("\"msg\":\"hi\""), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_from_one_address_is_capped_while_another_is_served() {
    let gateway = Gateway::start(
        &[],
        &[
            ("VANA_SECURITY__HTTP__MAX_CONNECTIONS_PER_CLIENT", "50"),
            ("VANA_SECURITY__HTTP__HEADER_READ_TIMEOUT_MS", "60000"),
        ],
    );
    let to = address(&gateway);
    let mut flood = Vec::with_capacity(2000);
    for _ in 0..2000 {
        flood.push(connect_from("127.0.0.2", to).await);
    }
    // The connections past the first 50 were answered 503 and closed; the first 50 are held open.
    let mut refused = 0;
    for stream in flood.iter_mut().skip(50) {
        let answer = read_until_closed(stream).await;
        assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
        refused += 1;
    }
    assert_eq!(refused, 1950);
    // Another address is served meanwhile.
    let mut other = connect_from("127.0.0.3", to).await;
    other
        .write_all(b"GET /echo?msg=still-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut other).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.contains("still-here"), "{answer}");
    // The refusals are counted.
    let metrics = support::client().get(gateway.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let metrics = metrics.text().await.unwrap();
    assert!(metrics.contains("connections_refused"), "connections.refused in /metrics");
    assert!(
        gateway
            .wait_for_log(&["connections refused past their cap", "per_client"], Duration::from_secs(20))
            .is_some(),
        "and logged"
    );
}

#[tokio::test]
async fn sigterm_ends_the_process_while_a_body_never_arrives() {
    // The body would be waited for a minute; the shutdown deadline is one second.
    let mut gateway = Gateway::start(
        &[],
        &[
            ("VANA_SECURITY__HTTP__BODY_READ_TIMEOUT_MS", "60000"),
            ("VANA_SECURITY__HTTP__HEADER_READ_TIMEOUT_MS", "60000"),
            ("VANA_SECURITY__HTTP__SHUTDOWN_TIMEOUT_MS", "1000"),
        ],
    );
    let mut half = TcpStream::connect(address(&gateway)).await.unwrap();
    half.write_all(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"note\":",
    )
    .await
    .unwrap();
    // The request is in flight once the layer waits for its body: a request on another connection,
    // answered, shows the server has taken both.
    let answered = support::client().get(gateway.url("/echo?msg=hi")).send().await.unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    // Without the deadline the process would wait the body's minute; 30 s is far from both.
    assert!(gateway.terminate(Duration::from_secs(30)), "the process exits cleanly after SIGTERM");
}

#[tokio::test]
async fn a_flood_of_identical_refusals_is_logged_once_a_window_and_summarized() {
    let gateway = Gateway::start(
        &[],
        &[
            ("VANA_SECURITY__HTTP__REFUSAL_LOG_WINDOW_MS", "1000"),
            ("VANA_SECURITY__IP_BLOCKING__AUTO_BLOCK", "false"),
            ("VANA_SECURITY__RATE_LIMITING__BURST_LIMIT", "1000"),
        ],
    );
    let http = support::client();
    let attack = || {
        http.get(gateway.url("/echo?msg=1%27%20UNION%20SELECT%20password%20FROM%20users--"))
            .header("x-forwarded-for", "203.0.113.77")
            .send()
    };
    for _ in 0..50 {
        assert_eq!(attack().await.unwrap().status(), StatusCode::BAD_REQUEST);
    }
    // Past the window, the next refusal is logged after the summary of the last window.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(attack().await.unwrap().status(), StatusCode::BAD_REQUEST);
    let summary = gateway
        .wait_for_log(&["counted, not logged one by one", "\"suppressed\":49"], Duration::from_secs(20));
    assert!(summary.is_some(), "the summary line");
    // Two request lines in all (the first of each window), once the writer has caught up; never 51.
    let lines = || {
        let refusal =
            |line: &&String| line.contains("\"status\":400") && line.contains("\"client\":\"203.0.113.77\"");
        gateway.logs().iter().filter(refusal).count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while lines() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lines(), 2, "one line per window, not 51");
    // The security events still count every refusal.
    let events = gateway.admin_json("/security/events?type=input_rejected&limit=1000").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 51);
}
