//! A table of malformed documents: each must report exactly these problems, at these key paths and lines.

use vana_config::{ConfigLoader, Document, ProblemKind};

use Document::{Monitoring as M, Security as S};

struct Case {
    doc: Document,
    yaml: &'static str,
    /// Every problem expected, in order: key path and line.
    expected: &'static [(&'static str, usize)],
    /// A fragment of the first problem's message.
    says: &'static str,
}

const CASES: &[Case] = &[
    Case {
        doc: S,
        yaml: "backend:\n  type: postgres\n  on_failure: retry\n",
        expected: &[("backend.type", 2), ("backend.on_failure", 3)],
        says: "unknown backend type `postgres`; expected one of memory, redis",
    },
    Case {
        doc: S,
        yaml: "backend:\n  type: redis\n  url_env: redis-url\n  command_timeout_ms: 0\n",
        expected: &[("backend.url_env", 3), ("backend.command_timeout_ms", 4)],
        says: "must be an environment variable name",
    },
    Case {
        doc: M,
        yaml: "alerting:\n  channels:\n    - type: webhook\n      level: warning\n    - type: alertmanager\n      urls: [\"ftp://x\"]\n      url: http://a\n      delivery:\n        max_attempts: 0\n",
        expected: &[
            ("alerting.channels[0]", 3),
            ("alerting.channels[1].urls[0]", 6),
            ("alerting.channels[1].url", 7),
            ("alerting.channels[1].delivery.max_attempts", 9),
        ],
        says: "a webhook channel needs `url` (or `url_env`)",
    },
    Case {
        doc: S,
        yaml: "http:\n  route_templates:\n    - /agents/{id}\n    - /files/{*rest}/x\n    - agents\n",
        expected: &[("http.route_templates[1]", 4), ("http.route_templates[2]", 5)],
        says: "`{name}`, or `{*name}` last",
    },
    Case {
        doc: S,
        yaml: "http:\n  max_body_bytes: 0\n  csrf_header: \"bad header\"\n  session_cookie: \"a;b\"\n",
        expected: &[("http.max_body_bytes", 2), ("http.csrf_header", 3), ("http.session_cookie", 4)],
        says: "must be at least 1 bytes",
    },
    Case {
        doc: M,
        yaml: "thresholds:\n  cpu_usage:\n    warning: 1\n    critical: 2\nloging:\n  level: INFO\n",
        expected: &[("loging", 5)],
        says: "unknown key `loging`; did you mean `logging`?",
    },
    Case {
        doc: M,
        yaml: "thresholds:\n  memory_usage:\n    warnig: 80\n    critical: 90\n",
        expected: &[("thresholds.memory_usage.warnig", 3)],
        says: "did you mean `warning`?",
    },
    Case {
        doc: M,
        yaml: "thresholds:\n  memory_usage:\n    warning: 95\n    critical: 90\n",
        expected: &[("thresholds.memory_usage.warning", 3)],
        says: "warning (95) must be below critical (90) when comparison is `greater`",
    },
    Case {
        doc: M,
        yaml: "thresholds:\n  free_disk:\n    metric: disk.free\n    warning: 5\n    critical: 10\n    comparison: less\n",
        expected: &[("thresholds.free_disk.warning", 4)],
        says: "must be above critical",
    },
    Case {
        doc: M,
        yaml: "thresholds:\n  queue_depth:\n    warning: 5\n    critical: 10\n",
        expected: &[("thresholds.queue_depth", 2)],
        says: "needs `metric`",
    },
    Case {
        doc: M,
        yaml: "thresholds:\n  cpu_usage:\n    warning: 70\n    critical: 85\n    comparison: bigger\n",
        expected: &[("thresholds.cpu_usage.comparison", 5)],
        says: "unknown comparison `bigger`",
    },
    Case {
        doc: M,
        yaml: "thresholds:\n  cpu_usage:\n    warning: high\n    critical: 85\n",
        expected: &[("thresholds.cpu_usage.warning", 3)],
        says: "invalid type: string \"high\", expected f64",
    },
    Case {
        doc: M,
        yaml: "thresholds:\n  cpu_usage:\n    warning: .nan\n    critical: 85\n",
        expected: &[("thresholds.cpu_usage.warning", 3)],
        says: "must be a finite number",
    },
    Case {
        doc: M,
        yaml: "thresholds:\n  cpu_usage:\n    metric: \"cpu usage\"\n    warning: 1\n    critical: 2\n",
        expected: &[("thresholds.cpu_usage.metric", 3)],
        says: "contains ` `",
    },
    Case {
        doc: M,
        yaml: "performance_monitoring:\n  retention_minutes: 0\n",
        expected: &[("performance_monitoring.retention_minutes", 2)],
        says: "must be at least 1 minutes, not 0",
    },
    Case {
        doc: M,
        yaml: "performance_monitoring:\n  retention_minutes: 60\n  collection_interval: -5\n",
        expected: &[("performance_monitoring.collection_interval", 3)],
        says: "invalid value: integer `-5`, expected u64",
    },
    Case {
        doc: M,
        yaml: "performance_monitoring:\n  collection_interval: 99999999\n",
        expected: &[("performance_monitoring.collection_interval", 2)],
        says: "must be at most 2592000 seconds",
    },
    Case {
        doc: M,
        yaml: "logging:\n  level: VERBOSE\n",
        expected: &[("logging.level", 2)],
        says: "unknown log level `VERBOSE`; expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    },
    Case {
        doc: M,
        yaml: "logging:\n  components:\n    - name: security\n      level: LOUD\n",
        expected: &[("logging.components[0].level", 4)],
        says: "unknown log level `LOUD`",
    },
    Case {
        doc: M,
        yaml: "logging:\n  components:\n    - name: security\n      level: INFO\n    - name: security\n      level: DEBUG\n",
        expected: &[("logging.components[1].name", 5)],
        says: "component `security` is listed twice",
    },
    Case {
        doc: M,
        yaml: "logging:\n  format: xml\n",
        expected: &[("logging.format", 2)],
        says: "unknown log format `xml`",
    },
    Case {
        doc: M,
        yaml: "logging:\n  correlation_id_header: \"X Correlation\"\n",
        expected: &[("logging.correlation_id_header", 2)],
        says: "not a valid HTTP header name",
    },
    Case {
        doc: M,
        yaml: "alerting:\n  channels:\n    - type: pager\n      level: critical\n",
        expected: &[("alerting.channels[0].type", 3)],
        says: "unknown alert channel type `pager`",
    },
    Case {
        doc: M,
        yaml: "alerting:\n  channels:\n    - type: log\n    - type: email\n      level: critical\n",
        expected: &[("alerting.channels[1].recipients", 4)],
        says: "an email channel needs at least one recipient",
    },
    Case {
        doc: M,
        yaml: "alerting:\n  channels:\n    - type: email\n      recipients:\n        - admin@example.com\n        - not-an-address\n",
        expected: &[("alerting.channels[0].recipients[1]", 6)],
        says: "`not-an-address` is not an email address",
    },
    Case {
        doc: M,
        yaml: "alerting:\n  channels: log\n",
        expected: &[("alerting.channels", 2)],
        says: "invalid type: string \"log\", expected a sequence",
    },
    Case {
        doc: M,
        yaml: "alerting:\n  channels:\n    - type: log\n      level: info\n",
        expected: &[("alerting.channels[0].level", 4)],
        says: "unknown alert level `info`",
    },
    Case {
        doc: S,
        yaml: "input_validation:\n  forbidden_patterns:\n    - 'union\\s+select'\n    - '(unclosed'\n",
        expected: &[("input_validation.forbidden_patterns[1]", 4)],
        says: "the pattern does not compile: unclosed group",
    },
    Case {
        doc: S,
        yaml: "input_validation:\n  forbidden_patterns:\n    - '(?:\\w{500}){40}'\n",
        expected: &[("input_validation.forbidden_patterns[0]", 3)],
        says: "limit",
    },
    Case {
        doc: S,
        yaml: "ip_blocking:\n  whitelist:\n    - 127.0.0.1\n    - localhost\n    - 10.0.0.0/33\n",
        expected: &[("ip_blocking.whitelist[1]", 4), ("ip_blocking.whitelist[2]", 5)],
        says: "`localhost` is not an IP address or CIDR network",
    },
    Case {
        doc: S,
        yaml: "headers:\n  security_headers:\n    \"Bad Header\": x\n",
        expected: &[("headers.security_headers.Bad Header", 3)],
        says: "`Bad Header` is not a valid HTTP header name",
    },
    Case {
        doc: S,
        yaml: "headers:\n  security_headers:\n    X-Test: \"a\\nb\"\n",
        expected: &[("headers.security_headers.X-Test", 3)],
        says: "not a valid HTTP header value",
    },
    Case {
        doc: S,
        yaml: "headers:\n  security_headers:\n    X-Frame-Options: DENY\n    x-frame-options: SAMEORIGIN\n",
        expected: &[("headers.security_headers.x-frame-options", 4)],
        says: "repeats header `X-Frame-Options`",
    },
    Case {
        doc: S,
        yaml: "rate_limiting:\n  default_limit: 0\n  window_seconds: 0\n",
        expected: &[("rate_limiting.default_limit", 2), ("rate_limiting.window_seconds", 3)],
        says: "must be at least 1 requests, not 0",
    },
    Case {
        doc: S,
        yaml: "rate_limiting:\n  default_limit: lots\n",
        expected: &[("rate_limiting.default_limit", 2)],
        says: "invalid type: string \"lots\", expected u32",
    },
    Case {
        doc: S,
        yaml: "ip_blocking:\n  block_duration_hours: -1\n",
        expected: &[("ip_blocking.block_duration_hours", 2)],
        says: "invalid value: integer `-1`",
    },
    Case {
        doc: S,
        yaml: "input_validation:\n  max_input_length: 0\n",
        expected: &[("input_validation.max_input_length", 2)],
        says: "must be at least 1 bytes",
    },
    Case {
        doc: S,
        yaml: "csrf_protection:\n  require_csrf: sometimes\n",
        expected: &[("csrf_protection.require_csrf", 2)],
        says: "expected a boolean",
    },
    Case {
        doc: S,
        yaml: "rate_limits:\n  default_limit: 5\n",
        expected: &[("rate_limits", 1)],
        says: "unknown key `rate_limits`; did you mean `rate_limiting`?",
    },
    Case {
        doc: S,
        yaml: "headers:\n  - a\n",
        expected: &[("headers", 1)],
        says: "invalid type: sequence, expected struct Headers",
    },
    Case {
        doc: M,
        yaml: "logging:\n  level: [INFO\n",
        expected: &[("logging.level", 3)],
        says: "invalid YAML",
    },
    Case {
        doc: M,
        yaml: "logging:\n  level: INFO\n  level: DEBUG\n",
        expected: &[("", 2)],
        says: "duplicate entry with key \"level\"",
    },
    Case { doc: M, yaml: "logging:\n\tlevel: INFO\n", expected: &[("", 2)], says: "invalid YAML" },
    Case { doc: M, yaml: "- a\n- b\n", expected: &[("", 1)], says: "must be a mapping of sections" },
    Case { doc: S, yaml: "hello\n", expected: &[("", 1)], says: "not a single value" },
    Case {
        doc: S,
        yaml: "rate_limiting: {}\n---\nheaders: {}\n",
        expected: &[("", 2)],
        says: "this is a second (`---`)",
    },
];

#[test]
fn every_malformed_document_reports_its_exact_paths_and_lines() {
    assert!(CASES.len() >= 25);
    let mut failures = Vec::new();
    for (number, case) in CASES.iter().enumerate() {
        let result = ConfigLoader::new().document_str(case.doc, "case.yaml", case.yaml).load();
        let Err(error) = result else {
            failures.push(format!("case {number}: accepted\n{}", case.yaml));
            continue;
        };
        let got: Vec<(String, usize)> =
            error.problems().iter().map(|p| (p.path.to_string(), p.line.unwrap_or(0))).collect();
        let want: Vec<(String, usize)> =
            case.expected.iter().map(|(path, line)| (path.to_string(), *line)).collect();
        let first = error.problems().first().map(|p| p.to_string()).unwrap_or_default();
        if got != want || !first.contains(case.says) {
            failures.push(format!(
                "case {number}: want {want:?} saying {:?}\n  got {got:?}\n  {error}",
                case.says
            ));
        }
        for problem in error.problems() {
            assert!(problem.to_string().starts_with("case.yaml:"), "{problem}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn three_independent_mistakes_are_reported_in_one_run() {
    let yaml = "\
performance_monitoring:
  retention_minutes: 0
thresholds:
  response_time:
    warning: 5
    critical: 2
logging:
  level: LOUD
";
    let error = ConfigLoader::new().document_str(M, "monitoring.yaml", yaml).load().unwrap_err();
    let rendered: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(
        rendered,
        [
            "monitoring.yaml:2:22: performance_monitoring.retention_minutes: must be at least 1 minutes, not 0",
            "monitoring.yaml:5:14: thresholds.response_time.warning: warning (5) must be below critical (2) when comparison is `greater`",
            "monitoring.yaml:8:10: logging.level: unknown log level `LOUD`; expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        ]
    );
    assert_eq!(error.problems()[2].kind, ProblemKind::InvalidValue);
}

#[test]
fn problems_in_both_documents_are_reported_together() {
    let error = ConfigLoader::new()
        .document_str(S, "security.yaml", "rate_limiting:\n  burst_limit: 0\n")
        .document_str(M, "monitoring.yaml", "alerting:\n  enabled: maybe\n")
        .load()
        .unwrap_err();
    let rendered: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(rendered.len(), 2, "{rendered:?}");
    assert!(rendered[0].starts_with("security.yaml:2:16: rate_limiting.burst_limit:"), "{}", rendered[0]);
    assert!(rendered[1].starts_with("monitoring.yaml:2:12: alerting.enabled:"), "{}", rendered[1]);
}

#[test]
fn input_policies_are_checked_where_they_are_written() {
    let yaml = "\
http:
  route_templates: [\"/run\"]
  input_policies:
    routes:
      /run:
        json:
          \"/newMessage/parts/*/text\": detect
          \"newMessage\": detect
          \"/a~2b\": off
      /chat:
        action: block
";
    let error = ConfigLoader::new().document_str(S, "security.yaml", yaml).load().unwrap_err();
    let rendered: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(rendered.len(), 3, "{rendered:#?}");
    assert!(
        rendered[0].starts_with("security.yaml:8:25: http.input_policies.routes./run.json.newMessage:"),
        "{}",
        rendered[0]
    );
    assert!(rendered[0].contains("must be empty or start with `/`"), "{}", rendered[0]);
    assert!(
        rendered[1].starts_with("security.yaml:9:20: http.input_policies.routes./run.json./a~2b:"),
        "{}",
        rendered[1]
    );
    assert!(rendered[1].contains("`~` must be followed by `0`"), "{}", rendered[1]);
    assert!(
        rendered[2].starts_with("security.yaml:10:7: http.input_policies.routes./chat:"),
        "{}",
        rendered[2]
    );
    assert!(
        rendered[2].contains("unknown route `/chat`") && rendered[2].contains("`/run`"),
        "{}",
        rendered[2]
    );

    let yaml = "http:\n  input_policies:\n    default:\n      action: refuse\n";
    let error = ConfigLoader::new().document_str(S, "security.yaml", yaml).load().unwrap_err();
    let rendered = error.problems()[0].to_string();
    assert!(rendered.starts_with("security.yaml:4:15: http.input_policies.default.action:"), "{rendered}");
    assert!(
        rendered.contains("block") && rendered.contains("detect") && rendered.contains("off"),
        "{rendered}"
    );
}

#[test]
fn a_replaced_key_names_its_replacement() {
    let yaml = "ip_blocking:\n  auto_block_on_critical: true\n";
    let error = ConfigLoader::new().document_str(S, "security.yaml", yaml).load().unwrap_err();
    let rendered = error.problems()[0].to_string();
    assert!(rendered.starts_with("security.yaml:2:3: ip_blocking.auto_block_on_critical:"), "{rendered}");
    assert!(rendered.contains("`auto_block`") && rendered.contains("auto_block_after"), "{rendered}");
}

#[test]
fn trusted_origins_must_be_origins() {
    let yaml = "csrf_protection:\n  trusted_origins: [\"https://app.example.com\", \"http://127.0.0.1:3000\", \"app.example.com\", \"https://a.example/path\"]\n";
    let error = ConfigLoader::new().document_str(S, "security.yaml", yaml).load().unwrap_err();
    let rendered: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(rendered.len(), 2, "{rendered:#?}");
    assert!(
        rendered[0].contains("csrf_protection.trusted_origins[2]") && rendered[0].contains("not an origin")
    );
    assert!(rendered[1].contains("csrf_protection.trusted_origins[3]"));
}

#[test]
fn the_hardening_keys_are_checked_where_they_are_written() {
    let yaml = "\
http:
  header_read_timeout_ms: 0
  max_connections: 10
  max_connections_per_client: 20
  ops_listen: \"not an address\"
client_address:
  ipv6_prefix_length: 8
";
    let error = ConfigLoader::new().document_str(S, "security.yaml", yaml).load().unwrap_err();
    let rendered: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    let expect = [
        "security.yaml:7:23: client_address.ipv6_prefix_length: must be between 32 and 128, not 8",
        "security.yaml:2:27: http.header_read_timeout_ms: must be at least 1",
        "security.yaml:4:31: http.max_connections_per_client: must be at most 10",
        "security.yaml:5:15: http.ops_listen:",
    ];
    assert_eq!(rendered.len(), expect.len(), "{rendered:#?}");
    for expected in expect {
        assert!(rendered.iter().any(|got| got.starts_with(expected)), "{expected} in {rendered:#?}");
    }
    let error = ConfigLoader::new()
        .document_str(S, "security.yaml", "http:\n  rate_limit_headers: sideways\n")
        .load()
        .unwrap_err();
    let rendered = error.problems()[0].to_string();
    assert!(
        rendered.starts_with("security.yaml:2:23: http.rate_limit_headers:") && rendered.contains("ietf"),
        "{rendered}"
    );

    let yaml = "health:\n  critical_thresholds: [response_tme]\n  upstream_path: \"no-slash\"\n";
    let error = ConfigLoader::new().document_str(M, "monitoring.yaml", yaml).load().unwrap_err();
    let rendered: Vec<String> = error.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(rendered.len(), 2, "{rendered:#?}");
    assert!(
        rendered[0].starts_with(
            "monitoring.yaml:2:25: health.critical_thresholds[0]: unknown threshold `response_tme`"
        ),
        "{}",
        rendered[0]
    );
    assert!(rendered[1].starts_with("monitoring.yaml:3:18: health.upstream_path:"), "{}", rendered[1]);
}
