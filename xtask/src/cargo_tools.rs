//! Cargo subcommands the checks need, installed from crates.io when missing (pinned, `--locked`).

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// A cargo subcommand and the crate version that provides it.
pub(crate) struct CargoTool {
    /// The subcommand (`cargo <name>`), from the crate of the same name with a `cargo-` prefix.
    pub(crate) name: &'static str,
    /// The version installed when missing.
    pub(crate) version: &'static str,
}

/// `cargo hack`: every crate checked with no default features and with each feature alone.
pub(crate) const CARGO_HACK: CargoTool = CargoTool { name: "hack", version: "0.6.46" };

/// `cargo mutants`: mutation testing of the security-critical files (`cargo xtask mutants`).
pub(crate) const CARGO_MUTANTS: CargoTool = CargoTool { name: "mutants", version: "27.1.0" };

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Makes sure `cargo <tool>` runs, installing its crate when it does not.
pub(crate) fn ensure(tool: &CargoTool) -> Result<()> {
    let present = Command::new(cargo())
        .args([tool.name, "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if present {
        return Ok(());
    }
    let package = format!("cargo-{}", tool.name);
    println!("cargo tools: `cargo {}` is missing; installing {package} {}", tool.name, tool.version);
    let status = Command::new(cargo())
        .args(["install", &package, "--version", tool.version, "--locked"])
        .status()
        .with_context(|| format!("cannot start cargo install {package}"))?;
    if !status.success() {
        bail!("`cargo install {package} --version {} --locked` failed ({status})", tool.version);
    }
    Ok(())
}
