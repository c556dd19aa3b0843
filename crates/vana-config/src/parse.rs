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
    /// Completes the document's value before overrides and typing: sections that add to their defaults
    /// rather than replace them.
    fn complete(_value: &mut Value) {}
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
    fn complete(value: &mut Value) {
        crate::monitoring::thresholds_over_defaults(value);
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
    let fail = |problem: Problem| Problems::from(vec![problem.at(origin, None)]);
    let text = document_text(bytes).map_err(fail)?;
    let index = SpanIndex::build(text).map_err(fail)?;
    let mut value = yaml_mapping::<T>(text).map_err(fail)?;
    T::complete(&mut value);
    for env in &overrides {
        env.apply(&mut value, env.value());
    }
    let (model, problems) = deserialize_checked::<T>(value, &overrides);
    let located = locate(problems, origin, &overrides, &index);
    match model {
        Some(model) if located.is_empty() => Ok(model),
        _ if located.is_empty() => Err(fail(Problem::new(
            ProblemKind::InvalidType,
            KeyPath::root(),
            "the document could not be read",
        ))),
        _ => Err(Problems::from(located)),
    }
}

/// The document as text: within the size limit, and UTF-8.
fn document_text(bytes: &[u8]) -> Result<&str, Problem> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        let message = format!("the file is {} bytes; the limit is {MAX_DOCUMENT_BYTES}", bytes.len());
        return Err(Problem::new(ProblemKind::TooLarge, KeyPath::root(), message));
    }
    std::str::from_utf8(bytes).map_err(|error| {
        let (line, column) = line_column(bytes, error.valid_up_to());
        let message = "the file is not valid UTF-8".to_owned();
        Problem::new(ProblemKind::NotUtf8, KeyPath::root(), message).with_position((line, column))
    })
}

/// The document's YAML, which must be a mapping of sections.
fn yaml_mapping<T: DocumentModel>(text: &str) -> Result<Value, Problem> {
    let value: Value = serde_yaml::from_str(text).map_err(|error| {
        let message = error.to_string();
        // serde_yaml appends " at line L column C"; the position goes in front instead.
        let message = match message.find(" at line ") {
            Some(at) => message[..at].to_owned(),
            None => message,
        };
        let problem = Problem::new(ProblemKind::Syntax, KeyPath::root(), format!("invalid YAML: {message}"));
        match error.location() {
            Some(location) => problem.with_position((location.line(), location.column())),
            None => problem,
        }
    })?;
    let found = match &value {
        Value::Mapping(_) => return Ok(value),
        Value::Null => {
            let message =
                "the document is empty; write the keys to change, or remove the file to use the defaults";
            return Err(Problem::new(ProblemKind::Empty, KeyPath::root(), message));
        }
        Value::Sequence(_) => "a list",
        Value::Tagged(_) => "a tagged value",
        _ => "a single value",
    };
    let message = format!(
        "the document must be a mapping of sections ({}), not {found}",
        T::DOCUMENT.sections().join(", ")
    );
    Err(Problem::new(ProblemKind::InvalidType, KeyPath::root(), message).with_position((1, 1)))
}

/// The model of `value` (what could be read of it) and its problems: type errors, then the checks'.
fn deserialize_checked<T: DocumentModel>(
    value: Value,
    overrides: &[&EnvOverride],
) -> (Option<T>, Vec<Problem>) {
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
    (recovered.model, problems)
}

/// Each problem placed where it came from: the environment variable of an override, else its line and
/// column in the file; sorted by place.
fn locate(
    problems: Vec<Problem>,
    origin: &Origin,
    overrides: &[&EnvOverride],
    index: &SpanIndex,
) -> Vec<Problem> {
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
    located
}

/// The 1-based line and column of byte `offset`.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |newline| newline + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}
