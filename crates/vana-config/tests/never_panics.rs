//! Whatever the bytes, the loader answers with a value or located problems, and never panics.

use proptest::prelude::*;
use vana_config::{ConfigLoader, Document};

fn check(document: Document, text: &str) {
    match ConfigLoader::new().document_str(document, "fuzz.yaml", text).load() {
        Ok(loaded) => loaded.config.validate().expect("a loaded config is valid"),
        Err(error) => {
            // YAML breaks lines at \r and at Unicode line separators too.
            let breaks = text
                .chars()
                .filter(|c| matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'))
                .count();
            // An error at the end of input may point just past the last line.
            let lines = breaks + 2;
            assert!(!error.problems().is_empty());
            for problem in error.problems() {
                assert!(!problem.message.is_empty());
                assert!(
                    problem.line.is_none_or(|line| line >= 1 && line <= lines),
                    "{problem} of {lines} lines"
                );
            }
        }
    }
}

/// Keys of both documents and some that are not, so generated documents reach deep into the schema.
const WORDS: &[&str] = &[
    "input_validation",
    "max_input_length",
    "forbidden_patterns",
    "rate_limiting",
    "default_limit",
    "window_seconds",
    "burst_limit",
    "ip_blocking",
    "whitelist",
    "csrf_protection",
    "headers",
    "security_headers",
    "performance_monitoring",
    "retention_minutes",
    "collection_interval",
    "thresholds",
    "memory_usage",
    "warning",
    "critical",
    "comparison",
    "metric",
    "alerting",
    "channels",
    "type",
    "level",
    "recipients",
    "logging",
    "format",
    "components",
    "name",
    "bogus",
];

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("true".to_owned()),
        Just("~".to_owned()),
        Just("'(unclosed'".to_owned()),
        Just("10.0.0.0/8".to_owned()),
        Just("admin@example.com".to_owned()),
        Just("&a x".to_owned()),
        Just("*a".to_owned()),
        prop::sample::select(WORDS).prop_map(str::to_owned),
        "[ -~]{0,12}",
    ]
}

fn node() -> impl Strategy<Value = String> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec((prop::sample::select(WORDS), inner.clone()), 0..6).prop_map(|entries| {
                let body: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
            prop::collection::vec(inner, 0..6).prop_map(|items| format!("[{}]", items.join(", "))),
        ]
    })
}

fn document() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(WORDS), node()), 0..6)
        .prop_map(|sections| sections.into_iter().map(|(key, value)| format!("{key}: {value}\n")).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        check(Document::Security, &text);
        check(Document::Monitoring, &text);
    }

    #[test]
    fn arbitrary_yaml(text in document()) {
        check(Document::Security, &text);
        check(Document::Monitoring, &text);
    }

    #[test]
    fn arbitrary_env_values(value in "[ -~]{0,40}") {
        let variables = [("VANA_MONITORING__THRESHOLDS__CPU_USAGE", value.as_str()), ("VANA_SECURITY__HEADERS", value.as_str())];
        match ConfigLoader::new().env_vars(variables).load() {
            Ok(loaded) => prop_assert!(loaded.config.validate().is_ok()),
            // Every problem is placed on the variable it came from.
            Err(error) => {
                prop_assert!(!error.problems().is_empty());
                for problem in error.problems() {
                    let origin = problem.origin.to_string();
                    prop_assert!(variables.iter().any(|(name, _)| origin.contains(name)), "{}", problem);
                }
            }
        }
    }
}

#[test]
fn arbitrary_non_utf8_bytes_through_a_file() {
    let dir = std::env::temp_dir().join(format!("vana-config-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("security_policies.yaml");
    proptest!(ProptestConfig { cases: 128, ..ProptestConfig::default() }, |(bytes in prop::collection::vec(any::<u8>(), 0..256))| {
        std::fs::write(&path, &bytes).unwrap();
        match ConfigLoader::new().file(&path).load() {
            Ok(loaded) => prop_assert!(loaded.config.validate().is_ok()),
            Err(error) => {
                let file = path.display().to_string();
                prop_assert!(error.problems().iter().all(|problem| problem.origin.to_string().contains(&file)), "{}", error);
            }
        }
    });
    std::fs::remove_dir_all(&dir).unwrap();
}
