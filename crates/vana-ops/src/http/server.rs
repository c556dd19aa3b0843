//! The gateway's server: HTTP/1 connections with a header-read timeout (which also ends a kept-alive
//! connection that stays idle), caps on the connections open in all and per client network, and a graceful
//! shutdown with a deadline. `axum::serve` has none of these, so a few trickling clients could hold every
//! descriptor of the process. A connection switched to another protocol (a WebSocket) keeps its place under
//! the caps and ends at shutdown too: its requests carry a [`ConnectionLease`].

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt;
use vana_security::ClientNetworks;

use crate::http::throttle::Throttle;
use crate::ops::Ops;

/// The answer to a connection past a cap, written once before it is closed.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 21\r\n\r\ntoo many connections\n";

/// Serves `app` on `listener` until `shutdown` completes, with the connection settings of `ops`'s `http`
/// section (`header_read_timeout_ms`, `max_connections`, `max_connections_per_client`,
/// `shutdown_timeout_ms`). The peer address reaches the layer as axum's `ConnectInfo`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    ops: &Ops,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let http = &ops.config().security.http;
    let security = ops.security();
    let gate = Arc::new(ConnectionGate {
        total_cap: http.max_connections,
        client_cap: http.max_connections_per_client,
        networks: security.networks(),
        trusted: security.client_addresses().clone(),
        open: Mutex::new(Open::default()),
    });
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(Duration::from_millis(http.header_read_timeout_ms));
    let drain = Drain::new();
    let warnings = Throttle::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was accepted: wait a little
                    // rather than spin, and say so.
                    warnings.warn(|| tracing::warn!(target: "vana_ops", %error, "accepting a connection failed"));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        match gate.admit(peer.ip()) {
            Ok(permit) => spawn_connection(&builder, stream, peer, app.clone(), drain.lease(permit)),
            Err(reason) => refuse(stream, reason, ops, &warnings),
        }
    }
    drop(listener);
    if !drain.finish(Duration::from_millis(http.shutdown_timeout_ms)).await {
        let open = gate.open.lock().total;
        tracing::warn!(target: "vana_ops", open, "requests still in flight at the shutdown deadline are cut");
    }
    Ok(())
}

/// Serves one connection on its own task: its requests carry the peer address and the connection's lease;
/// at shutdown it finishes the request in flight and closes.
fn spawn_connection(
    builder: &http1::Builder,
    stream: TcpStream,
    peer: std::net::SocketAddr,
    app: Router,
    lease: ConnectionLease,
) {
    let mut stopping = lease.clone();
    let service = {
        let lease = lease.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            // Only a request that may switch protocols outlives itself and needs the lease.
            if request.headers().contains_key(hyper::header::UPGRADE) {
                request.extensions_mut().insert(lease.clone());
            }
            app.clone().oneshot(request.map(Body::new))
        })
    };
    let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::spawn(async move {
        tokio::pin!(connection);
        let stop_signal = async move { stopping.stopped().await };
        // A connection's end (a timeout, a reset) is the client's business, not an error of the server.
        tokio::select! {
            _ = connection.as_mut() => {}
            () = stop_signal => {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        }
        drop(lease);
    });
}

/// The server's shutdown: a signal every connection and session watches, and a count of those still open
/// (each holds a sender; when the last is dropped, all have ended).
struct Drain {
    stop: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
    open: mpsc::Sender<()>,
    all_ended: mpsc::Receiver<()>,
}

impl Drain {
    fn new() -> Self {
        let (stop, stopped) = watch::channel(false);
        let (open, all_ended) = mpsc::channel(1);
        Self { stop, stopped, open, all_ended }
    }

    /// The lease of a connection admitted with `permit`.
    fn lease(&self, permit: Permit) -> ConnectionLease {
        ConnectionLease { _permit: Arc::new(permit), _open: self.open.clone(), stopped: self.stopped.clone() }
    }

    /// Signals shutdown and waits up to `deadline` for every connection and session to end: whether they did.
    async fn finish(self, deadline: Duration) -> bool {
        let Self { stop, open, mut all_ended, .. } = self;
        let _ = stop.send(true);
        drop(open);
        tokio::time::timeout(deadline, all_ended.recv()).await.is_ok()
    }
}

/// A connection's place under the caps and in the server's shutdown, carried by each of its requests that
/// asks to switch protocols: a session that outlives the request (an upgraded connection) keeps a clone
/// until it ends, and ends when [`stopped`](Self::stopped) does.
#[derive(Clone)]
pub(crate) struct ConnectionLease {
    _permit: Arc<Permit>,
    _open: mpsc::Sender<()>,
    stopped: watch::Receiver<bool>,
}

impl ConnectionLease {
    /// Completes once the server is shutting down.
    pub(crate) async fn stopped(&mut self) {
        let _ = self.stopped.wait_for(|stop| *stop).await;
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    Total,
    PerClient,
}

impl Refused {
    fn as_str(self) -> &'static str {
        match self {
            Refused::Total => "total",
            Refused::PerClient => "per_client",
        }
    }
}

/// Answers 503 without waiting (the socket's buffer is empty, so one non-blocking write takes it), counts
/// the refusal and closes the connection.
fn refuse(stream: TcpStream, reason: Refused, ops: &Ops, warnings: &Throttle) {
    let _ = stream.try_write(REFUSED);
    drop(stream);
    ops.monitor().record_metric("connections.refused", 1.0, "count", &[("reason", reason.as_str())]);
    warnings.warn(|| {
        tracing::warn!(target: "vana_ops", reason = reason.as_str(), "connections refused past their cap");
    });
}

/// Open connections, in all and by client network.
#[derive(Default)]
struct Open {
    total: u64,
    /// Only networks with open connections: at most `max_connections` entries.
    by_client: HashMap<IpAddr, u64>,
}

/// The caps on open connections.
struct ConnectionGate {
    total_cap: u64,
    client_cap: u64,
    networks: ClientNetworks,
    trusted: vana_security::ClientAddressResolver,
    open: Mutex<Open>,
}

impl ConnectionGate {
    /// A permit for a connection from `peer`, or why there is none. Trusted proxies speak for many clients
    /// and are capped only in the total.
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Permit, Refused> {
        let client = (!self.trusted.is_trusted_proxy(peer)).then(|| self.networks.key(peer));
        let mut open = self.open.lock();
        if open.total >= self.total_cap {
            return Err(Refused::Total);
        }
        if let Some(client) = client {
            let count = open.by_client.entry(client).or_insert(0);
            if *count >= self.client_cap {
                return Err(Refused::PerClient);
            }
            *count += 1;
        }
        open.total += 1;
        Ok(Permit { gate: Arc::clone(self), client })
    }
}

/// One open connection, counted until dropped.
struct Permit {
    gate: Arc<ConnectionGate>,
    client: Option<IpAddr>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(client) = self.client
            && let Some(count) = open.by_client.get_mut(&client)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.by_client.remove(&client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(total: u64, per_client: u64, trusted: &[&str]) -> Arc<ConnectionGate> {
        let mut config = vana_config::ClientAddress::default();
        config.trusted_proxies = trusted.iter().map(|proxy| (*proxy).to_owned()).collect();
        Arc::new(ConnectionGate {
            total_cap: total,
            client_cap: per_client,
            networks: ClientNetworks::default(),
            trusted: vana_security::ClientAddressResolver::from_config(&config),
            open: Mutex::new(Open::default()),
        })
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn caps_hold_per_client_network_and_in_all_and_permits_give_back() {
        let gate = gate(5, 2, &["10.0.0.1"]);
        let a1 = gate.admit(ip("2001:db8:1:1::1")).unwrap();
        let _a2 = gate.admit(ip("2001:db8:1:1::2")).unwrap();
        assert_eq!(gate.admit(ip("2001:db8:1:1::3")).err(), Some(Refused::PerClient), "one /64");
        let _b = gate.admit(ip("198.51.100.1")).unwrap();
        let _proxy: Vec<_> = (0..2).map(|_| gate.admit(ip("10.0.0.1")).unwrap()).collect();
        assert_eq!(gate.admit(ip("198.51.100.2")).err(), Some(Refused::Total));
        drop(a1);
        let _a4 = gate.admit(ip("2001:db8:1:1::4")).expect("a closed connection gives its place back");
        assert_eq!(gate.open.lock().total, 5);
    }

    #[test]
    fn the_client_table_holds_only_open_connections() {
        let gate = gate(10_000, 10, &[]);
        for n in 0..5_000u32 {
            drop(gate.admit(IpAddr::from(n.to_be_bytes())).unwrap());
        }
        let open = gate.open.lock();
        assert_eq!((open.total, open.by_client.len()), (0, 0));
    }
}
