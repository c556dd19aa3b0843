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
    /// Server-side code injection not of a family below (Python internals, generic `eval` calls).
    CodeInjection,
    /// PHP code, stream wrappers and serialized PHP objects.
    PhpInjection,
    /// Java: JNDI and Log4j lookups, OGNL, expression languages reaching the runtime, serialized objects.
    JavaInjection,
    /// Server-side template injection: arithmetic probes and object access inside template delimiters.
    TemplateInjection,
    /// NoSQL (MongoDB) operator and JavaScript injection.
    NosqlInjection,
    /// LDAP filter injection.
    LdapInjection,
    /// XPath injection.
    XpathInjection,
    /// XML external entities, XInclude and XSLT reaching files or the network.
    Xxe,
    /// Longer than the configured limit.
    TooLong,
    /// A `forbidden_patterns` entry of the configuration.
    ForbiddenPattern,
}

impl Category {
    /// Every category, in declaration order (for counters made at 0 before the first finding).
    pub const ALL: [Category; 14] = [
        Category::Xss,
        Category::SqlInjection,
        Category::PathTraversal,
        Category::CommandInjection,
        Category::CodeInjection,
        Category::PhpInjection,
        Category::JavaInjection,
        Category::TemplateInjection,
        Category::NosqlInjection,
        Category::LdapInjection,
        Category::XpathInjection,
        Category::Xxe,
        Category::TooLong,
        Category::ForbiddenPattern,
    ];

    /// The name used in verdicts and events: `sql_injection`, `xss`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Xss => "xss",
            Category::SqlInjection => "sql_injection",
            Category::PathTraversal => "path_traversal",
            Category::CommandInjection => "command_injection",
            Category::CodeInjection => "code_injection",
            Category::PhpInjection => "php_injection",
            Category::JavaInjection => "java_injection",
            Category::TemplateInjection => "template_injection",
            Category::NosqlInjection => "nosql_injection",
            Category::LdapInjection => "ldap_injection",
            Category::XpathInjection => "xpath_injection",
            Category::Xxe => "xxe",
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
    /// Every severity, lowest first.
    pub const ALL: [Severity; 4] = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

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

impl std::str::FromStr for Severity {
    type Err = crate::SecurityError;

    /// `low`, `medium`, `high` or `critical`, in any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|severity| severity.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| crate::SecurityError::UnknownSeverity(text.to_owned()))
    }
}

/// What the rules found in one input: the most severe rule that fired names it, and the confidence of every
/// rule that fired adds up to its score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// The kind of attack of the most severe rule that fired.
    pub category: Category,
    /// That rule (built-in rules are 101-599, configured patterns 900 and up, length 1).
    pub rule_id: u16,
    /// How serious it is.
    pub severity: Severity,
    /// What that rule recognises, for people; never the input itself.
    pub reason: String,
    /// The summed confidence of every rule that fired (in the raw or the decoded input), compared with
    /// `input_validation.anomaly_threshold`.
    pub score: u16,
    /// Every rule that fired, most severe first.
    pub rules: Vec<u16>,
}

/// The validator's answer for one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// No rule fired.
    Passed,
    /// Rules fired, but their score stays under the threshold: a finding to record, not a reason to refuse
    /// (one weak signal, such as a lone absolute path or an ellipsis, does not refuse on its own).
    Suspicious(Rejection),
    /// The score reached the threshold (or the input is too long): refused, and why.
    Rejected(Rejection),
}

impl Verdict {
    /// Whether the input may go on (it passed, or was only suspicious).
    pub fn is_passed(&self) -> bool {
        !matches!(self, Verdict::Rejected(_))
    }

    /// Whether no rule fired at all.
    pub fn is_clean(&self) -> bool {
        matches!(self, Verdict::Passed)
    }

    /// The rejection, if the input was refused.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Verdict::Rejected(rejection) => Some(rejection),
            _ => None,
        }
    }

    /// What fired, refused or not.
    pub fn finding(&self) -> Option<&Rejection> {
        match self {
            Verdict::Passed => None,
            Verdict::Suspicious(finding) | Verdict::Rejected(finding) => Some(finding),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_each_category_once() {
        // A new variant fails to compile here until it is named here; name it in ALL too.
        let listed = |category: Category| match category {
            Category::Xss
            | Category::SqlInjection
            | Category::PathTraversal
            | Category::CommandInjection
            | Category::CodeInjection
            | Category::PhpInjection
            | Category::JavaInjection
            | Category::TemplateInjection
            | Category::NosqlInjection
            | Category::LdapInjection
            | Category::XpathInjection
            | Category::Xxe
            | Category::TooLong
            | Category::ForbiddenPattern => Category::ALL.contains(&category),
        };
        assert!(Category::ALL.iter().all(|category| listed(*category)));
        let names: std::collections::BTreeSet<_> =
            Category::ALL.iter().map(|category| category.as_str()).collect();
        assert_eq!(names.len(), Category::ALL.len());
    }
}
