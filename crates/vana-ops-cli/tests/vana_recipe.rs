//! The VANA recipe (`config/examples/vana`) exactly as shipped, in front of a small upstream that speaks the
//! ADK server's shapes: ordinary chat questions about SQL, shell, paths and markup reach the agent from a
//! client that is not whitelisted, nothing is blocked, the attack-looking ones are recorded as `detect`
//! findings with their rules, and attacks on the routes left at `block` are still refused.

mod support;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::Path;
use axum::http::header;
use axum::routing::{get, post};
use reqwest::StatusCode;
use support::Gateway;
use vana_ops::config::ConfigLoader;
use vana_ops::security::InputValidator;

/// Ordinary chat questions (MT-bench, as in the evaluation corpus), the questions a first trial refused, and
/// technical chat written for this test (see corpus/README.md).
const CHAT_QUESTIONS: &str = include_str!("corpus/chat_questions.txt");
const REFUSED_QUESTIONS: &str = include_str!("corpus/refused_questions.txt");
const TECHNICAL_CHAT: &str = include_str!("corpus/technical_chat.txt");

/// The recipe directory.
fn recipe() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples/vana")
}

/// An ADK-shaped stand-in: `/run` answers with the agent's events (echoing the user's text), `/run_sse`
/// streams one event, `/list-apps`, sessions and the server's own `/health`.
async fn adk_upstream() -> SocketAddr {
    fn text(request: &serde_json::Value) -> serde_json::Value {
        let message = request.get("newMessage").or_else(|| request.get("new_message"));
        message.and_then(|message| message.pointer("/parts/0/text")).cloned().unwrap_or_default()
    }
    let app = Router::new()
        .route(
            "/run",
            post(|axum::Json(request): axum::Json<serde_json::Value>| async move {
                axum::Json(serde_json::json!([{
                    "author": "vana",
                    "content": { "role": "model", "parts": [{ "text": text(&request) }] },
                }]))
            }),
        )
        .route(
            "/run_sse",
            post(|axum::Json(request): axum::Json<serde_json::Value>| async move {
                let event = serde_json::json!({ "author": "vana", "content": { "parts": [{ "text": text(&request) }] } });
                ([(header::CONTENT_TYPE, "text/event-stream")], format!("data: {event}\n\n"))
            }),
        )
        .route("/list-apps", get(|| async { axum::Json(serde_json::json!(["vana"])) }))
        .route(
            "/apps/{app}/users/{user}/sessions/{session}",
            get(|Path((app, user, session)): Path<(String, String, String)>| async move {
                axum::Json(serde_json::json!({ "appName": app, "userId": user, "id": session, "events": [] }))
            }),
        )
        .route("/health", get(|| async { axum::Json(serde_json::json!({ "status": "upstream-healthy" })) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

/// A client whose connections come from `source` (the loopback has all of 127.0.0.0/8).
fn client_from(source: &str) -> reqwest::Client {
    let source: IpAddr = source.parse().unwrap();
    reqwest::Client::builder()
        .local_address(source)
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Every message of the three sets, `\n` in a line standing for a line break (code blocks).
fn messages() -> Vec<String> {
    [CHAT_QUESTIONS, REFUSED_QUESTIONS, TECHNICAL_CHAT]
        .iter()
        .flat_map(|text| text.lines())
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.replace("\\n", "\n"))
        .collect()
}

fn run_body(text: &str) -> serde_json::Value {
    serde_json::json!({
        "appName": "vana",
        "userId": "u-1",
        "sessionId": "s-1",
        "newMessage": { "role": "user", "parts": [{ "text": text }] },
        "streaming": false,
    })
}

/// Sends every message as the text of `POST /run` from `chat`: each reaches the agent intact. The findings
/// the validator makes of them, by correlation id.
async fn send_every_message(
    gateway: &Gateway,
    chat: &reqwest::Client,
    messages: &[String],
    validator: &InputValidator,
) -> HashMap<String, Vec<u16>> {
    let mut expected_findings = HashMap::new();
    for (index, message) in messages.iter().enumerate() {
        let id = format!("chat-{index}");
        let response = chat
            .post(gateway.url("/run"))
            .header("x-correlation-id", &id)
            .json(&run_body(message))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert_eq!(status, StatusCode::OK, "{message:?}: {body}");
        assert_eq!(body[0]["content"]["parts"][0]["text"], message.as_str(), "reaches the agent intact");
        if let Some(finding) = validator.validate(message).finding() {
            expected_findings.insert(id, finding.rules.clone());
        }
    }
    assert!(
        expected_findings.len() >= 20,
        "the sets hold attack-looking questions: {}",
        expected_findings.len()
    );

    expected_findings
}

/// Each attack-looking question is an input_detected event of its request, naming its rules; each `detect`
/// finding writes a log line of its own (a score under the threshold is a Low record, under the security
/// component's WARNING level): rules, category, score, location and correlation id, never the value.
async fn findings_are_events_and_log_lines(
    gateway: &Gateway,
    expected_findings: &HashMap<String, Vec<u16>>,
    messages: &[String],
) {
    let events = gateway.admin_json("/_vana/security/events?type=input_detected&limit=1000").await;
    let mut detected: HashMap<String, Vec<u16>> = HashMap::new();
    for event in events["events"].as_array().unwrap() {
        let details = &event["details"];
        assert_eq!(event["source_ip"], "127.0.0.2");
        assert_eq!((&details["route"], &details["location"]), (&"/run".into(), &"json".into()), "{event}");
        let rules = details["rules"].as_array().unwrap().iter().map(|rule| rule.as_u64().unwrap() as u16);
        detected.insert(details["correlation_id"].as_str().unwrap().to_owned(), rules.collect());
    }
    for (id, rules) in expected_findings {
        assert_eq!(detected.get(id), Some(rules), "{id}: {:?}", messages[id[5..].parse::<usize>().unwrap()]);
    }
    let detect =
        events["events"].as_array().unwrap().iter().find(|event| event["details"]["action"] == "detect");
    let id = detect.expect("a detect finding")["details"]["correlation_id"].as_str().unwrap().to_owned();
    let line = gateway.wait_for_log(&["input_detected", id.as_str()], std::time::Duration::from_secs(5));
    let line = line.unwrap_or_else(|| panic!("no log line for the finding of {id}: {:?}", gateway.logs()));
    for field in ["rules", "category", "score", "location"] {
        assert!(line.contains(field), "{field} in {line}");
    }
    let rejected = gateway.admin_json("/_vana/security/events?type=input_rejected").await;
    assert_eq!(rejected["events"], serde_json::json!([]), "no chat question was refused");
}

/// The routes left at `block` still refuse real payloads: in a query value, and in a field of /run that is
/// not chat text.
async fn block_routes_still_refuse(gateway: &Gateway) {
    let attacker = client_from("127.0.0.3");
    let probe =
        attacker.get(gateway.url("/list-apps?relative=1%27%20UNION%20SELECT%20password%20FROM%20users--"));
    assert_eq!(probe.send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    let mut body = run_body("hello");
    body["appName"] = "../../../../etc/passwd".into();
    let response = attacker.post(gateway.url("/run")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let refusal: serde_json::Value = response.json().await.unwrap();
    assert_eq!((&refusal["location"], &refusal["category"]), (&"json".into(), &"path_traversal".into()));
}

/// The upstream's own /health and the gateway's under /_vana; routes named by the ADK templates.
async fn health_and_route_names(gateway: &Gateway, chat: &reqwest::Client) {
    let admin = support::client();
    let health: serde_json::Value =
        chat.get(gateway.url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "upstream-healthy");
    let own: serde_json::Value =
        admin.get(gateway.url("/_vana/health")).send().await.unwrap().json().await.unwrap();
    assert!(own["uptime_seconds"].is_number(), "{own}");
    let session = chat.get(gateway.url("/apps/vana/users/u-1/sessions/s-1")).send().await.unwrap();
    assert_eq!(session.status(), StatusCode::OK);
    let metrics = admin.get(gateway.url("/_vana/metrics")).send().await.unwrap().text().await.unwrap();
    for route in ["/run", "/run_sse", "/list-apps", "/apps/{app_name}/users/{user_id}/sessions/{session_id}"]
    {
        assert!(metrics.contains(&format!("http_route=\"{route}\"")), "{route} in /_vana/metrics");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_questions_reach_the_agent_and_attacks_elsewhere_are_refused() {
    let upstream = adk_upstream().await;
    let recipe = recipe();
    // Exactly the recipe; only the rate limit is raised, so one test client may send every message in a
    // few seconds.
    let settings = [
        ("VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT", "100000"),
        ("VANA_SECURITY__RATE_LIMITING__BURST_LIMIT", "100000"),
    ];
    let upstream_url = format!("http://{upstream}");
    let gateway =
        Gateway::start(&["--config", recipe.to_str().unwrap(), "--upstream", &upstream_url], &settings);
    let validator = {
        let loaded = ConfigLoader::new().dir(&recipe).load().unwrap();
        InputValidator::new(&loaded.config.security.input_validation).unwrap()
    };
    let chat = client_from("127.0.0.2");
    let messages = messages();
    assert!(messages.len() >= 160 + 15 + 100, "{} messages", messages.len());
    let expected_findings = send_every_message(&gateway, &chat, &messages, &validator).await;
    // Nothing is blocked, and the sender is still served.
    let blocks = gateway.admin_json("/_vana/security/blocks").await;
    assert_eq!(blocks["blocks"], serde_json::json!([]), "{blocks}");
    let again = chat.post(gateway.url("/run_sse")).json(&run_body("one more question")).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.text().await.unwrap().starts_with("data: "));

    findings_are_events_and_log_lines(&gateway, &expected_findings, &messages).await;
    block_routes_still_refuse(&gateway).await;
    health_and_route_names(&gateway, &chat).await;
}
