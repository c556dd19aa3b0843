//! The live dashboard in a real browser: Debian's headless `chromium`, driven over WebDriver
//! (`chromium-driver`'s `chromedriver`) by fantoccini. Without the token the page is refused; with it the
//! numbers, the alert list, the security events and the blocked addresses change as traffic reaches the
//! gateway, and an address is unblocked from the page.

mod support;

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use support::browser::Driver;
use support::{ADMIN_TOKEN, Gateway, client};

/// A `/slow?ms=300` request passes the warning line; nothing here reaches critical.
const SETTINGS: [(&str, &str); 3] = [
    ("VANA_MONITORING__THRESHOLDS__RESPONSE_TIME__WARNING", "0.2"),
    ("VANA_MONITORING__THRESHOLDS__RESPONSE_TIME__CRITICAL", "120"),
    // At once: the page shows the warning of one slow request (the default `for` is two minutes).
    ("VANA_MONITORING__THRESHOLDS__RESPONSE_TIME__FOR_SECONDS", "0"),
];

/// `#id`'s text; empty while the element is not there (a page still loading).
async fn text_of(browser: &Client, id: &str) -> String {
    match browser.find(Locator::Id(id)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Waits up to 15 s for `#id`'s text to satisfy `done`; the last text either way.
async fn wait_for_text(browser: &Client, id: &str, done: impl Fn(&str) -> bool) -> (bool, String) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let text = text_of(browser, id).await;
        if !text.is_empty() && done(&text) {
            return (true, text);
        }
        if Instant::now() > deadline {
            return (false, text);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn count(text: &str) -> u64 {
    text.replace(',', "").trim().parse().unwrap_or(0)
}

/// Without the token: the page is a login form (401), the stream and unblocking are refused.
async fn refused_without_the_token(gateway: &Gateway) {
    let http = client();
    let page = http.get(gateway.url("/dashboard")).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert!(page.text().await.unwrap().contains("name=\"token\""));
    let events = http.get(gateway.url("/dashboard/events")).send().await.unwrap();
    assert_eq!(events.status(), reqwest::StatusCode::UNAUTHORIZED);
    let lift = http.delete(gateway.url("/dashboard/blocks/203.0.113.9")).header("x-vana-dashboard", "1");
    assert_eq!(lift.send().await.unwrap().status(), reqwest::StatusCode::UNAUTHORIZED);
}

/// Signs in on the login form (a wrong token first) and waits for the first update: the request count then.
async fn sign_in(browser: &Client, gateway: &Gateway) -> u64 {
    browser.goto(&gateway.url("/dashboard")).await.unwrap();
    assert!(text_of(browser, "login-message").await.contains("Enter the gateway's admin token"));
    // A wrong token stays on the form.
    browser.find(Locator::Id("token")).await.unwrap().send_keys("not-the-admin-token").await.unwrap();
    browser.find(Locator::Id("sign-in")).await.unwrap().click().await.unwrap();
    let (refused, message) =
        wait_for_text(browser, "login-message", |text| text.contains("not the admin token")).await;
    assert!(refused, "{message}");
    browser.find(Locator::Id("token")).await.unwrap().send_keys(ADMIN_TOKEN).await.unwrap();
    browser.find(Locator::Id("sign-in")).await.unwrap().click().await.unwrap();

    let (live, connection) = wait_for_text(browser, "connection", |text| text == "live").await;
    assert!(
        live,
        "the page's event stream opened: {connection} at {}: {}",
        browser.current_url().await.unwrap(),
        browser.source().await.unwrap()
    );
    let (drawn, before) = wait_for_text(browser, "requests-total", |text| text != "–").await;
    assert!(drawn, "the first update is drawn: {before}");
    count(&before)
}

/// 20 clean requests, one past the warning line, and five attacks from one address, which blocks it.
async fn send_traffic(gateway: &Gateway) {
    let http = client();
    gateway.clean_requests(20).await;
    let slow = http.get(gateway.url("/slow?ms=300")).header("x-forwarded-for", "198.51.100.40");
    assert_eq!(slow.send().await.unwrap().status(), reqwest::StatusCode::OK);
    for _ in 0..5 {
        let attack = http
            .get(gateway.url("/echo?msg=1%27%20OR%201%3D1--"))
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(attack.status(), reqwest::StatusCode::BAD_REQUEST);
    }
}

/// The page follows: the count, the warning, the refused attacks, the block.
async fn page_follows_the_traffic(browser: &Client, before: u64) {
    let (counted, after) = wait_for_text(browser, "requests-total", |text| count(text) >= before + 26).await;
    assert!(counted, "the request count went from {before} to at least {}: {after}", before + 26);
    let (alerted, alerts) =
        wait_for_text(browser, "alerts-active", |text| text.contains("warning") && text.contains("/slow"))
            .await;
    assert!(alerted, "the warning on /slow is listed: {alerts}");
    let (seen, events) = wait_for_text(browser, "events", |text| text.contains("input_rejected")).await;
    assert!(
        seen && events.contains("sql_injection"),
        "the refused attacks are listed with their rule: {events}"
    );
    let (blocked, blocks) = wait_for_text(browser, "blocks", |text| text.contains("203.0.113.9")).await;
    assert!(blocked, "the blocked address is listed: {blocks}");
    assert!(blocks.contains("23 h 59 m"), "a day's block reads as hours and minutes: {blocks}");
    let refused = text_of(browser, "refused").await;
    assert!(count(&refused) >= 5, "{refused}");
}

/// Screenshots (the docs' one when asked), and on a phone's width no sideways scrolling.
async fn screenshots_and_a_phone_s_width(browser: &Client) {
    let screenshot = browser.screenshot().await.unwrap();
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    std::fs::write(&target, &screenshot).unwrap();
    if std::env::var_os("VANA_UPDATE_SCREENSHOT").is_some() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/img/dashboard.png");
        std::fs::write(docs, &screenshot).unwrap();
    }

    // On a phone's width the page does not scroll sideways (wide tables scroll inside their own box).
    browser.set_window_size(390, 844).await.unwrap();
    let overflow = browser
        .execute("return document.documentElement.scrollWidth - window.innerWidth;", vec![])
        .await
        .unwrap();
    assert!(
        overflow.as_i64().is_some_and(|pixels| pixels <= 0),
        "the page is {overflow} px wider than a phone"
    );
    let phone = browser.screenshot().await.unwrap();
    std::fs::write(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-phone.png"), phone)
        .unwrap();
    browser.set_window_size(1280, 1500).await.unwrap();
}

/// Unblock from the page: the address's requests go through again.
async fn unblock_from_the_page(browser: &Client, gateway: &Gateway) {
    let http = client();
    let button = browser.find(Locator::Css("button.unblock[data-address='203.0.113.9']")).await.unwrap();
    button.click().await.unwrap();
    let (lifted, state) =
        wait_for_text(browser, "blocks", |text| text.contains("Unblocked") || !text.contains("203.0.113.9"))
            .await;
    assert!(lifted, "the page lifted the block: {state}");
    let again = http
        .get(gateway.url("/echo?msg=back"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), reqwest::StatusCode::OK, "the address is no longer blocked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_is_refused_without_the_token_and_follows_the_traffic_with_it() {
    let gateway = Gateway::start(&[], &SETTINGS);
    refused_without_the_token(&gateway).await;
    let driver = Driver::start(None);
    let profile = std::env::temp_dir().join(format!("vana-dashboard-chromium-{}", std::process::id()));
    let browser = driver.browser(&profile, (1280, 1500)).await;
    let before = sign_in(&browser, &gateway).await;
    send_traffic(&gateway).await;
    page_follows_the_traffic(&browser, before).await;
    screenshots_and_a_phone_s_width(&browser).await;
    unblock_from_the_page(&browser, &gateway).await;
    browser.close().await.unwrap();
    drop(driver);
    let _ = std::fs::remove_dir_all(&profile);
}
