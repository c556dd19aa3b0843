//! `cargo xtask loadtest`: wrk against `vana-ops serve` with the demo application, the full layer and the
//! layer off, same binary, same run, alternating; prints requests per second and p99 latency.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::system_tools::{SystemTool, ensure};

const WRK: SystemTool = SystemTool { binary: "wrk", package: "wrk", used_by: "cargo xtask loadtest" };

/// One wrk run's results.
#[derive(Debug, Clone, Copy)]
struct Measurement {
    requests_per_second: f64,
    p99_ms: f64,
}

/// The settings of a load test.
pub(crate) struct LoadTest {
    /// Seconds per wrk run.
    pub(crate) seconds: u64,
    /// Runs per mode (alternating), the median is reported.
    pub(crate) rounds: usize,
    /// Open connections.
    pub(crate) connections: usize,
    /// The path requested.
    pub(crate) path: String,
}

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(binary: &std::path::Path, layer: bool) -> Result<Server> {
    let mut command = Command::new(binary);
    command.args(["serve", "--listen", "127.0.0.1:0", "--threads", "1"]);
    if !layer {
        command.arg("--no-layer");
    }
    // Every client is the loopback here: lift its limit so that the layer's cost, not 429s, is measured.
    command
        .env("VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT", "4000000000")
        .env("VANA_SECURITY__RATE_LIMITING__BURST_LIMIT", "4000000000")
        .env("VANA_CSRF_KEY", "loadtest-key-loadtest-key-loadtest-key")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().with_context(|| format!("cannot start {}", binary.display()))?;
    let stderr = child.stderr.take().context("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let address = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.strip_prefix("vana-ops listening on ") {
                    break rest.split_whitespace().next().unwrap_or("").to_owned();
                }
            }
            _ => bail!("vana-ops serve exited before listening"),
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Ok(Server { child, address })
}

fn wrk(address: &str, test: &LoadTest) -> Result<Measurement> {
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{}", test.connections), &format!("-d{}s", test.seconds), "--latency"])
        .arg(format!("{address}{}", test.path))
        .output()
        .context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse_wrk(&text).with_context(|| format!("unexpected wrk output:\n{text}"))
}

fn parse_wrk(text: &str) -> Option<Measurement> {
    let requests_per_second =
        text.lines().find_map(|line| line.trim().strip_prefix("Requests/sec:"))?.trim().parse().ok()?;
    let p99 = text.lines().find_map(|line| line.trim().strip_prefix("99%"))?.trim();
    if text.contains("Non-2xx or 3xx responses") {
        return None;
    }
    Some(Measurement { requests_per_second, p99_ms: parse_latency_ms(p99)? })
}

fn parse_latency_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => number / 1000.0,
        "ms" => number,
        "s" => number * 1000.0,
        "m" => number * 60_000.0,
        _ => return None,
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub(crate) fn run(test: &LoadTest) -> Result<ExitCode> {
    ensure(&[WRK])?;
    let root = crate::workspace_root();
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "-p", "vana-ops", "--bin", "vana-ops"])
        .status()?;
    if !status.success() {
        bail!("cargo build --release -p vana-ops failed");
    }
    let binary = root.join("target/release/vana-ops");
    let mut results: [Vec<Measurement>; 2] = [Vec::new(), Vec::new()];
    for round in 0..test.rounds {
        for (index, layer) in [(0, false), (1, true)] {
            let server = start(&binary, layer)?;
            // A short warm-up: connections, allocator, caches.
            let warm =
                LoadTest { seconds: 1, rounds: 1, connections: test.connections, path: test.path.clone() };
            wrk(&server.address, &warm)?;
            let measured = wrk(&server.address, test)?;
            eprintln!(
                "round {}: layer {}: {:.0} requests/s, p99 {:.2} ms",
                round + 1,
                if layer { "on " } else { "off" },
                measured.requests_per_second,
                measured.p99_ms
            );
            results[index].push(measured);
            drop(server);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let summary = |runs: &[Measurement]| {
        let mut rps: Vec<f64> = runs.iter().map(|m| m.requests_per_second).collect();
        let mut p99: Vec<f64> = runs.iter().map(|m| m.p99_ms).collect();
        (median(&mut rps), median(&mut p99))
    };
    let (bare_rps, bare_p99) = summary(&results[0]);
    let (full_rps, full_p99) = summary(&results[1]);
    println!("| mode | requests/s (median of {}) | p99 latency |", test.rounds);
    println!("|---|---:|---:|");
    println!("| layer off (`--no-layer`) | {bare_rps:.0} | {bare_p99:.2} ms |");
    println!("| full layer | {full_rps:.0} | {full_p99:.2} ms |");
    println!("| full / off | {:.1} % | {:+.2} ms |", 100.0 * full_rps / bare_rps, full_p99 - bare_p99);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_output() {
        let text = "  Latency Distribution\n     50%  200.00us\n     99%    1.50ms\n  1000 requests in 1.00s\nRequests/sec:  51234.56\n";
        let measured = parse_wrk(text).unwrap();
        assert_eq!(measured.requests_per_second, 51234.56);
        assert_eq!(measured.p99_ms, 1.5);
        assert_eq!(parse_latency_ms("850.00us"), Some(0.85));
        assert!(
            parse_wrk(&format!("{text}  Non-2xx or 3xx responses: 5\n")).is_none(),
            "errors invalidate a run"
        );
    }
}
