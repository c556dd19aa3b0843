//! Client networks: the prefix a client controls, by which rate limits, refusal counts and blocks are kept.
//! A host given an IPv6 /64 can use any of its 2^64 addresses; keyed per address, it would get as many
//! budgets, and a flood of blocks from it could push other blocks out of the capped table.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// Prefix lengths by address family.
///
/// ```
/// use vana_security::ClientNetworks;
///
/// let networks = ClientNetworks::new(32, 64);
/// let one = networks.key("2001:db8:1:2::7".parse().unwrap());
/// let other = networks.key("2001:db8:1:2:ffff::1".parse().unwrap());
/// assert_eq!(one, other); // one /64, one key
/// assert_eq!(networks.network(one).to_string(), "2001:db8:1:2::/64");
/// assert_eq!(networks.key("198.51.100.7".parse().unwrap()).to_string(), "198.51.100.7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientNetworks {
    ipv4: u8,
    ipv6: u8,
}

impl Default for ClientNetworks {
    /// One IPv4 address, one IPv6 /64.
    fn default() -> Self {
        Self::new(32, 64)
    }
}

impl ClientNetworks {
    /// Prefixes of `ipv4` (at most 32) and `ipv6` (at most 128) bits.
    pub fn new(ipv4: u8, ipv6: u8) -> Self {
        Self { ipv4: ipv4.min(32), ipv6: ipv6.min(128) }
    }

    /// The prefixes of the `client_address` section.
    pub fn from_config(config: &vana_config::ClientAddress) -> Self {
        Self::new(config.ipv4_prefix_length, config.ipv6_prefix_length)
    }

    /// The key of `address`: the first address of its network (an IPv4-mapped address counts as IPv4).
    pub fn key(&self, address: IpAddr) -> IpAddr {
        match address.to_canonical() {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & mask_u32(self.ipv4))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & mask_u128(self.ipv6))),
        }
    }

    /// Whether a key is the address itself (an IPv4 /32 or an IPv6 /128).
    pub fn is_per_address(&self, address: IpAddr) -> bool {
        match address.to_canonical() {
            IpAddr::V4(_) => self.ipv4 == 32,
            IpAddr::V6(_) => self.ipv6 == 128,
        }
    }

    /// The network of `address`.
    pub fn network(&self, address: IpAddr) -> IpNet {
        let key = self.key(address);
        let length = if key.is_ipv4() { self.ipv4 } else { self.ipv6 };
        // The lengths are clamped to their family's width, so the network always exists.
        IpNet::new(key, length).unwrap_or_else(|_| IpNet::from(key))
    }
}

fn mask_u32(length: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(length)).unwrap_or(0)
}

fn mask_u128(length: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(length)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn addresses_of_one_network_share_a_key_and_others_do_not() {
        let networks = ClientNetworks::new(24, 64);
        assert_eq!(networks.key(ip("198.51.100.7")), ip("198.51.100.0"));
        assert_eq!(networks.key(ip("::ffff:198.51.100.9")), ip("198.51.100.0"));
        assert_ne!(networks.key(ip("198.51.101.7")), ip("198.51.100.0"));
        assert_eq!(networks.key(ip("2001:db8:a:b:c:d:e:f")), ip("2001:db8:a:b::"));
        assert_ne!(networks.key(ip("2001:db8:a:c::1")), networks.key(ip("2001:db8:a:b::1")));
        assert_eq!(networks.network(ip("198.51.100.7")).to_string(), "198.51.100.0/24");
    }

    #[test]
    fn full_lengths_and_zero_keep_or_drop_every_bit() {
        let exact = ClientNetworks::new(32, 128);
        assert_eq!(exact.key(ip("2001:db8::7")), ip("2001:db8::7"));
        assert!(exact.is_per_address(ip("2001:db8::7")) && exact.is_per_address(ip("192.0.2.1")));
        let all = ClientNetworks::new(0, 0);
        assert_eq!(all.key(ip("192.0.2.1")), ip("0.0.0.0"));
        assert_eq!(all.key(ip("2001:db8::7")), ip("::"));
        assert!(!ClientNetworks::default().is_per_address(ip("2001:db8::7")));
        assert_eq!(ClientNetworks::new(99, 200), ClientNetworks::new(32, 128), "clamped");
    }
}
