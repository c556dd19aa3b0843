//! Which keys hold secrets: a key matches a pattern when the pattern's words appear in it, consecutively and
//! in order, whatever the case and separators. `api_key` matches `x-api-key`, `API_KEY` and `apiKey`;
//! `token` matches `access_token` and `authToken` but not `tokens_used`, so an LLM's token counts stay
//! readable while its credentials do not.

/// The text written in place of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Field-name verdicts remembered per thread (a fixed, direct-mapped table).
const CACHED_FIELDS: usize = 256;

/// A cached verdict: the redactor, the static name's address and length.
#[derive(Clone, Copy)]
struct CachedField {
    redactor: u64,
    address: usize,
    length: usize,
    secret: bool,
}

thread_local! {
    static FIELD_VERDICTS: std::cell::Cell<[CachedField; CACHED_FIELDS]> = const {
        std::cell::Cell::new([CachedField { redactor: 0, address: 0, length: 0, secret: false }; CACHED_FIELDS])
    };
}

/// The next redactor id; 0 marks an empty table entry.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Decides which keys are redacted.
#[derive(Debug, Clone)]
pub struct Redactor {
    patterns: Vec<Vec<String>>,
    /// Tells this redactor's cached field verdicts from another's (clones share it: same patterns).
    id: u64,
}

impl Redactor {
    /// A redactor for these patterns (each split into words like a key).
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Self {
        let patterns = patterns
            .into_iter()
            .map(|pattern| words(pattern.as_ref()).map(str::to_ascii_lowercase).collect::<Vec<_>>())
            .filter(|words| !words.is_empty())
            .collect();
        Self { patterns, id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed) }
    }

    /// [`is_secret`](Self::is_secret) for a callsite's field name, remembered per thread: a static string
    /// at one address never changes, and the matching is the costliest part of writing a field.
    pub fn is_secret_field(&self, name: &'static str) -> bool {
        let (address, length) = (name.as_ptr() as usize, name.len());
        let slot = (address >> 3).wrapping_add(length).wrapping_mul(0x9e37_79b9) % CACHED_FIELDS;
        let hit = FIELD_VERDICTS.with(|table| {
            // One entry read in place, not the whole table copied.
            let table: &std::cell::Cell<[CachedField]> = table;
            let entry = table.as_slice_of_cells()[slot].get();
            (entry.redactor == self.id && entry.address == address && entry.length == length)
                .then_some(entry.secret)
        });
        if let Some(secret) = hit {
            return secret;
        }
        let secret = self.is_secret(name);
        FIELD_VERDICTS.with(|table| {
            let table: &std::cell::Cell<[CachedField]> = table;
            table.as_slice_of_cells()[slot].set(CachedField { redactor: self.id, address, length, secret });
        });
        secret
    }

    /// Whether values under `key` are secret.
    pub fn is_secret(&self, key: &str) -> bool {
        // Keys are short: compare on a stack array, falling back to the heap for very long keys.
        let mut buffer = [""; 16];
        let mut count = 0;
        for word in words(key) {
            if count == buffer.len() {
                let all: Vec<&str> = words(key).collect();
                return self.matches(&all);
            }
            buffer[count] = word;
            count += 1;
        }
        self.matches(&buffer[..count])
    }

    fn matches(&self, words: &[&str]) -> bool {
        self.patterns.iter().any(|pattern| {
            words
                .windows(pattern.len())
                .any(|window| window.iter().zip(pattern).all(|(w, p)| w.eq_ignore_ascii_case(p)))
        })
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(vana_config::DEFAULT_REDACT_KEYS)
    }
}

/// The words of `key`: split at non-alphanumeric characters and at lower-to-upper case changes.
fn words(key: &str) -> impl Iterator<Item = &str> {
    let bytes = key.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() && !bytes[at].is_ascii_alphanumeric() {
            at += 1;
        }
        if at == bytes.len() {
            return None;
        }
        let start = at;
        at += 1;
        while at < bytes.len()
            && bytes[at].is_ascii_alphanumeric()
            && !(bytes[at].is_ascii_uppercase() && bytes[at - 1].is_ascii_lowercase())
        {
            at += 1;
        }
        Some(&key[start..at])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_words_not_substrings() {
        let redactor = Redactor::default();
        for secret in [
            "password",
            "user.password",
            "Authorization",
            "set-cookie",
            "x-api-key",
            "apiKey",
            "API_KEY",
            "access_token",
            "authToken",
            "csrf_token",
            "session_id",
            "db_credentials",
        ] {
            assert!(redactor.is_secret(secret), "{secret}");
        }
        for plain in ["tokens_used", "prompt_tokens", "user", "keyboard", "passwordless_login", "monkey", ""]
        {
            assert!(!redactor.is_secret(plain), "{plain}");
        }
    }

    #[test]
    fn cached_field_verdicts_match_per_redactor_in_a_fixed_table() {
        let default = Redactor::default();
        let custom = Redactor::new(["tokens_used"]);
        for _ in 0..2 {
            assert!(default.is_secret_field("access_token"));
            assert!(!default.is_secret_field("tokens_used"));
            assert!(custom.is_secret_field("tokens_used"), "another redactor's verdict is not reused");
            assert!(!custom.is_secret_field("access_token"));
        }
        // Many names only evict entries of the fixed table: verdicts stay right.
        for index in 0..CACHED_FIELDS * 4 {
            let name: &'static str = Box::leak(format!("field_{index}").into_boxed_str());
            assert!(!default.is_secret_field(name));
        }
        assert!(default.is_secret_field("password"));
        assert!(default.clone().is_secret_field("access_token"));
    }

    #[test]
    fn long_keys_are_judged_whole() {
        let key = "a_".repeat(1000) + "password";
        assert!(Redactor::default().is_secret(&key));
        assert!(Redactor::new(["private_key"]).is_secret("my_private_key"));
        assert!(!Redactor::new(["private_key"]).is_secret("private_keyboard"));
    }
}
