//! `cargo xtask ci`: what CI runs, in order, stopping at the first failure.

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

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
    ensure(SYSTEM_TOOLS)?;
    cargo(&["fmt", "--all", "--check"], &[])?;
    cargo(
        &["clippy", "--workspace", "--all-targets", "--all-features", "--locked", "--", "-D", "warnings"],
        &[],
    )?;
    cargo(&["test", "--workspace", "--all-targets", "--all-features", "--locked"], &[])?;
    cargo(&["test", "--workspace", "--doc", "--all-features", "--locked"], &[])?;
    cargo(
        &["doc", "--workspace", "--no-deps", "--all-features", "--locked"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    println!("\n$ cargo xtask validate-config config/");
    let code = crate::validate::run(&[crate::workspace_root().join("config")], false)?;
    if code != ExitCode::SUCCESS {
        bail!("the shipped configuration has problems");
    }
    println!("\nci: all checks passed");
    Ok(ExitCode::SUCCESS)
}
