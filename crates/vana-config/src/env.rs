//! Overrides from the environment: `VANA_<DOCUMENT>__<SECTION>__<KEY>=<value>`.
//!
//! The value is read as a YAML scalar or flow collection (`200`, `true`, `["10.0.0.0/8"]`) and then
//! parsed with the key's type, like a value in the file; where the key wants text, the raw text is used.
//! Variables starting with `VANA_` without a `__` (secrets such as `VANA_CSRF_KEY`) are not configuration.

use std::ffi::OsString;

use serde_yaml::Value;

use crate::document::Document;
use crate::key_path::{KeyPath, Segment};
use crate::problem::{Origin, Problem, ProblemKind};
use crate::span_index::SpanIndex;
use crate::suggest::did_you_mean;

const PREFIX: &str = "VANA_";
/// Longest override value read, in bytes; a longer one is an error rather than a large allocation.
const MAX_VALUE_BYTES: usize = 64 * 1024;

/// One override: which variable sets which key of which document.
#[derive(Debug, Clone)]
pub(crate) struct EnvOverride {
    pub(crate) var: String,
    pub(crate) document: Document,
    pub(crate) path: KeyPath,
    pub(crate) raw: String,
}

/// Picks the configuration overrides out of `vars`; variables that look like overrides but name no
/// document, or are not UTF-8, become problems.
pub(crate) fn collect(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> (Vec<EnvOverride>, Vec<Problem>) {
    let mut overrides = Vec::new();
    let mut problems = Vec::new();
    for (name, value) in vars {
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some((document_name, key)) = rest.split_once("__") else {
            continue;
        };
        let problem = |message: String| {
            Problem::new(ProblemKind::Environment, KeyPath::root(), message)
                .at(&Origin::Env(name.to_owned()), None)
        };
        let Some(document) = Document::ALL.into_iter().find(|doc| doc.env_name() == document_name) else {
            let names = Document::ALL.map(Document::env_name);
            let hint = match did_you_mean(document_name, names) {
                Some(close) => format!("did you mean VANA_{close}__...?"),
                None => format!("expected VANA_{}__... or VANA_{}__...", names[0], names[1]),
            };
            problems.push(problem(format!("`{document_name}` is not a configuration document; {hint}")));
            continue;
        };
        let segments: Vec<&str> = key.split("__").collect();
        if segments.iter().any(|segment| segment.is_empty()) {
            problems.push(problem("empty key in the variable name (`____` or a trailing `__`)".into()));
            continue;
        }
        let Some(raw) = value.to_str() else {
            problems.push(problem("the value is not valid UTF-8".into()));
            continue;
        };
        if raw.len() > MAX_VALUE_BYTES {
            problems.push(problem(format!("the value is longer than {MAX_VALUE_BYTES} bytes")));
            continue;
        }
        let path =
            KeyPath::from(segments.iter().map(|s| Segment::Key(s.to_ascii_lowercase())).collect::<Vec<_>>());
        overrides.push(EnvOverride { var: name.to_owned(), document, path, raw: raw.to_owned() });
    }
    // Deterministic order whatever the environment's: shorter paths first, so a deeper key wins.
    overrides.sort_by(|a, b| {
        (a.document, a.path.segments().len(), &a.var).cmp(&(b.document, b.path.segments().len(), &b.var))
    });
    (overrides, problems)
}

impl EnvOverride {
    /// The value as YAML when it is a well-formed, small YAML value, else as text.
    pub(crate) fn value(&self) -> Value {
        if SpanIndex::build(&self.raw).is_ok() {
            if let Ok(value) = serde_yaml::from_str::<Value>(&self.raw) {
                if !value.is_null() || self.raw.trim() == "null" || self.raw.trim() == "~" {
                    return value;
                }
            }
        }
        Value::String(self.raw.clone())
    }

    /// Sets this override's key in `root`, creating mappings on the way.
    pub(crate) fn apply(&self, root: &mut Value, value: Value) {
        let mut node = root;
        for segment in self.path.segments() {
            let Segment::Key(key) = segment else { return };
            if !node.is_mapping() {
                *node = Value::Mapping(Default::default());
            }
            let Value::Mapping(mapping) = node else { return };
            node = mapping.entry(Value::String(key.clone())).or_insert(Value::Null);
        }
        *node = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))).collect()
    }

    #[test]
    fn picks_overrides_and_ignores_secrets() {
        let (overrides, problems) = collect(vars(&[
            ("VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT", "200"),
            ("VANA_CSRF_KEY", "not configuration"),
            ("PATH", "/bin"),
        ]));
        assert!(problems.is_empty());
        assert_eq!(overrides.len(), 1);
        assert_eq!(overrides[0].document, Document::Security);
        assert_eq!(overrides[0].path.to_string(), "rate_limiting.default_limit");
        assert_eq!(overrides[0].value(), Value::Number(200.into()));
    }

    #[test]
    fn names_an_unknown_document() {
        let (_, problems) = collect(vars(&[("VANA_MONITOR__LOGGING__LEVEL", "INFO")]));
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].to_string(),
            "env VANA_MONITOR__LOGGING__LEVEL: `MONITOR` is not a configuration document; did you mean VANA_MONITORING__...?"
        );
    }

    #[test]
    fn text_that_is_not_yaml_stays_text() {
        let (overrides, _) = collect(vars(&[("VANA_MONITORING__LOGGING__LEVEL", "a: b: c")]));
        assert_eq!(overrides[0].value(), Value::String("a: b: c".into()));
    }
}
