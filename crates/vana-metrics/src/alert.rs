//! Thresholds and the alert state machine: inactive → pending → firing → resolved.
//!
//! One alert exists per (series, threshold). A value past a line makes it pending; it fires once the
//! condition has held for the rule's `for_seconds` (at once for 0), and a pending alert is forgiven only
//! after the condition has been clear for the hold time (`keep_firing_seconds`), so a noisy series that is
//! mostly past the line still fires. A firing warning escalates to critical as soon as the critical line is
//! crossed (notified at once); while firing it is notified again every `repeat_interval`. It resolves (and a
//! critical one de-escalates) only once every value for the hold time has been back past the line by the
//! recovery margin: values swinging around a line make one firing and one resolution, not one pair per
//! swing. A series that stops receiving values counts as clear after five minutes, as in Prometheus.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use vana_config::{AlertLevel, Comparison};

/// A threshold in force: a glob over metric names and two lines.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdRule {
    /// The threshold's name (its key in `monitoring.yaml`, or the glob for `set_threshold`).
    pub name: Arc<str>,
    /// The metric names it watches (`*` matches any run of characters).
    pub metric_glob: Arc<str>,
    /// The warning line.
    pub warning: f64,
    /// The critical line.
    pub critical: f64,
    /// Which side of the lines is bad.
    pub comparison: Comparison,
    /// How long a value must stay past a line before the alert fires.
    pub for_duration: Duration,
}

impl ThresholdRule {
    fn past(&self, value: f64, line: f64) -> bool {
        match self.comparison {
            Comparison::Greater => value >= line,
            Comparison::Less => value <= line,
        }
    }

    /// Whether `value` has come back from `line` by `margin` (a fraction of the line).
    fn recovered(&self, value: f64, line: f64, margin: f64) -> bool {
        let slack = line.abs() * margin;
        match self.comparison {
            Comparison::Greater => value < line - slack,
            Comparison::Less => value > line + slack,
        }
    }

    /// The level `value` reaches, without hysteresis.
    pub fn level_of(&self, value: f64) -> Option<AlertLevel> {
        if self.past(value, self.critical) {
            Some(AlertLevel::Critical)
        } else if self.past(value, self.warning) {
            Some(AlertLevel::Warning)
        } else {
            None
        }
    }

    /// The line of `level`.
    pub fn line(&self, level: AlertLevel) -> f64 {
        match level {
            AlertLevel::Critical => self.critical,
            AlertLevel::Warning => self.warning,
        }
    }
}

/// What happened to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertTransition {
    /// It started firing.
    Firing,
    /// A firing warning became critical.
    Escalated,
    /// A firing critical came back to warning.
    Deescalated,
    /// Still firing, notified again after the repeat interval.
    Repeated,
    /// It stopped firing.
    Resolved,
}

/// A notification about one alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    /// What happened.
    pub transition: AlertTransition,
    /// The threshold's name.
    pub threshold: Arc<str>,
    /// The metric that crossed it.
    pub metric: Arc<str>,
    /// The metric's tags.
    pub tags: Arc<[(Arc<str>, Arc<str>)]>,
    /// The level (for `Resolved`, the level it had).
    pub level: AlertLevel,
    /// The value that caused the transition (NaN when a series that stopped resolves its alert).
    pub value: f64,
    /// The metric's unit as recorded (`seconds`, `percent`, `count`, ...).
    pub unit: Arc<str>,
    /// The line of `level`.
    pub threshold_value: f64,
    /// Which side of the line is bad.
    pub comparison: Comparison,
    /// When the alert started firing (wall clock).
    pub since: SystemTime,
    /// When this transition happened (wall clock).
    pub at: SystemTime,
}

impl AlertTransition {
    /// The transition's name in JSON and labels: `firing`, `escalated`, `deescalated`, `repeated`,
    /// `resolved`; and how a sentence for people says it.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            AlertTransition::Firing => ("firing", "firing"),
            AlertTransition::Escalated => ("escalated", "escalated"),
            AlertTransition::Deescalated => ("deescalated", "de-escalated"),
            AlertTransition::Repeated => ("repeated", "still firing"),
            AlertTransition::Resolved => ("resolved", "resolved"),
        }
    }

    /// The name in JSON answers and labels (`deescalated`).
    pub fn as_str(self) -> &'static str {
        self.names().0
    }

    /// The words a sentence for people uses (`de-escalated`, `still firing`).
    pub fn in_words(self) -> &'static str {
        self.names().1
    }
}

impl AlertEvent {
    /// One line for people, values with their unit and three significant digits:
    /// `response_time.checkout greater 5 s (7.23 s): critical firing`.
    pub fn message(&self) -> String {
        let what = self.transition.in_words();
        let value = if self.value.is_finite() {
            readable(self.value, &self.unit)
        } else {
            "no recent value".to_owned()
        };
        format!(
            "{} {} {} ({value}): {} {what}",
            self.metric,
            self.comparison,
            readable(self.threshold_value, &self.unit),
            self.level
        )
    }
}

/// `value` with three significant digits (whole numbers from 1,000 up) and its unit, the way people read
/// it: `2.63 s`, `91.5 %`, `86264`, `0.0123`.
pub(crate) fn readable(value: f64, unit: &str) -> String {
    let number = if !value.is_finite() || value == 0.0 || value.abs() >= 1000.0 {
        format!("{value:.0}")
    } else {
        let magnitude = value.abs().log10().floor() as i32;
        let decimals = usize::try_from((2 - magnitude).clamp(0, 15)).unwrap_or(0);
        let text = format!("{value:.decimals$}");
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_owned() } else { text }
    };
    match unit {
        "seconds" => format!("{number} s"),
        "percent" => format!("{number} %"),
        "bytes" => format!("{number} B"),
        "" | "count" => number,
        other => format!("{number} {other}"),
    }
}

#[derive(Debug, Clone, Copy, Default)]
enum Phase {
    #[default]
    Inactive,
    Pending {
        level: AlertLevel,
        since: u64,
    },
    Firing {
        level: AlertLevel,
        since: u64,
        notified: u64,
    },
}

/// The state of one alert.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AlertState {
    phase: Phase,
    /// Since when the values have been clear of the warning line (back from it by the margin, while
    /// firing): the first clear value after the last bad one; `None` while the latest is bad.
    clear_since: Option<u64>,
    /// The same for the critical line.
    critical_clear_since: Option<u64>,
    /// When the series last had a value.
    last_seen: u64,
}

/// How bad one value is, for the hold times.
#[derive(Debug, Clone, Copy)]
struct Badness {
    /// The level the value reaches, without hysteresis.
    reached: Option<AlertLevel>,
    /// Past the warning line (or, while firing, not back from it by the margin).
    warning: bool,
    /// The same for the critical line.
    critical: bool,
}

/// Whether a run of clear values that began at `since` has lasted the hold time by `now`.
fn cleared_for(since: Option<u64>, now: u64, policy: &AlertPolicy) -> bool {
    since.is_some_and(|since| now.saturating_sub(since) >= policy.keep_firing)
}

/// What the state machine decided for one value.
pub(crate) struct Step {
    pub(crate) transition: AlertTransition,
    pub(crate) level: AlertLevel,
    /// Monotonic nanoseconds when the alert started firing.
    pub(crate) since: u64,
}

/// The alerting parameters shared by every alert, in monotonic nanoseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AlertPolicy {
    pub(crate) recovery_margin: f64,
    pub(crate) repeat_interval: u64,
    /// How long a condition must have been clear before the alert resolves or de-escalates.
    pub(crate) keep_firing: u64,
}

/// A series with no value for this long counts as clear (Prometheus's own lookback: a series that stopped
/// leaves its rule's query empty after five minutes).
pub(crate) const STALE_AFTER: u64 = 300_000_000_000;

impl AlertState {
    /// Feeds one value at monotonic time `now`; returns the transition to notify, if any.
    pub(crate) fn observe(
        &mut self,
        rule: &ThresholdRule,
        value: f64,
        now: u64,
        policy: &AlertPolicy,
    ) -> Option<Step> {
        if !value.is_finite() {
            return None;
        }
        self.last_seen = now;
        let reached = rule.level_of(value);
        if reached.is_none() && matches!(self.phase, Phase::Inactive) {
            // The common case, a value under the line with nothing pending: no hold time to track.
            return None;
        }
        let firing = matches!(self.phase, Phase::Firing { .. });
        // While firing, a value counts as bad until it is back past the line by the margin (no flapping at
        // the line); before, only a value past the line does.
        let margin = if firing { policy.recovery_margin } else { 0.0 };
        let bad = Badness {
            warning: reached.is_some() || (firing && !rule.recovered(value, rule.warning, margin)),
            critical: reached == Some(AlertLevel::Critical)
                || (firing && !rule.recovered(value, rule.critical, margin)),
            reached,
        };
        let clear_run = |bad: bool, since: Option<u64>| if bad { None } else { Some(since.unwrap_or(now)) };
        self.clear_since = clear_run(bad.warning, self.clear_since);
        self.critical_clear_since = clear_run(bad.critical, self.critical_clear_since);
        let for_nanos = u64::try_from(rule.for_duration.as_nanos()).unwrap_or(u64::MAX);
        match self.phase {
            Phase::Inactive => {
                let level = reached?;
                self.promote(level, now, now, for_nanos)
            }
            Phase::Pending { level, since } => match reached {
                None => {
                    if cleared_for(self.clear_since, now, policy) {
                        self.phase = Phase::Inactive;
                    }
                    None
                }
                Some(reached) => self.promote(level.max(reached), since, now, for_nanos),
            },
            Phase::Firing { level, since, notified } => self.fire(bad, now, policy, (level, since, notified)),
        }
    }

    /// A pending alert fires once its condition has held for the rule's `for` duration.
    fn promote(&mut self, level: AlertLevel, since: u64, now: u64, for_nanos: u64) -> Option<Step> {
        if now.saturating_sub(since) >= for_nanos {
            self.phase = Phase::Firing { level, since: now, notified: now };
            Some(Step { transition: AlertTransition::Firing, level, since: now })
        } else {
            self.phase = Phase::Pending { level, since };
            None
        }
    }

    /// The next step of a firing alert: escalated, resolved, de-escalated, repeated, or nothing.
    fn fire(
        &mut self,
        bad: Badness,
        now: u64,
        policy: &AlertPolicy,
        (level, since, notified): (AlertLevel, u64, u64),
    ) -> Option<Step> {
        if level == AlertLevel::Warning && bad.reached == Some(AlertLevel::Critical) {
            self.phase = Phase::Firing { level: AlertLevel::Critical, since, notified: now };
            return Some(Step { transition: AlertTransition::Escalated, level: AlertLevel::Critical, since });
        }
        if cleared_for(self.clear_since, now, policy) {
            self.phase = Phase::Inactive;
            return Some(Step { transition: AlertTransition::Resolved, level, since });
        }
        if level == AlertLevel::Critical && cleared_for(self.critical_clear_since, now, policy) {
            self.phase = Phase::Firing { level: AlertLevel::Warning, since, notified: now };
            return Some(Step {
                transition: AlertTransition::Deescalated,
                level: AlertLevel::Warning,
                since,
            });
        }
        if now.saturating_sub(notified) >= policy.repeat_interval {
            self.phase = Phase::Firing { level, since, notified: now };
            return Some(Step { transition: AlertTransition::Repeated, level, since });
        }
        None
    }

    /// Without a value: a firing alert whose series has had none for [`STALE_AFTER`] (or the hold time,
    /// if longer) resolves, and a pending one is forgiven.
    pub(crate) fn expire(&mut self, now: u64, policy: &AlertPolicy) -> Option<Step> {
        if now.saturating_sub(self.last_seen) < STALE_AFTER.max(policy.keep_firing) {
            return None;
        }
        match std::mem::take(&mut self.phase) {
            Phase::Firing { level, since, .. } => {
                Some(Step { transition: AlertTransition::Resolved, level, since })
            }
            Phase::Pending { .. } | Phase::Inactive => None,
        }
    }

    /// Whether the alert is pending or firing (so a sweep must look at it).
    pub(crate) fn is_active(&self) -> bool {
        !matches!(self.phase, Phase::Inactive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(for_seconds: u64) -> ThresholdRule {
        ThresholdRule {
            name: "t".into(),
            metric_glob: "m".into(),
            warning: 10.0,
            critical: 20.0,
            comparison: Comparison::Greater,
            for_duration: Duration::from_secs(for_seconds),
        }
    }

    const POLICY: AlertPolicy =
        AlertPolicy { recovery_margin: 0.05, repeat_interval: 60_000_000_000, keep_firing: 0 };
    const S: u64 = 1_000_000_000;

    #[test]
    fn recovery_is_strictly_past_the_line_less_its_margin_on_either_side() {
        let greater = rule(0);
        // Warning line 10, margin 10 %: recovered below 9, not at 9.
        assert!(greater.recovered(8.99, 10.0, 0.1) && !greater.recovered(9.0, 10.0, 0.1));
        let less = ThresholdRule { comparison: Comparison::Less, ..rule(0) };
        // Free space must come back above 11, not to 11.
        assert!(less.recovered(11.01, 10.0, 0.1) && !less.recovered(11.0, 10.0, 0.1));
        assert!(!less.recovered(10.5, 10.0, 0.1), "the margin applies above the line too");
    }

    #[test]
    fn lines_and_messages_name_the_level_and_the_value() {
        let rule = rule(0);
        assert_eq!((rule.line(AlertLevel::Warning), rule.line(AlertLevel::Critical)), (10.0, 20.0));
        let event = AlertEvent {
            transition: AlertTransition::Escalated,
            threshold: "response_time".into(),
            metric: "response_time.checkout".into(),
            tags: std::sync::Arc::from(Vec::new()),
            level: AlertLevel::Critical,
            value: 7.2,
            unit: "seconds".into(),
            threshold_value: 5.0,
            comparison: Comparison::Greater,
            since: std::time::SystemTime::UNIX_EPOCH,
            at: std::time::SystemTime::UNIX_EPOCH,
        };
        assert_eq!(event.message(), "response_time.checkout greater 5 s (7.2 s): critical escalated");
    }

    fn run(rule: &ThresholdRule, values: &[(u64, f64)]) -> Vec<(AlertTransition, AlertLevel)> {
        let mut state = AlertState::default();
        values
            .iter()
            .filter_map(|&(at, value)| state.observe(rule, value, at * S, &POLICY))
            .map(|step| (step.transition, step.level))
            .collect()
    }

    #[test]
    fn the_specification_example() {
        // Thresholds 10/20: 15 is a warning, 25 a critical.
        let steps = run(&rule(0), &[(0, 5.0), (1, 15.0), (2, 25.0)]);
        assert_eq!(
            steps,
            [
                (AlertTransition::Firing, AlertLevel::Warning),
                (AlertTransition::Escalated, AlertLevel::Critical)
            ]
        );
    }

    #[test]
    fn hovering_at_the_line_does_not_flap() {
        let values: Vec<(u64, f64)> = (0..50).map(|n| (n, if n % 2 == 0 { 10.0 } else { 9.8 })).collect();
        assert_eq!(run(&rule(0), &values), [(AlertTransition::Firing, AlertLevel::Warning)]);
        let mut values = values;
        values.push((51, 9.4));
        assert_eq!(run(&rule(0), &values).last(), Some(&(AlertTransition::Resolved, AlertLevel::Warning)));
    }

    #[test]
    fn stuck_above_critical_notifies_once_per_repeat_interval() {
        let values: Vec<(u64, f64)> = (0..=180).map(|n| (n, 99.0)).collect();
        let steps = run(&rule(0), &values);
        assert_eq!(
            steps,
            [
                (AlertTransition::Firing, AlertLevel::Critical),
                (AlertTransition::Repeated, AlertLevel::Critical),
                (AlertTransition::Repeated, AlertLevel::Critical),
                (AlertTransition::Repeated, AlertLevel::Critical),
            ]
        );
    }

    #[test]
    fn a_for_duration_delays_firing_and_forgives_blips() {
        let steps = run(&rule(30), &[(0, 15.0), (10, 5.0), (20, 15.0), (40, 15.0), (50, 15.0), (60, 25.0)]);
        assert_eq!(
            steps,
            [
                (AlertTransition::Firing, AlertLevel::Warning),
                (AlertTransition::Escalated, AlertLevel::Critical)
            ]
        );
    }

    #[test]
    fn less_comparisons_mirror() {
        let low = ThresholdRule { warning: 20.0, critical: 10.0, comparison: Comparison::Less, ..rule(0) };
        let steps = run(&low, &[(0, 50.0), (1, 15.0), (2, 5.0), (3, 11.0), (4, 25.0)]);
        assert_eq!(
            steps,
            [
                (AlertTransition::Firing, AlertLevel::Warning),
                (AlertTransition::Escalated, AlertLevel::Critical),
                (AlertTransition::Deescalated, AlertLevel::Warning),
                (AlertTransition::Resolved, AlertLevel::Warning),
            ]
        );
    }

    #[test]
    fn values_read_with_three_significant_digits_and_their_unit() {
        assert_eq!(readable(2.629_335_391_999_999_8, "seconds"), "2.63 s");
        assert_eq!(readable(91.54, "percent"), "91.5 %");
        assert_eq!(readable(0.012_345_6, "count"), "0.0123");
        assert_eq!(readable(7.2, "seconds"), "7.2 s");
        assert_eq!(readable(5.0, "seconds"), "5 s");
        assert_eq!(readable(86_264.4, "seconds"), "86264 s");
        assert_eq!(readable(-0.5, ""), "-0.5");
        assert_eq!(readable(0.0, "jobs"), "0 jobs");
        assert_eq!(readable(f64::NAN, ""), "NaN");
    }

    fn run_with(rule: &ThresholdRule, policy: &AlertPolicy, values: &[(u64, f64)]) -> Vec<AlertTransition> {
        let mut state = AlertState::default();
        values
            .iter()
            .filter_map(|&(at, value)| state.observe(rule, value, at * S, policy))
            .map(|step| step.transition)
            .collect()
    }

    #[test]
    fn values_swinging_around_the_line_fire_once_and_resolve_once_with_a_hold_time() {
        // A slow route: one request in two above the 10 s line, for three minutes, then quiet and fast.
        let held = AlertPolicy { keep_firing: 60 * S, repeat_interval: 3600 * S, ..POLICY };
        let mut values: Vec<(u64, f64)> =
            (0..180).map(|n| (n, if n % 2 == 0 { 12.0 } else { 3.0 })).collect();
        values.extend((180..300).map(|n| (n, 3.0)));
        assert_eq!(run_with(&rule(0), &held, &values), [AlertTransition::Firing, AlertTransition::Resolved]);
        // Without a hold time, every swing is a pair: the flapping this replaces.
        assert_eq!(run_with(&rule(0), &POLICY, &values).len(), 180);
        // The resolution comes a full hold time after the first clear value after the last bad one (179 s).
        let mut state = AlertState::default();
        let resolved_at = values.iter().find_map(|&(at, value)| {
            state
                .observe(&rule(0), value, at * S, &held)
                .filter(|step| step.transition == AlertTransition::Resolved)
                .map(|_| at)
        });
        assert_eq!(resolved_at, Some(239));
    }

    #[test]
    fn a_pending_alert_survives_a_blip_shorter_than_the_hold_time_and_fires_after_for() {
        let held = AlertPolicy { keep_firing: 20 * S, ..POLICY };
        let values = [(0, 15.0), (10, 5.0), (20, 15.0), (29, 15.0), (30, 15.0)];
        assert_eq!(run_with(&rule(30), &held, &values), [AlertTransition::Firing]);
        // A pause longer than the hold time forgives it: the 30 s start again.
        let values = [(0, 15.0), (10, 5.0), (30, 5.0), (45, 15.0), (60, 15.0), (75, 15.0)];
        assert_eq!(run_with(&rule(30), &held, &values), [AlertTransition::Firing]);
        let mut state = AlertState::default();
        let fired_at =
            values.iter().find_map(|&(at, value)| state.observe(&rule(30), value, at * S, &held).map(|_| at));
        assert_eq!(fired_at, Some(75));
    }

    #[test]
    fn a_critical_alert_deescalates_only_after_the_hold_time() {
        let held = AlertPolicy { keep_firing: 30 * S, ..POLICY };
        let values = [(0, 25.0), (10, 15.0), (20, 25.0), (30, 15.0), (59, 15.0), (60, 15.0)];
        assert_eq!(
            run_with(&rule(0), &held, &values),
            [AlertTransition::Firing, AlertTransition::Deescalated]
        );
    }

    #[test]
    fn a_series_that_stops_resolves_after_five_minutes() {
        let held = AlertPolicy { keep_firing: 60 * S, ..POLICY };
        let mut state = AlertState::default();
        assert!(state.observe(&rule(0), 15.0, 0, &held).is_some());
        assert!(state.expire(STALE_AFTER - 1, &held).is_none());
        let step = state.expire(STALE_AFTER, &held).expect("resolved");
        assert_eq!((step.transition, step.level), (AlertTransition::Resolved, AlertLevel::Warning));
        assert!(!state.is_active() && state.expire(2 * STALE_AFTER, &held).is_none());
    }
}
