//! The names of the metrics that vana-ops records, and which of them each configured threshold watches.
//!
//! This is the one place that ties a threshold key of `monitoring.yaml` to recorded metric names. The
//! original Python monitor looked thresholds up by exact name (`memory_usage`), while it recorded
//! `memory.system.rss`: its memory and CPU alerts could never fire. Here the recorder (`vana-metrics`)
//! builds names with these functions and the thresholds default to globs over the same names, and a test
//! in `vana-metrics` proves every default threshold fires on what is really recorded.

/// What the names of operations' response times start with.
pub const RESPONSE_TIME_PREFIX: &str = "response_time.";
/// What the names of operations' error rates start with.
pub const ERROR_RATE_PREFIX: &str = "error_rate.";
/// What the names of operations' error counts start with.
pub const ERRORS_PREFIX: &str = "errors.";

/// Time from an AI operation's request to the first content of its answer, in seconds: the OpenTelemetry
/// GenAI conventions' `gen_ai.server.time_to_first_token`.
pub const GEN_AI_TIME_TO_FIRST_TOKEN: &str = "gen_ai.server.time_to_first_token";
/// Time per output token after the first, in seconds: `gen_ai.server.time_per_output_token`.
pub const GEN_AI_TIME_PER_OUTPUT_TOKEN: &str = "gen_ai.server.time_per_output_token";
/// Tokens an AI operation used, tagged `gen_ai.token.type` (`input` or `output`):
/// `gen_ai.client.token.usage`.
pub const GEN_AI_TOKEN_USAGE: &str = "gen_ai.client.token.usage";
/// AI operations' answers, counted, tagged with whether any content came (`gen_ai.content`: `present`,
/// `absent`): an answer without content is a failure no status code shows.
pub const GEN_AI_RESPONSES: &str = "gen_ai.responses";

/// Response time of one operation, in seconds: `response_time.<operation>`.
pub fn response_time(operation: &str) -> String {
    format!("{RESPONSE_TIME_PREFIX}{operation}")
}

/// Resident memory of a component, in MB: `memory.<component>.rss`.
pub fn memory_rss(component: &str) -> String {
    format!("memory.{component}.rss")
}

/// Virtual memory size of a component, in MB: `memory.<component>.vms`.
pub fn memory_vms(component: &str) -> String {
    format!("memory.{component}.vms")
}

/// Resident memory of a component in percent of the system's total memory: `memory.<component>.percent`.
pub fn memory_percent(component: &str) -> String {
    format!("memory.{component}.percent")
}

/// CPU use of a component, in percent of one core: `cpu.<component>.usage`.
pub fn cpu_usage(component: &str) -> String {
    format!("cpu.{component}.usage")
}

/// Failed calls of one operation in percent of its calls over the error-rate window:
/// `error_rate.<operation>`.
pub fn error_rate(operation: &str) -> String {
    format!("{ERROR_RATE_PREFIX}{operation}")
}

/// Errors of one operation, counted: `errors.<operation>`.
pub fn errors(operation: &str) -> String {
    format!("{ERRORS_PREFIX}{operation}")
}

/// The metric glob that a threshold key of `monitoring.yaml` watches when it names no `metric` itself.
///
/// | threshold key   | watches              |
/// |-----------------|----------------------|
/// | `response_time` | `response_time.*`    |
/// | `memory_usage`  | `memory.*.percent`   |
/// | `cpu_usage`     | `cpu.*.usage`        |
/// | `error_rate`    | `error_rate.*`       |
///
/// Any other key has no default and must set `metric`.
pub fn default_metric_for_threshold(threshold_key: &str) -> Option<&'static str> {
    DEFAULT_THRESHOLD_METRICS.iter().find(|(key, _)| *key == threshold_key).map(|(_, glob)| *glob)
}

/// The table behind [`default_metric_for_threshold`], in the order of `monitoring.yaml`.
pub const DEFAULT_THRESHOLD_METRICS: [(&str, &str); 4] = [
    ("response_time", "response_time.*"),
    ("memory_usage", "memory.*.percent"),
    ("cpu_usage", "cpu.*.usage"),
    ("error_rate", "error_rate.*"),
];

/// Whether `name` matches `glob`, where `*` matches any run of characters (also none) and every other
/// character matches itself.
pub fn glob_matches(glob: &str, name: &str) -> bool {
    // Iterative wildcard matching with one backtrack point: linear in practice, never exponential.
    let (glob, name) = (glob.as_bytes(), name.as_bytes());
    let (mut g, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if g < glob.len() && glob[g] == b'*' {
            star = Some((g, n));
            g += 1;
        } else if g < glob.len() && glob[g] == name[n] {
            g += 1;
            n += 1;
        } else if let Some((star_g, star_n)) = star {
            g = star_g + 1;
            n = star_n + 1;
            star = Some((star_g, star_n + 1));
        } else {
            return false;
        }
    }
    glob[g..].iter().all(|&byte| byte == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_glob_matches_the_names_the_recorder_builds() {
        let recorded = [
            ("response_time", response_time("llm.call")),
            ("memory_usage", memory_percent("system")),
            ("cpu_usage", cpu_usage("system")),
            ("error_rate", error_rate("llm.call")),
        ];
        for (key, name) in recorded {
            let glob = default_metric_for_threshold(key).expect("seed key has a default");
            assert!(glob_matches(glob, &name), "{key}: {glob} should match {name}");
        }
        assert!(!glob_matches("memory.*.percent", &memory_rss("system")));
        assert_eq!(default_metric_for_threshold("queue_depth"), None);
    }

    #[test]
    fn glob_semantics() {
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*c", "abbbc"));
        assert!(glob_matches("a*c", "ac"));
        assert!(!glob_matches("a*c", "ab"));
        assert!(glob_matches("exact", "exact"));
        assert!(!glob_matches("exact", "exactly"));
        assert!(glob_matches("*.*.usage", "cpu.system.usage"));
        assert!(!glob_matches("a*b*c", "a".repeat(10_000).as_str()));
    }
}
