//! The dashboard's live updates over Server-Sent Events. One ticker builds an update a second while any
//! page listens and publishes it on a broadcast ring of [`BUFFER`] updates; each page reads from the ring at
//! its own pace. A page that falls behind by more than the ring skips to the newest update and the skipped
//! ones are counted (`dashboard.dropped_updates`), so a slow or stalled browser holds at most the ring,
//! never a queue of its own. At most [`MAX_CLIENTS`] pages listen at once.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::response::sse::Event;
use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError};
use vana_metrics::SeriesHandle;

use crate::http::dashboard::snapshot::Snapshots;
use crate::ops::Ops;

/// Updates kept for pages that read late.
pub(crate) const BUFFER: usize = 4;
/// Most pages listening at once; past it, `503`.
pub(crate) const MAX_CLIENTS: usize = 16;
/// Time between two updates.
const INTERVAL: Duration = Duration::from_secs(1);

/// The updates' source, shared by every page.
pub(crate) struct Updates {
    sender: broadcast::Sender<Arc<str>>,
    snapshots: Snapshots,
    ticking: AtomicBool,
    clients: AtomicUsize,
    dropped: AtomicU64,
    dropped_series: Option<SeriesHandle>,
}

/// One listening page: counted while it lives.
struct Listener {
    updates: Arc<Updates>,
    receiver: broadcast::Receiver<Arc<str>>,
    first: Option<String>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.updates.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Updates {
    pub(crate) fn new(ops: &Ops) -> Arc<Self> {
        let (sender, _) = broadcast::channel(BUFFER);
        Arc::new(Self {
            sender,
            snapshots: Snapshots::new(ops),
            ticking: AtomicBool::new(false),
            clients: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            dropped_series: ops.monitor().series("dashboard.dropped_updates", "count", &[]),
        })
    }

    /// The update now, as JSON.
    pub(crate) fn snapshot(&self) -> String {
        let clients = self.clients.load(Ordering::Acquire);
        self.snapshots.build(clients, self.dropped.load(Ordering::Relaxed)).to_string()
    }

    /// Builds an update and hands it to every listening page.
    pub(crate) fn publish(&self) {
        let _ = self.sender.send(Arc::from(self.snapshot()));
    }

    /// Updates skipped by pages that fell behind.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn count_dropped(&self, skipped: u64) {
        self.dropped.fetch_add(skipped, Ordering::Relaxed);
        if let Some(series) = &self.dropped_series {
            series.record(skipped as f64);
        }
    }

    /// A page's stream of updates, starting with one built now; `None` when [`MAX_CLIENTS`] listen
    /// already. Starts the ticker (on the current Tokio runtime) when it is not running.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
    ) -> Option<impl Stream<Item = Result<Event, Infallible>> + use<>> {
        let admitted = self.clients.fetch_update(Ordering::AcqRel, Ordering::Acquire, |clients| {
            (clients < MAX_CLIENTS).then_some(clients + 1)
        });
        admitted.ok()?;
        let listener = Listener {
            updates: Arc::clone(self),
            receiver: self.sender.subscribe(),
            first: Some(self.snapshot()),
        };
        if !self.ticking.swap(true, Ordering::AcqRel) {
            tokio::spawn(Arc::clone(self).tick());
        }
        Some(futures_util::stream::unfold(listener, |mut listener| async move {
            let data = match listener.first.take() {
                Some(first) => first,
                None => listener.next().await?,
            };
            Some((Ok(Event::default().event("update").data(data)), listener))
        }))
    }

    /// Publishes an update every [`INTERVAL`] while a page listens.
    async fn tick(self: Arc<Self>) {
        loop {
            tokio::time::sleep(INTERVAL).await;
            if self.sender.receiver_count() == 0 {
                self.ticking.store(false, Ordering::Release);
                // A page that subscribed meanwhile either started a ticker of its own or finds this one.
                if self.sender.receiver_count() == 0 || self.ticking.swap(true, Ordering::AcqRel) {
                    return;
                }
            }
            self.publish();
        }
    }
}

impl Listener {
    /// The next update; past a gap, the oldest kept one after counting what was skipped.
    async fn next(&mut self) -> Option<String> {
        loop {
            match self.receiver.recv().await {
                Ok(update) => return Some(update.to_string()),
                Err(RecvError::Lagged(skipped)) => self.updates.count_dropped(skipped),
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    fn ops() -> Ops {
        Ops::builder_from_embedded_defaults().install_logging(false).start_collector(false).build().unwrap()
    }

    // Paused time: the ticker's sleep never ends on its own, so only `publish` here makes updates.
    #[tokio::test(start_paused = true)]
    async fn a_page_that_does_not_read_holds_the_ring_and_its_skipped_updates_are_counted() {
        let updates = Updates::new(&ops());
        let mut stream = Box::pin(updates.subscribe().expect("room"));
        assert!(stream.next().await.is_some(), "the first update comes at once");
        for _ in 0..BUFFER + 6 {
            updates.publish();
        }
        assert_eq!(updates.sender.len(), BUFFER, "the ring never holds more than BUFFER updates");
        assert!(stream.next().await.is_some(), "the page goes on with the oldest kept update");
        assert_eq!(updates.dropped(), 6);
        let text = updates.snapshots_ops_metrics();
        assert!(text.contains("vana_dashboard_dropped_updates_total 6\n"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_max_clients_listen_and_a_closed_page_frees_its_place() {
        let updates = Updates::new(&ops());
        let pages: Vec<_> = (0..MAX_CLIENTS).map(|_| updates.subscribe().expect("room")).collect();
        assert!(updates.subscribe().is_none(), "one page too many");
        drop(pages);
        assert!(updates.subscribe().is_some());
    }

    impl Updates {
        fn snapshots_ops_metrics(&self) -> String {
            self.snapshots.ops().metrics_text()
        }
    }
}
