//! Blocklist: requests from blocked addresses are refused (`http.block_addresses`).

use crate::http::reject::Refusal;
use crate::http::step::client_address::Client;
use crate::ops::Ops;

/// The blocklist step.
pub(crate) struct Blocklist {
    ops: Ops,
}

impl Blocklist {
    pub(crate) fn new(ops: &Ops) -> Self {
        Self { ops: ops.clone() }
    }

    pub(crate) fn check(&self, client: &Client) -> Result<(), Refusal> {
        if self.ops.security().blocklist().is_blocked(client.address) {
            return Err(Refusal::Blocked);
        }
        Ok(())
    }

    /// [`check`](Self::check), asking a shared backend without holding a thread.
    pub(crate) async fn check_async(&self, client: &Client) -> Result<(), Refusal> {
        if self.ops.security().blocklist().is_blocked_async(client.address).await {
            return Err(Refusal::Blocked);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::address::AddressText;
    use crate::http::step::test_ops;

    #[test]
    fn blocked_addresses_are_refused_and_others_pass() {
        let ops = test_ops("");
        let step = Blocklist::new(&ops);
        let client = |text: &str| {
            let address = text.parse().unwrap();
            Client { address, text: AddressText::new(address), key: AddressText::new(address) }
        };
        ops.security().block_ip("203.0.113.7".parse().unwrap(), "test");
        assert_eq!(step.check(&client("203.0.113.7")), Err(Refusal::Blocked));
        assert_eq!(step.check(&client("203.0.113.8")), Ok(()));
    }
}
