//! The `vana-ops` subcommands besides `serve`, run as a user would.

use std::process::Command;

fn vana_ops(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vana-ops")).args(args).env_remove("VANA_SERVICE_NAME").output().unwrap()
}

#[test]
fn export_rules_writes_a_file_promtool_accepts() {
    let path = std::env::temp_dir().join(format!("vana-export-rules-{}.yml", std::process::id()));
    let output = vana_ops(&["export-rules", "--output", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let checked = Command::new("promtool").args(["check", "rules"]).arg(&path).output().unwrap_or_else(|error| {
        panic!("promtool is needed for this test ({error}): install Debian's `prometheus` package (cargo xtask ci does)")
    });
    let exported = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let shipped = std::fs::read_to_string(deploy("prometheus/vana-ops-rules.yml")).unwrap();
    assert_eq!(
        shipped, exported,
        "deploy/prometheus/vana-ops-rules.yml is what `vana-ops export-rules` writes from the shipped configuration: \
         regenerate it with `cargo run -p vana-ops-cli -- export-rules --output deploy/prometheus/vana-ops-rules.yml`"
    );
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stdout));
    // InstanceDown, and a warning and a critical rule for each default threshold and family it watches
    // (response times, over both families; memory; CPU; error rates).
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(report.contains("9 rules found"), "{report}");
}

fn deploy(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy").join(path)
}

#[test]
fn the_shipped_prometheus_and_alertmanager_files_pass_their_own_checkers() {
    passes(
        Command::new("promtool").args(["check", "config"]).arg(deploy("prometheus/prometheus.yml")),
        "prometheus",
    );
    passes(
        Command::new("amtool").arg("check-config").arg(deploy("alertmanager/alertmanager.yml")),
        "prometheus-alertmanager",
    );
}

/// Runs a checker from Debian's `package` and asserts it accepts what it was given.
fn passes(checker: &mut Command, package: &str) {
    let output = checker.output().unwrap_or_else(|error| {
        panic!("{checker:?} ({error}): install Debian's `{package}` package (cargo xtask ci does)")
    });
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn validate_config_reports_every_problem_and_fails() {
    let dir = std::env::temp_dir().join(format!("vana-cli-config-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("monitoring")).unwrap();
    std::fs::write(dir.join("monitoring/monitoring.yaml"), "logging:\n  level: LOUD\n  formt: json\n")
        .unwrap();
    let output = vana_ops(&["validate-config", dir.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("logging.level") && stdout.contains("logging.formt"), "{stdout}");
    let shipped = vana_ops(&["validate-config", concat!(env!("CARGO_MANIFEST_DIR"), "/../../config")]);
    assert!(shipped.status.success(), "{}", String::from_utf8_lossy(&shipped.stdout));
}

#[test]
fn scan_flags_attacks_one_verdict_per_line() {
    let dir = std::env::temp_dir().join(format!("vana-cli-scan-{}.txt", std::process::id()));
    std::fs::write(&dir, "hello there\n<script>alert(1)</script>\n").unwrap();
    let output = vana_ops(&["scan", dir.to_str().unwrap()]);
    let _ = std::fs::remove_file(&dir);
    assert!(output.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(String::from_utf8_lossy(&output.stderr).contains("2 lines, 1 flagged"));
}

fn recipe() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples/vana")
}

#[test]
fn the_vana_recipe_keeps_every_default_alert_and_adds_its_own() {
    let recipe = recipe();
    let output = vana_ops(&["export-rules", "--config", recipe.to_str().unwrap()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rules = String::from_utf8_lossy(&output.stdout);
    let defaults = vana_ops(&["export-rules"]);
    let count = |text: &str| text.matches("- alert:").count();
    // InstanceDown and two levels of each of the four default thresholds, and the recipe's two.
    assert_eq!(count(&String::from_utf8_lossy(&defaults.stdout)), 9);
    assert_eq!(count(&rules), 9 + 4, "{rules}");
    assert!(rules.contains("15"), "the recipe's own response-time line: {rules}");
    let ttft = "histogram_quantile(0.99, rate(gen_ai_server_time_to_first_token_seconds_bucket{http_route=~";
    assert!(rules.contains("alert: \"time_to_first_token\"") && rules.contains(ttft), "{rules}");
    assert!(rules.contains("vana_error_ratio{operation=~\\\"stream:.*\\\"}"), "{rules}");
}

#[test]
fn a_config_path_that_holds_no_configuration_is_an_error_naming_what_was_tried() {
    let output = vana_ops(&["export-rules", "--config", "does/not/exist"]);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("does/not/exist") && error.contains("no such directory"), "{error}");
    assert!(error.contains("security/security_policies.yaml"), "{error}");
    // A flat directory: the file is there, but not where it is looked for.
    let flat = std::env::temp_dir().join(format!("vana-flat-config-{}", std::process::id()));
    std::fs::create_dir_all(&flat).unwrap();
    std::fs::write(flat.join("security_policies.yaml"), "rate_limiting:\n  default_limit: 5\n").unwrap();
    let output = vana_ops(&["scan", "--config", flat.to_str().unwrap(), "/dev/null"]);
    let error = String::from_utf8_lossy(&output.stderr).into_owned();
    let _ = std::fs::remove_dir_all(&flat);
    assert!(!output.status.success());
    assert!(error.contains("security_policies.yaml at its top"), "{error}");
}

#[test]
fn unblock_with_the_memory_backend_says_where_the_gateway_is_expected_when_none_answers() {
    let port = vana_testkit::free_port();
    let output = Command::new(env!("CARGO_BIN_EXE_vana-ops"))
        .args(["unblock", "--gateway", &format!("http://127.0.0.1:{port}"), "192.0.2.1"])
        .env_remove("VANA_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("--gateway") && error.contains(&port.to_string()), "{error}");
}
