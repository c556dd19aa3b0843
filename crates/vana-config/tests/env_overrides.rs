//! `VANA_<DOCUMENT>__<SECTION>__<KEY>` overrides: typed like the file, errors name the variable.

use vana_config::{ConfigLoader, LogLevel, Origin, ProblemKind};

#[test]
fn overrides_are_parsed_with_the_key_type() {
    let loaded = ConfigLoader::new()
        .env_vars([
            ("VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT", "200"),
            ("VANA_SECURITY__IP_BLOCKING__WHITELIST", "[\"10.0.0.0/8\", \"::1\"]"),
            ("VANA_MONITORING__THRESHOLDS__MEMORY_USAGE__WARNING", "85"),
            ("VANA_MONITORING__LOGGING__LEVEL", "warning"),
            // A text key keeps the text, even when it reads as a number.
            ("VANA_MONITORING__LOGGING__CORRELATION_ID_HEADER", "123"),
            ("VANA_ADMIN_TOKEN", "a secret that is not configuration"),
        ])
        .load()
        .unwrap();
    let config = &loaded.config;
    assert_eq!(config.security.rate_limiting.default_limit, 200);
    assert_eq!(config.security.ip_blocking.whitelist, ["10.0.0.0/8", "::1"]);
    assert_eq!(config.monitoring.thresholds["memory_usage"].warning, 85.0);
    assert_eq!(config.monitoring.thresholds["memory_usage"].critical, 90.0);
    assert_eq!(config.monitoring.logging.level, LogLevel::Warning);
    assert_eq!(config.monitoring.logging.correlation_id_header, "123");
    assert_eq!(
        loaded.sources[0].env_overrides,
        ["VANA_SECURITY__IP_BLOCKING__WHITELIST", "VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT"]
    );
}

#[test]
fn a_bad_value_names_the_variable() {
    let error = ConfigLoader::new()
        .env_vars([
            ("VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT", "lots"),
            ("VANA_MONITORING__THRESHOLDS__CPU_USAGE__WARNING", "99"),
        ])
        .load()
        .unwrap_err();
    let rendered: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(
        rendered,
        [
            "env VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT: rate_limiting.default_limit: invalid type: string \"lots\", expected u32",
            "env VANA_MONITORING__THRESHOLDS__CPU_USAGE__WARNING: thresholds.cpu_usage.warning: warning (99) must be below critical (85) when comparison is `greater`",
        ]
    );
    assert!(
        matches!(&error.problems()[0].origin, Origin::Env(name) if name == "VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT")
    );
}

#[test]
fn an_unknown_key_or_document_gets_a_suggestion() {
    let error = ConfigLoader::new()
        .env_vars([("VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMT", "5"), ("VANA_SECURTY__HEADERS__X", "1")])
        .load()
        .unwrap_err();
    let rendered: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(
        rendered,
        [
            "env VANA_SECURTY__HEADERS__X: `SECURTY` is not a configuration document; did you mean VANA_SECURITY__...?",
            "env VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMT: rate_limiting.default_limt: unknown key `default_limt`; did you mean `default_limit`?",
        ]
    );
    assert_eq!(error.problems()[0].kind, ProblemKind::Environment);
}

#[test]
fn overrides_apply_on_top_of_a_file() {
    let loaded = ConfigLoader::new()
        .document_str(
            vana_config::Document::Security,
            "s.yaml",
            "rate_limiting:\n  default_limit: 7\n  burst_limit: 3\n",
        )
        .env_vars([("VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT", "9")])
        .load()
        .unwrap();
    assert_eq!(loaded.config.security.rate_limiting.default_limit, 9);
    assert_eq!(loaded.config.security.rate_limiting.burst_limit, 3);
}
