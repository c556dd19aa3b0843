//! System tools that integration tests need, and the Debian packages that provide them.
//!
//! `cargo xtask ci` checks each tool and installs missing packages with apt-get when it runs as root
//! (as CI does), saying so; otherwise it stops with a message naming the package to install. Tests that
//! need a tool fail with the same message when it is absent: they never skip silently.

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

/// A command-line tool and the Debian package that provides it.
pub(crate) struct SystemTool {
    /// The executable looked up on `PATH`.
    pub(crate) binary: &'static str,
    /// The Debian package to install.
    pub(crate) package: &'static str,
    /// What needs it.
    pub(crate) used_by: &'static str,
}

/// Every tool the test suite needs. Tests against real components (Alertmanager, Redis, SMTP) add theirs.
pub(crate) const SYSTEM_TOOLS: &[SystemTool] = &[
    SystemTool {
        binary: "promtool",
        package: "prometheus",
        used_by: "vana-metrics' Prometheus export test (promtool check metrics)",
    },
    SystemTool {
        binary: "prometheus",
        package: "prometheus",
        used_by: "vana-ops' monitoring-stack test (a real Prometheus scraping the gateway with the exported rules)",
    },
    SystemTool { binary: "kill", package: "procps", used_by: "vana-ops' graceful shutdown test (SIGTERM)" },
    SystemTool {
        binary: "aiosmtpd",
        package: "python3-aiosmtpd",
        used_by: "vana-metrics' email delivery tests (a real SMTP server)",
    },
    SystemTool {
        binary: "openssl",
        package: "openssl",
        used_by: "vana-metrics' HTTPS webhook test (a certificate of a private CA)",
    },
    SystemTool {
        binary: "redis-server",
        package: "redis-server",
        used_by: "vana-security's Redis backend tests and vana-ops' fleet test",
    },
    SystemTool {
        binary: "chromium",
        package: "chromium",
        used_by: "vana-ops' browser tests (origin-mode CSRF, the live dashboard)",
    },
    SystemTool {
        binary: "chromedriver",
        package: "chromium-driver",
        used_by: "vana-ops' dashboard test (headless Chromium driven over WebDriver)",
    },
    SystemTool {
        binary: "prometheus-alertmanager",
        package: "prometheus-alertmanager",
        used_by: "vana-metrics' Alertmanager delivery test and vana-ops' monitoring-stack test",
    },
    SystemTool {
        binary: "python3",
        package: "python3",
        used_by: "the Python package's pytest suite (cargo xtask pytest makes a virtual environment)",
    },
    SystemTool {
        binary: "amtool",
        package: "prometheus-alertmanager",
        used_by: "vana-ops' check of deploy/alertmanager/alertmanager.yml",
    },
];

fn on_path(binary: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| in_directories(binary, &paths))
}

/// Whether `binary` is a file in one of `paths` (a `PATH`-style list).
fn in_directories(binary: &str, paths: &std::ffi::OsStr) -> bool {
    std::env::split_paths(paths).any(|dir| dir.join(binary).is_file())
}

/// The packages to install for `missing` tools, each once, in order.
fn packages_of(missing: &[&SystemTool]) -> Vec<&'static str> {
    let mut packages: Vec<&'static str> = Vec::new();
    for tool in missing {
        if !packages.contains(&tool.package) {
            packages.push(tool.package);
        }
    }
    packages
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|out| out.stdout.starts_with(b"0")).unwrap_or(false)
}

/// Installs Debian `packages` with apt-get (as root; otherwise an error naming them).
pub(crate) fn install(packages: &[&str]) -> Result<()> {
    if !(is_root() && Path::new("/usr/bin/apt-get").exists()) {
        bail!("install the missing packages first: apt-get install {}", packages.join(" "));
    }
    println!("system tools: installing {} with apt-get", packages.join(" "));
    let apt = |args: &[&str]| -> Result<()> {
        let status = Command::new("apt-get").args(args).env("DEBIAN_FRONTEND", "noninteractive").status()?;
        if !status.success() {
            bail!("apt-get {} failed ({status})", args.join(" "));
        }
        Ok(())
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend(packages);
    apt(&install)
}

/// Makes sure every tool in `tools` is on `PATH`, installing the missing packages when possible.
pub(crate) fn ensure(tools: &[SystemTool]) -> Result<()> {
    let missing: Vec<&SystemTool> = tools.iter().filter(|tool| !on_path(tool.binary)).collect();
    if missing.is_empty() {
        println!("system tools: all {} present", tools.len());
        return Ok(());
    }
    let packages = packages_of(&missing);
    for tool in &missing {
        println!(
            "system tools: `{}` (for {}) is missing; it comes with Debian's `{}`",
            tool.binary, tool.used_by, tool.package
        );
    }
    install(&packages)?;
    let still_missing: Vec<&str> =
        missing.iter().filter(|tool| !on_path(tool.binary)).map(|tool| tool.binary).collect();
    if !still_missing.is_empty() {
        bail!("still missing after installing: {}", still_missing.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_found_in_the_directories_of_a_path_list() {
        let dir = std::env::temp_dir().join(format!("vana-xtask-path-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("bin/vana-fake-tool"), "").unwrap();
        let paths = std::env::join_paths([dir.join("empty"), dir.join("bin")]).unwrap();
        assert!(in_directories("vana-fake-tool", &paths));
        assert!(!in_directories("vana-other-tool", &paths));
        assert!(!in_directories("bin", &std::env::join_paths([&dir]).unwrap()), "a directory is not a tool");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn each_package_is_installed_once() {
        let tool = |binary, package| SystemTool { binary, package, used_by: "this test" };
        let (a, b, c) =
            (tool("promtool", "prometheus"), tool("prometheus", "prometheus"), tool("kill", "procps"));
        assert_eq!(packages_of(&[&a, &c, &b]), ["prometheus", "procps"]);
    }
}
