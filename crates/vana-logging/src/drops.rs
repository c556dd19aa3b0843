//! Reports of the lines a non-blocking writer dropped: a WARNING line of component `logging`, at most once
//! per interval, written by whoever logs next.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::batch::DropCounter;
use crate::fields::Style;
use crate::line::{LineHead, push_line, unix_now};

/// Time between two warnings about dropped lines, by default.
pub(crate) const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(10);

const MESSAGE: &str = "log lines dropped: the writer's buffer was full";

/// Reports lines that the non-blocking writer dropped, at most once per interval.
pub(crate) struct DropReporter {
    counter: DropCounter,
    interval_micros: AtomicU64,
    reported: AtomicUsize,
    /// When the last report was written, in microseconds since the epoch (0: never).
    last_report_micros: AtomicU64,
}

impl DropReporter {
    pub(crate) fn new(counter: DropCounter, interval: Duration) -> Self {
        let reporter = Self {
            counter,
            interval_micros: AtomicU64::new(0),
            reported: AtomicUsize::new(0),
            last_report_micros: AtomicU64::new(0),
        };
        reporter.set_interval(interval);
        reporter
    }

    /// Sets the least time between two reports.
    pub(crate) fn set_interval(&self, interval: Duration) {
        let micros = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX);
        self.interval_micros.store(micros, Ordering::Relaxed);
    }

    /// Writes a warning line in `style` through `write` when lines were dropped since the last report and
    /// the interval has passed.
    pub(crate) fn report_if_due(&self, style: &Style, write: impl FnOnce(&str)) {
        let dropped = self.counter.dropped_lines();
        let reported = self.reported.load(Ordering::Relaxed);
        if dropped <= reported {
            return;
        }
        let now = u64::try_from(unix_now().as_micros()).unwrap_or(u64::MAX);
        let last = self.last_report_micros.load(Ordering::Relaxed);
        let interval = self.interval_micros.load(Ordering::Relaxed);
        let too_soon = last != 0 && now < last.saturating_add(interval);
        // One thread reports: the one that moves the time of the last report.
        if too_soon
            || self
                .last_report_micros
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        self.reported.store(dropped, Ordering::Relaxed);
        let mut metadata = String::new();
        for (key, count) in [("dropped_lines", dropped), ("dropped_since_last_report", dropped - reported)] {
            let first = metadata.is_empty();
            style.push_key(&mut metadata, key, first);
            metadata.push_str(itoa::Buffer::new().format(count));
        }
        let head =
            LineHead { level: "WARNING", message: MESSAGE, correlation_id: None, component: "logging" };
        let mut line = String::with_capacity(256);
        push_line(&mut line, style, &head, &metadata);
        write(&line);
    }
}
