//! Dotted key paths into a configuration document: `thresholds.memory_usage.warning`, `channels[1].type`.

use std::fmt;

/// One step of a [`KeyPath`]: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A key of a mapping.
    Key(String),
    /// A position in a sequence, from 0.
    Index(usize),
}

/// Where a value sits in a document, from its root.
///
/// Renders as `section.key[2].field`; the root renders as the empty string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The root of a document.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// Parses the dotted form (`a.b[1].c`); the empty string is the root.
    pub fn parse(dotted: &str) -> Self {
        let mut segments = Vec::new();
        for part in dotted.split('.').filter(|part| !part.is_empty()) {
            let (key, mut indexes) = match part.find('[') {
                Some(bracket) => (&part[..bracket], &part[bracket..]),
                None => (part, ""),
            };
            if !key.is_empty() {
                segments.push(Segment::Key(key.to_owned()));
            }
            while let Some(rest) = indexes.strip_prefix('[') {
                let Some(end) = rest.find(']') else { break };
                match rest[..end].parse() {
                    Ok(index) => segments.push(Segment::Index(index)),
                    Err(_) => segments.push(Segment::Key(rest[..end].to_owned())),
                }
                indexes = &rest[end + 1..];
            }
        }
        Self(segments)
    }

    /// This path with one more key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        Self(segments)
    }

    /// This path with one more index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// The segments from the root.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this is the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path one step up, or `None` at the root.
    pub fn parent(&self) -> Option<Self> {
        let (_, init) = self.0.split_last()?;
        Some(Self(init.to_vec()))
    }

    /// Whether `self` equals `other` or lies below it.
    pub fn starts_with(&self, other: &KeyPath) -> bool {
        self.0.starts_with(&other.0)
    }

    pub(crate) fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    pub(crate) fn pop(&mut self) -> Option<Segment> {
        self.0.pop()
    }
}

impl From<Vec<Segment>> for KeyPath {
    fn from(segments: Vec<Segment>) -> Self {
        Self(segments)
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_parses_back() {
        for dotted in ["", "a", "thresholds.memory_usage.warning", "alerting.channels[1].recipients[0]"] {
            assert_eq!(KeyPath::parse(dotted).to_string(), dotted);
        }
    }

    #[test]
    fn prefix_and_parent() {
        let path = KeyPath::parse("a.b[2].c");
        assert!(path.starts_with(&KeyPath::parse("a.b")));
        assert!(!path.starts_with(&KeyPath::parse("a.c")));
        assert_eq!(path.parent().map(|p| p.to_string()).as_deref(), Some("a.b[2]"));
        assert_eq!(KeyPath::root().parent(), None);
    }
}
