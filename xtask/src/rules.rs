//! `cargo xtask prometheus-rules`: the Prometheus alerting rules of a configuration's thresholds.
//!
//! It runs `vana-ops export-rules`, so the two give the same rules for the same configuration and
//! environment (`VANA_*` overrides and `VANA_SERVICE_NAME` apply to both).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

pub(crate) fn run(config: Option<&Path>, output: Option<&PathBuf>) -> Result<ExitCode> {
    let default = crate::workspace_root().join("config");
    let dir = config.unwrap_or(&default).to_string_lossy().into_owned();
    let mut args =
        vec!["run", "--quiet", "-p", "vana-ops-cli", "--", "export-rules", "--config", dir.as_str()];
    let output = output.map(|path| path.to_string_lossy().into_owned());
    if let Some(path) = &output {
        args.extend(["--output", path.as_str()]);
    }
    // Not echoed: without `--output` the rules are this command's standard output.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(&cargo)
        .args(&args)
        .current_dir(crate::workspace_root())
        .status()
        .with_context(|| format!("cannot start {cargo}"))?;
    if !status.success() {
        bail!("`vana-ops export-rules` failed ({status})");
    }
    if let Some(path) = &output {
        eprintln!("prometheus-rules: wrote {path} (check it with `promtool check rules`)");
    }
    Ok(ExitCode::SUCCESS)
}
