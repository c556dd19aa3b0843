//! Which keys hold secrets: a key matches a pattern when the pattern's words appear in it, consecutively and
//! in order, whatever the case and separators. `api_key` matches `x-api-key`, `API_KEY` and `apiKey`;
//! `token` matches `access_token` and `authToken` but not `tokens_used`, so an LLM's token counts stay
//! readable while its credentials do not.

/// The text written in place of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Most field names whose verdict is cached (callsites are finite; this only bounds the cache).
const MAX_CACHED_FIELDS: usize = 4096;

type FieldCache = parking_lot::RwLock<std::collections::HashMap<(usize, usize), bool>>;

/// Decides which keys are redacted.
#[derive(Debug, Clone)]
pub struct Redactor {
    patterns: Vec<Vec<String>>,
    /// Verdicts for the static field names of callsites, by address and length: a static string at one
    /// address never changes, and the matching is the costliest part of writing a field.
    field_cache: std::sync::Arc<FieldCache>,
}

impl Redactor {
    /// A redactor for these patterns (each split into words like a key).
    pub fn new<S: AsRef<str>>(patterns: impl IntoIterator<Item = S>) -> Self {
        let patterns = patterns
            .into_iter()
            .map(|pattern| words(pattern.as_ref()).map(str::to_ascii_lowercase).collect::<Vec<_>>())
            .filter(|words| !words.is_empty())
            .collect();
        Self { patterns, field_cache: std::sync::Arc::default() }
    }

    /// [`is_secret`](Self::is_secret) for a callsite's field name, cached.
    pub fn is_secret_field(&self, name: &'static str) -> bool {
        let key = (name.as_ptr() as usize, name.len());
        if let Some(&secret) = self.field_cache.read().get(&key) {
            return secret;
        }
        let secret = self.is_secret(name);
        let mut cache = self.field_cache.write();
        if cache.len() < MAX_CACHED_FIELDS {
            cache.insert(key, secret);
        }
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
    fn cached_field_verdicts_match_and_the_cache_is_capped() {
        let redactor = Redactor::default();
        for _ in 0..2 {
            assert!(redactor.is_secret_field("access_token"));
            assert!(!redactor.is_secret_field("tokens_used"));
        }
        for index in 0..MAX_CACHED_FIELDS + 10 {
            let name: &'static str = Box::leak(format!("field_{index}").into_boxed_str());
            assert!(!redactor.is_secret_field(name));
        }
        assert_eq!(redactor.field_cache.read().len(), MAX_CACHED_FIELDS);
        assert!(redactor.is_secret_field("password"), "past the cap, verdicts are still computed");
    }

    #[test]
    fn long_keys_are_judged_whole() {
        let key = "a_".repeat(1000) + "password";
        assert!(Redactor::default().is_secret(&key));
        assert!(Redactor::new(["private_key"]).is_secret("my_private_key"));
        assert!(!Redactor::new(["private_key"]).is_secret("private_keyboard"));
    }
}
