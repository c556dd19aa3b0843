//! `Apm`: time closures, futures and guarded scopes into the monitor.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use vana_config::metric_names;
use vana_metrics::{OperationHandle, PerformanceMonitor};

/// Longest error kind kept, in bytes.
pub const MAX_ERROR_KIND_BYTES: usize = 64;
/// Most distinct error kinds per operation; further kinds count as `other`.
pub const MAX_ERROR_KINDS: usize = 16;
/// Most operations whose error kinds are tracked (their calls are always timed).
const MAX_TRACKED_OPERATIONS: usize = 1024;

struct Inner {
    monitor: PerformanceMonitor,
    operations: RwLock<HashMap<Box<str>, Operation>>,
    error_kinds: Mutex<HashMap<Box<str>, Vec<Box<str>>>>,
}

struct Entry {
    handle: OperationHandle,
    apm: Arc<Inner>,
}

/// One operation, looked up once: [`span`](Operation::span) starts a call with no lookup. Cheap to clone.
#[derive(Clone)]
pub struct Operation {
    entry: Arc<Entry>,
}

impl Operation {
    /// Starts timing one call; the span borrows the operation (the cheapest guard).
    pub fn span(&self) -> ApmSpan<'_> {
        ApmSpan {
            start: self.entry.handle.now(),
            entry: Some(EntryRef::Borrowed(&self.entry)),
            failure: None,
        }
    }

    /// Starts timing one call with a span that owns its operation (to move into a future or a thread).
    pub fn span_owned(&self) -> ApmSpan<'static> {
        ApmSpan {
            start: self.entry.handle.now(),
            entry: Some(EntryRef::Owned(Arc::clone(&self.entry))),
            failure: None,
        }
    }

    /// The operation's name.
    pub fn name(&self) -> &str {
        self.entry.handle.operation()
    }
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation").field("name", &self.name()).finish()
    }
}

/// Application performance monitoring over a [`PerformanceMonitor`]: the specification's `APM`.
///
/// ```
/// use vana_apm::Apm;
///
/// let monitor = vana_metrics::PerformanceMonitor::new(&vana_config::MonitoringConfig::default());
/// let apm = Apm::new(monitor.clone());
/// let total = apm.trace("sum", || (1..=10).sum::<u32>());
/// assert_eq!(total, 55);
/// let parsed: Result<u8, _> = apm.trace_result("parse", || "300".parse::<u8>());
/// assert!(parsed.is_err());
/// assert_eq!(monitor.get_summary("response_time.sum", None).count, 1);
/// assert_eq!(monitor.get_summary("errors.parse", None).count, 1);
/// ```
#[derive(Clone)]
pub struct Apm {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Apm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Apm").field("operations", &self.inner.operations.read().len()).finish_non_exhaustive()
    }
}

/// A timed scope: records its operation's duration when dropped — as a failure when marked failed or when
/// dropped during a panic.
#[must_use = "the span records when dropped; bind it to a variable: `let _span = apm.span(...)`"]
pub struct ApmSpan<'a> {
    /// The monitor clock's nanoseconds at the start.
    start: u64,
    entry: Option<EntryRef<'a>>,
    failure: Option<String>,
}

enum EntryRef<'a> {
    Borrowed(&'a Entry),
    Owned(Arc<Entry>),
}

impl std::ops::Deref for EntryRef<'_> {
    type Target = Entry;

    fn deref(&self) -> &Entry {
        match self {
            EntryRef::Borrowed(entry) => entry,
            EntryRef::Owned(entry) => entry,
        }
    }
}

impl ApmSpan<'_> {
    /// Marks the call failed with an error kind (cut to 64 bytes; at most 16 kinds per operation).
    pub fn fail(&mut self, kind: impl Display) {
        self.failure = Some(kind.to_string());
    }

    /// Counts the call from `started` (an earlier instant) rather than from the span's creation.
    pub fn set_start(&mut self, started: Instant) {
        self.start =
            self.start.saturating_sub(u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX));
    }

    /// A span that records nothing (no APM, or past the series cap).
    pub fn disabled() -> Self {
        Self { start: 0, entry: None, failure: None }
    }
}

impl Drop for ApmSpan<'_> {
    fn drop(&mut self) {
        let Some(entry) = self.entry.take() else { return };
        let failure = self.failure.take().or_else(|| std::thread::panicking().then(|| "panic".to_owned()));
        entry.handle.record_since(self.start, failure.is_none());
        if let Some(kind) = failure {
            record_error(&entry.apm, entry.handle.operation(), &kind);
        }
    }
}

impl Apm {
    /// APM over `monitor`.
    pub fn new(monitor: PerformanceMonitor) -> Self {
        Self {
            inner: Arc::new(Inner { monitor, operations: RwLock::default(), error_kinds: Mutex::default() }),
        }
    }

    /// The monitor.
    pub fn monitor(&self) -> &PerformanceMonitor {
        &self.inner.monitor
    }

    /// The operation `name`, for starting calls with no lookup; `None` past the monitor's series cap.
    pub fn operation(&self, name: &str) -> Option<Operation> {
        if let Some(operation) = self.inner.operations.read().get(name) {
            return Some(operation.clone());
        }
        let handle = self.inner.monitor.operation(name)?;
        let operation = Operation { entry: Arc::new(Entry { handle, apm: Arc::clone(&self.inner) }) };
        let mut operations = self.inner.operations.write();
        Some(operations.entry(name.into()).or_insert(operation).clone())
    }

    /// Starts timing one call of `operation`; the call ends when the span is dropped.
    pub fn span(&self, operation: &str) -> ApmSpan<'static> {
        if let Some(known) = self.inner.operations.read().get(operation) {
            return known.span_owned();
        }
        self.operation(operation).map_or_else(ApmSpan::disabled, |operation| operation.span_owned())
    }

    /// Times `f` as one call of `operation` (a panic counts as a failure).
    pub fn trace<R>(&self, operation: &str, f: impl FnOnce() -> R) -> R {
        let _span = self.span(operation);
        f()
    }

    /// Times `f`; an `Err` counts as a failure, its type as the error kind.
    pub fn trace_result<T, E>(&self, operation: &str, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let mut span = self.span(operation);
        let result = f();
        if result.is_err() {
            span.fail(short_type_name::<E>());
        }
        result
    }

    /// Times the whole future, time spent pending included, as one call of `operation`. A future dropped
    /// before it completes is recorded as a failure of kind `cancelled`.
    pub fn trace_future<F: Future>(
        &self,
        operation: &str,
        future: F,
    ) -> impl Future<Output = F::Output> + use<F> {
        let mut span = self.span(operation);
        span.failure = Some("cancelled".into());
        async move {
            let output = future.await;
            span.failure = None;
            drop(span);
            output
        }
    }

    /// Counts one error of `operation` as `errors.<operation>` with a bounded `error` tag.
    pub fn record_error(&self, operation: &str, kind: &str) {
        record_error(&self.inner, operation, kind);
    }
}

fn record_error(inner: &Inner, operation: &str, kind: &str) {
    {
        let kind = bounded_kind(kind);
        let kind = {
            let mut kinds = inner.error_kinds.lock();
            let tracked = kinds.len();
            match kinds.get_mut(operation) {
                Some(known) if known.iter().any(|known| **known == *kind) => kind,
                Some(known) if known.len() < MAX_ERROR_KINDS => {
                    known.push(kind.into());
                    kind
                }
                None if tracked < MAX_TRACKED_OPERATIONS => {
                    kinds.insert(operation.into(), vec![kind.into()]);
                    kind
                }
                _ => "other",
            }
        };
        inner.monitor.record_metric(&metric_names::errors(operation), 1.0, "count", &[("error", kind)]);
    }
}

/// `kind` cut to [`MAX_ERROR_KIND_BYTES`] on a character boundary.
fn bounded_kind(kind: &str) -> &str {
    if kind.len() <= MAX_ERROR_KIND_BYTES {
        return kind;
    }
    let mut end = MAX_ERROR_KIND_BYTES;
    while !kind.is_char_boundary(end) {
        end -= 1;
    }
    &kind[..end]
}

/// The last path segment of a type's name: `std::num::ParseIntError` → `ParseIntError`.
pub(crate) fn short_type_name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}
