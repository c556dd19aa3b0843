//! Traces against real receivers: Arize Phoenix (`arize-phoenix`, started on loopback) receives the
//! gateway's spans over OTLP/HTTP, and the real ADK server behind the gateway (under OpenTelemetry's
//! instrumentation, exporting to the same Phoenix) joins the gateway's trace: one trace, the caller's
//! span, the gateway's server span as its child, ADK's server span as the gateway's child, ADK's own
//! agent spans below.

mod support;

use std::time::Duration;

use support::{Gateway, client};
use vana_testkit::{AdkServer, Phoenix, wait_until};

/// The caller's trace, as a client that traces sends it.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn recipe() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples/vana")
}

/// The spans of `TRACE_ID` in Phoenix once `done` holds for them (up to 30 s), or what there was.
fn trace_spans(phoenix: &Phoenix, done: impl Fn(&[serde_json::Value]) -> bool) -> Vec<serde_json::Value> {
    let ours = || -> Vec<serde_json::Value> {
        phoenix.spans().into_iter().filter(|span| span["context"]["trace_id"] == TRACE_ID).collect()
    };
    wait_until(Duration::from_secs(30), || done(&ours()));
    ours()
}

/// The gateway's server span: ADK's FastAPI span has the same name, but no correlation id.
fn gateway_span(spans: &[serde_json::Value]) -> Option<&serde_json::Value> {
    spans
        .iter()
        .find(|span| span["name"] == "POST /run_sse" && span["attributes"]["correlation_id"].is_string())
}

/// Whether ADK's own agent spans (its invocation, the model call) are among `spans`.
fn has_agent_spans(spans: &[serde_json::Value]) -> bool {
    spans
        .iter()
        .filter_map(|span| span["name"].as_str())
        .any(|name| name.contains("invoke_agent") || name.contains("invocation") || name.contains("call_llm"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_runs_from_the_caller_through_the_gateway_into_adk() {
    let phoenix = Phoenix::start();
    let adk = AdkServer::start_traced(&phoenix.url());
    let recipe = recipe();
    let gateway = Gateway::start(
        &["--config", recipe.to_str().unwrap(), "--upstream", &adk.url()],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", phoenix.url().as_str()),
            ("OTEL_SERVICE_NAME", "vana-gateway"),
            ("VANA_MONITORING__TRACES__EXPORT_INTERVAL_MS", "200"),
        ],
    );
    gateway.create_adk_session("traced").await;
    let message = serde_json::json!({
        "appName": "vana", "userId": "user-1", "sessionId": "traced", "streaming": true,
        "newMessage": { "role": "user", "parts": [{ "text": "hello there" }] },
    });
    let answer = client()
        .post(gateway.url("/run_sse"))
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .json(&message)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(answer.text().await.unwrap().contains("echo: hello there"));

    let spans = trace_spans(&phoenix, |spans| gateway_span(spans).is_some() && has_agent_spans(spans));
    let names: Vec<&str> = spans.iter().filter_map(|span| span["name"].as_str()).collect();
    let gateway_span = gateway_span(&spans).unwrap_or_else(|| panic!("the gateway's span: {names:?}"));
    assert_eq!(gateway_span["parent_id"], CALLER_SPAN, "the caller's span is its parent");
    let attributes = &gateway_span["attributes"];
    assert_eq!(attributes["http.route"], "/run_sse", "{gateway_span}");
    assert!(attributes["correlation_id"].as_str().is_some_and(|id| !id.is_empty()), "{gateway_span}");
    assert_eq!(attributes["gen_ai.agent.name"], "vana", "{gateway_span}");
    let ttft = attributes["gen_ai.server.time_to_first_token"].as_f64().expect("the time to first token");
    assert!(ttft > 0.0, "{gateway_span}");
    // ADK's server span (FastAPI, instrumented) is the gateway's child; ADK's agent spans are below it.
    let gateway_id = &gateway_span["context"]["span_id"];
    let adk_children: Vec<&str> = spans
        .iter()
        .filter(|span| &span["parent_id"] == gateway_id)
        .filter_map(|span| span["name"].as_str())
        .collect();
    assert!(adk_children.contains(&"POST /run_sse"), "ADK's server span is the gateway's child: {names:?}");
    assert!(has_agent_spans(&spans), "ADK's own agent spans are in the trace: {names:?}");
    let metrics = gateway.admin_text("/_vana/metrics").await;
    assert!(metrics.contains("vana_trace_spans_total{outcome=\"exported\"}"), "{metrics}");
    assert!(metrics.contains("vana_trace_spans_total{outcome=\"dropped\"} 0"), "{metrics}");
    eprintln!("one trace: {names:?}");
}
