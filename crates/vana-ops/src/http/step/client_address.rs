//! Client address: who sent the request (the peer, or behind trusted proxies the forwarded client) and
//! whether it arrived over HTTPS. A request without a peer address is refused, or read from the forwarded
//! header when `client_address.without_peer` says so: the address checks are never off in silence.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use http::request::Parts;
use vana_config::WithoutPeer;

use crate::http::address::AddressText;
use crate::http::reject::Refusal;
use crate::http::throttle::Throttle;
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
    /// `None` only for the operational endpoints' own pipeline, which takes requests from anywhere.
    pub(crate) client: Option<Client>,
    /// Over TLS to this process, or to a trusted proxy that says so in `X-Forwarded-Proto`.
    pub(crate) https: bool,
}

/// The client-address step (the `client_address` section).
pub(crate) struct ClientAddress {
    ops: Ops,
    without_peer: WithoutPeer,
    /// The error line about requests without a peer, at most once every ten seconds.
    no_peer: Throttle,
}

impl ClientAddress {
    pub(crate) fn new(ops: &Ops) -> Self {
        let without_peer = ops.config().security.client_address.without_peer;
        Self { ops: ops.clone(), without_peer, no_peer: Throttle::default() }
    }

    /// The request's client, or the refusal of a request whose client cannot be known.
    pub(crate) fn origin(&self, parts: &Parts) -> Result<Origin, Refusal> {
        let tls_here = parts.uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let Some(peer) = peer(parts) else {
            let forwarded = match self.without_peer {
                WithoutPeer::ForwardedHeader => self.last_forwarded(parts),
                _ => None,
            };
            let Some(address) = forwarded else {
                self.no_peer.warn(|| {
                    tracing::error!(target: "vana_ops", fix = Refusal::CLIENT_UNKNOWN_FIX, "a request carries no peer address: refused with 500 client_address_unknown");
                });
                return Err(Refusal::ClientUnknown);
            };
            return Ok(Origin { client: Some(self.client(address)), https: tls_here });
        };
        let security = self.ops.security();
        let resolver = security.client_addresses();
        let address = resolver.resolve(peer, &parts.headers);
        Ok(Origin {
            client: Some(self.client(address)),
            https: tls_here || resolver.forwarded_https(peer, &parts.headers),
        })
    }

    fn client(&self, address: IpAddr) -> Client {
        let text = AddressText::new(address);
        let networks = self.ops.security().networks();
        // One address per key (IPv4's default) reuses the text.
        let key =
            if networks.is_per_address(address) { text } else { AddressText::new(networks.key(address)) };
        Client { address, text, key }
    }

    /// `without_peer: forwarded_header`: the last address of the forwarded header, the one the proxy in
    /// front appended.
    fn last_forwarded(&self, parts: &Parts) -> Option<IpAddr> {
        let header = &self.ops.config().security.client_address.forwarded_header;
        parts
            .headers
            .get_all(header.as_str())
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .next_back()
            .and_then(|last| last.trim().parse().ok())
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
        let trusted = step.origin(&parts(Some("10.0.0.2:1"), &forwarded)).unwrap();
        assert_eq!(trusted.client.unwrap().address.to_string(), "203.0.113.9");
        assert_eq!(trusted.client.unwrap().text.as_str(), "203.0.113.9");
        assert!(trusted.https);
        let untrusted = step.origin(&parts(Some("198.51.100.1:1"), &forwarded)).unwrap();
        assert_eq!(untrusted.client.unwrap().address.to_string(), "198.51.100.1");
        assert!(!untrusted.https, "anyone can write X-Forwarded-Proto");
    }

    #[test]
    fn without_a_peer_the_request_is_refused_by_default() {
        let step = ClientAddress::new(&ops(""));
        let forwarded = [("x-forwarded-for", "203.0.113.9")];
        assert_eq!(step.origin(&parts(None, &forwarded)).err(), Some(Refusal::ClientUnknown));
    }

    #[test]
    fn without_a_peer_the_forwarded_header_can_name_the_client_when_configured() {
        let step = ClientAddress::new(&ops("client_address:\n  without_peer: forwarded_header\n"));
        let forwarded = [("x-forwarded-for", "198.51.100.4, 203.0.113.9")];
        let origin = step.origin(&parts(None, &forwarded)).unwrap();
        assert_eq!(
            origin.client.unwrap().address.to_string(),
            "203.0.113.9",
            "the proxy's own entry, the last"
        );
        assert_eq!(step.origin(&parts(None, &[])).err(), Some(Refusal::ClientUnknown), "no header: refused");
        let garbage = [("x-forwarded-for", "not an address")];
        assert_eq!(step.origin(&parts(None, &garbage)).err(), Some(Refusal::ClientUnknown));
    }
}
