//! WebSocket sessions through the gateway: the handshake is an HTTP request the layer has checked
//! (blocklist, rate limit, the path and query, the cross-origin check of its `Origin`); once the upstream
//! answers `101 Switching Protocols`, the bytes of both connections are relayed as they come, until either
//! side closes, the session is idle past `http.websocket_idle_timeout_ms`, or the server shuts down.
//!
//! Frames are relayed, not parsed: their payloads are not validated (a live session carries audio and
//! video; docs/gateway.md says so).

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{HeaderMap, Request, header};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::http::server::ConnectionLease;

/// Bytes read from one side before they are written to the other.
const RELAY_BUFFER: usize = 16 * 1024;

/// Whether a request asks to switch its connection to the WebSocket protocol (RFC 6455 §4.1).
pub(crate) fn is_handshake(headers: &HeaderMap) -> bool {
    let upgrade =
        headers.get(header::UPGRADE).is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"websocket"));
    upgrade
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// How a session ended (`vana_websocket_sessions_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Either side closed its connection.
    Closed,
    /// Nothing crossed for the idle timeout.
    IdleTimeout,
    /// The server shut down.
    Shutdown,
    /// A side's connection failed.
    Error,
}

impl Outcome {
    pub(crate) const ALL: [Outcome; 4] =
        [Outcome::Closed, Outcome::IdleTimeout, Outcome::Shutdown, Outcome::Error];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Closed => "closed",
            Outcome::IdleTimeout => "idle_timeout",
            Outcome::Shutdown => "shutdown",
            Outcome::Error => "error",
        }
    }
}

/// What one session moved, for its metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Session {
    pub(crate) outcome: Outcome,
    pub(crate) to_upstream: u64,
    pub(crate) to_client: u64,
    pub(crate) duration: Duration,
}

/// What the relay needs from the client's side of a handshake: its upgrade, and its place under the
/// server's connection caps and shutdown (absent when the layer runs in a server of the application's).
pub(crate) struct ClientSide {
    upgrade: OnUpgrade,
    lease: Option<ConnectionLease>,
}

impl ClientSide {
    /// Takes the client's upgrade out of a handshake request; `None` when its server does not offer one.
    pub(crate) fn take<B>(request: &mut Request<B>) -> Option<ClientSide> {
        let upgrade = request.extensions_mut().remove::<OnUpgrade>()?;
        let lease = request.extensions().get::<ConnectionLease>().cloned();
        Some(ClientSide { upgrade, lease })
    }
}

/// Relays a session once both sides have switched, then reports it to `done`.
pub(crate) fn relay(
    client: ClientSide,
    upstream: OnUpgrade,
    idle: Duration,
    done: Arc<dyn Fn(Session) + Send + Sync>,
) {
    tokio::spawn(async move {
        let started = Instant::now();
        let ClientSide { upgrade, mut lease } = client;
        let session = match tokio::try_join!(upgrade, upstream) {
            Ok((client, upstream)) => relay_bytes(client, upstream, idle, lease.as_mut()).await,
            Err(_) => {
                Session { outcome: Outcome::Error, to_upstream: 0, to_client: 0, duration: Duration::ZERO }
            }
        };
        done(Session { duration: started.elapsed(), ..session });
        drop(lease);
    });
}

/// Copies both ways until both sides have closed, one fails, nothing moves for `idle`, or the server stops.
async fn relay_bytes(
    client: Upgraded,
    upstream: Upgraded,
    idle: Duration,
    mut lease: Option<&mut ConnectionLease>,
) -> Session {
    let (mut client_read, mut client_write) = tokio::io::split(TokioIo::new(client));
    let (mut upstream_read, mut upstream_write) = tokio::io::split(TokioIo::new(upstream));
    let (mut from_client, mut from_upstream) = (vec![0; RELAY_BUFFER], vec![0; RELAY_BUFFER]);
    let mut session =
        Session { outcome: Outcome::Closed, to_upstream: 0, to_client: 0, duration: Duration::ZERO };
    let (mut client_open, mut upstream_open) = (true, true);
    while client_open || upstream_open {
        let stopped = async {
            match lease.as_mut() {
                Some(lease) => lease.stopped().await,
                None => std::future::pending().await,
            }
        };
        // `read` is cancel-safe: a branch that loses the race has read nothing.
        tokio::select! {
            read = client_read.read(&mut from_client), if client_open => {
                let passed = pass_on(read, &from_client, &mut upstream_write, &mut session.to_upstream).await;
                match passed {
                    Ok(open) => client_open = open,
                    Err(()) => return Session { outcome: Outcome::Error, ..session },
                }
            }
            read = upstream_read.read(&mut from_upstream), if upstream_open => {
                let passed = pass_on(read, &from_upstream, &mut client_write, &mut session.to_client).await;
                match passed {
                    Ok(open) => upstream_open = open,
                    Err(()) => return Session { outcome: Outcome::Error, ..session },
                }
            }
            () = tokio::time::sleep(idle) => return Session { outcome: Outcome::IdleTimeout, ..session },
            () = stopped => return Session { outcome: Outcome::Shutdown, ..session },
        }
    }
    session
}

/// One read of one side passed on to the other: `Ok(false)` once the side closed (the other's writing half
/// is shut down then), `Err` when either fails. `moved` counts the bytes passed.
async fn pass_on(
    read: std::io::Result<usize>,
    buffer: &[u8],
    write: &mut (impl AsyncWriteExt + Unpin),
    moved: &mut u64,
) -> Result<bool, ()> {
    match read {
        Ok(0) => {
            let _ = write.shutdown().await;
            Ok(false)
        }
        Ok(n) => {
            write.write_all(&buffer[..n]).await.map_err(|_| ())?;
            *moved += n as u64;
            Ok(true)
        }
        Err(_) => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_needs_both_the_upgrade_and_the_connection_token() {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, "WebSocket".parse().unwrap());
        assert!(!is_handshake(&headers));
        headers.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        assert!(is_handshake(&headers));
        headers.insert(header::UPGRADE, "h2c".parse().unwrap());
        assert!(!is_handshake(&headers));
    }
}
