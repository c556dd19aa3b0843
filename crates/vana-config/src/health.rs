//! `health` in `monitoring.yaml`: what makes an instance unready, and which alerts make `/health` fail.

use serde::{Deserialize, Serialize};

use crate::checks::Checker;
use crate::key_path::KeyPath;
use crate::limits;

/// `health`: readiness checks and the conditions of `/health`'s status code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct HealthConfig {
    /// Thresholds (by name) whose critical alert makes `/health` answer 503. Empty, the default: `/health`
    /// always answers 200 with its report (a slow request firing an alert must not get an instance pulled);
    /// probes use `/livez` and `/readyz`.
    pub critical_thresholds: Vec<String>,
    /// Gateway mode: the upstream's route asked every `check_interval_ms`; it is up when it answers below
    /// 500 within `upstream_timeout_ms`. Empty: not asked.
    pub upstream_path: String,
    /// How often the upstream is asked, in milliseconds.
    pub check_interval_ms: u64,
    /// How long the upstream may take to answer, in milliseconds.
    pub upstream_timeout_ms: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            critical_thresholds: Vec::new(),
            upstream_path: "/".into(),
            check_interval_ms: 5_000,
            upstream_timeout_ms: 2_000,
        }
    }
}

impl HealthConfig {
    /// `thresholds` are the names a condition may use.
    pub(crate) fn check<'a>(
        &self,
        at: &KeyPath,
        thresholds: impl Iterator<Item = &'a String> + Clone,
        check: &mut Checker,
    ) {
        check.each(
            &at.key("critical_thresholds"),
            &self.critical_thresholds,
            limits::MAX_THRESHOLDS,
            |c, at, name| {
                if !thresholds.clone().any(|known| known == name) {
                    let known: Vec<String> = thresholds.clone().map(|known| format!("`{known}`")).collect();
                    c.fail(
                        at,
                        format!(
                            "unknown threshold `{}`; the thresholds are {}",
                            name.escape_debug(),
                            known.join(", ")
                        ),
                    );
                }
            },
        );
        let path = &self.upstream_path;
        if !path.is_empty()
            && (!path.starts_with('/')
                || path.len() > limits::MAX_NAME_LENGTH
                || path.contains(char::is_whitespace))
        {
            check.fail(
                at.key("upstream_path"),
                format!("`{}` must be empty or a path starting with `/`", path.escape_debug()),
            );
        }
        check.positive_at_most(
            at.key("check_interval_ms"),
            self.check_interval_ms,
            limits::MAX_SECONDS * 1000,
            "milliseconds",
        );
        check.positive_at_most(
            at.key("upstream_timeout_ms"),
            self.upstream_timeout_ms,
            limits::MAX_SECONDS * 1000,
            "milliseconds",
        );
    }
}
