//! Client address: who sent the request (the peer, or behind trusted proxies the forwarded client) and
//! whether it arrived over HTTPS.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::ConnectInfo;
use http::request::Parts;

use crate::http::address::AddressText;
use crate::ops::Ops;

/// The request's client.
#[derive(Clone, Copy)]
pub(crate) struct Client {
    pub(crate) address: IpAddr,
    /// The address as text, made once: it is part of the request line.
    pub(crate) text: AddressText,
    /// The client's network as text (`client_address.ipv*_prefix_length`): the rate-limit key.
    pub(crate) key: AddressText,
}

/// Where a request comes from and how.
pub(crate) struct Origin {
    /// `None` when the request carries no peer address (the address steps are then skipped).
    pub(crate) client: Option<Client>,
    /// Over TLS to this process, or to a trusted proxy that says so in `X-Forwarded-Proto`.
    pub(crate) https: bool,
}

/// The client-address step (the `client_address` section).
pub(crate) struct ClientAddress {
    ops: Ops,
    warned_no_peer: AtomicBool,
}

impl ClientAddress {
    pub(crate) fn new(ops: &Ops) -> Self {
        Self { ops: ops.clone(), warned_no_peer: AtomicBool::new(false) }
    }

    pub(crate) fn origin(&self, parts: &Parts) -> Origin {
        let tls_here = parts.uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let Some(peer) = peer(parts) else {
            if !self.warned_no_peer.swap(true, Ordering::Relaxed) {
                tracing::warn!(target: "vana_ops", "requests carry no peer address: blocking and rate limiting are skipped; serve with connect info");
            }
            return Origin { client: None, https: tls_here };
        };
        let security = self.ops.security();
        let resolver = security.client_addresses();
        let address = resolver.resolve(peer, &parts.headers);
        let text = AddressText::new(address);
        let networks = security.networks();
        // One address per key (IPv4's default) reuses the text.
        let key =
            if networks.is_per_address(address) { text } else { AddressText::new(networks.key(address)) };
        Origin {
            client: Some(Client { address, text, key }),
            https: tls_here || resolver.forwarded_https(peer, &parts.headers),
        }
    }
}

/// The direct peer: axum's connect info, or a `SocketAddr` a hyper server put in the extensions.
fn peer(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
        .or_else(|| parts.extensions.get::<SocketAddr>().map(SocketAddr::ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::step::test_ops as ops;

    fn parts(peer: Option<&str>, headers: &[(&str, &str)]) -> Parts {
        let mut request = http::Request::get("/x");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut parts = request.body(()).unwrap().into_parts().0;
        if let Some(peer) = peer {
            parts.extensions.insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        }
        parts
    }

    #[test]
    fn forwarded_addresses_and_scheme_count_only_from_trusted_proxies() {
        let step = ClientAddress::new(&ops("client_address:\n  trusted_proxies: ['10.0.0.0/8']\n"));
        let forwarded = [("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")];
        let trusted = step.origin(&parts(Some("10.0.0.2:1"), &forwarded));
        assert_eq!(trusted.client.unwrap().address.to_string(), "203.0.113.9");
        assert_eq!(trusted.client.unwrap().text.as_str(), "203.0.113.9");
        assert!(trusted.https);
        let untrusted = step.origin(&parts(Some("198.51.100.1:1"), &forwarded));
        assert_eq!(untrusted.client.unwrap().address.to_string(), "198.51.100.1");
        assert!(!untrusted.https, "anyone can write X-Forwarded-Proto");
    }

    #[test]
    fn without_a_peer_there_is_no_client() {
        let step = ClientAddress::new(&ops(""));
        let origin = step.origin(&parts(None, &[]));
        assert!(origin.client.is_none() && !origin.https);
    }
}
