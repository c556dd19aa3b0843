//! Streams through the layer in process: an AI route's events become the GenAI metrics, and a stream that
//! goes quiet is ended for idleness (on tokio's paused clock: no test waits for real time).

#![cfg(feature = "http")]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, header};
use axum::routing::post;
use http_body_util::BodyExt;
use tokio::sync::mpsc;
use tower::ServiceExt;
use vana_ops::Ops;
use vana_ops::config::{ConfigLoader, Document};

const SECURITY: &str = "csrf_protection:\n  require_csrf: false\nhttp:\n  stream_idle_timeout_ms: 1000\n  route_templates: [\"/run_sse\"]\n  route_settings:\n    /run_sse:\n      ai_operation: {}\n";

fn ops() -> Ops {
    let loaded = ConfigLoader::new().document_str(Document::Security, "test", SECURITY).load().unwrap();
    Ops::builder(loaded).install_logging(false).start_collector(false).build().unwrap()
}

/// A stream whose events the test sends, then holds open.
struct ChannelBody(mpsc::Receiver<&'static str>);

impl http_body::Body for ChannelBody {
    type Data = bytes::Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|event| event.map(|text| Ok(http_body::Frame::data(bytes::Bytes::from(text)))))
    }
}

/// `/run_sse` answering with what `events` sends.
fn app(ops: &Ops, events: mpsc::Receiver<&'static str>) -> Router {
    let events = std::sync::Arc::new(std::sync::Mutex::new(Some(events)));
    Router::new()
        .route(
            "/run_sse",
            post(move || {
                let receiver = events.lock().unwrap().take().expect("one request");
                async move { ([(header::CONTENT_TYPE, "text/event-stream")], Body::new(ChannelBody(receiver))) }
            }),
        )
        .layer(ops.http_layer().unwrap())
}

fn run_request() -> Request<Body> {
    let peer: SocketAddr = "198.51.100.7:40000".parse().unwrap();
    let mut request = Request::builder().method("POST").uri("/run_sse");
    request.extensions_mut().unwrap().insert(ConnectInfo(peer));
    request.header(header::CONTENT_TYPE, "application/json").body(Body::from("{}")).unwrap()
}

const CONTROL: &str = "data: {\"author\":\"vana\",\"actions\":{\"stateDelta\":{}}}\n\n";
const PARTIAL: &str = "data: {\"author\":\"vana\",\"partial\":true,\"modelVersion\":\"echo-offline\",\"content\":{\"parts\":[{\"text\":\"Hel\"}]}}\n\n";
const FINAL: &str = "data: {\"author\":\"vana\",\"content\":{\"parts\":[{\"text\":\"Hello\"}]},\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":21}}\n\n";

/// The value of the series `name{labels}` in the exposition.
fn value(metrics: &str, series: &str) -> f64 {
    let line = metrics
        .lines()
        .find(|line| line.starts_with(series))
        .unwrap_or_else(|| panic!("{series} in\n{metrics}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// Real time here (the request's times are the system clock's): the events come 20, 80 and 400 ms after
/// the request, so the bounds below cannot fail on a slow machine, only on a wrong reading.
#[tokio::test]
async fn an_ai_stream_gives_time_to_first_token_tokens_and_time_per_token() {
    let ops = ops();
    let (sender, receiver) = mpsc::channel(8);
    let app = app(&ops, receiver);
    let producer = tokio::spawn(async move {
        for (pause, event) in [(20, CONTROL), (60, PARTIAL), (320, FINAL)] {
            tokio::time::sleep(Duration::from_millis(pause)).await;
            sender.send(event).await.unwrap();
        }
    });
    let response = app.oneshot(run_request()).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    producer.await.unwrap();
    assert_eq!(body.len(), CONTROL.len() + PARTIAL.len() + FINAL.len(), "the stream passes whole");
    let metrics = ops.metrics_text();
    let labels = "gen_ai_agent_name=\"vana\",gen_ai_operation_name=\"invoke_agent\",gen_ai_response_model=\"echo-offline\",http_route=\"/run_sse\"";
    // The control frame at 20 ms is no content: the first token came with the partial, at 80 ms or later.
    let ttft = value(&metrics, &format!("gen_ai_server_time_to_first_token_seconds_sum{{{labels}}}"));
    assert!(ttft >= 0.08, "{ttft}");
    assert_eq!(value(&metrics, &format!("gen_ai_server_time_to_first_token_seconds_count{{{labels}}}")), 1.0);
    // 320 ms or more after the first token for 20 more tokens: 16 ms a token or more.
    let per_token = value(&metrics, &format!("gen_ai_server_time_per_output_token_seconds_sum{{{labels}}}"));
    assert!(per_token >= 0.016, "{per_token}");
    let whole = value(&metrics, "http_server_request_duration_seconds_sum{http_route=\"/run_sse\"");
    assert!(
        ttft + 20.0 * per_token <= whole + 1e-9,
        "first token and the rest within the request: {ttft} {per_token} {whole}"
    );
    for (kind, tokens) in [("input", 7), ("output", 21)] {
        let typed = labels.replace(",http_route", &format!(",gen_ai_token_type=\"{kind}\",http_route"));
        let usage = format!("gen_ai_client_token_usage_sum{{{typed}}} {tokens}");
        assert!(metrics.contains(&usage), "{usage} in\n{metrics}");
    }
    let answered = "vana_gen_ai_responses_total{gen_ai_agent_name=\"vana\",gen_ai_content=\"present\",";
    assert!(metrics.contains(answered), "{answered} in\n{metrics}");
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_goes_quiet_is_ended_and_counted_apart_without_content() {
    let ops = ops();
    let (sender, receiver) = mpsc::channel(8);
    let app = app(&ops, receiver);
    sender.send(CONTROL).await.unwrap();
    let response = app.oneshot(run_request()).await.unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(&first[..], CONTROL.as_bytes());
    let started = tokio::time::Instant::now();
    let cut = body.frame().await.expect("the body ends with an error");
    assert!(cut.is_err(), "the client sees the stream cut, not completed");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1000) && waited < Duration::from_millis(1100), "{waited:?}");
    drop(sender);
    let metrics = ops.metrics_text();
    let series = "vana_http_streams_total{http_route=\"/run_sse\",outcome=\"idle_timeout\"} 1";
    assert!(metrics.contains(series), "{series} in\n{metrics}");
    assert!(
        metrics.contains("gen_ai_content=\"absent\""),
        "an answer without content counts apart:\n{metrics}"
    );
    assert!(
        !metrics.contains("gen_ai_server_time_to_first_token_seconds_count"),
        "no first token:\n{metrics}"
    );
}
