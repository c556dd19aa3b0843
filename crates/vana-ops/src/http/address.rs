//! `AddressText`: a client address as text, on the stack. It is written on every request (the rate-limit
//! key and the request line), and `Display` through `core::fmt` cost more than the rate-limit check itself.

use std::io::Write as _;
use std::net::IpAddr;

/// The longest address text, an IPv4-mapped IPv6 address, is 45 bytes.
const CAPACITY: usize = 48;

/// An address formatted once per request, exactly as `Display` writes it.
#[derive(Clone, Copy)]
pub(crate) struct AddressText {
    bytes: [u8; CAPACITY],
    length: u8,
}

impl AddressText {
    pub(crate) fn new(address: IpAddr) -> Self {
        let mut text = Self { bytes: [0; CAPACITY], length: 0 };
        match address {
            IpAddr::V4(v4) => {
                for (index, octet) in v4.octets().into_iter().enumerate() {
                    if index > 0 {
                        text.push(b".");
                    }
                    text.push(itoa::Buffer::new().format(octet).as_bytes());
                }
            }
            // IPv6's shortening rules stay std's.
            IpAddr::V6(v6) => {
                let mut cursor = std::io::Cursor::new(&mut text.bytes[..]);
                let _ = write!(cursor, "{v6}");
                text.length = u8::try_from(cursor.position()).unwrap_or(0);
            }
        }
        text
    }

    fn push(&mut self, bytes: &[u8]) {
        let start = usize::from(self.length);
        self.bytes[start..start + bytes.len()].copy_from_slice(bytes);
        self.length += bytes.len() as u8;
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.length)]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edge_addresses_read_as_display_writes_them() {
        for text in [
            "0.0.0.0",
            "255.255.255.255",
            "10.0.0.1",
            "::",
            "::1",
            "::ffff:192.0.2.1",
            "2001:db8::8a2e:370:7334",
        ] {
            let address: IpAddr = text.parse().unwrap();
            assert_eq!(AddressText::new(address).as_str(), address.to_string());
        }
        let longest: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255".parse().unwrap();
        assert_eq!(AddressText::new(longest).as_str(), longest.to_string());
    }

    proptest! {
        #[test]
        fn any_address_reads_as_display_writes_it(octets in any::<[u8; 16]>(), v4 in any::<bool>()) {
            let address = if v4 {
                IpAddr::from([octets[0], octets[1], octets[2], octets[3]])
            } else {
                IpAddr::from(octets)
            };
            let text = AddressText::new(address);
            prop_assert_eq!(text.as_str(), address.to_string());
        }
    }
}
