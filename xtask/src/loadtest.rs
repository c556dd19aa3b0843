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
    /// Server worker threads; `None` leaves `serve`'s default.
    pub(crate) threads: Option<usize>,
    /// Also measure the full layer with the Redis backend (a local `redis-server` started here).
    pub(crate) redis: bool,
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

/// How the server under test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bare,
    Layer,
    LayerRedis,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Bare => "layer off (`--no-layer`)",
            Mode::Layer => "full layer",
            Mode::LayerRedis => "full layer, Redis backend",
        }
    }
}

struct RedisServer(Child, u16);

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_redis() -> Result<RedisServer> {
    ensure(&[SystemTool {
        binary: "redis-server",
        package: "redis-server",
        used_by: "cargo xtask loadtest --redis",
    }])?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--dir", std::env::temp_dir().to_str().unwrap_or("/tmp"), "--dbfilename", "vana-loadtest.rdb"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start redis-server")?;
    let server = RedisServer(child, port);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            std::thread::sleep(Duration::from_millis(100));
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("redis-server did not start")
}

fn start(binary: &std::path::Path, mode: Mode, test: &LoadTest, redis_port: Option<u16>) -> Result<Server> {
    let mut command = Command::new(binary);
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    if let Some(threads) = test.threads {
        command.args(["--threads", &threads.to_string()]);
    }
    if mode == Mode::Bare {
        command.arg("--no-layer");
    }
    if let (Mode::LayerRedis, Some(port)) = (mode, redis_port) {
        command
            .env("VANA_SECURITY__BACKEND__TYPE", "redis")
            .env("VANA_REDIS_URL", format!("redis://127.0.0.1:{port}/"))
            .env("VANA_SECURITY__BACKEND__COMMAND_TIMEOUT_MS", "1000");
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
    let redis = if test.redis { Some(start_redis()?) } else { None };
    let mut modes = vec![Mode::Bare, Mode::Layer];
    if test.redis {
        modes.push(Mode::LayerRedis);
    }
    let mut results: Vec<Vec<Measurement>> = vec![Vec::new(); modes.len()];
    for round in 0..test.rounds {
        for (index, &mode) in modes.iter().enumerate() {
            let server = start(&binary, mode, test, redis.as_ref().map(|redis| redis.1))?;
            // A short warm-up: connections, allocator, caches.
            let warm = LoadTest {
                seconds: 1,
                rounds: 1,
                connections: test.connections,
                path: test.path.clone(),
                threads: test.threads,
                redis: false,
            };
            wrk(&server.address, &warm)?;
            let measured = wrk(&server.address, test)?;
            eprintln!(
                "round {}: {}: {:.0} requests/s, p99 {:.2} ms",
                round + 1,
                mode.label(),
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
    let threads = test
        .threads
        .map_or_else(|| "serve's default worker threads".to_owned(), |n| format!("--threads {n}"));
    println!(
        "wrk -t1 -c{} -d{}s {}, server with {threads}, {} rounds alternating",
        test.connections, test.seconds, test.path, test.rounds
    );
    println!("| mode | requests/s (median of {}) | p99 latency | vs layer off |", test.rounds);
    println!("|---|---:|---:|---:|");
    for (index, mode) in modes.iter().enumerate() {
        let (rps, p99) = summary(&results[index]);
        println!(
            "| {} | {rps:.0} | {p99:.2} ms | {:.1} %, {:+.2} ms |",
            mode.label(),
            100.0 * rps / bare_rps,
            p99 - bare_p99
        );
    }
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
