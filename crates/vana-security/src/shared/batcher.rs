//! Coalescing concurrent checks into one pipeline: while one round trip is in flight, the checks that
//! arrive wait together and go in the next one. At low load a check goes alone at once; under load a round
//! trip carries many, so throughput is bounded by Redis's work per check, not by the round trip.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::backend::RedisBackend;
use super::store::{GCRA_SCRIPT, Reply};

/// Most checks in one pipeline.
const MAX_BATCH: usize = 256;

/// One waiting check: its key and arguments, and where its answer goes.
struct Pending {
    key: String,
    emission: u64,
    tolerance: u64,
    answer: Arc<Answer>,
}

#[derive(Default)]
struct Answer {
    reply: Mutex<Option<Option<Reply>>>,
    ready: Condvar,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    stopped: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// The coalescing thread of a `RedisStore`.
pub(crate) struct Batcher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// Longest a caller waits for its answer before falling back.
    patience: Duration,
}

impl Batcher {
    pub(crate) fn spawn(backend: Arc<RedisBackend>, script_hash: String, patience: Duration) -> Self {
        let shared = Arc::new(Shared { queue: Mutex::new(Queue::default()), wake: Condvar::new() });
        let worker = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vana-redis-batch".into())
            .spawn(move || run(&worker, &backend, &script_hash))
            .ok();
        Self { shared, thread, patience }
    }

    /// Sends one check with the next pipeline and waits for its reply; `None` when Redis did not answer
    /// (or the thread could not start).
    pub(crate) fn check(&self, key: String, emission: u64, tolerance: u64) -> Option<Reply> {
        self.thread.as_ref()?;
        let answer = Arc::new(Answer::default());
        {
            let mut queue = self.shared.queue.lock();
            if queue.stopped {
                return None;
            }
            queue.pending.push(Pending { key, emission, tolerance, answer: Arc::clone(&answer) });
        }
        self.shared.wake.notify_one();
        let deadline = Instant::now() + self.patience;
        let mut reply = answer.reply.lock();
        while reply.is_none() {
            if answer.ready.wait_until(&mut reply, deadline).timed_out() {
                break;
            }
        }
        reply.take().flatten()
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        self.shared.queue.lock().stopped = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, backend: &RedisBackend, script_hash: &str) {
    loop {
        let batch: Vec<Pending> = {
            let mut queue = shared.queue.lock();
            while queue.pending.is_empty() && !queue.stopped {
                shared.wake.wait(&mut queue);
            }
            if queue.pending.is_empty() {
                return;
            }
            let take = queue.pending.len().min(MAX_BATCH);
            queue.pending.drain(..take).collect()
        };
        let mut pipeline = redis::pipe();
        // Idempotent, and it makes the batch work after a Redis restart emptied the script cache.
        pipeline.cmd("SCRIPT").arg("LOAD").arg(GCRA_SCRIPT).ignore();
        for pending in &batch {
            pipeline
                .cmd("EVALSHA")
                .arg(script_hash)
                .arg(1)
                .arg(&pending.key)
                .arg(pending.emission)
                .arg(pending.tolerance)
                .arg("");
        }
        let replies: Option<Vec<Reply>> = backend.run(|connection| pipeline.query(connection));
        let mut replies = replies.filter(|replies| replies.len() == batch.len()).map(Vec::into_iter);
        for pending in batch {
            let reply = replies.as_mut().and_then(Iterator::next);
            *pending.answer.reply.lock() = Some(reply);
            pending.answer.ready.notify_one();
        }
    }
}
