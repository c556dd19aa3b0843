//! `BatchWriter`: a bounded, non-blocking log writer whose thread writes lines in batches.
//!
//! tracing-appender's non-blocking writer sends each line through a channel and wakes its thread per line;
//! under load that thread spun in `sched_yield` and took a quarter of a core from the service. Here a line
//! is appended to a shared buffer under a short lock, the thread is woken only when it sleeps, and it
//! writes everything gathered since its last pass with one `write(2)`.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tracing_subscriber::fmt::MakeWriter;

/// Once woken, the thread waits up to this long for a batch to gather (bounded staleness of a log line),
/// less when the buffer is half full. Each pass wakes the thread twice, so under load a longer gathering
/// means fewer context switches a request (10 ms: half those of 2 ms, docs/benchmarks.md).
const GATHER: Duration = Duration::from_millis(10);
/// Most bytes buffered whatever the line count: lines past it are dropped and counted.
pub const MAX_BUFFERED_BYTES: usize = 64 * 1024 * 1024;

/// Lines dropped because the buffer was full.
#[derive(Debug, Clone, Default)]
pub struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    /// The number dropped so far.
    pub fn dropped_lines(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

struct State {
    buffer: Vec<u8>,
    lines: usize,
    /// The thread waits for a first line.
    worker_asleep: bool,
    /// The thread lets a batch gather; a buffer half full cuts that short.
    gathering: bool,
    shutdown: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    max_lines: usize,
    max_bytes: usize,
    dropped: DropCounter,
}

/// The writing side, a [`MakeWriter`] for the log layer; cheap to clone.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// The writer thread: dropping it writes what is buffered and stops the thread.
pub struct BatchWorker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BatchWriter {
    /// Starts a thread writing to `output`, buffering at most `max_lines` lines (and
    /// [`MAX_BUFFERED_BYTES`]).
    pub fn spawn(output: Box<dyn Write + Send>, max_lines: usize) -> io::Result<(BatchWriter, BatchWorker)> {
        Self::spawn_with_cap(output, max_lines, MAX_BUFFERED_BYTES)
    }

    fn spawn_with_cap(
        mut output: Box<dyn Write + Send>,
        max_lines: usize,
        max_bytes: usize,
    ) -> io::Result<(BatchWriter, BatchWorker)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                buffer: Vec::new(),
                lines: 0,
                worker_asleep: false,
                gathering: false,
                shutdown: false,
            }),
            wake: Condvar::new(),
            max_lines: max_lines.max(1),
            max_bytes,
            dropped: DropCounter::default(),
        });
        let worker_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vana-logging".into())
            .spawn(move || write_batches(&worker_shared, output.as_mut()))?;
        Ok((BatchWriter { shared: Arc::clone(&shared) }, BatchWorker { shared, thread: Some(thread) }))
    }

    /// Most lines buffered.
    #[cfg(test)]
    pub(crate) fn max_lines(&self) -> usize {
        self.shared.max_lines
    }

    /// The count of dropped lines.
    pub fn drop_counter(&self) -> DropCounter {
        self.shared.dropped.clone()
    }

    pub(crate) fn append(&self, line: &[u8]) {
        let mut state = self.shared.state.lock();
        if state.lines >= self.shared.max_lines || state.buffer.len() + line.len() > self.shared.max_bytes {
            drop(state);
            self.shared.dropped.0.fetch_add(1, Ordering::Relaxed);
            return;
        }
        state.buffer.extend_from_slice(line);
        state.lines += 1;
        let half_full =
            state.lines * 2 >= self.shared.max_lines || state.buffer.len() * 2 >= self.shared.max_bytes;
        if state.worker_asleep || (state.gathering && half_full) {
            state.worker_asleep = false;
            state.gathering = false;
            drop(state);
            self.shared.wake.notify_one();
        }
    }
}

fn write_batches(shared: &Shared, output: &mut dyn Write) {
    let mut batch = Vec::new();
    loop {
        let mut state = shared.state.lock();
        while state.buffer.is_empty() && !state.shutdown {
            state.worker_asleep = true;
            shared.wake.wait(&mut state);
        }
        if !state.shutdown {
            // Let lines gather: one write for many requests, unless the buffer fills up first.
            state.gathering = true;
            let _ = shared.wake.wait_for(&mut state, GATHER);
            state.gathering = false;
        }
        std::mem::swap(&mut state.buffer, &mut batch);
        state.lines = 0;
        let finished = state.shutdown && batch.is_empty();
        drop(state);
        if finished {
            break;
        }
        // A failing output loses this batch but never stops logging.
        let _ = output.write_all(&batch).and_then(|()| output.flush());
        batch.clear();
        if batch.capacity() > 1024 * 1024 {
            batch.shrink_to(64 * 1024);
        }
    }
    let _ = output.flush();
}

impl BatchWorker {
    /// Writes what is buffered and stops the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.state.lock().shutdown = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BatchWorker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Write for BatchWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &BatchWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> BatchWriter {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// An output that records what it receives and can be held shut.
    /// An output whose first write waits until the test opens it; `stuck` hears when that write began.
    struct Gate {
        received: Arc<Mutex<Vec<u8>>>,
        open: mpsc::Receiver<()>,
        first: bool,
        stuck: Option<mpsc::Sender<()>>,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if std::mem::take(&mut self.first) {
                if let Some(stuck) = self.stuck.take() {
                    stuck.send(()).unwrap();
                }
                let _ = self.open.recv();
            }
            self.received.lock().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_and_shutdown_flushes() {
        let received = Arc::new(Mutex::new(Vec::new()));
        let (open, gate) = mpsc::channel();
        open.send(()).unwrap();
        let output = Gate { received: Arc::clone(&received), open: gate, first: true, stuck: None };
        let (writer, worker) = BatchWriter::spawn(Box::new(output), 1000).unwrap();
        for index in 0..100 {
            writer.make_writer().write_all(format!("line {index}\n").as_bytes()).unwrap();
        }
        worker.shutdown();
        let text = String::from_utf8(received.lock().clone()).unwrap();
        let expected: String = (0..100).map(|index| format!("line {index}\n")).collect();
        assert_eq!(text, expected);
    }

    #[test]
    fn a_stalled_output_caps_the_buffer_and_counts_what_it_drops() {
        let received = Arc::new(Mutex::new(Vec::new()));
        let (open, gate) = mpsc::channel();
        let (stuck, is_stuck) = mpsc::channel();
        let output = Gate { received: Arc::clone(&received), open: gate, first: true, stuck: Some(stuck) };
        let (writer, worker) = BatchWriter::spawn_with_cap(Box::new(output), 10, 1 << 20).unwrap();
        writer.make_writer().write_all(b"first\n").unwrap();
        // The thread holds "first" and is stuck writing it.
        is_stuck.recv_timeout(Duration::from_secs(30)).expect("the writer thread writes");
        for index in 0..25 {
            writer.make_writer().write_all(format!("more {index}\n").as_bytes()).unwrap();
        }
        assert_eq!(writer.drop_counter().dropped_lines(), 15);
        assert_eq!(writer.shared.state.lock().lines, 10);
        open.send(()).unwrap();
        worker.shutdown();
        let text = String::from_utf8(received.lock().clone()).unwrap();
        assert_eq!(text.lines().count(), 11, "{text}");
    }

    #[test]
    fn the_byte_cap_holds_whatever_the_line_count() {
        let (open, gate) = mpsc::channel();
        let output = Gate { received: Arc::default(), open: gate, first: true, stuck: None };
        let (writer, worker) = BatchWriter::spawn_with_cap(Box::new(output), 1_000_000, 100).unwrap();
        // The thread may take the first line before the cap applies; the buffer itself never passes 100.
        for _ in 0..50 {
            writer.make_writer().write_all(&[b'x'; 30]).unwrap();
            assert!(writer.shared.state.lock().buffer.len() <= 100);
        }
        assert!(writer.drop_counter().dropped_lines() >= 40);
        open.send(()).unwrap();
        worker.shutdown();
    }
}
