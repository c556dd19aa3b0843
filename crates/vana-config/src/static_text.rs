//! Configured text kept for the life of the process, once per distinct text.
//!
//! Header names and values, route templates: text from the configuration that is copied onto every
//! request. As `&'static str` it is shared without reference counts, which the threads serving requests
//! would otherwise all write to.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// Most distinct texts kept; past it, [`static_text`] answers `None` and callers keep their own copy.
pub const MAX_STATIC_TEXTS: usize = 4096;
/// Longest text kept.
pub const MAX_STATIC_TEXT_BYTES: usize = 4096;

/// `text` as static text: the same text is stored once per process, at most [`MAX_STATIC_TEXTS`] texts of
/// at most [`MAX_STATIC_TEXT_BYTES`] each.
///
/// ```
/// let first = vana_config::static_text("x-frame-options").unwrap();
/// let again = vana_config::static_text(&String::from("x-frame-options")).unwrap();
/// assert!(std::ptr::eq(first, again));
/// ```
pub fn static_text(text: &str) -> Option<&'static str> {
    static TEXTS: OnceLock<Mutex<Interner>> = OnceLock::new();
    let texts = TEXTS.get_or_init(|| Mutex::new(Interner::new(MAX_STATIC_TEXTS)));
    // A panic elsewhere while holding the lock leaves the set intact: keep using it.
    texts.lock().unwrap_or_else(std::sync::PoisonError::into_inner).intern(text)
}

struct Interner {
    texts: HashSet<&'static str>,
    cap: usize,
}

impl Interner {
    fn new(cap: usize) -> Self {
        Self { texts: HashSet::new(), cap }
    }

    fn intern(&mut self, text: &str) -> Option<&'static str> {
        if let Some(&kept) = self.texts.get(text) {
            return Some(kept);
        }
        if self.texts.len() >= self.cap || text.len() > MAX_STATIC_TEXT_BYTES {
            return None;
        }
        let kept: &'static str = Box::leak(text.into());
        self.texts.insert(kept);
        Some(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_text_is_kept_once_and_the_count_is_capped() {
        let mut interner = Interner::new(3);
        let first = interner.intern("a").unwrap();
        let same_text_elsewhere = String::from("a");
        assert!(std::ptr::eq(first, interner.intern(&same_text_elsewhere).unwrap()));
        assert!(interner.intern("b").is_some() && interner.intern("c").is_some());
        assert!(interner.intern("d").is_none());
        assert_eq!(interner.texts.len(), 3);
        assert_eq!(interner.intern("c"), Some("c"));
    }

    #[test]
    fn long_texts_are_not_kept() {
        let mut interner = Interner::new(3);
        assert!(interner.intern(&"x".repeat(MAX_STATIC_TEXT_BYTES + 1)).is_none());
        assert!(interner.intern(&"x".repeat(MAX_STATIC_TEXT_BYTES)).is_some());
    }
}
