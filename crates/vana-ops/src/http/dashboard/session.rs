//! The dashboard's session cookie: after the admin token is given once on the login form, the browser
//! holds `vana_dashboard=<expiry>.<HMAC-SHA256 of the expiry>` (HttpOnly, SameSite=Strict), signed with a key
//! drawn when the process starts, so the token itself never sits in the browser and a restart ends every
//! session.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The cookie's name.
pub(crate) const COOKIE: &str = "vana_dashboard";
/// How long a session lasts.
pub(crate) const LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// Issues and checks session cookies.
pub(crate) struct Sessions {
    key: [u8; 32],
}

impl Sessions {
    pub(crate) fn new() -> Self {
        Self { key: rand::random() }
    }

    fn signature(&self, expiry: u64) -> [u8; 32] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(&expiry.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The `Set-Cookie` value of a new session starting at `now`; `secure` adds `Secure` (HTTPS).
    pub(crate) fn issue(&self, now: SystemTime, secure: bool) -> String {
        let expiry = epoch_seconds(now) + LIFETIME.as_secs();
        let signature = hex(&self.signature(expiry));
        let secure = if secure { "; Secure" } else { "" };
        format!(
            "{COOKIE}={expiry}.{signature}; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
            LIFETIME.as_secs()
        )
    }

    /// Whether `headers` carry a session of this process that has not expired at `now`.
    pub(crate) fn admits(&self, headers: &HeaderMap, now: SystemTime) -> bool {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .any(|session| self.valid(session, now))
    }

    fn valid(&self, session: &str, now: SystemTime) -> bool {
        let Some((expiry, signature)) = session.split_once('.') else { return false };
        let Ok(expiry) = expiry.parse::<u64>() else { return false };
        let Some(given) = unhex(signature) else { return false };
        expiry > epoch_seconds(now) && bool::from(given.ct_eq(&self.signature(expiry)))
    }
}

fn epoch_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::COOKIE, value.parse().unwrap());
        headers
    }

    #[test]
    fn a_session_opens_until_it_expires_and_only_in_its_process() {
        let sessions = Sessions::new();
        let now = SystemTime::now();
        let set_cookie = sessions.issue(now, false);
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
        assert!(!set_cookie.contains("Secure"));
        assert!(sessions.issue(now, true).ends_with("; Secure"));
        let pair = set_cookie.split(';').next().unwrap();
        assert!(sessions.admits(&with_cookie(&format!("theme=dark; {pair}")), now));
        assert!(!sessions.admits(&with_cookie(pair), now + LIFETIME + Duration::from_secs(1)), "expired");
        assert!(!Sessions::new().admits(&with_cookie(pair), now), "another process's key");
        let (head, signature) = pair.split_once('.').unwrap();
        let later = format!(
            "{COOKIE}={}.{signature}",
            head.trim_start_matches("vana_dashboard=").parse::<u64>().unwrap() + 1
        );
        assert!(!sessions.admits(&with_cookie(&later), now), "a moved expiry breaks the signature");
        for bad in
            ["", "vana_dashboard=", "vana_dashboard=1.zz", "vana_dashboard=x.00", "vana_dashboardx=1.00"]
        {
            assert!(!sessions.admits(&with_cookie(bad), now), "{bad}");
        }
    }
}

#[cfg(test)]
mod never_panics {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_cookie_header_is_judged_without_panicking(cookie in "\\PC{0,200}", bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let sessions = Sessions::new();
            let mut headers = HeaderMap::new();
            if let Ok(value) = http::HeaderValue::from_str(&cookie) {
                headers.insert(http::header::COOKIE, value);
            }
            if let Ok(value) = http::HeaderValue::from_bytes(&bytes) {
                headers.append(http::header::COOKIE, value);
            }
            prop_assert!(!sessions.admits(&headers, SystemTime::now()));
        }
    }
}
