//! Input validation: normalization, the built-in rules and the configured patterns, in one pass.

mod normalize;
mod pass_cache;
mod rules;
mod shell;
mod sql;
mod validator;
mod verdict;
mod word_table;

pub use rules::{BUILT_IN_RULES, GRAMMAR_RULES, QUOTED_CODE_RULES, Rule, rule_level};
pub use validator::InputValidator;
pub use verdict::{Category, Rejection, Severity, Verdict};
