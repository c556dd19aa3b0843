//! From the bytes of one document to its typed value, with every problem located.
//!
//! The steps, each guarding the next: a size cap; UTF-8; a walk of the YAML events that checks nesting
//! and alias expansion and records positions ([`SpanIndex`]); `serde_yaml` for the value tree; the
//! environment overrides; typed deserialization that recovers after each error; semantic checks.

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use crate::checks::Checker;
use crate::document::Document;
use crate::env::EnvOverride;
use crate::key_path::KeyPath;
use crate::limits::{MAX_DOCUMENT_BYTES, MAX_PROBLEMS_PER_DOCUMENT};
use crate::monitoring::MonitoringConfig;
use crate::problem::{Origin, Problem, ProblemKind, Problems};
use crate::recover::deserialize_recovering;
use crate::security::SecurityPolicies;
use crate::span_index::SpanIndex;

/// A configuration document's typed form.
pub(crate) trait DocumentModel: DeserializeOwned + Default {
    const DOCUMENT: Document;
    fn check(&self, checker: &mut Checker);
}

impl DocumentModel for SecurityPolicies {
    const DOCUMENT: Document = Document::Security;
    fn check(&self, checker: &mut Checker) {
        SecurityPolicies::check(self, checker);
    }
}

impl DocumentModel for MonitoringConfig {
    const DOCUMENT: Document = Document::Monitoring;
    fn check(&self, checker: &mut Checker) {
        MonitoringConfig::check(self, checker);
    }
}

/// Semantic problems of a value built in code (no positions).
pub(crate) fn check_model<T: DocumentModel>(model: &T) -> Problems {
    let mut checker = Checker::default();
    model.check(&mut checker);
    checker.problems
}

/// Parses one document from `bytes` read from `origin`, applying `overrides` (those of other documents
/// are ignored). Returns the value, or every problem found.
pub(crate) fn parse_document<T: DocumentModel>(
    bytes: &[u8],
    origin: &Origin,
    overrides: &[EnvOverride],
) -> Result<T, Problems> {
    let overrides: Vec<&EnvOverride> = overrides.iter().filter(|o| o.document == T::DOCUMENT).collect();
    let fail = |problem: Problem| Err(Problems::from(vec![problem.at(origin, None)]));

    if bytes.len() > MAX_DOCUMENT_BYTES {
        let message = format!("the file is {} bytes; the limit is {MAX_DOCUMENT_BYTES}", bytes.len());
        return fail(Problem::new(ProblemKind::TooLarge, KeyPath::root(), message));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let (line, column) = line_column(bytes, error.valid_up_to());
            let message = "the file is not valid UTF-8".to_owned();
            return fail(
                Problem::new(ProblemKind::NotUtf8, KeyPath::root(), message).with_position((line, column)),
            );
        }
    };
    let index = match SpanIndex::build(text) {
        Ok(index) => index,
        Err(problem) => return fail(problem),
    };
    let mut value: Value = match serde_yaml::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            let message = error.to_string();
            // serde_yaml appends " at line L column C"; the position goes in front instead.
            let message = match message.find(" at line ") {
                Some(at) => message[..at].to_owned(),
                None => message,
            };
            let mut problem =
                Problem::new(ProblemKind::Syntax, KeyPath::root(), format!("invalid YAML: {message}"));
            if let Some(location) = error.location() {
                problem = problem.with_position((location.line(), location.column()));
            }
            return fail(problem);
        }
    };
    match &value {
        Value::Mapping(_) => {}
        Value::Null => {
            let message =
                "the document is empty; write the keys to change, or remove the file to use the defaults";
            return fail(Problem::new(ProblemKind::Empty, KeyPath::root(), message));
        }
        other => {
            let found = match other {
                Value::Sequence(_) => "a list",
                Value::Tagged(_) => "a tagged value",
                _ => "a single value",
            };
            let message = format!(
                "the document must be a mapping of sections ({}), not {found}",
                T::DOCUMENT.sections().join(", ")
            );
            return fail(
                Problem::new(ProblemKind::InvalidType, KeyPath::root(), message).with_position((1, 1)),
            );
        }
    }
    for env in &overrides {
        env.apply(&mut value, env.value());
    }

    let mut problems = Vec::new();
    let recovered =
        deserialize_recovering::<T>(value, MAX_PROBLEMS_PER_DOCUMENT, &mut problems, |path, node| {
            // An override whose key wants text: take the variable's raw text rather than its YAML reading.
            match overrides.iter().find(|env| &env.path == path) {
                Some(env) if node.as_str() != Some(env.raw.as_str()) => {
                    *node = Value::String(env.raw.clone());
                    true
                }
                _ => false,
            }
        });
    if let Some(model) = &recovered.model {
        for mut problem in check_model(model).into_vec() {
            problem.path = recovered.original_path(&problem.path);
            if !recovered.judges_removed(&problem.path) {
                problems.push(problem);
            }
        }
    }

    let mut located: Vec<Problem> = problems
        .into_iter()
        .take(MAX_PROBLEMS_PER_DOCUMENT)
        .map(|problem| match overrides.iter().rev().find(|env| problem.path.starts_with(&env.path)) {
            Some(env) => problem.at(&Origin::Env(env.var.clone()), None),
            None => {
                let position = if problem.kind == ProblemKind::UnknownKey || !index.contains(&problem.path) {
                    index.key_position(&problem.path)
                } else {
                    index.value_position(&problem.path)
                };
                problem.at(origin, position)
            }
        })
        .collect();
    located.sort_by_key(|problem| {
        (problem.origin != *origin, problem.line.unwrap_or(usize::MAX), problem.column)
    });
    match recovered.model {
        Some(model) if located.is_empty() => Ok(model),
        _ if located.is_empty() => Err(Problems::from(vec![
            Problem::new(ProblemKind::InvalidType, KeyPath::root(), "the document could not be read")
                .at(origin, None),
        ])),
        _ => Err(Problems::from(located)),
    }
}

/// The 1-based line and column of byte `offset`.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |newline| newline + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}
