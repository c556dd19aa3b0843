//! CSRF tokens bound to a session: the specification's format, and a hardened one for new code.
//!
//! - **Legacy** (the specification's): `timestamp:hex(hmac_sha256(key, "session:timestamp"))`. Kept for
//!   compatibility; a session id that contains `:` makes its messages ambiguous.
//! - **Hardened** (`v1`): `v1.<key id>.<timestamp>.<nonce>.<mac>`, where the MAC covers a domain tag and
//!   every field length-prefixed, so no two (session, timestamp, nonce) triples share a message; a random
//!   nonce makes every token unique; the key id lets keys rotate (current and previous accepted).
//!
//! Both are compared in constant time, reject malformed input without panicking, and reject tokens older
//! than `token_max_age` or from more than a minute in the future. Keys come from the environment or a
//! file, never from YAML, and never appear in `Debug` output or errors.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// Tokens from the future are accepted up to this much clock skew.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// Shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;
/// Longest token looked at, in bytes.
const MAX_TOKEN_BYTES: usize = 512;
const DOMAIN_TAG: &[u8] = b"vana-csrf-v1";

/// The environment variable holding the current key.
pub const KEY_ENV: &str = "VANA_CSRF_KEY";
/// The environment variable holding the previous key (accepted, never used to sign).
pub const PREVIOUS_KEY_ENV: &str = "VANA_CSRF_KEY_PREVIOUS";
/// The environment variable naming a file with the current key on its first line, the previous on its
/// second.
pub const KEY_FILE_ENV: &str = "VANA_CSRF_KEY_FILE";

/// Why CSRF keys could not be loaded. Never carries key material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfKeyError {
    /// Neither variable is set.
    #[error("no CSRF key: set {KEY_ENV} (at least {MIN_KEY_BYTES} bytes) or {KEY_FILE_ENV}")]
    Missing,
    /// A key is shorter than [`MIN_KEY_BYTES`].
    #[error("the CSRF key from {source_name} is {length} bytes; at least {MIN_KEY_BYTES} are needed")]
    TooShort {
        /// Where the key came from (a variable or file name).
        source_name: String,
        /// Its length.
        length: usize,
    },
    /// The key file could not be read.
    #[error("cannot read the CSRF key file named by {KEY_FILE_ENV}: {0}")]
    File(String),
}

struct Key {
    id: String,
    bytes: Vec<u8>,
}

impl Key {
    fn new(bytes: Vec<u8>) -> Self {
        // The id names the key without revealing it: a prefix of its SHA-256.
        let id = hex::encode(&Sha256::digest(&bytes)[..4]);
        Self { id, bytes }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; this cannot fail.
        HmacSha256::new_from_slice(&self.bytes)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"))
    }
}

/// The signing key and, during a rotation, the previous one.
pub struct CsrfKeys {
    current: Key,
    previous: Option<Key>,
}

impl std::fmt::Debug for CsrfKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfKeys")
            .field("current_id", &self.current.id)
            .field("previous_id", &self.previous.as_ref().map(|key| &key.id))
            .finish_non_exhaustive()
    }
}

impl CsrfKeys {
    /// Keys given directly (each at least [`MIN_KEY_BYTES`]).
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> Result<Self, CsrfKeyError> {
        let check = |bytes: &[u8], source_name: &str| {
            if bytes.len() < MIN_KEY_BYTES {
                Err(CsrfKeyError::TooShort { source_name: source_name.to_owned(), length: bytes.len() })
            } else {
                Ok(Key::new(bytes.to_vec()))
            }
        };
        Ok(Self {
            current: check(current, "the current key")?,
            previous: previous.map(|p| check(p, "the previous key")).transpose()?,
        })
    }

    /// Keys from the process environment: `VANA_CSRF_KEY` (and `VANA_CSRF_KEY_PREVIOUS`), or a file named
    /// by `VANA_CSRF_KEY_FILE` with the current key on its first line and the previous on its second.
    pub fn from_env() -> Result<Self, CsrfKeyError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Keys from any variable lookup (for tests and embedding).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, CsrfKeyError> {
        if let Some(current) = lookup(KEY_ENV) {
            let previous = lookup(PREVIOUS_KEY_ENV);
            return Self::named(
                current.as_bytes(),
                KEY_ENV,
                previous.as_deref().map(str::as_bytes),
                PREVIOUS_KEY_ENV,
            );
        }
        let path = lookup(KEY_FILE_ENV).ok_or(CsrfKeyError::Missing)?;
        let text =
            std::fs::read_to_string(&path).map_err(|error| CsrfKeyError::File(error.kind().to_string()))?;
        let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
        let current = lines.next().ok_or(CsrfKeyError::Missing)?;
        Self::named(current.as_bytes(), KEY_FILE_ENV, lines.next().map(str::as_bytes), KEY_FILE_ENV)
    }

    fn named(
        current: &[u8],
        current_name: &str,
        previous: Option<&[u8]>,
        previous_name: &str,
    ) -> Result<Self, CsrfKeyError> {
        Self::new(current, previous).map_err(|error| match error {
            CsrfKeyError::TooShort { source_name, length } => CsrfKeyError::TooShort {
                source_name: if source_name == "the current key" { current_name } else { previous_name }
                    .to_owned(),
                length,
            },
            other => other,
        })
    }

    fn by_id(&self, id: &str) -> Option<&Key> {
        std::iter::once(&self.current).chain(self.previous.as_ref()).find(|key| key.id == id)
    }
}

/// Issues and checks CSRF tokens.
///
/// ```
/// use std::time::Duration;
/// use vana_security::{CsrfKeys, CsrfTokens};
///
/// let keys = CsrfKeys::new(&[7; 32], None)?;
/// let csrf = CsrfTokens::new(keys, Duration::from_secs(3600), false);
/// let token = csrf.generate("session-123");
/// assert!(csrf.validate(&token, "session-123"));
/// assert!(!csrf.validate(&token, "another-session"));
/// # Ok::<(), vana_security::CsrfKeyError>(())
/// ```
#[derive(Debug)]
pub struct CsrfTokens {
    keys: CsrfKeys,
    max_age: Duration,
    accept_legacy: bool,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs())
}

impl CsrfTokens {
    /// Tokens signed with `keys`, valid for `max_age`; `accept_legacy` also accepts the specification's
    /// format (signed with the current key).
    pub fn new(keys: CsrfKeys, max_age: Duration, accept_legacy: bool) -> Self {
        Self { keys, max_age, accept_legacy }
    }

    /// A fresh hardened token for `session_id`.
    pub fn generate(&self, session_id: &str) -> String {
        self.generate_at(session_id, unix_now())
    }

    /// A hardened token as of `timestamp` (seconds since the epoch).
    pub fn generate_at(&self, session_id: &str, timestamp: u64) -> String {
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let mac = hardened_mac(&self.keys.current, session_id, timestamp, &nonce);
        format!("v1.{}.{timestamp}.{}.{}", self.keys.current.id, hex::encode(nonce), hex::encode(mac))
    }

    /// Whether `token` is valid for `session_id` now.
    pub fn validate(&self, token: &str, session_id: &str) -> bool {
        self.validate_at(token, session_id, unix_now())
    }

    /// Whether `token` is valid for `session_id` at `now` (seconds since the epoch).
    pub fn validate_at(&self, token: &str, session_id: &str, now: u64) -> bool {
        if token.len() > MAX_TOKEN_BYTES {
            return false;
        }
        if let Some(rest) = token.strip_prefix("v1.") {
            return self.validate_hardened(rest, session_id, now);
        }
        self.accept_legacy && validate_legacy(&self.keys.current.bytes, token, session_id, now, self.max_age)
    }

    fn validate_hardened(&self, rest: &str, session_id: &str, now: u64) -> bool {
        let mut fields = rest.split('.');
        let (Some(id), Some(timestamp), Some(nonce), Some(mac), None) =
            (fields.next(), fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return false;
        };
        let (Some(key), Some(timestamp), Ok(nonce), Ok(mac)) =
            (self.keys.by_id(id), parse_timestamp(timestamp), hex::decode(nonce), hex::decode(mac))
        else {
            return false;
        };
        if !fresh(timestamp, now, self.max_age) || nonce.len() != 16 {
            return false;
        }
        let expected = hardened_mac(key, session_id, timestamp, &nonce);
        bool::from(expected.as_slice().ct_eq(&mac))
    }
}

fn hardened_mac(key: &Key, session_id: &str, timestamp: u64, nonce: &[u8]) -> [u8; 32] {
    let mut mac = key.mac();
    mac.update(DOMAIN_TAG);
    for field in [session_id.as_bytes(), &timestamp.to_be_bytes(), nonce] {
        mac.update(&(field.len() as u64).to_be_bytes());
        mac.update(field);
    }
    mac.finalize().into_bytes().into()
}

/// Decimal seconds, at most 20 digits, nothing else.
fn parse_timestamp(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn fresh(timestamp: u64, now: u64, max_age: Duration) -> bool {
    let too_old = now.saturating_sub(timestamp) > max_age.as_secs();
    let from_the_future = timestamp > now.saturating_add(MAX_CLOCK_SKEW.as_secs());
    !too_old && !from_the_future
}

/// The specification's token: `timestamp:hex(hmac_sha256(key, "session_id:timestamp"))`.
pub fn generate_legacy_token(key: &[u8], session_id: &str, timestamp: u64) -> String {
    format!("{timestamp}:{}", hex::encode(legacy_mac(key, session_id, &timestamp.to_string())))
}

fn legacy_mac(key: &[u8], session_id: &str, timestamp: &str) -> [u8; 32] {
    let mut mac =
        HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(session_id.as_bytes());
    mac.update(b":");
    mac.update(timestamp.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Checks a token of the specification's format, in constant time, rejecting malformed, stale and future
/// tokens.
pub fn validate_legacy(key: &[u8], token: &str, session_id: &str, now: u64, max_age: Duration) -> bool {
    let Some((timestamp_text, signature)) = token.split_once(':') else {
        return false;
    };
    let (Some(timestamp), Ok(signature)) = (parse_timestamp(timestamp_text), hex::decode(signature)) else {
        return false;
    };
    if !fresh(timestamp, now, max_age) {
        return false;
    }
    bool::from(legacy_mac(key, session_id, timestamp_text).as_slice().ct_eq(&signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(accept_legacy: bool) -> CsrfTokens {
        CsrfTokens::new(
            CsrfKeys::new(&[1; 32], Some(&[2; 32])).unwrap(),
            Duration::from_secs(3600),
            accept_legacy,
        )
    }

    #[test]
    fn hardened_tokens_bind_session_time_and_key() {
        let csrf = tokens(false);
        let token = csrf.generate_at("s:1", 1_000_000);
        assert!(csrf.validate_at(&token, "s:1", 1_000_100));
        assert!(!csrf.validate_at(&token, "s", 1_000_100));
        assert!(!csrf.validate_at(&token, "s:1", 1_000_000 + 3601));
        assert!(!csrf.validate_at(&token, "s:1", 1_000_000 - 61));
        assert!(csrf.validate_at(&token, "s:1", 1_000_000 - 59));
        assert_ne!(csrf.generate_at("s:1", 1_000_000), token, "a nonce makes every token unique");
    }

    #[test]
    fn tokens_made_now_validate_now() {
        let csrf = tokens(false);
        let token = csrf.generate("s:1");
        assert!(token.starts_with("v1.") && csrf.validate(&token, "s:1"));
        assert!(!csrf.validate(&token, "s:2"));
        // One made at the epoch is long expired: `validate` reads the real clock.
        assert!(!csrf.validate(&csrf.generate_at("s:1", 1), "s:1"));
    }

    #[test]
    fn freshness_is_inclusive_at_both_ends() {
        let csrf = tokens(false);
        let token = csrf.generate_at("s", 1_000_000);
        assert!(csrf.validate_at(&token, "s", 1_000_000 + 3600), "exactly max_age old");
        assert!(csrf.validate_at(&token, "s", 1_000_000 - 60), "exactly the allowed skew ahead");
        assert!(!csrf.validate_at(&token, "s", 1_000_000 + 3601));
        assert!(!csrf.validate_at(&token, "s", 1_000_000 - 61));
    }

    #[test]
    fn the_timestamp_field_is_plain_digits_of_at_most_twenty() {
        let csrf = tokens(false);
        let token = csrf.generate_at("s", 1000);
        let with_timestamp = |timestamp: &str| {
            let mut fields: Vec<&str> = token.split('.').collect();
            fields[2] = timestamp;
            fields.join(".")
        };
        // The MAC covers the number, so zero-padding keeps the token valid up to twenty digits.
        assert!(csrf.validate_at(&with_timestamp(&format!("{:0>20}", 1000)), "s", 1000));
        for bad in [format!("{:0>21}", 1000), "+1000".to_owned(), String::new(), "1e3".to_owned()] {
            assert!(!csrf.validate_at(&with_timestamp(&bad), "s", 1000), "{bad:?}");
        }
    }

    #[test]
    fn keys_rotate() {
        let old = CsrfTokens::new(CsrfKeys::new(&[2; 32], None).unwrap(), Duration::from_secs(3600), false);
        let token = old.generate_at("s", 500);
        let rotated = tokens(false); // current [1; 32], previous [2; 32]
        assert!(rotated.validate_at(&token, "s", 600));
        let retired =
            CsrfTokens::new(CsrfKeys::new(&[1; 32], None).unwrap(), Duration::from_secs(3600), false);
        assert!(!retired.validate_at(&token, "s", 600));
    }

    #[test]
    fn legacy_tokens_only_when_accepted() {
        let token = generate_legacy_token(&[1; 32], "session", 1000);
        assert!(tokens(true).validate_at(&token, "session", 1500));
        assert!(!tokens(false).validate_at(&token, "session", 1500));
        assert!(!tokens(true).validate_at(&token, "session", 1000 + 3601));
        assert!(!tokens(true).validate_at(&token, "other", 1500));
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let csrf = tokens(true);
        for bad in [
            "",
            ":",
            "v1.",
            "v1....",
            "abc:def",
            "-5:00",
            "99999999999999999999999:00",
            "1000:zz",
            "v1.x.1.2.3.4",
            &"9".repeat(600),
        ] {
            assert!(!csrf.validate_at(bad, "s", 1000), "{bad}");
        }
    }

    const CURRENT: &str = "current-key-of-at-least-thirty-two-bytes";
    const PREVIOUS: &str = "previous-key-of-at-least-thirty-two-bytes";

    /// Tokens signed with `key` alone, to check which keys a set accepts.
    fn signed_with(key: &str) -> String {
        CsrfTokens::new(CsrfKeys::new(key.as_bytes(), None).unwrap(), Duration::from_secs(3600), false)
            .generate_at("s", 1000)
    }

    fn accepts(keys: CsrfKeys, key: &str) -> bool {
        CsrfTokens::new(keys, Duration::from_secs(3600), false).validate_at(&signed_with(key), "s", 1000)
    }

    #[test]
    fn the_previous_key_from_the_environment_still_validates() {
        let vars = |previous: bool| {
            move |name: &str| match name {
                KEY_ENV => Some(CURRENT.to_owned()),
                PREVIOUS_KEY_ENV if previous => Some(PREVIOUS.to_owned()),
                _ => None,
            }
        };
        assert!(accepts(CsrfKeys::from_vars(vars(true)).unwrap(), PREVIOUS));
        assert!(accepts(CsrfKeys::from_vars(vars(true)).unwrap(), CURRENT));
        assert!(!accepts(CsrfKeys::from_vars(vars(false)).unwrap(), PREVIOUS));
    }

    #[test]
    fn a_key_file_holds_the_current_key_then_the_previous() {
        let dir = std::env::temp_dir().join(format!("vana-csrf-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys");
        std::fs::write(&path, format!("{CURRENT}\n\n{PREVIOUS}\n")).unwrap();
        let file = |path: &std::path::Path| {
            let path = path.display().to_string();
            move |name: &str| (name == KEY_FILE_ENV).then(|| path.clone())
        };
        assert!(accepts(CsrfKeys::from_vars(file(&path)).unwrap(), CURRENT));
        assert!(accepts(CsrfKeys::from_vars(file(&path)).unwrap(), PREVIOUS));
        let other = signed_with("another-key-of-at-least-thirty-two-bytes");
        let keys = CsrfKeys::from_vars(file(&path)).unwrap();
        assert!(!CsrfTokens::new(keys, Duration::from_secs(3600), false).validate_at(&other, "s", 1000));
        // The environment's key wins over the file; a missing file is an error that names the variable.
        let both = |name: &str| match name {
            KEY_ENV => Some("environment-key-of-at-least-thirty-two-bytes".to_owned()),
            KEY_FILE_ENV => Some(path.display().to_string()),
            _ => None,
        };
        assert!(!accepts(CsrfKeys::from_vars(both).unwrap(), CURRENT));
        let missing = CsrfKeys::from_vars(file(&dir.join("absent"))).unwrap_err().to_string();
        assert!(missing.contains(KEY_FILE_ENV) && !missing.contains("absent"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn validate_legacy_checks_key_session_and_age() {
        let token = generate_legacy_token(CURRENT.as_bytes(), "s", 1000);
        let max_age = Duration::from_secs(60);
        assert!(validate_legacy(CURRENT.as_bytes(), &token, "s", 1030, max_age));
        assert!(!validate_legacy(CURRENT.as_bytes(), &token, "s", 1061, max_age), "too old");
        assert!(!validate_legacy(PREVIOUS.as_bytes(), &token, "s", 1030, max_age), "another key");
        assert!(!validate_legacy(CURRENT.as_bytes(), &token, "t", 1030, max_age), "another session");
    }

    #[test]
    fn keys_are_never_shown() {
        let keys = CsrfKeys::new(b"a-very-secret-key-of-32-bytes!!!", None).unwrap();
        let shown = format!("{keys:?}");
        assert!(
            !shown.contains("secret") && shown.starts_with("CsrfKeys") && shown.contains("current_id"),
            "{shown}"
        );
        let error =
            CsrfKeys::from_vars(|name| (name == KEY_ENV).then(|| "short-secret".to_owned())).unwrap_err();
        assert_eq!(error.to_string(), "the CSRF key from VANA_CSRF_KEY is 12 bytes; at least 32 are needed");
        assert_eq!(CsrfKeys::from_vars(|_| None).unwrap_err(), CsrfKeyError::Missing);
    }
}
