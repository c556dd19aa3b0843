//! Closures, guards, futures, the attribute macro and the tracing layer, recorded into a real monitor.

use std::sync::LazyLock;
use std::time::Duration;

use vana_apm::{Apm, ApmLayer, MAX_ERROR_KINDS};
use vana_config::MonitoringConfig;
use vana_metrics::PerformanceMonitor;

/// One monitor and APM for the whole test binary: `#[trace]` records into the global APM.
static MONITOR: LazyLock<PerformanceMonitor> = LazyLock::new(|| {
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    vana_apm::set_global(Apm::new(monitor.clone()));
    monitor
});

fn apm() -> &'static Apm {
    LazyLock::force(&MONITOR);
    vana_apm::global().expect("set by MONITOR")
}

fn calls(operation: &str, success: bool) -> u64 {
    MONITOR
        .get_metrics(&format!("response_time.{operation}"), None)
        .iter()
        .filter(|sample| {
            sample
                .tags
                .iter()
                .any(|(k, v)| &**k == "success" && &**v == if success { "true" } else { "false" })
        })
        .count() as u64
}

fn errors(operation: &str) -> Vec<String> {
    MONITOR
        .get_metrics(&format!("errors.{operation}"), None)
        .iter()
        .map(|sample| {
            sample.tags.iter().find(|(k, _)| &**k == "error").map(|(_, v)| v.to_string()).unwrap_or_default()
        })
        .collect()
}

#[test]
fn closures_guards_and_panics() {
    assert_eq!(apm().trace("closure", || 2 + 2), 4);
    let result = std::panic::catch_unwind(|| apm().trace("panicky", || panic!("boom")));
    assert!(result.is_err());
    {
        let mut span = apm().span("guarded");
        span.fail("validation");
    }
    assert_eq!((calls("closure", true), calls("panicky", false), calls("guarded", false)), (1, 1, 1));
    assert_eq!(errors("panicky"), ["panic"]);
    assert_eq!(errors("guarded"), ["validation"]);
}

#[test]
fn results_operations_and_disabled_spans() {
    assert_eq!(apm().trace_result("result", || "7".parse::<u8>()), Ok(7));
    assert!(apm().trace_result("result", || "700".parse::<u8>()).is_err());
    assert_eq!((calls("result", true), calls("result", false)), (1, 1));
    assert_eq!(errors("result"), ["ParseIntError"]);

    // An operation looked up once: borrowed and owned spans record into it, from any start.
    let before = std::time::Instant::now();
    let operation = apm().operation("looked_up").expect("below the series cap");
    assert_eq!(operation.name(), "looked_up");
    drop(operation.span());
    let owned = operation.span_owned();
    std::thread::spawn(move || drop(owned)).join().unwrap();
    let mut late = operation.span();
    late.set_start(before);
    // However the threads ran, the span covers at least the time since `before`.
    let at_least = before.elapsed().as_secs_f64();
    drop(late);
    assert_eq!(calls("looked_up", true), 3);
    let longest = MONITOR.get_summary("response_time.looked_up", None).max;
    assert!(longest >= at_least, "set_start moves the start back: {longest} < {at_least}");

    // A disabled span records nothing, failed or not.
    let mut disabled = vana_apm::ApmSpan::disabled();
    disabled.fail("ignored");
    drop(disabled);
    assert!(MONITOR.series_names().iter().all(|name| !name.contains("ignored")));
}

#[tokio::test]
async fn futures_are_timed_whole_and_cancellation_is_a_failure() {
    let value = apm()
        .trace_future("sleepy", async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            7
        })
        .await;
    assert_eq!(value, 7);
    let elapsed = MONITOR.get_summary("response_time.sleepy", None).latest;
    assert!(elapsed >= 0.03, "pending time is included: {elapsed}");
    let cancelled = apm().trace_future("abandoned", std::future::pending::<()>());
    assert!(tokio::time::timeout(Duration::from_millis(5), cancelled).await.is_err(), "never completes");
    assert_eq!(calls("abandoned", false), 1);
    assert_eq!(errors("abandoned"), ["cancelled"]);
}

#[vana_apm::trace(name = "macro.parse")]
fn parse(text: &str) -> Result<u16, std::num::ParseIntError> {
    let value: u16 = text.trim().parse()?;
    if value == 0 {
        return Ok(1);
    }
    Ok(value)
}

#[vana_apm::trace]
fn plain(n: u32) -> u32 {
    n * 2
}

#[vana_apm::trace(name = "macro.async")]
async fn fetch(fail: bool) -> Result<&'static str, std::io::Error> {
    tokio::task::yield_now().await;
    if fail { Err(std::io::Error::other("down")) } else { Ok("ok") }
}

struct Service(u32);

impl Service {
    #[vana_apm::trace(name = "macro.method")]
    fn bump(&mut self) -> u32 {
        self.0 += 1;
        self.0
    }
}

#[tokio::test]
async fn the_attribute_times_sync_async_and_methods() {
    LazyLock::force(&MONITOR);
    assert_eq!(parse(" 12 "), Ok(12));
    assert_eq!(parse("0"), Ok(1));
    assert!(parse("x").is_err());
    assert_eq!((calls("macro.parse", true), calls("macro.parse", false)), (2, 1));
    assert_eq!(errors("macro.parse"), ["ParseIntError"]);
    assert_eq!(plain(4), 8);
    assert_eq!(calls("apm::plain", true), 1, "the default name is module::function");
    assert_eq!(fetch(false).await.unwrap(), "ok");
    assert!(fetch(true).await.is_err());
    assert_eq!((calls("macro.async", true), calls("macro.async", false)), (1, 1));
    assert_eq!(errors("macro.async"), ["Error"]);
    let mut service = Service(0);
    assert_eq!(service.bump(), 1);
    assert_eq!(calls("macro.method", true), 1);
}

#[test]
fn error_kinds_are_bounded() {
    for n in 0..100 {
        apm().record_error("kinds", &format!("kind-{n}"));
    }
    apm().record_error("kinds", &"x".repeat(500));
    let kinds = errors("kinds");
    assert_eq!(kinds.len(), 101);
    let distinct: std::collections::BTreeSet<&String> = kinds.iter().collect();
    assert_eq!(distinct.len(), MAX_ERROR_KINDS + 1, "16 kinds and `other`");
    assert!(kinds.iter().all(|kind| kind.len() <= 64));
    assert_eq!(
        MONITOR
            .get_metrics("errors.kinds", None)
            .iter()
            .map(|s| s.tags.clone())
            .collect::<std::collections::HashSet<_>>()
            .len(),
        17
    );
}

#[tracing::instrument(name = "instrumented_work")]
fn instrumented(n: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(2));
    n + 1
}

#[test]
fn instrumented_spans_are_recorded_by_the_layer() {
    use tracing_subscriber::layer::SubscriberExt;
    let monitor = PerformanceMonitor::new(&MonitoringConfig::default());
    let subscriber = tracing_subscriber::registry().with(ApmLayer::new(Apm::new(monitor.clone())));
    tracing::subscriber::with_default(subscriber, || {
        assert_eq!(instrumented(1), 2);
        let span = tracing::info_span!("failing", error = tracing::field::Empty);
        span.record("error", "timeout");
        drop(span);
    });
    let summary = monitor.get_summary("response_time.apm::instrumented_work", None);
    assert_eq!(summary.count, 1);
    assert!(summary.latest >= 0.002);
    assert_eq!(monitor.get_metrics("errors.apm::failing", None).len(), 1);
}
