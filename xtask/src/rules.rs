//! `cargo xtask prometheus-rules`: the Prometheus alerting rules of a configuration's thresholds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use vana_config::ConfigLoader;

pub(crate) fn run(config: Option<&Path>, output: Option<&PathBuf>) -> Result<ExitCode> {
    let default = crate::workspace_root().join("config");
    let dir = config.unwrap_or(&default);
    let loaded = ConfigLoader::new().dir(dir).load()?;
    let context = vana_metrics::AlertContext::from_environment();
    let rules = vana_metrics::prometheus_rules(
        &loaded.config.monitoring,
        &vana_metrics::PrometheusOptions::default(),
        &context.service,
    );
    match output {
        Some(path) => {
            std::fs::write(path, &rules).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("prometheus-rules: wrote {} (check it with `promtool check rules`)", path.display());
        }
        None => print!("{rules}"),
    }
    Ok(ExitCode::SUCCESS)
}
