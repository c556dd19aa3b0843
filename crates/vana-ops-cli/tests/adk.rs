//! The real ADK server (`google-adk`, `adk api_server --with_ui`, an offline model) behind the gateway with
//! exactly the VANA recipe (`config/examples/vana`): every route the recipe should name, the dev UI's calls
//! and pages, chat through `/run` and `/run_sse`, a 20 MB attachment, and `/run_live`'s WebSocket.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{Gateway, client};
use vana_testkit::{AdkServer, venv_program};

fn recipe() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples/vana")
}

fn recipe_templates() -> Vec<String> {
    let loaded = vana_ops::config::ConfigLoader::new().dir(recipe()).load().unwrap();
    loaded.config.security.http.route_templates
}

/// The gateway with exactly the recipe, in front of `adk`.
fn gateway_for(adk: &AdkServer) -> Gateway {
    let recipe = recipe();
    Gateway::start(&["--config", recipe.to_str().unwrap(), "--upstream", &adk.url()], &[])
}

#[test]
fn the_recipe_names_every_route_the_adk_server_serves() {
    let adk = AdkServer::start();
    let (status, spec) = adk.get("/openapi.json").expect("ADK answers /openapi.json");
    assert_eq!(status, 200, "{}", adk.log_tail());
    let spec: serde_json::Value = serde_json::from_str(&spec).unwrap();
    let templates = recipe_templates();
    let missing: Vec<&str> = spec["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|path| !templates.iter().any(|template| template == path))
        .collect();
    assert!(
        missing.is_empty(),
        "ADK serves routes the recipe does not name (add them to route_templates): {missing:?}"
    );
    // FastAPI's WebSocket routes are not in its OpenAPI document.
    assert!(templates.iter().any(|template| template == "/run_live"));
}

/// `GET path` straight to ADK and through the gateway: both statuses.
async fn both(adk: &AdkServer, gateway: &Gateway, path: &str) -> (u16, u16) {
    let http = client();
    let direct = http.get(format!("{}{path}", adk.url())).send().await.unwrap().status().as_u16();
    let through = http
        .get(gateway.url(path))
        .header("sec-fetch-site", "same-origin")
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    (direct, through)
}

fn chat(text: &str, session: &str) -> serde_json::Value {
    serde_json::json!({
        "appName": "vana",
        "userId": "user-1",
        "sessionId": session,
        "newMessage": { "role": "user", "parts": [{ "text": text }] },
        "streaming": true,
    })
}

/// One `/run_sse` as the client saw it.
struct Run {
    first_event: Duration,
    /// The first event with text in its content: the first token.
    first_token: Duration,
    last_event: Duration,
    events: usize,
}

/// Whether the complete events in `text` (`data: {json}` blocks) have one with text in its content.
fn has_a_token(text: &str) -> bool {
    text.split("\n\n").filter_map(|event| event.strip_prefix("data: ")).any(|data| {
        let event: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
        event["content"]["parts"].as_array().is_some_and(|parts| {
            parts.iter().any(|part| part["text"].as_str().is_some_and(|text| !text.is_empty()))
        })
    })
}

/// One `/run_sse` at `base`.
async fn stream(base: &str, text: &str, session: &str) -> Run {
    let started = Instant::now();
    let mut response = client()
        .post(format!("{base}/run_sse"))
        .header("x-forwarded-for", "198.51.100.7")
        .json(&chat(text, session))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (mut first, mut first_token, mut text_seen, mut events) = (None, None, String::new(), 0);
    while let Some(chunk) = response.chunk().await.unwrap() {
        first.get_or_insert_with(|| started.elapsed());
        text_seen.push_str(&String::from_utf8_lossy(&chunk));
        if first_token.is_none() && has_a_token(&text_seen) {
            first_token = Some(started.elapsed());
        }
        events = text_seen.matches("data: ").count();
    }
    assert!(text_seen.contains(&format!("echo: {text}")), "{text_seen}");
    Run {
        first_event: first.unwrap(),
        first_token: first_token.expect("a token"),
        last_event: started.elapsed(),
        events,
    }
}

/// The dev UI's own calls (those its page makes on load, on a message and in its graph, trace and eval
/// panels), the API's, and the pages.
const UI_CALLS: [&str; 20] = [
    "/dev-ui/",
    "/dev-ui/config",
    "/dev-ui/assets/config/runtime-config.json",
    "/list-apps",
    "/version",
    "/health",
    "/apps/vana/app-info",
    "/apps/vana/users/user-1/sessions",
    "/dev/apps/vana/build_graph",
    "/dev/apps/vana/graph",
    "/dev/apps/vana/eval_sets",
    "/dev/apps/vana/eval-sets",
    "/dev/apps/vana/eval_results",
    "/dev/apps/vana/eval-results",
    "/dev/apps/vana/metrics-info",
    "/dev/apps/vana/tests",
    "/dev/apps/vana/debug/trace/session/s-gateway",
    "/config/telemetry",
    "/docs",
    "/openapi.json",
];

/// Technical questions pass (detect), the stream arrives as ADK sends it. Once each to warm up, then five of
/// each in turn: the medians, for the docs.
async fn streams_pass_whole(adk: &AdkServer, gateway: &Gateway) -> String {
    let question = "how do I DROP TABLE users in SQL?";
    let direct_events = stream(&adk.url(), question, "s-direct").await.events;
    let events = stream(&gateway.base, question, "s-gateway").await.events;
    assert_eq!(events, direct_events, "every event passes");
    let (mut direct, mut through) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        direct.push(stream(&adk.url(), question, "s-direct").await);
        through.push(stream(&gateway.base, question, "s-gateway").await);
    }
    let median = |runs: &[Run], pick: fn(&Run) -> Duration| {
        let mut values: Vec<Duration> = runs.iter().map(pick).collect();
        values.sort();
        values[values.len() / 2]
    };
    // The gateway's own account of the last stream, from its log line: to the end, to the first byte, to
    // the first token, and the tokens the model reported.
    // The line is written once the gateway saw the body's end, which may be just after the client did.
    let lines = |gateway: &Gateway| {
        gateway.logs().into_iter().filter(|line| line.contains("\"route\":\"/run_sse\"")).collect::<Vec<_>>()
    };
    assert!(
        vana_testkit::wait_until(Duration::from_secs(10), || lines(gateway).len() == 6),
        "six streams logged"
    );
    let line: serde_json::Value = serde_json::from_str(lines(gateway).last().unwrap()).unwrap();
    let metadata = &line["metadata"];
    assert_eq!(metadata["stream_outcome"], "completed", "{line}");
    assert_eq!(metadata["events"], u64::try_from(events).unwrap(), "every event counted: {line}");
    let last = through.last().unwrap();
    let gateway_ttft = metadata["ttft_ms"].as_f64().expect("ttft_ms on an AI route");
    // Causal bounds, whatever the machine's speed: the gateway sees the token after its first byte, and
    // before the client does.
    assert!(metadata["first_byte_ms"].as_f64().unwrap() <= gateway_ttft, "{line}");
    assert!(gateway_ttft <= last.first_token.as_secs_f64() * 1000.0, "{line}");
    // The echo model counts words: 8 in the question, 9 in the answer.
    assert_eq!(
        (metadata["input_tokens"].as_u64(), metadata["output_tokens"].as_u64()),
        (Some(8), Some(9)),
        "{line}"
    );
    format!(
        "run_sse, median of 5: first event {:?} direct, {:?} through the gateway; first token {:?} direct, {:?} \
         through; last event {:?} direct, {:?} through; the last stream: first token {:?} at the client, {} ms \
         by the gateway; the gateway's line: {} ms to the end, {} ms to the first byte",
        median(&direct, |run| run.first_event),
        median(&through, |run| run.first_event),
        median(&direct, |run| run.first_token),
        median(&through, |run| run.first_token),
        median(&direct, |run| run.last_event),
        median(&through, |run| run.last_event),
        last.first_token,
        gateway_ttft,
        metadata["duration_ms"],
        metadata["first_byte_ms"],
    )
}

/// A 20 MB attachment: admitted, not read as text, the gateway's memory bounded: its resident memory before
/// and after, for the docs.
async fn a_large_attachment_passes(gateway: &Gateway) -> String {
    let before = gateway.resident_bytes();
    let image = "A".repeat(20 * 1024 * 1024);
    let message = serde_json::json!({
        "appName": "vana", "userId": "user-1", "sessionId": "s-gateway",
        "newMessage": { "role": "user", "parts": [
            { "text": "what is in this picture?" },
            { "inlineData": { "mimeType": "image/png", "data": image } },
        ] },
    });
    let answered = client()
        .post(gateway.url("/run"))
        .header("x-forwarded-for", "198.51.100.7")
        .json(&message)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200, "{}", answered.text().await.unwrap());
    let after = gateway.resident_bytes();
    assert!(after < before + 200 * 1024 * 1024, "the gateway's memory stays bounded: {before} -> {after}");
    format!("RSS with a 20 MB attachment: {} MiB before, {} MiB after", before >> 20, after >> 20)
}

/// The GenAI families from ADK's own events: every `/run_sse` and `/run` answer has a first token, the
/// model and the agent as ADK named them, and its tokens.
async fn ai_answers_are_measured(gateway: &Gateway) {
    let metrics = gateway.admin_text("/_vana/metrics").await;
    let labels = "gen_ai_agent_name=\"vana\",gen_ai_operation_name=\"invoke_agent\",gen_ai_response_model=\"echo-offline\"";
    let count = |route: &str| {
        let series =
            format!("gen_ai_server_time_to_first_token_seconds_count{{{labels},http_route=\"{route}\"}}");
        let line = metrics.lines().find(|line| line.starts_with(&series));
        line.and_then(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{series} in\n{metrics}"))
    };
    assert_eq!(count("/run_sse"), 6, "a warm-up and five measured streams through the gateway");
    assert_eq!(count("/run"), 1, "the attachment's answer");
    let output = format!(
        "gen_ai_client_token_usage_count{{{labels},gen_ai_token_type=\"output\",http_route=\"/run_sse\"}} 6"
    );
    assert!(metrics.contains(&output), "{output} in\n{metrics}");
    assert!(metrics.contains("gen_ai_server_time_per_output_token_seconds_bucket{"), "{metrics}");
    assert!(!metrics.contains("gen_ai_content=\"absent\""), "every answer had content:\n{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adk_behind_the_recipe_answers_its_ui_and_its_api_and_nobody_is_refused() {
    let adk = AdkServer::start();
    let gateway = gateway_for(&adk);
    let http = client();
    for id in ["s-direct", "s-gateway"] {
        gateway.create_adk_session(id).await;
    }
    for path in UI_CALLS {
        let (direct, through) = both(&adk, &gateway, path).await;
        assert_eq!(through, direct, "{path}: ADK answers {direct}, the gateway {through}");
    }
    // The pages get the recipe's policy for them; the API keeps the strict default.
    let page = http.get(gateway.url("/dev-ui/")).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("'unsafe-inline'") && csp.contains("https://fonts.gstatic.com"), "{csp}");
    let api = http.get(gateway.url("/list-apps")).send().await.unwrap();
    assert_eq!(api.headers()["content-security-policy"], "default-src 'self'; frame-ancestors 'none'");
    eprintln!("{}", streams_pass_whole(&adk, &gateway).await);
    eprintln!("{}", a_large_attachment_passes(&gateway).await);
    ai_answers_are_measured(&gateway).await;
    // Nobody refused, nobody blocked.
    let events = gateway.admin_json("/_vana/security/events").await;
    let refused: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["event_type"] != "input_detected")
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    let refusals = gateway.refusals("/_vana").await;
    assert!(refusals.is_empty(), "{refusals:?}");
    let ready = http.get(gateway.url("/_vana/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

/// Runs the live client against `url` with `origin`: its JSON answer.
fn live(url: &str, origin: &str, turns: usize) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../vana-testkit/adk/live_client.py");
    let output = Command::new(venv_program("python"))
        .arg(script)
        .args([url, origin, &turns.to_string()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn median(values: &serde_json::Value) -> f64 {
    let mut values: Vec<f64> =
        values.as_array().unwrap().iter().map(|value| value.as_f64().unwrap()).collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_live_s_websocket_passes_the_gateway_and_a_foreign_page_cannot_open_it() {
    let adk = AdkServer::start();
    let gateway = gateway_for(&adk);
    gateway.create_adk_session("live").await;
    let query = "/run_live?app_name=vana&user_id=user-1&session_id=live&modalities=TEXT";
    let ws = |base: &str| format!("{}{query}", base.replacen("http://", "ws://", 1));
    let direct = live(&ws(&adk.url()), "", 10);
    let through = live(&ws(&gateway.base), &gateway.base, 10);
    assert_eq!(through["status"], 101, "{through}");
    assert_eq!(through["answers"], direct["answers"]);
    eprintln!(
        "run_live round trip, median of 10: {:.2} ms direct, {:.2} ms through the gateway",
        median(&direct["round_trips_ms"]),
        median(&through["round_trips_ms"])
    );
    // Cross-site WebSocket hijacking: a page of another origin is refused at the handshake.
    let foreign = live(&ws(&gateway.base), "https://evil.example", 1);
    assert_eq!(foreign["status"], 403, "{foreign}");
    // The sessions are counted.
    let metrics = gateway.admin_text("/_vana/metrics").await;
    let sessions =
        metrics.lines().find(|line| line.starts_with("vana_websocket_sessions_total{outcome=\"closed\"}"));
    assert!(sessions.is_some_and(|line| !line.ends_with(" 0")), "{metrics}");
    assert!(metrics.contains("vana_websocket_transferred_bytes_total{direction=\"to_client\"}"));
}
