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
    "pyyaml>=6,<7",
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

/// The benchmark: the extension built `--release` into the environment (`maturin develop`), against the
/// specification's classes. The tests: a wheel built as a user gets it, installed into a fresh environment
/// (no compiling at install time), and the pytest suite run against the installed package.
pub(crate) fn pytest(bench: bool) -> Result<()> {
    let venv = environment()?;
    let python = venv.join("bin/python");
    if bench {
        let develop = ["develop", "--quiet", "--release", "--manifest-path", "crates/vana-py/Cargo.toml"];
        run(&venv.join("bin/maturin"), &develop, &venv)?;
        return run(&python, &["crates/vana-py/bench/compare.py"], &venv);
    }
    let wheel = build_wheel(&venv, "dev")?;
    let tested = crate::workspace_root().join("target/wheel-venv");
    let _ = std::fs::remove_dir_all(&tested);
    run(Path::new("python3"), &["-m", "venv", &tested.to_string_lossy()], &tested)?;
    let tested_python = tested.join("bin/python");
    let started = std::time::Instant::now();
    let wheel_text = wheel.to_string_lossy();
    run(
        &tested_python,
        &["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", &wheel_text],
        &tested,
    )?;
    println!(
        "the wheel installed into a fresh environment in {:.1} s (no compiling)",
        started.elapsed().as_secs_f64()
    );
    let mut test_packages = vec!["-m", "pip", "install", "--quiet", "--disable-pip-version-check"];
    test_packages.extend(PACKAGES.iter().filter(|package| !package.starts_with("maturin")));
    run(&tested_python, &test_packages, &tested)?;
    run(&tested_python, &["-m", "pytest", "-q", "crates/vana-py/tests"], &tested)
}

/// The wheel of `crates/vana-py` built with cargo's `profile` into `target/wheels`: its path.
pub(crate) fn build_wheel(venv: &Path, profile: &str) -> Result<PathBuf> {
    let out = crate::workspace_root().join("target/wheels");
    let _ = std::fs::remove_dir_all(&out);
    let out_text = out.to_string_lossy();
    let build = [
        "build",
        "--quiet",
        "--profile",
        profile,
        "--manifest-path",
        "crates/vana-py/Cargo.toml",
        "--out",
        &out_text,
    ];
    run(&venv.join("bin/maturin"), &build, venv)?;
    let wheel = std::fs::read_dir(&out)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| path.extension().is_some_and(|extension| extension == "whl"));
    wheel.with_context(|| format!("maturin built no wheel into {}", out.display()))
}

/// The release's Python artifacts: the wheel (`--release`) and the source distribution, in `target/wheels`.
pub(crate) fn release_artifacts() -> Result<PathBuf> {
    let venv = environment()?;
    let wheel = build_wheel(&venv, "release")?;
    let out = crate::workspace_root().join("target/wheels");
    let sdist = ["sdist", "--manifest-path", "crates/vana-py/Cargo.toml", "--out", &out.to_string_lossy()];
    run(&venv.join("bin/maturin"), &sdist, &venv)?;
    Ok(wheel)
}
