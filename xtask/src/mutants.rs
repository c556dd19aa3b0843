//! `cargo xtask mutants [--crate NAME]`: mutation testing (cargo-mutants) of the security-critical files,
//! each against the tests of its crate. The results, and why the missed mutants left are harmless, are in
//! docs/testing.md.

use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cargo_tools::{CARGO_MUTANTS, ensure};

/// The files under mutation testing, by crate, and the test targets that run for each mutant: the crate's
/// unit tests and the integration tests that exercise those files (vana-security's Redis tests with its
/// `redis` feature, as the shared blocklist is in `blocking.rs`).
pub(crate) const TARGETS: &[(&str, &[&str], &[&str])] = &[
    (
        "vana-security",
        &[
            "src/rate_limit/gcra.rs",
            "src/csrf.rs",
            "src/client_ip.rs",
            "src/blocking.rs",
            "src/validate/normalize.rs",
            "src/validate/sql/mod.rs",
            "src/validate/sql/lexer.rs",
            "src/validate/shell/mod.rs",
            "src/validate/shell/words.rs",
            "src/validate/validator.rs",
            "src/validate/rules.rs",
            "src/strikes.rs",
            "src/block_table.rs",
        ],
        &[
            "--lib",
            "--test",
            "validation",
            "--test",
            "blocking_and_events",
            "--test",
            "rate_limit",
            "--test",
            "redis",
        ],
    ),
    (
        "vana-config",
        &["src/checks.rs"],
        &[
            "--lib",
            "--test",
            "malformed",
            "--test",
            "hostile",
            "--test",
            "env_overrides",
            "--test",
            "defaults",
        ],
    ),
    ("vana-metrics", &["src/alert.rs"], &["--lib", "--test", "monitor"]),
    (
        "vana-ops",
        &[
            "src/http/path.rs",
            "src/http/step/csrf/cross_origin.rs",
            "src/http/step/validation/policy.rs",
            "src/http/encoding.rs",
            "src/http/step/validation/multipart.rs",
            "src/http/step/validation/json_walk.rs",
            "src/http/step/access_log/refusal_floods.rs",
        ],
        &["--lib", "--test", "layer"],
    ),
];

/// Which mutants to run: of the selected files, all or only those on lines changed since a revision.
pub(crate) struct Selection<'a> {
    /// Only this crate's files.
    pub(crate) package: Option<&'a str>,
    /// Only files whose path ends with one of these.
    pub(crate) files: &'a [String],
    /// Only mutants on lines changed since this git revision (`cargo mutants --in-diff`).
    pub(crate) since: Option<&'a str>,
}

pub(crate) fn run(selection: &Selection<'_>) -> Result<ExitCode> {
    let (only, files) = (selection.package, selection.files);
    ensure(&CARGO_MUTANTS)?;
    let selected: Vec<_> =
        TARGETS.iter().filter(|(name, _, _)| only.is_none_or(|only| only == *name)).collect();
    if selected.is_empty() {
        bail!("no mutation targets in crate `{}`", only.unwrap_or_default());
    }
    let mut failed = false;
    for (name, crate_files, tests) in selected {
        let chosen: Vec<&&str> = crate_files
            .iter()
            .filter(|file| files.is_empty() || files.iter().any(|f| file.ends_with(f.as_str())))
            .collect();
        if chosen.is_empty() {
            continue;
        }
        std::fs::create_dir_all(crate::workspace_root().join("target/mutants").join(name))?;
        let mut args: Vec<String> = vec![
            "mutants".into(),
            "-p".into(),
            (*name).into(),
            "--no-shuffle".into(),
            "--all-features".into(),
        ];
        args.extend(["--output".into(), format!("target/mutants/{name}")]);
        let paths: Vec<String> = chosen.iter().map(|file| format!("crates/{name}/{file}")).collect();
        for path in &paths {
            args.extend(["--file".into(), path.clone()]);
        }
        if let Some(revision) = selection.since {
            let diff = changes_since(revision, &paths, name)?;
            args.extend(["--in-diff".into(), diff.display().to_string()]);
        }
        args.push("--".into());
        args.extend(tests.iter().map(|test| (*test).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // cargo-mutants exits non-zero when a mutant is missed: report it, go on with the next crate.
        if let Err(error) = crate::ci::cargo(&args, &[]) {
            eprintln!("{error}: see target/mutants/{name}/mutants.out/missed.txt");
            failed = true;
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Writes `git diff revision -- paths` to `target/mutants/<crate>/changes.diff` and returns its path.
fn changes_since(revision: &str, paths: &[String], name: &str) -> Result<std::path::PathBuf> {
    let output = std::process::Command::new("git")
        .args(["diff", revision, "--"])
        .args(paths)
        .current_dir(crate::workspace_root())
        .output()?;
    if !output.status.success() {
        bail!("git diff {revision} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let diff = crate::workspace_root().join("target/mutants").join(name).join("changes.diff");
    std::fs::write(&diff, &output.stdout)?;
    Ok(diff)
}
