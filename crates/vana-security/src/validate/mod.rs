//! Input validation: normalization, the built-in rules and the configured patterns, in one pass.

mod normalize;
mod pass_cache;
mod rules;
mod shell;
mod sql;
mod validator;
mod verdict;
mod word_table;

pub use rules::{BUILT_IN_RULES, GRAMMAR_RULES, Rule};
pub use validator::InputValidator;
pub use verdict::{Category, Rejection, Severity, Verdict};
