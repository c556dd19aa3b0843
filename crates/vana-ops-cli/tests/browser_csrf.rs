//! Origin-mode CSRF against a real browser (Debian's `chromium`, headless): a form on another site that
//! posts to the gateway is refused with what to do, the same form on the gateway's own page goes through, and
//! neither needed a token.

mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use support::Gateway;

/// A page whose form posts `note=from-the-form` to `action` as soon as it loads. The script is a file of
/// the site, not inline: the gateway's `Content-Security-Policy: default-src 'self'` forbids inline scripts.
fn auto_posting_form(action: &str) -> String {
    format!(
        r#"<!doctype html><html><body>
<form id="f" method="POST" action="{action}"><input name="note" value="from-the-form"></form>
<script src="/submit.js"></script>
</body></html>"#
    )
}

/// A server on the loopback answering `/page` with `page`, `/submit.js`, and `POST /echo` with the body it
/// got.
async fn site(page: String) -> SocketAddr {
    let submit = (
        [(axum::http::header::CONTENT_TYPE, "text/javascript")],
        r#"document.getElementById("f").submit();"#,
    );
    let app = Router::new()
        .route("/page", get(move || async move { Html(page) }))
        .route("/submit.js", get(move || async move { submit }))
        .route("/echo", axum::routing::post(|body: String| async move { format!("echoed: {body}") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// The DOM headless Chromium ends on after loading `url` (and following the form it submits).
fn browse(url: &str) -> String {
    let profile = std::env::temp_dir().join(format!("vana-chromium-{}-{}", std::process::id(), url.len()));
    let mut child = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromium is not installed: install the Debian package `chromium` (cargo xtask ci does, as root)",
        );
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish loading {url} within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&profile);
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_form_is_refused_and_the_sites_own_form_goes_through() {
    // The service behind the gateway: its page posts to its own /echo.
    let service = site(auto_posting_form("/echo")).await;
    let gateway = Gateway::start(&["--upstream", &format!("http://{service}")], &[]);
    let gateway_port = gateway.base.rsplit(':').next().unwrap().to_owned();

    // Another site (`localhost` is another site than `127.0.0.1` to a browser) posting to the gateway.
    let evil = site(auto_posting_form(&format!("http://127.0.0.1:{gateway_port}/echo"))).await;
    let refused =
        tokio::task::spawn_blocking(move || browse(&format!("http://localhost:{}/page", evil.port())))
            .await
            .unwrap();
    assert!(refused.contains("cross_origin_request"), "the cross-site post is refused: {refused}");
    assert!(refused.contains("docs/security.md#csrf"), "and says what to do: {refused}");
    assert!(!refused.contains("echoed"), "{refused}");

    let own_page = gateway.url("/page");
    let accepted = tokio::task::spawn_blocking(move || browse(&own_page)).await.unwrap();
    assert!(accepted.contains("echoed: note=from-the-form"), "the site's own form goes through: {accepted}");

    let events = gateway.admin_json("/security/events?type=cross_origin_request").await;
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["details"]["route"], "other");
}
