//! Coalescing blocking callers' concurrent checks: while one round trip is in flight, the checks that
//! arrive wait together and go in the next one, one call of the script for all of them. At low load a check
//! goes alone at once, on its caller's thread; under load a round trip carries many, so throughput is
//! bounded by Redis's work per check, not by the round trip.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::backend::RedisBackend;
use super::store::{Check, GCRA_SCRIPT, Reply, push_script_call};

/// Most checks in one call of the script (Redis runs it atomically: other clients wait meanwhile).
const MAX_BATCH: usize = 256;

/// One waiting check: its key and arguments, and where its answer goes.
struct Pending {
    check: Check,
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
    /// A caller is sending pipelines; others leave their checks to it.
    leader: bool,
}

/// The coalescing of a `RedisStore`: no thread of its own. The first caller to find no pipeline in flight
/// sends its check (and any waiting) itself; callers arriving meanwhile queue and wait, and the leader
/// sends them in its next pipeline before stepping down.
pub(crate) struct Batcher {
    queue: Mutex<Queue>,
    backend: Arc<RedisBackend>,
    script_hash: String,
    /// Longest a follower waits for its answer before falling back.
    patience: Duration,
}

impl Batcher {
    pub(crate) fn new(backend: Arc<RedisBackend>, script_hash: String, patience: Duration) -> Self {
        Self { queue: Mutex::new(Queue::default()), backend, script_hash, patience }
    }

    /// Sends one check in the next pipeline and returns its reply; `None` when Redis did not answer.
    pub(crate) fn check(&self, check: Check) -> Option<Reply> {
        let answer = Arc::new(Answer::default());
        let lead = {
            let mut queue = self.queue.lock();
            queue.pending.push(Pending { check, answer: Arc::clone(&answer) });
            !std::mem::replace(&mut queue.leader, true)
        };
        if lead {
            self.lead();
        }
        let deadline = Instant::now() + self.patience;
        let mut reply = answer.reply.lock();
        while reply.is_none() {
            if answer.ready.wait_until(&mut reply, deadline).timed_out() {
                break;
            }
        }
        reply.take().flatten()
    }

    /// Sends pipelines until nobody waits.
    fn lead(&self) {
        loop {
            let batch: Vec<Pending> = {
                let mut queue = self.queue.lock();
                if queue.pending.is_empty() {
                    queue.leader = false;
                    return;
                }
                let take = queue.pending.len().min(MAX_BATCH);
                queue.pending.drain(..take).collect()
            };
            self.send(batch);
        }
    }

    fn send(&self, batch: Vec<Pending>) {
        let (checks, answers): (Vec<Check>, Vec<Arc<Answer>>) =
            batch.into_iter().map(|pending| (pending.check, pending.answer)).unzip();
        let mut pipeline = redis::pipe();
        // Idempotent, and it makes the batch work after a Redis restart emptied the script cache.
        pipeline.cmd("SCRIPT").arg("LOAD").arg(GCRA_SCRIPT).ignore();
        push_script_call(&mut pipeline, &self.script_hash, &checks, None);
        let replies: Option<(Vec<Reply>,)> = self.backend.run(|connection| pipeline.query(connection));
        let mut replies = replies
            .map(|(replies,)| replies)
            .filter(|replies| replies.len() == checks.len())
            .map(Vec::into_iter);
        for answer in answers {
            let reply = replies.as_mut().and_then(Iterator::next);
            *answer.reply.lock() = Some(reply);
            answer.ready.notify_one();
        }
    }
}
