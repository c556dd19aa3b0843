//! The line scanner and the `vana-scan` command.

use std::io::Write;
use std::process::{Command, Stdio};

use vana_security::{InputValidator, scan};

#[test]
fn one_json_verdict_per_line_and_a_summary() {
    let validator = InputValidator::new(&vana_config::InputValidation::default()).unwrap();
    let input = b"hello there\r\n<script>alert(1)</script>\n\n\xff\xfe not utf-8\n' or 1=1 --";
    let mut out = Vec::new();
    let summary = scan(&validator, &input[..], Some(&mut out)).unwrap();
    assert_eq!((summary.lines, summary.flagged), (5, 2));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["verdict"], "passed");
    assert_eq!(lines[1]["verdict"], "rejected");
    assert_eq!(lines[1]["category"], "xss");
    assert_eq!(lines[4]["line"], 5);
    assert_eq!(lines[4]["category"], "sql_injection");
}

#[test]
fn an_over_long_line_is_judged_without_being_held_whole() {
    let validator = InputValidator::new(&vana_config::InputValidation::default()).unwrap();
    let mut input = vec![b'a'; 3 * 1024 * 1024];
    input.extend_from_slice(b"\nshort\n");
    let summary = scan(&validator, &input[..], None).unwrap();
    assert_eq!((summary.lines, summary.flagged), (2, 1));
}

#[test]
fn the_command_reads_stdin() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vana-scan"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"fine\n../../etc/passwd\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 2);
    assert!(stdout.contains("\"category\":\"path_traversal\""), "{stdout}");
    assert!(!stdout.contains("etc/passwd"), "the input must not be echoed: {stdout}");
    assert_eq!(String::from_utf8(output.stderr).unwrap().trim(), "2 lines, 1 flagged (50.0 %)");
}
