//! Project tasks for vana-ops, run as `cargo xtask <task>` (the alias lives in `.cargo/config.toml`).
//!
//! - `validate-config [PATH...]`: load and validate configuration directories or files, print every
//!   problem as `file:line:col: key.path: message`, exit 1 if there is any.
//! - `ci`: everything CI checks, in order: system tools, rustfmt, clippy, clippy of each crate with each
//!   feature alone (cargo-hack), tests, the loom model test, rustdoc, config.
//! - `test [--crate NAME]`: the quick local loop: every test of the workspace (or one crate), all features.
//! - `loom`: the loom model test of vana-metrics' sample slot.
//! - `python-env`: `target/python-venv` with the packages the tests need (google-adk among them).
//! - `pytest [--bench]`: the Python package built in `target/python-venv` and its pytest suite (or its
//!   benchmark against the specification's classes).
//! - `ci-under-load [--runs N]`: `ci` N times while stress-ng keeps every core busy.
//! - `mutants [--crate NAME] [--file NAME] [--since REV]`: mutation testing of the security-critical files
//!   (with `--since`, only the lines changed since a git revision).
//! - `detection-report [--corpus DIR]`: the share of each corpus file that input validation flags.
//! - `loadtest`: wrk against `vana-ops serve`, the full layer vs the layer off; requests/s and p99.
//! - `prometheus-rules [--config DIR] [--output FILE]`: Prometheus alerting rules from the thresholds.
//! - `release VERSION`: bump the workspace version, check the changelog, run `ci`, package every crate.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cargo_tools;
mod ci;
mod detection;
mod loadtest;
mod mutants;
mod python;
mod release;
mod rules;
mod system_tools;
mod under_load;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project tasks for vana-ops")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Validate configuration directories or files (default: `config/`) and print every problem.
    ValidateConfig {
        /// Directories (holding security/ and monitoring/) or single YAML files.
        paths: Vec<PathBuf>,
        /// Also apply `VANA_*` overrides from this process's environment.
        #[arg(long)]
        env: bool,
    },
    /// Run every check CI runs; installs missing system tools with apt-get when run as root.
    Ci,
    /// Measure input validation on a corpus: the share flagged of each attack and benign file.
    DetectionReport {
        /// The corpus directory (with attacks*/ sources and benign/).
        #[arg(long, default_value = "../shared/corpus")]
        corpus: PathBuf,
        /// Also print the attack lines missed and the benign lines flagged, to stderr.
        #[arg(long)]
        show: bool,
        /// Write the attack lines missed and the benign lines flagged to this file (tab-separated).
        #[arg(long)]
        misses: Option<PathBuf>,
    },
    /// Load-test `vana-ops serve` with wrk: the demo app with the full layer and with the layer off.
    Loadtest {
        /// Seconds per run.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Runs per mode, alternating; the median is reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Open connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// The path requested.
        #[arg(long, default_value = "/echo?msg=hello")]
        path: String,
        /// Server worker threads (default: `serve`'s own, one per core; `1` isolates the server's cost).
        #[arg(long)]
        threads: Option<usize>,
        /// Also run the full layer with the Redis backend (starts a local redis-server).
        #[arg(long)]
        redis: bool,
        /// Pin the server to the first CPU and wrk to the second (taskset), so that neither takes the
        /// other's core; combine with `--threads 1`.
        #[arg(long)]
        pin: bool,
        /// Gateway mode: `serve --upstream` (layer off, then on) in front of a `serve --no-layer` started
        /// here, and that upstream alone; the server CPU column is then the gateway's (or the upstream's).
        #[arg(long)]
        upstream: bool,
        /// Also run the popular-crates stack of `xtask/anchor` (request id, TraceLayer JSON, tower_governor,
        /// eight header layers, axum-prometheus) and its handler alone, in the same rounds.
        #[arg(long)]
        anchor: bool,
    },
    /// The quick local loop: the tests (every target, all features) of the workspace or of one crate.
    Test {
        /// Only this crate (`vana-security`, ...).
        #[arg(long = "crate")]
        package: Option<String>,
    },
    /// The loom model test of vana-metrics' sample slot (part of `ci`).
    Loom,
    /// Make `target/python-venv` with the Python packages the tests need (the ADK server among them).
    PythonEnv,
    /// The Python package (crates/vana-py) built into target/python-venv and tested with pytest (part of
    /// `ci`).
    Pytest {
        /// Instead of the tests, the benchmark against the specification's Python classes (release build).
        #[arg(long)]
        bench: bool,
    },
    /// `ci` several times in a row while stress-ng keeps every core busy (docs/testing.md).
    CiUnderLoad {
        /// How many runs.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Mutation testing (cargo-mutants) of the security-critical files; see docs/testing.md.
    Mutants {
        /// Only this crate's files (`vana-security`, `vana-config`, `vana-metrics`, `vana-ops`).
        #[arg(long = "crate")]
        package: Option<String>,
        /// Only files whose path ends with one of these (`gcra.rs`, ...).
        #[arg(long = "file")]
        files: Vec<String>,
        /// Only mutants on lines changed since this git revision.
        #[arg(long)]
        since: Option<String>,
    },
    /// Write Prometheus alerting rules from the thresholds of `monitoring.yaml` (default: `config/`).
    PrometheusRules {
        /// The configuration directory.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Bump the workspace version, check CHANGELOG.md, run `ci` and `cargo package` every crate.
    Release {
        /// The new version, e.g. 0.2.0.
        version: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        Task::ValidateConfig { paths, env } => validate::run(&paths, env),
        Task::Ci => ci::run(),
        Task::Test { package } => ci::test(package.as_deref()).map(|()| ExitCode::SUCCESS),
        Task::Loom => ci::loom().map(|()| ExitCode::SUCCESS),
        Task::PythonEnv => python::environment().map(|_| ExitCode::SUCCESS),
        Task::Pytest { bench } => python::pytest(bench).map(|()| ExitCode::SUCCESS),
        Task::CiUnderLoad { runs } => under_load::run(runs.clamp(1, 20)),
        Task::Mutants { package, files, since } => mutants::run(&mutants::Selection {
            package: package.as_deref(),
            files: &files,
            since: since.as_deref(),
        }),
        Task::DetectionReport { corpus, show, misses } => detection::run(&corpus, show, misses.as_deref()),
        Task::Loadtest { seconds, rounds, connections, path, threads, redis, pin, upstream, anchor } => {
            let seconds = seconds.clamp(1, 120);
            loadtest::run(&loadtest::LoadTest {
                seconds,
                rounds: rounds.clamp(1, 9),
                connections,
                path,
                threads: threads.map(|threads| threads.clamp(1, 64)),
                redis,
                pin,
                upstream,
                anchor,
            })
        }
        Task::PrometheusRules { config, output } => rules::run(config.as_deref(), output.as_ref()),
        Task::Release { version } => release::run(&version),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}
