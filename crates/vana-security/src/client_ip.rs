//! Which address a request comes from, behind proxies: `X-Forwarded-For` is believed only when the
//! direct peer is a trusted proxy, and is walked from the right, past trusted proxies, to the first
//! address that is not one. A client cannot spoof its way to someone else's address (and get an innocent
//! address blocked) by sending the header itself.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;
use vana_config::ClientAddress;

use crate::blocking::canonical;

const X_FORWARDED_PROTO: http::HeaderName = http::HeaderName::from_static("x-forwarded-proto");

/// Most forwarded hops looked at; a longer chain is judged on its last ones.
const MAX_HOPS: usize = 32;

/// Resolves the client address of a request.
///
/// ```
/// use vana_security::ClientAddressResolver;
///
/// let mut config = vana_config::ClientAddress::default();
/// config.trusted_proxies = vec!["10.0.0.0/8".into()];
/// let resolver = ClientAddressResolver::from_config(&config);
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2".parse().unwrap());
/// // Behind the trusted proxy 10.0.0.7: the first untrusted hop from the right.
/// assert_eq!(resolver.resolve("10.0.0.7".parse().unwrap(), &headers).to_string(), "203.0.113.9");
/// // From an untrusted peer the header is ignored.
/// assert_eq!(resolver.resolve("198.51.100.1".parse().unwrap(), &headers).to_string(), "198.51.100.1");
/// ```
#[derive(Debug, Clone)]
pub struct ClientAddressResolver {
    trusted: Vec<IpNet>,
    header: http::HeaderName,
}

impl ClientAddressResolver {
    /// The resolver of the `client_address` section.
    pub fn from_config(config: &ClientAddress) -> Self {
        let header = http::HeaderName::from_bytes(config.forwarded_header.as_bytes())
            .unwrap_or(http::HeaderName::from_static("x-forwarded-for"));
        Self { trusted: config.trusted_networks(), header }
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted.iter().any(|network| network.contains(&address))
    }

    /// Whether `address` is one of `client_address.trusted_proxies` (a proxy is never blocked: it speaks
    /// for many clients).
    pub fn is_trusted_proxy(&self, address: IpAddr) -> bool {
        self.is_trusted(canonical(address))
    }

    /// The client's address for a request whose direct peer is `peer`.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.is_trusted(peer) {
            return peer;
        }
        // All header lines, in order, as one comma-separated chain.
        let hops: Vec<&str> = headers
            .get_all(&self.header)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev().take(MAX_HOPS) {
            match parse_hop(hop) {
                Some(address) => {
                    client = address;
                    if !self.is_trusted(address) {
                        return address;
                    }
                }
                // Garbage in the chain: nothing left of it can be believed; the last good hop is the answer.
                None => return client,
            }
        }
        client
    }

    /// Whether a trusted proxy says the request reached it over HTTPS: the peer is trusted and the last
    /// `X-Forwarded-Proto` value (the one its nearest proxy wrote) is `https`. From anyone else the header
    /// means nothing.
    pub fn forwarded_https(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        if !self.is_trusted(canonical(peer)) {
            return false;
        }
        headers
            .get_all(X_FORWARDED_PROTO)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .next_back()
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }
}

/// An address in a forwarded chain: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .map(canonical)
}
