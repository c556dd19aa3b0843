//! What the validator says about one input.

use std::fmt;

use serde::Serialize;

/// The kind of attack a rule recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Category {
    /// Cross-site scripting.
    Xss,
    /// SQL injection.
    SqlInjection,
    /// Path traversal and file inclusion.
    PathTraversal,
    /// OS command injection.
    CommandInjection,
    /// Server-side code or template injection.
    CodeInjection,
    /// Longer than the configured limit.
    TooLong,
    /// A `forbidden_patterns` entry of the configuration.
    ForbiddenPattern,
}

impl Category {
    /// The name used in verdicts and events: `sql_injection`, `xss`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Xss => "xss",
            Category::SqlInjection => "sql_injection",
            Category::PathTraversal => "path_traversal",
            Category::CommandInjection => "command_injection",
            Category::CodeInjection => "code_injection",
            Category::TooLong => "too_long",
            Category::ForbiddenPattern => "forbidden_pattern",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a finding or event is, in the specification's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth recording.
    Low,
    /// Suspicious.
    Medium,
    /// An attack.
    High,
    /// An attack that should block its source when `auto_block_on_critical` is on.
    Critical,
}

impl Severity {
    /// `low`, `medium`, `high` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an input was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The kind of attack.
    pub category: Category,
    /// The rule that matched (built-in rules are 101-599, configured patterns 900 and up, length 1).
    pub rule_id: u16,
    /// How serious it is.
    pub severity: Severity,
    /// What the rule recognises, for people; never the input itself.
    pub reason: String,
}

/// The validator's answer for one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing suspicious.
    Passed,
    /// Rejected, and why.
    Rejected(Rejection),
}

impl Verdict {
    /// Whether the input passed.
    pub fn is_passed(&self) -> bool {
        matches!(self, Verdict::Passed)
    }

    /// The rejection, if any.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Verdict::Passed => None,
            Verdict::Rejected(rejection) => Some(rejection),
        }
    }
}
