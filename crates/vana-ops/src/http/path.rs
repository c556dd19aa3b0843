//! Request paths as routes and exemptions see them: percent-decoded once and dot segments resolved, then
//! matched on `/` boundaries. A raw prefix would let `/run` cover `/run_sse`, and `/api/code` cover
//! `/api/code/../../admin`.

use std::borrow::Cow;

/// `path` percent-decoded once (invalid UTF-8 replaced) with its dot segments resolved (RFC 3986 §5.2.4);
/// borrowed when there is nothing to do.
pub(crate) fn normalized(path: &str) -> Cow<'_, str> {
    if !needs_work(path.as_bytes()) {
        return Cow::Borrowed(path);
    }
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    Cow::Owned(without_dot_segments(&decoded))
}

/// Whether `path` has a `%` or a dot segment (`/.`). Most paths have neither; paths are short, so one plain
/// pass costs less than setting up vectorized searches.
fn needs_work(path: &[u8]) -> bool {
    let mut previous = 0;
    for &byte in path {
        if byte == b'%' || (byte == b'.' && previous == b'/') {
            return true;
        }
        previous = byte;
    }
    false
}

/// RFC 3986 §5.2.4 on a path that starts with `/` (one that does not is treated as if it did).
fn without_dot_segments(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    let mut trailing_slash = false;
    for segment in path.trim_start_matches('/').split('/') {
        trailing_slash = false;
        match segment {
            "." => trailing_slash = true,
            ".." => {
                segments.pop();
                trailing_slash = true;
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    for segment in &segments {
        out.push('/');
        out.push_str(segment);
    }
    if trailing_slash || out.is_empty() {
        out.push('/');
    }
    out
}

/// Configured paths, each covering itself and everything below it on `/` boundaries (`/run` covers `/run`
/// and `/run/x`, not `/run_sse`). Match them against [`normalized`] paths.
#[derive(Debug, Clone, Default)]
pub(crate) struct PathPrefixes {
    prefixes: Vec<Box<str>>,
}

impl PathPrefixes {
    pub(crate) fn new(paths: &[String]) -> Self {
        let prefixes = paths
            .iter()
            .map(|path| {
                let path = normalized(path);
                let trimmed = path.trim_end_matches('/');
                // `/` itself covers everything; an empty prefix would too, so it is kept as `/`.
                Box::from(if trimmed.is_empty() { "/" } else { trimmed })
            })
            .collect();
        Self { prefixes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// Whether the normalized `path` is one of the paths or below one.
    pub(crate) fn covers(&self, path: &str) -> bool {
        self.prefixes.iter().any(|prefix| {
            &**prefix == "/"
                || path.strip_prefix(&**prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covers(prefixes: &[&str], path: &str) -> bool {
        let owned: Vec<String> = prefixes.iter().map(|p| (*p).to_owned()).collect();
        PathPrefixes::new(&owned).covers(&normalized(path))
    }

    #[test]
    fn prefixes_cover_whole_segments_only() {
        assert!(covers(&["/run"], "/run"));
        assert!(covers(&["/run"], "/run/"));
        assert!(covers(&["/run"], "/run/stream"));
        assert!(!covers(&["/run"], "/run_sse"));
        assert!(!covers(&["/run"], "/runXYZ"));
        assert!(covers(&["/hooks/"], "/hooks/github"));
        assert!(covers(&["/hooks/"], "/hooks"));
        assert!(covers(&["/"], "/anything"));
        assert!(!covers(&[], "/run"));
    }

    #[test]
    fn dot_segments_and_encodings_cannot_borrow_an_exemption() {
        assert!(!covers(&["/run"], "/run/../admin"));
        assert!(!covers(&["/api/code"], "/api/code/../../etc/passwd"));
        assert!(!covers(&["/api/code"], "/api/codeX/admin"));
        assert!(!covers(&["/run"], "/run/%2e%2e/admin"));
        assert!(!covers(&["/run"], "/run%2f..%2fadmin"));
        // ... and resolved paths that do land under the prefix are covered.
        assert!(covers(&["/run"], "/admin/../run"));
        assert!(covers(&["/run"], "/./run/./x"));
        assert!(covers(&["/api/code"], "/api%2Fcode"));
    }

    #[test]
    fn normalization_resolves_dots_and_decodes_once() {
        // Nothing to do: borrowed, not copied (a dot inside a segment is not a dot segment).
        for untouched in ["/a/b", "/static/app.v2.js", "/"] {
            assert!(matches!(normalized(untouched), Cow::Borrowed(_)), "{untouched}");
        }
        assert_eq!(normalized("/a/./b/../c"), "/a/c");
        assert_eq!(normalized("/a/b/.."), "/a/");
        assert_eq!(normalized("/../../x"), "/x");
        assert_eq!(normalized("/a%252e%252e/b"), "/a%2e%2e/b", "decoded once, not twice");
        assert_eq!(normalized("/%ff"), "/\u{fffd}");
        assert_eq!(normalized("/."), "/");
    }
}
