//! `cargo xtask release VERSION`: bump, check the changelog, run CI, package every crate in order, and build
//! the Python package's wheel and sdist.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::ci::cargo;

pub(crate) fn run(version: &str) -> Result<ExitCode> {
    if !is_version(version) {
        bail!("`{version}` is not a version like 1.2.3 or 1.2.3-rc.1");
    }
    let root = crate::workspace_root();
    let changelog = std::fs::read_to_string(root.join("CHANGELOG.md")).context("cannot read CHANGELOG.md")?;
    if !has_changelog_entry(&changelog, version) {
        bail!("CHANGELOG.md has no entry for {version}: add a `## [{version}] - YYYY-MM-DD` section first");
    }
    let manifest_path = root.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path).context("cannot read Cargo.toml")?;
    let bumped = bump_workspace_version(&manifest, version)?;
    std::fs::write(&manifest_path, bumped).context("cannot write Cargo.toml")?;
    println!("release: workspace version is now {version}");
    // The lock file records our crates' versions; refresh it before the --locked CI run.
    cargo(&["update", "--workspace"], &[])?;
    crate::ci::run()?;
    let order = publish_order()?;
    println!("release: packaging in dependency order: {}", order.join(", "));
    let mut args = vec!["package", "--allow-dirty"];
    for name in &order {
        args.extend(["-p", name.as_str()]);
    }
    cargo(&args, &[])?;
    let wheel = crate::python::release_artifacts()?;
    println!("release: the Python wheel {} and its sdist are in target/wheels", wheel.display());
    println!(
        "release: {version} packaged (not published); commit, tag v{version}, then `cargo publish` in this order"
    );
    Ok(ExitCode::SUCCESS)
}

fn is_version(text: &str) -> bool {
    let (core, pre) = text.split_once('-').unwrap_or((text, ""));
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        && (pre.is_empty() && !text.ends_with('-')
            || pre.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') && !pre.is_empty())
}

fn has_changelog_entry(changelog: &str, version: &str) -> bool {
    changelog.lines().any(|line| {
        let line = line.trim();
        line.strip_prefix("## ")
            .map(|heading| {
                heading.trim_start_matches('[').starts_with(version) && {
                    let rest = &heading.trim_start_matches('[')[version.len()..];
                    rest.is_empty() || rest.starts_with(']') || rest.starts_with(' ')
                }
            })
            .unwrap_or(false)
    })
}

/// Sets `version` in `[workspace.package]` and in every path dependency of `[workspace.dependencies]`.
fn bump_workspace_version(manifest: &str, version: &str) -> Result<String> {
    let mut section = "";
    let mut bumped_package = false;
    let mut out = String::with_capacity(manifest.len());
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = match trimmed {
                "[workspace.package]" => "package",
                "[workspace.dependencies]" => "dependencies",
                _ => "",
            };
        }
        let new_line = match section {
            "package" if trimmed.starts_with("version") && trimmed.contains('=') => {
                bumped_package = true;
                format!("version = \"{version}\"")
            }
            "dependencies" if trimmed.contains("path = ") && trimmed.contains("version = \"") => {
                let start = line.find("version = \"").map(|at| at + "version = \"".len()).unwrap_or(0);
                let end = line[start..].find('"').map(|at| start + at).unwrap_or(start);
                format!("{}{version}{}", &line[..start], &line[end..])
            }
            _ => line.to_owned(),
        };
        out.push_str(&new_line);
        out.push('\n');
    }
    if !bumped_package {
        bail!("no `version` in [workspace.package] of Cargo.toml");
    }
    Ok(out)
}

/// Publishable workspace crates, each after the workspace crates it depends on.
pub(crate) fn publish_order() -> Result<Vec<String>> {
    let output = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(crate::workspace_root())
        .output()
        .context("cannot run cargo metadata")?;
    if !output.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let mut graph = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let publishable = !matches!(package["publish"].as_array(), Some(registries) if registries.is_empty());
        if !publishable {
            continue;
        }
        let name = package["name"].as_str().unwrap_or_default().to_owned();
        let deps: BTreeSet<String> = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|dep| dep["path"].is_string() && dep["kind"].is_null())
            .filter_map(|dep| dep["name"].as_str().map(str::to_owned))
            .collect();
        graph.insert(name, deps);
    }
    topological_order(&graph)
}

fn topological_order(graph: &BTreeMap<String, BTreeSet<String>>) -> Result<Vec<String>> {
    let mut order: Vec<String> = Vec::new();
    while order.len() < graph.len() {
        let ready = graph
            .iter()
            .find(|(name, deps)| {
                !order.contains(name)
                    && deps.iter().all(|dep| order.contains(dep) || !graph.contains_key(dep))
            })
            .map(|(name, _)| name.clone());
        match ready {
            Some(name) => order.push(name),
            None => bail!("workspace crates depend on each other in a cycle"),
        }
    }
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for good in ["0.1.0", "1.22.333", "1.0.0-rc.1"] {
            assert!(is_version(good), "{good}");
        }
        for bad in ["1.0", "v1.0.0", "1.0.0-", "1.a.0", ""] {
            assert!(!is_version(bad), "{bad}");
        }
    }

    #[test]
    fn changelog_entries() {
        let changelog = "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2026-12-01\n\n## 0.1.0\n";
        assert!(has_changelog_entry(changelog, "0.2.0"));
        assert!(has_changelog_entry(changelog, "0.1.0"));
        assert!(!has_changelog_entry(changelog, "0.2"));
        assert!(!has_changelog_entry(changelog, "0.3.0"));
    }

    #[test]
    fn bumps_the_workspace_and_path_dependencies_only() {
        let manifest = "[workspace.package]\nversion = \"0.1.0\"\n\n[workspace.dependencies]\nvana-config = { path = \"crates/vana-config\", version = \"0.1.0\" }\nserde = { version = \"1\" }\n";
        let bumped = bump_workspace_version(manifest, "0.2.0").unwrap();
        assert_eq!(
            bumped,
            "[workspace.package]\nversion = \"0.2.0\"\n\n[workspace.dependencies]\nvana-config = { path = \"crates/vana-config\", version = \"0.2.0\" }\nserde = { version = \"1\" }\n"
        );
        assert!(bump_workspace_version("[package]\nversion = \"1.0.0\"\n", "2.0.0").is_err());
    }

    #[test]
    fn dependencies_come_first() {
        let graph: BTreeMap<String, BTreeSet<String>> = [
            ("vana-ops", vec!["vana-metrics", "vana-config"]),
            ("vana-metrics", vec!["vana-config"]),
            ("vana-config", vec![]),
        ]
        .into_iter()
        .map(|(name, deps)| (name.to_owned(), deps.into_iter().map(str::to_owned).collect()))
        .collect();
        assert_eq!(topological_order(&graph).unwrap(), ["vana-config", "vana-metrics", "vana-ops"]);
    }

    #[test]
    fn the_workspace_order_puts_dependencies_first() {
        let order = publish_order().unwrap();
        let position = |name: &str| {
            order.iter().position(|crate_name| crate_name == name).unwrap_or_else(|| panic!("{name} missing"))
        };
        for (dependency, dependent) in [
            ("vana-config", "vana-metrics"),
            ("vana-metrics", "vana-apm"),
            ("vana-apm-macros", "vana-apm"),
            ("vana-config", "vana-security"),
        ] {
            assert!(position(dependency) < position(dependent), "{dependency} after {dependent}: {order:?}");
        }
        assert!(!order.contains(&"xtask".to_owned()));
    }
}
