//! The layer's log lines for Python's `logging`: vana-logging formats them (the gateway's JSON lines, the
//! same fields), a bounded queue keeps them, and Python takes them after each request (`drain_log_lines`)
//! and hands each to the logger `vana_ops.<component>`. Nothing calls into Python from a Rust thread, so no
//! lock of ours is ever held while waiting for the GIL.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use pyo3::prelude::*;
use tracing_subscriber::fmt::MakeWriter;
use vana_logging::{LoggingBuilder, LoggingGuard, RequestLog};

/// Most lines kept between two drains; past it, lines are dropped and counted.
pub(crate) const MAX_QUEUED_LINES: usize = 10_000;

#[derive(Default)]
struct Queue {
    lines: VecDeque<String>,
    dropped: u64,
}

/// The writer vana-logging writes to: each write is one line or more.
#[derive(Clone, Default)]
pub(crate) struct LineQueue {
    queue: Arc<Mutex<Queue>>,
}

impl LineQueue {
    fn push(&self, text: &str) {
        let mut queue = self.queue.lock();
        for line in text.lines().filter(|line| !line.is_empty()) {
            if queue.lines.len() >= MAX_QUEUED_LINES {
                queue.dropped += 1;
            } else {
                queue.lines.push_back(line.to_owned());
            }
        }
    }

    /// The lines so far, and how many were dropped since the last drain.
    fn drain(&self) -> (Vec<String>, u64) {
        let mut queue = self.queue.lock();
        let dropped = std::mem::take(&mut queue.dropped);
        (queue.lines.drain(..).collect(), dropped)
    }
}

impl io::Write for LineQueue {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.push(&String::from_utf8_lossy(bytes));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LineQueue {
    type Writer = LineQueue;

    fn make_writer(&'a self) -> LineQueue {
        self.clone()
    }
}

struct Installed {
    queue: LineQueue,
    request_log: RequestLog,
    /// Kept for the process's life: the subscriber's levels live in it.
    _guard: Option<Mutex<LoggingGuard>>,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// vana-logging as the process's `tracing` subscriber, writing to the queue (the first configuration's
/// `logging` section wins); the request log the layer writes to.
pub(crate) fn install(logging: &vana_config::Logging) -> RequestLog {
    let installed = INSTALLED.get_or_init(|| {
        let queue = LineQueue::default();
        match LoggingBuilder::new(logging).writer(queue.clone()).init() {
            Ok(guard) => {
                Installed { queue, request_log: guard.request_log(), _guard: Some(Mutex::new(guard)) }
            }
            // Another subscriber is the process's already: lines go there, through `tracing`.
            Err(_) => Installed { queue, request_log: RequestLog::via_tracing(), _guard: None },
        }
    });
    installed.request_log.clone()
}

/// The head of a JSON line: enough to choose its logger and level.
#[derive(serde::Deserialize)]
struct Head<'a> {
    #[serde(borrow)]
    level: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    component: std::borrow::Cow<'a, str>,
}

/// Python's level number of a line's level.
fn level_number(level: &str) -> u8 {
    match level.to_ascii_lowercase().as_str() {
        "trace" | "debug" => 10,
        "warning" | "warn" => 30,
        "error" => 40,
        "critical" => 50,
        _ => 20,
    }
}

/// The layer's log lines since the last call: `[(component, level number, line), ...]`, the line as the
/// gateway writes it. A line that is not JSON (the text format) is `("vana_ops", 20, line)`. Lines dropped
/// because nobody drained them come first as one warning line.
#[pyfunction]
pub(crate) fn drain_log_lines() -> Vec<(String, u8, String)> {
    let Some(installed) = INSTALLED.get() else { return Vec::new() };
    let (lines, dropped) = installed.queue.drain();
    let mut out = Vec::with_capacity(lines.len() + 1);
    if dropped > 0 {
        let line = serde_json::json!({
            "level": "WARNING",
            "component": "vana_ops",
            "message": format!("{dropped} log lines dropped: more than {MAX_QUEUED_LINES} waited between two drains"),
        });
        out.push(("vana_ops".to_owned(), 30, line.to_string()));
    }
    for line in lines {
        let (component, level) = match serde_json::from_str::<Head<'_>>(&line) {
            Ok(head) => (head.component.into_owned(), level_number(&head.level)),
            Err(_) => ("vana_ops".to_owned(), 20),
        };
        out.push((component, level, line));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_keeps_at_most_its_cap_and_counts_the_rest_until_drained() {
        let queue = LineQueue::default();
        let text: String = (0..MAX_QUEUED_LINES + 5).map(|n| format!("line {n}\n")).collect();
        queue.push(&text);
        let (lines, dropped) = queue.drain();
        assert_eq!((lines.len(), dropped), (MAX_QUEUED_LINES, 5));
        assert_eq!(lines[0], "line 0");
        assert_eq!(queue.drain(), (Vec::new(), 0), "a drain empties the queue and resets the count");
    }

    #[test]
    fn a_line_names_its_logger_and_level() {
        assert_eq!(level_number("WARN"), 30);
        assert_eq!(level_number("CRITICAL"), 50);
        assert_eq!(level_number("anything else"), 20);
    }
}
