//! The validator: a length check, then every rule in one pass over the raw and the normalized input; the
//! confidences of the rules that fired add up to a score, refused at the threshold.

use std::borrow::Cow;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use vana_config::InputValidation;

use super::normalize::normalize_bounded;
use super::pass_cache;
use super::rules::{BUILT_IN_RULES, GRAMMAR_RULES, Rule, STILL_ENCODED};
use super::verdict::{Category, Rejection, Severity, Verdict};
use super::{shell, sql};
use crate::error::SecurityError;

/// Size limit of the compiled rule set; the built-in rules take a fraction of it.
const SET_SIZE_LIMIT: usize = 64 * 1024 * 1024;
/// Rule id of the first configured pattern.
const FIRST_PATTERN_ID: u16 = 900;
/// Rules that read a value as a file path into a system directory. A request path is a route, and a route
/// segment may be named like one (ADK's `/dev/apps/{app}/...`): on request paths these rules stay silent,
/// while traversal, encoded dots and named secret files are still read there.
const SYSTEM_DIRECTORY_RULES: [u16; 2] = [308, 310];
/// Sets the pass cache's key of request paths apart from the same validator's values (ids stay far below).
const REQUEST_PATH_KEY: u64 = 1 << 63;

/// Checks inputs against the built-in rules and the configured `forbidden_patterns`. An input is refused
/// when the confidences of the rules that fire in it reach `anomaly_threshold`; below it, a finding is
/// [`Verdict::Suspicious`].
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
/// // One weak signal is a finding, not a refusal.
/// let verdict = validator.validate("I keep my notes in /etc/hosts-notes.txt");
/// assert!(verdict.is_passed() && verdict.finding().unwrap().score < 5);
/// # Ok::<(), vana_security::SecurityError>(())
/// ```
#[derive(Debug, Clone)]
pub struct InputValidator {
    /// Every rule as one alternation: answers "any match?" in one DFA pass that stops at the first match.
    any: Regex,
    /// The same rules as a set, run only on inputs that matched, to name the rule.
    set: RegexSet,
    /// The grammar rules, then the pattern rules (in the order of `set`).
    rules: Vec<Rule>,
    /// Where the pattern rules start in `rules`: the index of set match `i` is `first_pattern_rule + i`.
    first_pattern_rule: usize,
    max_length: usize,
    threshold: u16,
    /// Each rule's confidence toward a refusal at the configured level (in the order of `rules`): its own,
    /// 0 for a rule of a higher level, the threshold for a weak signal at level 3.
    counted: Vec<u8>,
    /// The same at level 1, whatever the configured level: what names (JSON keys) are judged by.
    structure: Vec<u8>,
    /// Tells this validator's entries in the per-thread pass cache from another's (clones share it: same
    /// rules, same verdicts).
    id: u64,
}

/// The next validator id; 0 is the cache's empty mark.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl InputValidator {
    /// The built-in rules plus `config.forbidden_patterns`, with `config.max_input_length` and
    /// `config.anomaly_threshold`.
    pub fn new(config: &InputValidation) -> Result<Self, SecurityError> {
        let threshold = config.anomaly_threshold.max(1);
        let mut rules: Vec<Rule> = GRAMMAR_RULES.to_vec();
        let first_pattern_rule = rules.len();
        rules.extend_from_slice(BUILT_IN_RULES);
        let mut patterns: Vec<String> = BUILT_IN_RULES.iter().map(|rule| rule.pattern.to_string()).collect();
        for (index, pattern) in config.forbidden_patterns.iter().enumerate() {
            vana_config::compile_pattern(pattern)
                .map_err(|reason| SecurityError::Pattern { index, reason })?;
            rules.push(Rule {
                id: FIRST_PATTERN_ID.saturating_add(u16::try_from(index).unwrap_or(u16::MAX)),
                category: Category::ForbiddenPattern,
                severity: Severity::High,
                // A configured pattern refuses on its own, whatever the threshold.
                confidence: u8::try_from(threshold).unwrap_or(u8::MAX),
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
        let counted = rules.iter().map(|rule| counted_confidence(rule, config.level, threshold)).collect();
        let structure = rules.iter().map(|rule| counted_confidence(rule, 1, threshold)).collect();
        Ok(Self { any, set, rules, first_pattern_rule, max_length, threshold, counted, structure, id })
    }

    /// Validates `input` with the configured length limit (bytes of UTF-8).
    pub fn validate(&self, input: &str) -> Verdict {
        self.validate_with_limit(input, self.max_length)
    }

    /// Validates `input` with `max_length` bytes as the limit: the length is checked before any rule.
    pub fn validate_with_limit(&self, input: &str, max_length: usize) -> Verdict {
        if input.len() > max_length {
            return too_long(input.len(), max_length, self.threshold);
        }
        self.judge(self.fired_in(input))
    }

    /// Validates a name, such as a JSON object's key, for structure only: what breaks out of its context
    /// counts toward a refusal (level 1's rules), whatever `input_validation.level` says; a key named `ls`
    /// or `select` is a name, not a command or a statement (its findings are still reported).
    ///
    /// ```
    /// use vana_security::InputValidator;
    ///
    /// let mut config = vana_config::InputValidation::default();
    /// config.level = 2;
    /// let validator = InputValidator::new(&config)?;
    /// assert!(!validator.validate("ls").is_passed(), "a value that is a program, at level 2");
    /// assert!(validator.validate_name("ls", 100).is_passed(), "a key named like one");
    /// assert!(!validator.validate_name("x'; DROP TABLE t; --", 100).is_passed());
    /// # Ok::<(), vana_security::SecurityError>(())
    /// ```
    pub fn validate_name(&self, input: &str, max_length: usize) -> Verdict {
        if input.len() > max_length {
            return too_long(input.len(), max_length, self.threshold);
        }
        self.judge_with(self.fired_in(input), &self.structure)
    }

    /// Validates a request's path (`/apps/{app}/users/...`, decoded as the service will read it): a route,
    /// not a file name, so segments named like system directories (`/dev/...`, `/bin/...`) are not read as
    /// such; traversal (`..`, encoded dots and separators), NUL bytes, stream wrappers, named secret files
    /// and every other category are. Passes are remembered as with
    /// [`validate_recurring`](Self::validate_recurring).
    ///
    /// ```
    /// use vana_security::InputValidator;
    ///
    /// let validator = InputValidator::new(&vana_config::InputValidation::default())?;
    /// assert!(validator.validate_request_path("/dev/apps/vana/build_graph").is_passed());
    /// assert!(!validator.validate_request_path("/static/..%2f..%2fetc%2fpasswd").is_passed());
    /// assert!(!validator.validate("/dev/apps/vana/build_graph").is_passed(), "as a value, a system path");
    /// # Ok::<(), vana_security::SecurityError>(())
    /// ```
    pub fn validate_request_path(&self, path: &str) -> Verdict {
        let key = self.id | REQUEST_PATH_KEY;
        if pass_cache::contains(key, path.as_bytes()) {
            return Verdict::Passed;
        }
        if path.len() > self.max_length {
            return too_long(path.len(), self.max_length, self.threshold);
        }
        let mut fired = self.fired_in(path);
        fired.retain(|&index| !SYSTEM_DIRECTORY_RULES.contains(&self.rules[index].id));
        let verdict = self.judge(fired);
        if verdict.is_clean() {
            pass_cache::insert(key, path.as_bytes());
        }
        verdict
    }

    /// The rules that fire in `input` as sent or normalized, as indexes into `rules`.
    fn fired_in(&self, input: &str) -> Vec<usize> {
        let mut fired = Vec::new();
        self.collect(input, &mut fired);
        let (normalized, bound) = normalize_bounded(input);
        if let Cow::Owned(normalized) = normalized {
            self.collect(&normalized, &mut fired);
        }
        if bound.0 {
            self.fire_grammar_rule(STILL_ENCODED.id, &mut fired);
        }
        fired
    }

    /// [`validate`](Self::validate) for inputs that recur, such as request paths, header values and
    /// enumerated query values: short inputs that passed are remembered per thread (a fixed table of 64),
    /// so a repeat costs a lookup. Same verdicts as `validate`; only clean passes are remembered.
    pub fn validate_recurring(&self, input: &str) -> Verdict {
        if pass_cache::contains(self.id, input.as_bytes()) {
            return Verdict::Passed;
        }
        let verdict = self.validate(input);
        if verdict.is_clean() {
            pass_cache::insert(self.id, input.as_bytes());
        }
        verdict
    }

    /// Validates any bytes: invalid UTF-8 is replaced before matching (and counts toward the length as
    /// the original bytes did).
    pub fn validate_bytes(&self, input: &[u8]) -> Verdict {
        if input.len() > self.max_length {
            return too_long(input.len(), self.max_length, self.threshold);
        }
        self.validate_with_limit(&String::from_utf8_lossy(input), usize::MAX)
    }

    /// Adds the rules that match `text` (and are not in `fired` yet) to `fired`, as indexes into `rules`.
    fn collect(&self, text: &str, fired: &mut Vec<usize>) {
        if let Some(shape) = sql::detect(text.as_bytes()) {
            self.fire_grammar_rule(shape.rule_id(), fired);
        }
        if let Some(shape) = shell::detect(text.as_bytes()) {
            self.fire_grammar_rule(shape.rule_id(), fired);
        }
        if !self.any.is_match(text.as_bytes()) {
            return;
        }
        for index in self.set.matches(text.as_bytes()).into_iter() {
            fire(self.first_pattern_rule + index, fired);
        }
    }

    fn fire_grammar_rule(&self, id: u16, fired: &mut Vec<usize>) {
        let grammar_rules = &self.rules[..self.first_pattern_rule];
        if let Some(index) = grammar_rules.iter().position(|rule| rule.id == id) {
            fire(index, fired);
        }
    }

    /// The verdict on the rules that fired: their summed confidence against the threshold, named by the
    /// most severe (the lowest id among equals).
    fn judge(&self, fired: Vec<usize>) -> Verdict {
        self.judge_with(fired, &self.counted)
    }

    /// [`judge`](Self::judge) with `counted` confidences (one per rule).
    fn judge_with(&self, mut fired: Vec<usize>, counted: &[u8]) -> Verdict {
        if fired.is_empty() {
            return Verdict::Passed;
        }
        fired.sort_by_key(|&index| {
            let rule = &self.rules[index];
            (std::cmp::Reverse(rule.severity), rule.id)
        });
        let score = fired.iter().fold(0u16, |score, &index| score.saturating_add(u16::from(counted[index])));
        let top = &self.rules[fired[0]];
        let finding = Rejection {
            category: top.category,
            rule_id: top.id,
            severity: top.severity,
            reason: top.description.to_owned(),
            score,
            rules: fired.iter().map(|&index| self.rules[index].id).collect(),
        };
        if score >= self.threshold { Verdict::Rejected(finding) } else { Verdict::Suspicious(finding) }
    }

    /// The score at which an input is refused.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// The rules in force: the built-in grammar and pattern rules, then the configured patterns.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
}

/// Adds the rule at `index` to `fired` unless the raw or the decoded input fired it already.
fn fire(index: usize, fired: &mut Vec<usize>) {
    if !fired.contains(&index) {
        fired.push(index);
    }
}

/// What `rule` adds to a score toward a refusal at paranoia `level`: nothing below its level (it is then a
/// finding only), its confidence from it, and at level 3 a weak signal as much as the threshold. Configured
/// patterns count at every level.
fn counted_confidence(rule: &Rule, level: u8, threshold: u16) -> u8 {
    if rule.category == Category::ForbiddenPattern {
        return rule.confidence;
    }
    if super::rules::rule_level(rule.id) > level {
        return 0;
    }
    if level >= 3 { rule.confidence.max(u8::try_from(threshold).unwrap_or(u8::MAX)) } else { rule.confidence }
}

fn too_long(length: usize, max_length: usize, threshold: u16) -> Verdict {
    Verdict::Rejected(Rejection {
        category: Category::TooLong,
        rule_id: 1,
        severity: Severity::Medium,
        reason: format!("input is {length} bytes; the limit is {max_length}"),
        score: threshold,
        rules: vec![1],
    })
}

#[cfg(test)]
mod tests {
    use super::super::{shell, sql};
    use super::*;

    #[test]
    fn the_grammar_rules_are_the_shapes_rules_each_once() {
        let ids: Vec<u16> = GRAMMAR_RULES.iter().map(|rule| rule.id).collect();
        let shapes: Vec<u16> = sql::Shape::ALL
            .iter()
            .map(|shape| shape.rule_id())
            .chain(shell::Shape::ALL.iter().map(|shape| shape.rule_id()))
            .chain([STILL_ENCODED.id])
            .collect();
        assert_eq!(ids, shapes);
    }

    fn validator() -> InputValidator {
        InputValidator::new(&InputValidation::default()).unwrap()
    }

    #[test]
    fn the_system_directory_rules_exist_and_read_paths_as_values() {
        for id in SYSTEM_DIRECTORY_RULES {
            let rule = BUILT_IN_RULES.iter().find(|rule| rule.id == id).expect("a built-in rule");
            assert_eq!(rule.category, Category::PathTraversal, "rule {id}");
        }
        let validator = validator();
        for value in ["/dev/apps/vana/build_graph", "/etc/shadow", "/bin/sh", "c:\\windows\\win.ini"] {
            assert!(!validator.validate(value).is_passed(), "{value} as a value");
        }
    }

    #[test]
    fn route_segments_named_like_system_directories_are_routes() {
        let validator = validator();
        for path in [
            "/dev/apps/vana/build_graph",
            "/dev/apps/vana/debug/trace/session/4b1f-9c2e",
            "/dev/apps/vana/eval_sets/set-1/evals/case-2",
            "/dev/apps/vana/metrics-info",
            "/usr/profile",
            "/bin/list",
            "/proc/status",
            "/opt/in",
            "/var/run_sse",
            "/lib/docs/index.html",
        ] {
            // Twice: the second answer comes from the pass cache.
            for _ in 0..2 {
                let verdict = validator.validate_request_path(path);
                assert!(verdict.is_clean(), "{path}: {verdict:?}");
            }
        }
    }

    #[test]
    fn traversal_and_secret_files_on_request_paths_are_still_refused() {
        let validator = validator();
        for path in [
            "/static/../../etc/passwd",
            "/static/..%2f..%2fetc%2fpasswd",
            "/files/%2e%2e/%2e%2e/etc/shadow",
            "/dev/apps/..%5c..%5cwindows%5cwin.ini",
            "/etc/passwd",
            "/.git/config",
            "/download/file.txt%00.png",
            "/proxy/file:///etc/hosts",
        ] {
            let verdict = validator.validate_request_path(path);
            assert!(verdict.rejection().is_some(), "{path}: {verdict:?}");
        }
    }

    #[test]
    fn a_path_cached_as_a_route_is_not_a_cached_value() {
        let validator = validator();
        assert!(validator.validate_request_path("/dev/x").is_passed());
        assert!(!validator.validate_recurring("/dev/x").is_passed(), "the value's verdict is its own");
    }
}
