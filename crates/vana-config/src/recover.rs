//! Typed deserialization that reports every structural problem, not just the first.
//!
//! serde stops at the first error. After each error the offending node is removed from the document and
//! deserialization runs again (removed keys fall back to their defaults), so one load reports every
//! unknown key and mistyped value. Sequence items shift when one is removed; positions are mapped back to
//! the original indexes so each problem names the item as written.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use crate::key_path::{KeyPath, Segment};
use crate::problem::{Problem, ProblemKind};
use crate::suggest::did_you_mean;

/// The outcome of [`deserialize_recovering`].
pub(crate) struct Recovered<T> {
    /// The value with removed nodes at their defaults; `None` when the root itself was unusable.
    pub(crate) model: Option<T>,
    /// Original paths of the removed nodes.
    pub(crate) removed: Vec<KeyPath>,
    /// Original indexes of removed sequence items, by the sequence's original path.
    removed_items: HashMap<KeyPath, Vec<usize>>,
}

impl<T> Recovered<T> {
    /// Maps a path in the pruned document (as the model sees it) back to the path as written.
    pub(crate) fn original_path(&self, current: &KeyPath) -> KeyPath {
        original_path(current, &self.removed_items)
    }

    /// Whether a check at `path` (an original path) would judge a default rather than what was written:
    /// it lies in a removed node, or next to one in the same mapping.
    pub(crate) fn judges_removed(&self, path: &KeyPath) -> bool {
        let in_mapping = matches!(path.segments().last(), Some(Segment::Key(_)));
        self.removed.iter().any(|gone| {
            path.starts_with(gone)
                || (in_mapping && path.parent().is_some_and(|parent| gone.starts_with(&parent)))
        })
    }
}

/// Deserializes `value`, collecting up to `max_problems` problems.
/// `retry_as_text` may replace a node with text instead of failing (environment overrides whose key
/// wants a string); it returns whether it changed anything.
pub(crate) fn deserialize_recovering<T: DeserializeOwned>(
    mut value: Value,
    max_problems: usize,
    problems: &mut Vec<Problem>,
    mut retry_as_text: impl FnMut(&KeyPath, &mut Value) -> bool,
) -> Recovered<T> {
    let mut removed: Vec<KeyPath> = Vec::new();
    let mut removed_items: HashMap<KeyPath, Vec<usize>> = HashMap::new();
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(typed) => {
                return Recovered { model: Some(typed), removed, removed_items };
            }
            Err(error) => error,
        };
        let current = to_key_path(error.path());
        let original = original_path(&current, &removed_items);
        if let Some(node) = node_mut(&mut value, &current) {
            if retry_as_text(&original, node) {
                continue;
            }
        }
        let problem = classify(&error.inner().to_string(), original.clone());
        // Removing a bad key makes its parent miss that key: the cause is reported already.
        let consequence = problem.kind == ProblemKind::MissingKey
            && removed.iter().any(|path| path.parent().as_ref() == Some(&original));
        if !consequence {
            problems.push(problem);
        }
        let removable = !current.is_root() && problems.len() < max_problems && remove(&mut value, &current);
        if !removable {
            return Recovered { model: None, removed, removed_items };
        }
        if let (Some(Segment::Index(index)), Some(parent)) = (original.segments().last(), original.parent()) {
            let items = removed_items.entry(parent).or_default();
            items.push(*index);
            items.sort_unstable();
        }
        removed.push(original);
    }
}

fn to_key_path(path: &serde_path_to_error::Path) -> KeyPath {
    path.iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Seq { index } => Some(Segment::Index(*index)),
            serde_path_to_error::Segment::Map { key } => Some(Segment::Key(key.clone())),
            serde_path_to_error::Segment::Enum { variant } => Some(Segment::Key(variant.clone())),
            serde_path_to_error::Segment::Unknown => None,
        })
        .collect::<Vec<_>>()
        .into()
}

/// Maps a path in the pruned document back to the path as written.
fn original_path(current: &KeyPath, removed_items: &HashMap<KeyPath, Vec<usize>>) -> KeyPath {
    let mut original = KeyPath::root();
    for segment in current.segments() {
        let segment = match segment {
            Segment::Index(index) => {
                let mut index = *index;
                for removed in removed_items.get(&original).into_iter().flatten() {
                    if *removed <= index {
                        index += 1;
                    }
                }
                Segment::Index(index)
            }
            key => key.clone(),
        };
        original.push(segment);
    }
    original
}

fn key_matches(key: &Value, name: &str) -> bool {
    match key {
        Value::String(text) => text == name,
        Value::Number(number) => number.to_string() == name,
        Value::Bool(flag) => flag.to_string() == name,
        _ => false,
    }
}

fn node_mut<'a>(root: &'a mut Value, path: &KeyPath) -> Option<&'a mut Value> {
    let mut node = root;
    for segment in path.segments() {
        node = match (segment, node) {
            (Segment::Key(name), Value::Mapping(mapping)) => {
                mapping.iter_mut().find(|(key, _)| key_matches(key, name)).map(|(_, value)| value)?
            }
            (Segment::Index(index), Value::Sequence(items)) => items.get_mut(*index)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Removes the node at `path`; false when it is not there.
fn remove(root: &mut Value, path: &KeyPath) -> bool {
    let (Some(last), Some(parent)) = (path.segments().last(), path.parent()) else {
        return false;
    };
    match (last, node_mut(root, &parent)) {
        (Segment::Key(name), Some(Value::Mapping(mapping))) => {
            let before = mapping.len();
            mapping.retain(|key, _| !key_matches(key, name));
            mapping.len() < before
        }
        (Segment::Index(index), Some(Value::Sequence(items))) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

/// Keys that are gone, and what took their place.
const REPLACED_KEYS: &[(&str, &str)] = &[(
    "auto_block_on_critical",
    "one critical finding no longer blocks; use `auto_block` with `auto_block_after` refused attacks \
     in `auto_block_window_seconds` (docs/security.md#blocking)",
)];

/// Turns serde's message into a problem; unknown keys get a "did you mean".
fn classify(message: &str, path: KeyPath) -> Problem {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let replaced = REPLACED_KEYS.iter().find(|(old, _)| *old == field);
        let hint = match (replaced, did_you_mean(field, candidates.iter().copied())) {
            (Some((_, replacement)), _) => format!("; it was replaced: {replacement}"),
            (None, Some(close)) => format!("; did you mean `{close}`?"),
            (None, None) if candidates.is_empty() => String::new(),
            (None, None) => format!("; expected one of {}", candidates.join(", ")),
        };
        return Problem::new(
            ProblemKind::UnknownKey,
            path,
            format!("unknown key `{}`{hint}", field.escape_debug()),
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return Problem::new(ProblemKind::MissingKey, path, format!("missing key `{field}`"));
    }
    let kind = if message.starts_with("invalid type") {
        ProblemKind::InvalidType
    } else {
        ProblemKind::InvalidValue
    };
    Problem::new(kind, path, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    #[allow(dead_code)]
    struct Doc {
        items: Vec<Item>,
        name: String,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        size: u32,
    }

    fn problems_of(yaml: &str) -> Vec<String> {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        let mut problems = Vec::new();
        let _ = deserialize_recovering::<Doc>(value, 100, &mut problems, |_, _| false);
        problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect()
    }

    #[test]
    fn reports_every_structural_problem_with_original_indexes() {
        let problems = problems_of("items:\n  - size: x\n  - size: 1\n  - sise: 2\n  - size: -1\nnam: 3\n");
        assert_eq!(
            problems,
            [
                "items[0].size: invalid type: string \"x\", expected u32",
                "items[2].sise: unknown key `sise`; did you mean `size`?",
                "items[3].size: invalid value: integer `-1`, expected u32",
                "nam: unknown key `nam`; did you mean `name`?",
            ]
        );
    }
}
