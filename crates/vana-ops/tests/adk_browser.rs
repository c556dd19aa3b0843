//! ADK's dev UI in a real browser through the gateway with exactly the VANA recipe: Debian's headless
//! `chromium` driven over WebDriver loads the UI, picks the app, sends a message and sees the streamed
//! answer, and opens the trace and eval panels. No request refused, nobody blocked, no Content Security
//! Policy violation (read from chromedriver's log of the browser's console).

#![cfg(feature = "cli")]

mod support;

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use support::Gateway;
use vana_testkit::{AdkServer, TempDir};

/// `chromedriver` on a free loopback port writing its verbose log (the browser's console among it), killed
/// with its browsers on drop.
struct Driver {
    child: Child,
    url: String,
    log: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(dir: &TempDir) -> Driver {
    let port = vana_testkit::free_port();
    let log = dir.path().join("chromedriver.log");
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .arg("--verbose")
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is not installed: install the Debian packages `chromium` and `chromium-driver` (cargo xtask ci does, as root)");
    assert!(
        vana_testkit::wait_for_port(port, Duration::from_secs(30)),
        "chromedriver did not listen within 30 s"
    );
    Driver { child, url: format!("http://127.0.0.1:{port}"), log }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            format!("--user-data-dir={}", profile.display()),
        ]}),
    );
    // The browser's console reaches chromedriver's log.
    capabilities.insert("goog:loggingPrefs".into(), serde_json::json!({ "browser": "ALL" }));
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session with headless chromium")
}

/// Waits up to 30 s for the page's text to contain `needle`; the last text either way.
async fn wait_for_page_text(browser: &Client, needle: &str) -> (bool, String) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = match browser.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) {
            return (true, text);
        }
        if Instant::now() > deadline {
            return (false, text);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Requests in the gateway's access log so far.
fn requests_logged(gateway: &Gateway) -> usize {
    gateway.logs().iter().filter(|line| line.contains("\"component\":\"access\"")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_ui_works_through_the_gateway_with_nothing_refused_and_no_policy_violated() {
    let adk = AdkServer::start();
    let recipe = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples/vana");
    // No trusted proxy here: the browser is the client, as in production.
    let gateway = Gateway::start(
        &["--config", recipe.to_str().unwrap(), "--upstream", &adk.url()],
        &[("VANA_SECURITY__CLIENT_ADDRESS__TRUSTED_PROXIES", "[]")],
    );
    let dir = TempDir::new("adk-browser");
    let driver = start_driver(&dir);
    let browser = browser(&driver, &dir.path().join("profile")).await;

    browser.goto(&gateway.url("/dev-ui/?app=vana")).await.unwrap();
    let input = {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match browser.find(Locator::Css("textarea")).await {
                Ok(input) => break input,
                Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(250)).await,
                Err(error) => {
                    panic!("the UI shows no message box within 30 s ({error}); log: {:?}", gateway.logs())
                }
            }
        }
    };
    let page_requests = requests_logged(&gateway);
    input.send_keys("hello from the browser\u{E007}").await.unwrap();
    let (answered, text) = wait_for_page_text(&browser, "echo: hello from the browser").await;
    assert!(answered, "the streamed answer did not show: {text}");
    let after_message = requests_logged(&gateway);
    eprintln!(
        "dev UI through the gateway: {page_requests} requests to open the page, {} for one message",
        after_message - page_requests
    );
    // The panels: the trace of the message, the eval sets.
    for panel in ["Trace", "Eval"] {
        if let Ok(tab) =
            browser.find(Locator::XPath(&format!("//*[normalize-space(text())='{panel}']"))).await
        {
            let _ = tab.click().await;
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
    }
    let refused = gateway.refusals("/_vana").await;
    assert!(refused.is_empty(), "the gateway refused requests of the UI: {refused:#?}");
    let blocks = gateway.admin_json("/_vana/security/blocks").await;
    assert_eq!(blocks["blocks"], serde_json::json!([]), "{blocks}");
    browser.close().await.unwrap();
    let log = std::fs::read_to_string(&driver.log).unwrap_or_default();
    let violations: Vec<&str> =
        log.lines().filter(|line| line.contains("violates the following Content Security Policy")).collect();
    assert!(!log.is_empty(), "chromedriver wrote its log");
    assert!(violations.is_empty(), "CSP violations in the console: {violations:#?}");
}
