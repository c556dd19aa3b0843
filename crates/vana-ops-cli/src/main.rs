//! `vana-ops`: the gateway that puts monitoring, security and structured logging in front of a service.
//!
//! - `vana-ops serve [--config DIR] [--listen ADDR] [--upstream URL] [--no-layer]`
//! - `vana-ops validate-config [PATH...]`
//! - `vana-ops scan [--config DIR] FILE|-`
//! - `vana-ops export-rules [--config DIR] [--output FILE]`
//! - `vana-ops unblock [--config DIR] ADDRESS`

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod demo;
mod serve;
mod unblock;

// A request allocates and frees many small buffers across threads (log lines, headers, bodies); mimalloc
// serves that pattern with less contention than the system allocator (measured: see docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use vana_ops::config::{ConfigError, ConfigLoader};

#[derive(Parser)]
#[command(
    name = "vana-ops",
    version,
    about = "Monitoring, security and structured logging in front of a service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the gateway: the demo application, or a reverse proxy to `--upstream`.
    Serve(serve::ServeArgs),
    /// Validate configuration directories or files and print every problem (default: `config`).
    ValidateConfig {
        /// Directories (with security/ and monitoring/) or single YAML files.
        paths: Vec<PathBuf>,
    },
    /// Print Prometheus alerting rules from the thresholds of `monitoring.yaml` (for the fleet's Prometheus).
    ExportRules {
        /// The configuration directory (default: the embedded defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write here instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Lift the block of an address. With the Redis backend, in Redis: every gateway of the fleet admits it
    /// again within `backend.block_cache_ms`. With the memory backend, blocks live inside the running
    /// gateway: it is asked at `--gateway`, through its admin API with the token of `VANA_ADMIN_TOKEN` (or
    /// `VANA_ADMIN_TOKEN_FILE`), or without a token through its dashboard route, from the loopback.
    Unblock {
        /// The configuration directory (default: the embedded defaults); `VANA_*` variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The running gateway (memory backend): its address, or that of its endpoints when
        /// `http.ops_listen` is set (default: `VANA_GATEWAY_URL`, else `http.ops_listen`, else
        /// `http://127.0.0.1:8080`).
        #[arg(long)]
        gateway: Option<String>,
        /// The blocked IPv4 or IPv6 address.
        address: std::net::IpAddr,
    },
    /// Validate one input per line and print a JSON verdict per line, then a summary on stderr.
    Scan {
        /// The configuration directory whose `input_validation` applies (default: the embedded defaults).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The file to read, or `-` for standard input.
        #[arg(default_value = "-")]
        input: String,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().command {
        Command::Serve(args) => serve::run(args),
        Command::ValidateConfig { paths } => validate_config(paths),
        Command::Scan { config, input } => scan(config, &input),
        Command::ExportRules { config, output } => export_rules(config, output),
        Command::Unblock { config, gateway, address } => unblock(config, gateway, address),
    }
}

fn validate_config(paths: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let paths = if paths.is_empty() { vec![PathBuf::from("config")] } else { paths };
    let mut problems = 0;
    for path in &paths {
        if !path.exists() {
            eprintln!("{}: no such file or directory", path.display());
            problems += 1;
            continue;
        }
        match ConfigLoader::new().path(path).process_env().load() {
            Ok(loaded) => {
                for source in &loaded.sources {
                    println!("ok: {} from {}", source.document, source.origin);
                }
            }
            Err(ConfigError::Invalid(found)) => {
                for problem in found.iter() {
                    println!("{problem}");
                }
                problems += found.len();
            }
            Err(other) => {
                println!("{other}");
                problems += 1;
            }
        }
    }
    if problems > 0 {
        eprintln!("validate-config: {problems} problem{} found", if problems == 1 { "" } else { "s" });
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn export_rules(config: Option<PathBuf>, output: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let loader = match &config {
        Some(dir) => ConfigLoader::new().dir(dir),
        None => ConfigLoader::new(),
    };
    let monitoring = loader.process_env().load()?.config.monitoring;
    let context = vana_ops::metrics::AlertContext::from_environment();
    let rules = vana_ops::metrics::prometheus_rules(
        &monitoring,
        &vana_ops::metrics::PrometheusOptions::default(),
        &context.service,
    );
    match output {
        Some(path) => {
            std::fs::write(&path, rules).with_context(|| format!("cannot write {}", path.display()))?
        }
        None => print!("{rules}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn unblock(
    config: Option<PathBuf>,
    gateway: Option<String>,
    address: std::net::IpAddr,
) -> anyhow::Result<ExitCode> {
    let loader = match &config {
        Some(dir) => ConfigLoader::new().dir(dir),
        None => ConfigLoader::new(),
    };
    let security = loader.process_env().load()?.config.security;
    if security.backend.kind != vana_ops::config::BackendKind::Redis {
        return unblock::through_gateway(&security.http, gateway.as_deref(), address);
    }
    let manager = vana_ops::security::SecurityManager::from_config(&security)?;
    let was_blocked = manager.blocklist().unblock(address);
    if manager.backend().is_some_and(|backend| !backend.status().available) {
        eprintln!("unblock: Redis (the URL in {}) cannot be reached", security.backend.url_env);
        return Ok(ExitCode::FAILURE);
    }
    if was_blocked {
        println!(
            "unblocked {address} (every gateway admits it within {} ms)",
            security.backend.block_cache_ms
        );
    } else {
        println!("{address} was not blocked");
    }
    Ok(ExitCode::SUCCESS)
}

fn scan(config: Option<PathBuf>, input: &str) -> anyhow::Result<ExitCode> {
    use std::io::{BufReader, Write};
    let loader = match &config {
        Some(dir) => ConfigLoader::new().dir(dir),
        None => ConfigLoader::new(),
    };
    let config = loader.process_env().load()?.config;
    let validator = vana_ops::security::InputValidator::new(&config.security.input_validation)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let summary = if input == "-" {
        vana_ops::security::scan(&validator, std::io::stdin().lock(), Some(&mut out))?
    } else {
        let file = std::fs::File::open(input).with_context(|| format!("cannot open {input}"))?;
        vana_ops::security::scan(&validator, BufReader::new(file), Some(&mut out))?
    };
    out.flush()?;
    eprintln!("{} lines, {} flagged ({:.1} %)", summary.lines, summary.flagged, summary.percent_flagged());
    Ok(ExitCode::SUCCESS)
}
