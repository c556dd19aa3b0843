//! `cargo xtask pytest`: the Python package `vana_ops` (crates/vana-py) built into a virtual environment of
//! its own and tested with pytest against a real FastAPI application under uvicorn (part of `ci`).
//!
//! The environment lives in `target/python-venv`; the packages come from the package index: maturin (the
//! build), pytest, fastapi, httpx and uvicorn (the tests), psutil (the specification's own classes, for
//! `--bench`), and the real ADK server with a WebSocket client for the Rust integration tests that run
//! behind the gateway (`vana_testkit::AdkServer` finds it there), with OpenTelemetry's FastAPI
//! instrumentation and OTLP exporter (`opentelemetry-instrument adk ...` joins the gateway's traces).
//! Arize Phoenix, the trace receiver of the trace test, lives in `target/phoenix-venv`: its own
//! OpenTelemetry packages must not move ADK's.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// What the tests and the benchmark install, with the ranges they were written against.
const PACKAGES: &[&str] = &[
    "maturin>=1.5,<2",
    "pytest>=8,<10",
    "fastapi>=0.110,<1",
    "httpx>=0.27,<1",
    "uvicorn>=0.29,<1",
    "psutil>=5,<8",
    "mypy>=1.10,<2",
    ADK,
    "websockets>=13,<16",
    // The versions google-adk 2.13's opentelemetry-sdk (<=1.44) takes.
    "opentelemetry-distro==0.65b0",
    "opentelemetry-exporter-otlp-proto-http==1.44.0",
    "opentelemetry-instrumentation-fastapi==0.65b0",
];

/// The trace receiver of the trace test (`vana_testkit::Phoenix`), pinned like ADK.
pub(crate) const PHOENIX: &str = "arize-phoenix==20.26.1";

/// The ADK server the integration tests run (`adk api_server --with_ui`): pinned, so that a new release
/// changes the tests only when this line does (docs/gateway.md lists the versions tested).
pub(crate) const ADK: &str = "google-adk==2.13.0";

fn run(program: &Path, args: &[&str], venv: &Path) -> Result<()> {
    println!("\n$ {} {}", program.display(), args.join(" "));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![venv.join("bin")];
    paths.extend(std::env::split_paths(&path));
    let status = Command::new(program)
        .args(args)
        .env("VIRTUAL_ENV", venv)
        .env("PATH", std::env::join_paths(paths)?)
        .current_dir(crate::workspace_root())
        .status()
        .with_context(|| format!("cannot start {}", program.display()))?;
    if !status.success() {
        bail!("`{} {}` failed ({status})", program.display(), args.join(" "));
    }
    Ok(())
}

/// `target/python-venv` and `target/phoenix-venv`, made (with Debian's `python3-venv` installed first when
/// run as root) and filled.
pub(crate) fn environment() -> Result<PathBuf> {
    let phoenix = filled(&crate::workspace_root().join("target/phoenix-venv"), &[PHOENIX])?;
    println!("Arize Phoenix in {}", phoenix.display());
    filled(&crate::workspace_root().join("target/python-venv"), PACKAGES)
}

/// The virtual environment `venv` with `packages` installed.
fn filled(venv: &Path, packages: &[&str]) -> Result<PathBuf> {
    let venv = venv.to_path_buf();
    let python = venv.join("bin/python");
    if !python.exists() {
        let made = Command::new("python3").args(["-m", "venv"]).arg(&venv).status();
        if !made.is_ok_and(|status| status.success()) {
            crate::system_tools::install(&["python3", "python3-venv", "python3-pip"])
                .context("python3 -m venv failed: install Debian's `python3-venv` package")?;
            let _ = std::fs::remove_dir_all(&venv);
            run(Path::new("python3"), &["-m", "venv", &venv.to_string_lossy()], &venv)?;
        }
    }
    let mut install = vec!["-m", "pip", "install", "--quiet", "--disable-pip-version-check"];
    install.extend(packages);
    run(&python, &install, &venv)?;
    Ok(venv)
}

/// Builds the extension into the environment (`maturin develop`; `release` for the benchmark) and runs the
/// pytest suite, or the benchmark against the specification's classes.
pub(crate) fn pytest(bench: bool) -> Result<()> {
    let venv = environment()?;
    let python = venv.join("bin/python");
    let mut develop = vec!["develop", "--quiet", "--manifest-path", "crates/vana-py/Cargo.toml"];
    if bench {
        develop.push("--release");
    }
    run(&venv.join("bin/maturin"), &develop, &venv)?;
    if bench {
        run(&python, &["crates/vana-py/bench/compare.py"], &venv)
    } else {
        run(&python, &["-m", "pytest", "-q", "crates/vana-py/tests"], &venv)
    }
}
