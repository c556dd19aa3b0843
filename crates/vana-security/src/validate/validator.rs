//! The validator: a length check, then every rule in one pass over the raw and the normalized input.

use std::borrow::Cow;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use vana_config::InputValidation;

use super::normalize::normalize;
use super::pass_cache;
use super::rules::{BUILT_IN_RULES, Rule};
use super::verdict::{Category, Rejection, Severity, Verdict};
use crate::error::SecurityError;

/// Size limit of the compiled rule set; the built-in rules take a fraction of it.
const SET_SIZE_LIMIT: usize = 64 * 1024 * 1024;
/// Rule id of the first configured pattern.
const FIRST_PATTERN_ID: u16 = 900;

/// Checks inputs against the built-in rules and the configured `forbidden_patterns`.
///
/// ```
/// use vana_security::{Category, InputValidator};
///
/// let validator = InputValidator::new(&vana_config::InputValidation::default())?;
/// assert!(validator.validate("Dinner for two at 8, please").is_passed());
/// let verdict = validator.validate("1' OR '1'='1' --");
/// assert_eq!(verdict.rejection().unwrap().category, Category::SqlInjection);
/// let verdict = validator.validate("%3Cscript%3Ealert(1)%3C%2Fscript%3E");
/// assert_eq!(verdict.rejection().unwrap().category, Category::Xss);
/// # Ok::<(), vana_security::SecurityError>(())
/// ```
#[derive(Debug, Clone)]
pub struct InputValidator {
    /// Every rule as one alternation: answers "any match?" in one DFA pass that stops at the first match.
    any: Regex,
    /// The same rules as a set, run only on inputs that matched, to name the rule.
    set: RegexSet,
    rules: Vec<Rule>,
    max_length: usize,
    /// Tells this validator's entries in the per-thread pass cache from another's (clones share it: same
    /// rules, same verdicts).
    id: u64,
}

/// The next validator id; 0 is the cache's empty mark.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl InputValidator {
    /// The built-in rules plus `config.forbidden_patterns`, with `config.max_input_length`.
    pub fn new(config: &InputValidation) -> Result<Self, SecurityError> {
        let mut rules: Vec<Rule> = BUILT_IN_RULES.to_vec();
        let mut patterns: Vec<String> = rules.iter().map(|rule| rule.pattern.to_string()).collect();
        for (index, pattern) in config.forbidden_patterns.iter().enumerate() {
            vana_config::compile_pattern(pattern)
                .map_err(|reason| SecurityError::Pattern { index, reason })?;
            rules.push(Rule {
                id: FIRST_PATTERN_ID.saturating_add(u16::try_from(index).unwrap_or(u16::MAX)),
                category: Category::ForbiddenPattern,
                severity: Severity::High,
                description: "a configured forbidden pattern",
                pattern: Cow::Owned(pattern.clone()),
            });
            // Configured patterns keep Unicode classes, as their authors expect.
            patterns.push(format!("(?u:{pattern})"));
        }
        // The built-in rules use ASCII classes and case folding: a DFA a fraction of the Unicode one's size,
        // so much faster on long inputs; non-ASCII text is matched byte for byte.
        let alternation =
            patterns.iter().map(|pattern| format!("(?:{pattern})")).collect::<Vec<_>>().join("|");
        // Both forms with the same settings: the alternation and the set must agree on what matches.
        macro_rules! build {
            ($builder:expr) => {
                $builder
                    .unicode(false)
                    .case_insensitive(true)
                    .size_limit(SET_SIZE_LIMIT)
                    .dfa_size_limit(SET_SIZE_LIMIT)
                    .build()
                    .map_err(SecurityError::Rules)?
            };
        }
        let any = build!(RegexBuilder::new(&alternation));
        let set = build!(RegexSetBuilder::new(&patterns));
        let max_length = usize::try_from(config.max_input_length).unwrap_or(usize::MAX);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Self { any, set, rules, max_length, id })
    }

    /// Validates `input` with the configured length limit (bytes of UTF-8).
    pub fn validate(&self, input: &str) -> Verdict {
        self.validate_with_limit(input, self.max_length)
    }

    /// Validates `input` with `max_length` bytes as the limit: the length is checked before any rule.
    pub fn validate_with_limit(&self, input: &str, max_length: usize) -> Verdict {
        if input.len() > max_length {
            return too_long(input.len(), max_length);
        }
        if let Some(rule) = self.first_match(input) {
            return Verdict::Rejected(self.rejection(rule));
        }
        if let Cow::Owned(normalized) = normalize(input) {
            if let Some(rule) = self.first_match(&normalized) {
                return Verdict::Rejected(self.rejection(rule));
            }
        }
        Verdict::Passed
    }

    /// [`validate`](Self::validate) for inputs that recur, such as request paths, header values and
    /// enumerated query values: short inputs that passed are remembered per thread (a fixed table of 64),
    /// so a repeat costs a lookup. Same verdicts as `validate`; only passes are remembered.
    pub fn validate_recurring(&self, input: &str) -> Verdict {
        if pass_cache::contains(self.id, input.as_bytes()) {
            return Verdict::Passed;
        }
        let verdict = self.validate(input);
        if verdict.is_passed() {
            pass_cache::insert(self.id, input.as_bytes());
        }
        verdict
    }

    /// Validates any bytes: invalid UTF-8 is replaced before matching (and counts toward the length as
    /// the original bytes did).
    pub fn validate_bytes(&self, input: &[u8]) -> Verdict {
        if input.len() > self.max_length {
            return too_long(input.len(), self.max_length);
        }
        self.validate_with_limit(&String::from_utf8_lossy(input), usize::MAX)
    }

    /// The most severe matching rule (the lowest id among equals), as an index into `rules`.
    fn first_match(&self, text: &str) -> Option<usize> {
        if !self.any.is_match(text.as_bytes()) {
            return None;
        }
        self.set
            .matches(text.as_bytes())
            .into_iter()
            .max_by_key(|&index| (self.rules[index].severity, std::cmp::Reverse(self.rules[index].id)))
    }

    fn rejection(&self, index: usize) -> Rejection {
        let rule = &self.rules[index];
        Rejection {
            category: rule.category,
            rule_id: rule.id,
            severity: rule.severity,
            reason: rule.description.to_owned(),
        }
    }

    /// The rules in force, built-in then configured.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

fn too_long(length: usize, max_length: usize) -> Verdict {
    Verdict::Rejected(Rejection {
        category: Category::TooLong,
        rule_id: 1,
        severity: Severity::Medium,
        reason: format!("input is {length} bytes; the limit is {max_length}"),
    })
}
