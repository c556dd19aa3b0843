//! The building blocks of semantic validation: each check adds a problem instead of stopping, so one run
//! reports everything that is wrong.

use std::net::IpAddr;

use crate::key_path::KeyPath;
use crate::problem::{Problem, ProblemKind, Problems};

/// Collects the problems of one validation pass.
#[derive(Default)]
pub(crate) struct Checker {
    pub(crate) problems: Problems,
}

impl Checker {
    pub(crate) fn fail(&mut self, path: KeyPath, message: impl Into<String>) {
        self.problems.push(Problem::new(ProblemKind::InvalidValue, path, message));
    }

    /// `value` must lie in `1..=max`; `unit` names what it counts, for the message.
    pub(crate) fn positive_at_most(&mut self, path: KeyPath, value: u64, max: u64, unit: &str) {
        if value == 0 {
            self.fail(path, format!("must be at least 1 {unit}, not 0"));
        } else if value > max {
            self.fail(path, format!("must be at most {max} {unit}, not {value}"));
        }
    }

    /// A list must not hold more than `max` entries.
    pub(crate) fn at_most_entries(&mut self, path: KeyPath, len: usize, max: usize) {
        if len > max {
            self.fail(path, format!("has {len} entries; at most {max} are allowed"));
        }
    }

    /// Checks a list: at most `max` entries, and `check_one` on each (up to `max`) at its own path.
    pub(crate) fn each<T>(
        &mut self,
        path: &KeyPath,
        entries: &[T],
        max: usize,
        mut check_one: impl FnMut(&mut Self, KeyPath, &T),
    ) {
        self.at_most_entries(path.clone(), entries.len(), max);
        for (index, entry) in entries.iter().enumerate().take(max) {
            check_one(self, path.index(index), entry);
        }
    }

    /// Checks a list of IP addresses and CIDR networks.
    pub(crate) fn ip_networks(&mut self, path: &KeyPath, entries: &[String]) {
        self.each(path, entries, crate::limits::MAX_WHITELIST_ENTRIES, |check, at, entry| {
            if let Err(message) = parse_ip_or_cidr(entry) {
                check.fail(at, message);
            }
        });
    }

    /// A name used to match or label metrics and log targets: non-empty, bounded, plain characters.
    pub(crate) fn name(&mut self, path: KeyPath, name: &str, extra_allowed: &[u8], what: &str) {
        if name.is_empty() {
            self.fail(path, format!("{what} must not be empty"));
        } else if name.len() > crate::limits::MAX_NAME_LENGTH {
            self.fail(path, format!("{what} is longer than {} bytes", crate::limits::MAX_NAME_LENGTH));
        } else if let Some(bad) = name.chars().find(|&c| !is_name_char(c, extra_allowed)) {
            let allowed: String = extra_allowed.iter().map(|&b| format!(", `{}`", b as char)).collect();
            self.fail(
                path,
                format!(
                    "{what} `{}` contains `{}`; use letters, digits, `_`, `.`, `-`, `:`{allowed}",
                    name.escape_debug(),
                    bad.escape_debug()
                ),
            );
        }
    }
}

fn is_name_char(c: char, extra_allowed: &[u8]) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '.' | '-' | ':')
        || (c.is_ascii() && extra_allowed.contains(&(c as u8)))
}

/// Parses an address or network: `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`.
pub(crate) fn parse_ip_or_cidr(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    if text.contains('/') {
        text.parse::<ipnet::IpNet>()
            .map_err(|_| format!("`{}` is not an IP network in CIDR form", text.escape_debug()))
    } else {
        text.parse::<IpAddr>()
            .map(ipnet::IpNet::from)
            .map_err(|_| format!("`{}` is not an IP address or CIDR network", text.escape_debug()))
    }
}

/// Whether `address` is a plausible email address (`local@domain`, dot-atom local part, DNS domain).
pub(crate) fn is_email_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    let domain_ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems `check` finds, as messages.
    fn found(check: impl FnOnce(&mut Checker)) -> Vec<String> {
        let mut checker = Checker::default();
        check(&mut checker);
        checker.problems.iter().map(|problem| problem.message.clone()).collect()
    }

    #[test]
    fn bounds_include_their_limit() {
        let at = KeyPath::root;
        assert!(found(|c| c.positive_at_most(at(), 10, 10, "s")).is_empty(), "the limit itself is allowed");
        assert_eq!(found(|c| c.positive_at_most(at(), 11, 10, "s")), ["must be at most 10 s, not 11"]);
        assert_eq!(found(|c| c.positive_at_most(at(), 0, 10, "s")), ["must be at least 1 s, not 0"]);
        assert!(found(|c| c.at_most_entries(at(), 3, 3)).is_empty());
        assert_eq!(found(|c| c.at_most_entries(at(), 4, 3)), ["has 4 entries; at most 3 are allowed"]);
        let longest = "n".repeat(crate::limits::MAX_NAME_LENGTH);
        assert!(found(|c| c.name(at(), &longest, b"", "a name")).is_empty());
        assert_eq!(found(|c| c.name(at(), &format!("{longest}n"), b"", "a name")).len(), 1);
        assert_eq!(found(|c| c.name(at(), "", b"", "a name")), ["a name must not be empty"]);
    }

    #[test]
    fn a_list_is_checked_up_to_its_cap_and_its_length_reported() {
        let entries = ["a", "", "", ""];
        let problems =
            found(|c| c.each(&KeyPath::root(), &entries, 2, |c, at, name| c.name(at, name, b"", "a name")));
        assert_eq!(problems, ["has 4 entries; at most 2 are allowed", "a name must not be empty"]);
    }

    #[test]
    fn ip_and_cidr_forms() {
        for good in ["127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8", "::ffff:10.0.0.1"] {
            assert!(parse_ip_or_cidr(good).is_ok(), "{good}");
        }
        for bad in ["localhost", "10.0.0.0/33", "300.1.1.1", "", "10.0.0.1/", "::1/129"] {
            assert!(parse_ip_or_cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_addresses() {
        for good in ["admin@example.com", "ops+alerts@mail.example.org", "root@localhost"] {
            assert!(is_email_address(good), "{good}");
        }
        for bad in [
            "admin",
            "@example.com",
            "admin@",
            "a b@example.com",
            "admin@exa_mple.com",
            "a..b@x.io",
            "admin@-x.io",
        ] {
            assert!(!is_email_address(bad), "{bad}");
        }
    }
}
