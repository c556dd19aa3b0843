//! Where each key and value of a YAML document sits (line and column), found by walking the parser's
//! events, and the structural caps (nesting depth, alias expansion) checked on the way.
//!
//! `serde_yaml` reports positions only for the first syntax error; semantic problems are found later on
//! typed values. This index maps every key path to its position so each of those problems can point at
//! its line. Aliases are never expanded here: their size is summed from the anchor's size, so an alias
//! bomb is refused after reading it once.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, Span};

use crate::key_path::{KeyPath, Segment};
use crate::limits::{MAX_EXPANDED_NODES, MAX_NESTING_DEPTH};
use crate::problem::{Problem, ProblemKind};

/// A 1-based line and column.
pub(crate) type Position = (usize, usize);

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Option<Position>,
    value: Position,
    /// Whether the value is a mapping or sequence (whose own position is its first item's).
    collection: bool,
}

/// Positions of the keys and values of one document.
#[derive(Debug, Default)]
pub(crate) struct SpanIndex {
    entries: HashMap<KeyPath, Entry>,
}

enum Container {
    /// `key` is the key whose value comes next; `None` while a key is expected.
    Mapping {
        key: Option<String>,
    },
    Sequence {
        next: usize,
    },
}

/// What a node is to its parent.
#[derive(Clone)]
enum Role {
    Root,
    Key,
    Value(Segment),
}

struct Frame {
    container: Container,
    role: Role,
    /// Whether positions inside are recorded (not inside a complex mapping key, which has no path).
    addressable: bool,
    anchor: usize,
    nodes: u64,
}

fn position(span: &Span) -> Position {
    (span.start.line(), span.start.col() + 1)
}

impl SpanIndex {
    /// Walks `text`; fails on malformed YAML, nesting over the depth cap, or aliases that expand past the
    /// node cap.
    pub(crate) fn build(text: &str) -> Result<SpanIndex, Problem> {
        let mut walker = Walker::default();
        for event in Parser::new_from_str(text) {
            let (event, span) = event.map_err(|error| {
                let marker = error.marker();
                Problem::new(
                    ProblemKind::Syntax,
                    walker.path.clone(),
                    format!("invalid YAML: {}", error.info()),
                )
                .with_position((marker.line(), marker.col() + 1))
            })?;
            walker.event(event, &span)?;
        }
        Ok(walker.index)
    }

    /// The position of the value at `path`, or of its nearest ancestor that is in the document. For a
    /// mapping or sequence under a key, that is the key: the block's first line is already its first item.
    pub(crate) fn value_position(&self, path: &KeyPath) -> Option<Position> {
        self.nearest(path).map(|entry| match (entry.collection, entry.key) {
            (true, Some(key)) => key,
            _ => entry.value,
        })
    }

    /// The position of the key that leads to `path` (its value's position for sequence items), or of its
    /// nearest ancestor.
    pub(crate) fn key_position(&self, path: &KeyPath) -> Option<Position> {
        self.nearest(path).map(|entry| entry.key.unwrap_or(entry.value))
    }

    /// Whether the document itself has a value at `path`.
    pub(crate) fn contains(&self, path: &KeyPath) -> bool {
        self.entries.contains_key(path)
    }

    fn nearest(&self, path: &KeyPath) -> Option<&Entry> {
        let mut current = Some(path.clone());
        while let Some(path) = current {
            if let Some(entry) = self.entries.get(&path) {
                return Some(entry);
            }
            current = path.parent();
        }
        None
    }
}

#[derive(Default)]
struct Walker {
    index: SpanIndex,
    stack: Vec<Frame>,
    /// Path of the innermost open collection.
    path: KeyPath,
    anchor_sizes: HashMap<usize, u64>,
    root_nodes: u64,
    documents: usize,
}

impl Walker {
    fn event(&mut self, event: Event<'_>, span: &Span) -> Result<(), Problem> {
        match event {
            Event::Scalar(text, _, anchor, _) => {
                let role = self.begin_node(span, Some(&text), false);
                self.finish_node(role, anchor, 1, span)
            }
            Event::Alias(anchor) => {
                let role = self.begin_node(span, None, false);
                let size = self.anchor_sizes.get(&anchor).copied().unwrap_or(1);
                self.finish_node(role, 0, size, span)
            }
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let container = match event {
                    Event::MappingStart(..) => Container::Mapping { key: None },
                    _ => Container::Sequence { next: 0 },
                };
                if self.stack.len() >= MAX_NESTING_DEPTH {
                    return Err(
                        self.too_complex(span, format!("nesting deeper than {MAX_NESTING_DEPTH} levels"))
                    );
                }
                let role = self.begin_node(span, None, true);
                let addressable = self.addressable() && !matches!(role, Role::Key);
                if let Role::Value(segment) = &role {
                    self.path.push(segment.clone());
                }
                self.stack.push(Frame { container, role, addressable, anchor, nodes: 0 });
                Ok(())
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                if let Role::Value(_) = frame.role {
                    self.path.pop();
                }
                self.finish_node(frame.role, frame.anchor, frame.nodes.saturating_add(1), span)
            }
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    let message = "a configuration file holds one YAML document; this is a second (`---`)";
                    return Err(Problem::new(ProblemKind::Syntax, KeyPath::root(), message)
                        .with_position(position(span)));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn addressable(&self) -> bool {
        self.stack.last().is_none_or(|frame| frame.addressable)
    }

    /// Records where a node starts and says what it is to its parent; `text` is a scalar's text.
    fn begin_node(&mut self, span: &Span, text: Option<&str>, collection: bool) -> Role {
        let here = position(span);
        let addressable = self.addressable();
        let role = match self.stack.last().map(|frame| &frame.container) {
            None => Role::Root,
            Some(Container::Mapping { key: None }) => Role::Key,
            Some(Container::Mapping { key: Some(key) }) => Role::Value(Segment::Key(key.clone())),
            Some(Container::Sequence { next }) => Role::Value(Segment::Index(*next)),
        };
        let path = match &role {
            Role::Root => KeyPath::root(),
            // Complex (non-scalar) keys have no path of their own; they are named `?`.
            Role::Key => self.path.key(text.unwrap_or("?")),
            Role::Value(segment) => {
                let mut path = self.path.clone();
                path.push(segment.clone());
                path
            }
        };
        if addressable {
            let key = match role {
                Role::Key => Some(here),
                _ => self.index.entries.get(&path).and_then(|entry| entry.key),
            };
            self.index.entries.insert(path, Entry { key, value: here, collection });
        }
        if let (Role::Key, Some(frame)) = (&role, self.stack.last_mut()) {
            if text.is_some() {
                frame.container = Container::Mapping { key: text.map(str::to_owned) };
            }
        }
        role
    }

    /// Accounts for a finished node of `size` expanded nodes and moves its parent to the next node.
    fn finish_node(&mut self, role: Role, anchor: usize, size: u64, span: &Span) -> Result<(), Problem> {
        if anchor != 0 {
            self.anchor_sizes.insert(anchor, size);
        }
        match (role, self.stack.last_mut()) {
            (Role::Root, _) | (_, None) => self.root_nodes = self.root_nodes.saturating_add(size),
            (role, Some(frame)) => {
                frame.nodes = frame.nodes.saturating_add(size);
                match (&mut frame.container, role) {
                    // A scalar key already set the key; a complex key is named `?`.
                    (Container::Mapping { key }, Role::Key) => {
                        if key.is_none() {
                            *key = Some("?".to_owned());
                        }
                    }
                    (Container::Mapping { key }, _) => *key = None,
                    (Container::Sequence { next }, _) => *next += 1,
                }
            }
        }
        let total = self.stack.iter().map(|frame| frame.nodes).fold(self.root_nodes, u64::saturating_add);
        if total > MAX_EXPANDED_NODES {
            return Err(
                self.too_complex(span, format!("aliases expand to more than {MAX_EXPANDED_NODES} nodes"))
            );
        }
        Ok(())
    }

    fn too_complex(&self, span: &Span, message: String) -> Problem {
        Problem::new(ProblemKind::TooComplex, self.path.clone(), message).with_position(position(span))
    }
}
