//! `cargo xtask validate-config`: every problem of every given directory or file, in one run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use vana_config::{ConfigError, ConfigLoader, LoadedConfig};

/// What validating one path found.
pub(crate) struct Report {
    /// One line per problem, `file:line:col: key.path: message`.
    pub(crate) problems: Vec<String>,
    /// One description per document that loaded, e.g. `security from config/security/...`.
    pub(crate) used: Vec<String>,
}

/// Validates `path`, a configuration directory or one YAML file.
pub(crate) fn validate_path(path: &Path, with_env: bool) -> Result<Report> {
    let loader = ConfigLoader::new().path(path);
    let loader = if with_env { loader.process_env() } else { loader };
    match loader.load() {
        Ok(LoadedConfig { sources, .. }) => Ok(Report {
            problems: Vec::new(),
            used: sources
                .iter()
                .map(|source| format!("{} from {}", source.document, source.origin))
                .collect(),
        }),
        Err(ConfigError::Invalid(problems)) => {
            Ok(Report { problems: problems.iter().map(ToString::to_string).collect(), used: Vec::new() })
        }
        Err(other) => Ok(Report { problems: vec![other.to_string()], used: Vec::new() }),
    }
}

pub(crate) fn run(paths: &[PathBuf], with_env: bool) -> Result<ExitCode> {
    let default = [crate::workspace_root().join("config")];
    let paths = if paths.is_empty() { &default[..] } else { paths };
    let mut problems = 0;
    let mut used = Vec::new();
    for path in paths {
        let report = validate_path(path, with_env)?;
        for line in &report.problems {
            println!("{line}");
        }
        problems += report.problems.len();
        used.extend(report.used);
    }
    if problems > 0 {
        eprintln!("validate-config: {problems} problem{} found", if problems == 1 { "" } else { "s" });
        return Ok(ExitCode::FAILURE);
    }
    println!("validate-config: no problems ({})", used.join("; "));
    Ok(ExitCode::SUCCESS)
}
