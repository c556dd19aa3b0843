//! Correlation ids follow each request through async code and never mix between concurrent requests.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use tracing::Instrument;
use tracing::instrument::WithSubscriber;
use vana_logging::{CorrelationId, LogEntry, LoggingBuilder, MemoryWriter, request_span};

#[test]
fn concurrent_requests_keep_their_own_ids() {
    let memory = MemoryWriter::default();
    let (dispatch, _guard) =
        LoggingBuilder::new(&common::debug_config()).writer(memory.clone()).build().unwrap();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_time().build().unwrap();
    const REQUESTS: usize = 64;
    const STEPS: usize = 5;
    runtime.block_on(async {
        let mut handles = Vec::new();
        for request in 0..REQUESTS {
            let dispatch = dispatch.clone();
            let handle = tokio::spawn(
                async move {
                    let id = CorrelationId::parse(&format!("req-{request}")).unwrap();
                    let span = request_span(&id, "GET", "/work");
                    async move {
                        for step in 0..STEPS {
                            // Interleave with the other requests on every step.
                            tokio::time::sleep(Duration::from_micros((request * 7 + step * 13) as u64 % 50))
                                .await;
                            tracing::info!(request, step, "step");
                            // A child task that carries the span keeps the id too.
                            let child = async move { tracing::info!(request, step, "child") };
                            tokio::spawn(child.in_current_span().with_current_subscriber()).await.unwrap();
                        }
                    }
                    .instrument(span)
                    .await;
                }
                .with_subscriber(dispatch),
            );
            handles.push(handle);
        }
        for handle in handles {
            handle.await.unwrap();
        }
    });
    let entries: Vec<LogEntry> = memory.lines().iter().map(|line| LogEntry::parse(line).unwrap()).collect();
    let mut per_request: HashMap<u64, usize> = HashMap::new();
    for entry in &entries {
        let request = entry.metadata["request"].as_u64().unwrap();
        assert_eq!(entry.correlation_id.as_deref(), Some(format!("req-{request}").as_str()), "{entry:?}");
        *per_request.entry(request).or_default() += 1;
    }
    assert_eq!(per_request.len(), REQUESTS);
    assert!(per_request.values().all(|&lines| lines == 2 * STEPS), "{per_request:?}");
}

#[test]
fn lines_outside_a_request_have_no_id() {
    let entries = common::capture(&common::debug_config(), |_| tracing::info!("startup"));
    assert_eq!(entries[0].correlation_id, None);
}

#[test]
fn an_id_recorded_later_on_the_span_applies() {
    let entries = common::capture(&common::debug_config(), |_| {
        let span = tracing::info_span!("request", correlation_id = tracing::field::Empty);
        let _entered = span.enter();
        tracing::info!("before");
        span.record("correlation_id", "late-1");
        tracing::info!("after");
    });
    assert_eq!(entries[0].correlation_id, None);
    assert_eq!(entries[1].correlation_id.as_deref(), Some("late-1"));
}
