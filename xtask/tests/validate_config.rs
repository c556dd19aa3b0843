//! `cargo xtask validate-config` as a user runs it: exit codes and output.

use std::process::Command;

fn xtask(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask")).args(args).output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
}

#[test]
fn a_file_with_three_mistakes_prints_all_three_and_fails() {
    let dir = std::env::temp_dir().join(format!("xtask-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("monitoring.yaml");
    std::fs::write(&file, "thresholds:\n  cpu_usage:\n    warning: 90\n    critical: 80\nlogging:\n  level: LOUD\n  formt: json\n").unwrap();
    let (code, stdout) = xtask(&["validate-config", file.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 1, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].ends_with("monitoring.yaml:3:14: thresholds.cpu_usage.warning: warning (90) must be below critical (80) when comparison is `greater`"), "{}", lines[0]);
    assert!(lines[1].ends_with("monitoring.yaml:6:10: logging.level: unknown log level `LOUD`; expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"), "{}", lines[1]);
    assert!(
        lines[2].ends_with("monitoring.yaml:7:3: logging.formt: unknown key `formt`; did you mean `format`?"),
        "{}",
        lines[2]
    );
}

#[test]
fn the_shipped_directory_passes_with_a_one_line_summary() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/../config");
    let (code, stdout) = xtask(&["validate-config", config]);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("validate-config: no problems (security from "), "{stdout}");
}
