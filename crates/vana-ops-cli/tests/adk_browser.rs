//! ADK's dev UI in a real browser through the gateway with exactly the VANA recipe: Debian's headless
//! `chromium` driven over WebDriver loads the UI, picks the app, sends a message and sees the streamed
//! answer, and opens the trace and eval panels. No request refused, nobody blocked, no Content Security
//! Policy violation (read from chromedriver's log of the browser's console).

mod support;

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use support::Gateway;
use support::browser::Driver;
use vana_testkit::{AdkServer, TempDir};

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

/// Clicks the first `selector` element whose text is `text` (the UI's tabs and icon buttons have no ids).
async fn click_text(browser: &Client, selector: &str, text: &str) -> bool {
    let script = "const found = Array.from(document.querySelectorAll(arguments[0]))\
                  .find(element => element.innerText.trim() === arguments[1]);\
                  if (found) { found.click(); return true; } return false;";
    browser.execute(script, vec![selector.into(), text.into()]).await.unwrap().as_bool().unwrap_or(false)
}

/// Waits up to 30 s for `script` (returning a boolean) to say true.
async fn wait_for_script(browser: &Client, script: &str) -> bool {
    wait_for_script_within(browser, script, Duration::from_secs(30)).await
}

/// Waits up to `within` for `script` (returning a boolean) to say true.
async fn wait_for_script_within(browser: &Client, script: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if browser.execute(script, Vec::new()).await.ok().and_then(|value| value.as_bool()) == Some(true) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

/// The Content Security Policy violations the browser's console reported, from chromedriver's log.
fn policy_violations(driver: &Driver) -> Vec<String> {
    let log =
        std::fs::read_to_string(driver.log.as_ref().expect("the driver keeps a log")).unwrap_or_default();
    log.lines()
        .filter(|line| line.contains("violates the following Content Security Policy"))
        .map(|line| line.chars().take(300).collect())
        .collect()
}

/// The message box, once the UI shows it.
async fn message_box(browser: &Client, gateway: &Gateway) -> fantoccini::elements::Element {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match browser.find(Locator::Css("textarea")).await {
            Ok(input) => return input,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(250)).await,
            Err(error) => {
                panic!("the UI shows no message box within 30 s ({error}); log: {:?}", gateway.logs())
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_ui_works_through_the_gateway_with_nothing_refused_and_no_policy_violated() {
    let adk = AdkServer::start();
    let recipe = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples/vana");
    // No trusted proxy here: the browser is the client, as in production; and the loopback is not
    // whitelisted, so a refusal would count toward blocking it.
    let gateway = Gateway::start(
        &["--config", recipe.to_str().unwrap(), "--upstream", &adk.url()],
        &[
            ("VANA_SECURITY__CLIENT_ADDRESS__TRUSTED_PROXIES", "[]"),
            ("VANA_SECURITY__IP_BLOCKING__WHITELIST", "[]"),
        ],
    );
    let dir = TempDir::new("adk-browser");
    let driver = Driver::start(Some(&dir.path().join("chromedriver.log")));
    let browser = driver.browser(&dir.path().join("profile"), (1400, 1000)).await;

    browser.goto(&gateway.url("/dev-ui/?app=vana")).await.unwrap();
    let input = message_box(&browser, &gateway).await;
    let page_requests = requests_logged(&gateway);
    input.send_keys("hello from the browser\u{E007}").await.unwrap();
    let (answered, text) = wait_for_page_text(&browser, "echo: hello from the browser").await;
    assert!(answered, "the streamed answer did not show: {text}");
    let after_message = requests_logged(&gateway);
    eprintln!(
        "dev UI through the gateway: {page_requests} requests to open the page, {} for one message",
        after_message - page_requests
    );
    // The panels: the message's trace (the model's span), the eval sets, the agent's graph.
    // ADK records the run's spans as the run ends; the panel asks again on `refresh`.
    assert!(click_text(&browser, "button", "Traces").await, "a Traces button");
    let span = "return document.body.innerText.includes('generate_content echo-offline')";
    let mut traced = false;
    for _ in 0..10 {
        traced = wait_for_script_within(&browser, span, Duration::from_secs(2)).await;
        if traced {
            break;
        }
        click_text(&browser, "button", "refresh").await;
    }
    assert!(traced, "the trace panel shows no model span");
    assert!(click_text(&browser, "div", "Evals").await, "an Evals tab");
    let (evals, text) = wait_for_page_text(&browser, "Create New Evaluation Set").await;
    assert!(evals, "the eval panel did not open: {text}");
    assert!(click_text(&browser, "button", "account_tree").await, "the graph button");
    assert!(
        wait_for_script(&browser, "return !!document.querySelector('svg g.graph')").await,
        "the graph panel"
    );

    let refused = gateway.refusals("/_vana").await;
    assert!(refused.is_empty(), "the gateway refused requests of the UI: {refused:#?}");
    let blocks = gateway.admin_json("/_vana/security/blocks").await;
    assert_eq!(blocks["blocks"], serde_json::json!([]), "{blocks}");
    browser.close().await.unwrap();
    let log =
        std::fs::read_to_string(driver.log.as_ref().expect("the driver keeps a log")).unwrap_or_default();
    assert!(log.contains("Log.entryAdded"), "chromedriver's log holds the browser's console");
    let violations = policy_violations(&driver);
    assert!(violations.is_empty(), "CSP violations in the console: {violations:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_the_embedded_defaults_the_same_page_reports_policy_violations() {
    // The control of the test above: the strict default policy on the UI's page does break it, and the
    // check sees it.
    let adk = AdkServer::start();
    let gateway = Gateway::start(&["--upstream", &adk.url(), "--ops-prefix", "/_vana"], &[]);
    let dir = TempDir::new("adk-browser-defaults");
    let driver = Driver::start(Some(&dir.path().join("chromedriver.log")));
    let browser = driver.browser(&dir.path().join("profile"), (1400, 1000)).await;
    browser.goto(&gateway.url("/dev-ui/?app=vana")).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while policy_violations(&driver).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    browser.close().await.unwrap();
    assert!(!policy_violations(&driver).is_empty(), "the default policy breaks the dev UI's inline styles");
}
