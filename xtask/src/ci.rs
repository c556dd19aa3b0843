//! `cargo xtask ci`: what CI runs, in order, stopping at the first failure.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

use crate::cargo_tools::CARGO_HACK;
use crate::system_tools::{SYSTEM_TOOLS, ensure};

/// Runs `cargo` with `args` in the workspace root, echoing the command.
pub(crate) fn cargo(args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("\n$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(crate::workspace_root())
        .status()
        .with_context(|| format!("cannot start {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

pub(crate) fn run() -> Result<ExitCode> {
    report_free_space();
    let outcome = run_checks();
    if outcome.is_err() {
        // A check that builds at test time (trybuild) fails without its own words when the disk is full.
        report_free_space();
    }
    outcome
}

/// Prints the free space where the build writes: the first thing to rule out when a build step fails in CI.
fn report_free_space() {
    let target = crate::workspace_root().join("target");
    let place = if target.exists() { target } else { crate::workspace_root() };
    match Command::new("df").arg("-h").arg(&place).output() {
        Ok(output) => print!("\n$ df -h {}\n{}", place.display(), String::from_utf8_lossy(&output.stdout)),
        Err(error) => println!("\ncannot run df: {error}"),
    }
}

fn run_checks() -> Result<ExitCode> {
    ensure(SYSTEM_TOOLS)?;
    cargo(&["fmt", "--all", "--check"], &[])?;
    cargo(
        &["clippy", "--workspace", "--all-targets", "--all-features", "--locked", "--", "-D", "warnings"],
        &[],
    )?;
    // Each crate alone, with no default features and with each feature by itself: the
    // `cfg(not(feature = ...))` paths compile and lint clean too.
    crate::cargo_tools::ensure(&CARGO_HACK)?;
    cargo(
        &[
            "hack",
            "clippy",
            "--workspace",
            "--each-feature",
            "--no-dev-deps",
            "--exclude-features",
            "default",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    // The ADK tests find google-adk in the Python environment.
    crate::python::environment()?;
    cargo_test(None)?;
    // The facade's lean build: what a configuration needing a missing feature gets.
    cargo(&["test", "-p", "vana-ops", "--no-default-features", "--lib", "--locked"], &[])?;
    loom()?;
    cargo(&["test", "--workspace", "--doc", "--all-features", "--locked"], &[])?;
    crate::python::pytest(false)?;
    cargo(
        &["doc", "--workspace", "--no-deps", "--all-features", "--locked"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    package_lists()?;
    println!("\n$ cargo xtask validate-config config/ config/examples/vana/");
    let root = crate::workspace_root();
    let code = crate::validate::run(&[root.join("config"), root.join("config/examples/vana")], false)?;
    if code != ExitCode::SUCCESS {
        bail!("the shipped configuration has problems");
    }
    println!("\nci: all checks passed");
    Ok(ExitCode::SUCCESS)
}

/// The loom model test of the sample ring's slot: every interleaving of two lapping writers and a reader.
/// Built with `--cfg loom` in a target directory of its own, so it does not invalidate the main build.
pub(crate) fn loom() -> Result<()> {
    cargo(
        &[
            "test",
            "-p",
            "vana-metrics",
            "--lib",
            "--locked",
            "--target-dir",
            "target/loom",
            "--",
            "loom_model",
        ],
        &[("RUSTFLAGS", "--cfg loom")],
    )
}

/// Every test target (unit, integration, benches as tests, examples) with all features, of the workspace or
/// of `package`: what `ci` runs, without the lints, the loom model and the docs.
pub(crate) fn test(package: Option<&str>) -> Result<()> {
    ensure(SYSTEM_TOOLS)?;
    crate::python::environment()?;
    cargo_test(package)
}

/// `cargo test` of every target with all features (the system tools already checked).
fn cargo_test(package: Option<&str>) -> Result<()> {
    let mut args = vec!["test", "--all-targets", "--all-features", "--locked"];
    match package {
        Some(package) => args.extend(["-p", package]),
        None => args.push("--workspace"),
    }
    cargo(&args, &[])
}

/// Every publishable crate packages (`cargo package --list`), with the README crates.io shows as its page.
fn package_lists() -> Result<()> {
    for package in crate::release::publish_order()? {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        println!("\n$ cargo package --list --allow-dirty -p {package}");
        let output = Command::new(&cargo)
            .args(["package", "--list", "--allow-dirty", "--locked", "-p", &package])
            .current_dir(crate::workspace_root())
            .output()
            .with_context(|| format!("cannot start {cargo}"))?;
        if !output.status.success() {
            bail!("`cargo package --list -p {package}` failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let files = String::from_utf8_lossy(&output.stdout);
        if !files.lines().any(|file| file == "README.md") {
            bail!("{package} packages no README.md: crates.io would show an empty page");
        }
        println!("{package}: {} files, README.md among them", files.lines().count());
    }
    Ok(())
}
