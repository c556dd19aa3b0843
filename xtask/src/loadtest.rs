//! `cargo xtask loadtest`: wrk against `vana-ops serve` with the demo application, the full layer and the
//! layer off, same binary, same run, alternating (in reverse order every other round); prints requests per
//! second, p99 latency and the server's CPU time per request. With
//! `--upstream`, the same as a gateway: `serve --upstream` in front of a second `serve --no-layer`, and that
//! upstream alone for reference. With `--anchor`, the popular-crates stack (`xtask/anchor`: the same
//! handler behind tower-http's request id and `TraceLayer` JSON lines, tower_governor, eight header layers
//! and axum-prometheus) and its handler alone, in the same rounds: the server CPU each stack adds over its
//! own bare server, side by side.

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
    requests: u64,
    /// The server's CPU time (all threads, user and system) per request, in µs.
    server_cpu_us: f64,
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
    /// The server on CPU 0, wrk on CPU 1.
    pub(crate) pin: bool,
    /// Gateway mode: `serve --upstream` in front of an upstream started here.
    pub(crate) upstream: bool,
    /// Also measure the popular-crates stack (`xtask/anchor`) and its bare handler.
    pub(crate) anchor: bool,
}

const TASKSET: SystemTool =
    SystemTool { binary: "taskset", package: "util-linux", used_by: "cargo xtask loadtest --pin" };

/// `program` as a command, on `cpu` when pinning.
fn on_cpu(program: &std::path::Path, cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.args(["-c", &cpu.to_string()]).arg(program);
            command
        }
        None => Command::new(program),
    }
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
    /// The upstream alone (gateway mode): what the service answers without a gateway.
    Direct,
    Bare,
    Layer,
    LayerRedis,
    /// The popular-crates server with its handler alone.
    AnchorBare,
    /// The popular-crates stack.
    AnchorStack,
}

impl Mode {
    fn label(self, gateway: bool) -> &'static str {
        match (self, gateway) {
            (Mode::Direct, _) => "the upstream directly (no gateway)",
            (Mode::Bare, false) => "layer off (`--no-layer`)",
            (Mode::Bare, true) => "gateway, layer off (`--no-layer --upstream`)",
            (Mode::Layer, false) => "full layer",
            (Mode::Layer, true) => "gateway, full layer (`--upstream`)",
            (Mode::LayerRedis, false) => "full layer, Redis backend",
            (Mode::LayerRedis, true) => "gateway, full layer, Redis backend",
            (Mode::AnchorBare, _) => "popular crates: the handler alone",
            (Mode::AnchorStack, _) => {
                "popular crates: request id, TraceLayer JSON, tower_governor, 8 headers, axum-prometheus"
            }
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

fn start(
    binary: &std::path::Path,
    mode: Mode,
    test: &LoadTest,
    redis_port: Option<u16>,
    upstream: Option<&str>,
) -> Result<Server> {
    // taskset execs the program: the child's pid stays the server's.
    let mut command = on_cpu(binary, test.pin.then_some(0));
    if matches!(mode, Mode::AnchorBare | Mode::AnchorStack) {
        command.args(["--listen", "127.0.0.1:0"]);
        if mode == Mode::AnchorBare {
            command.arg("--bare");
        }
        if let Some(threads) = test.threads {
            command.args(["--threads", &threads.to_string()]);
        }
        return listening(command);
    }
    command.args(["serve", "--listen", "127.0.0.1:0"]);
    if let Some(threads) = test.threads {
        command.args(["--threads", &threads.to_string()]);
    }
    if matches!(mode, Mode::Bare | Mode::Direct) {
        command.arg("--no-layer");
    }
    if let Some(upstream) = upstream {
        command.args(["--upstream", upstream]);
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
        .env("VANA_CSRF_KEY", "loadtest-key-loadtest-key-loadtest-key");
    listening(command)
}

/// Starts `command` and waits for its `listening on ADDRESS` line on standard error; its later lines (the
/// request log) are read and dropped.
fn listening(mut command: Command) -> Result<Server> {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = command.spawn().with_context(|| format!("cannot start {command:?}"))?;
    let stderr = child.stderr.take().context("no stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let address = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some((_, rest)) = line.split_once("listening on ") {
                    break rest.split_whitespace().next().unwrap_or("").to_owned();
                }
            }
            _ => bail!("{command:?} exited before listening"),
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Ok(Server { child, address })
}

/// CPU time the process has used, user and system, all threads, in seconds.
fn process_cpu_seconds(pid: u32) -> Result<f64> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).context("cannot read the server's CPU time")?;
    // The command name may hold spaces and parentheses: the fields that follow start after the last `)`.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("").split_whitespace().collect();
    let ticks = |index: usize| fields.get(index).and_then(|field| field.parse::<f64>().ok());
    let (user, system) = ticks(11).zip(ticks(12)).context("unexpected /proc stat line")?;
    Ok((user + system) / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A wrk run against `server`, with the server's CPU time per request.
fn measure(server: &Server, test: &LoadTest) -> Result<Measurement> {
    let pid = server.child.id();
    let before = process_cpu_seconds(pid)?;
    let mut measured = wrk(&server.address, test)?;
    let used = process_cpu_seconds(pid)? - before;
    measured.server_cpu_us = used * 1e6 / measured.requests.max(1) as f64;
    Ok(measured)
}

fn wrk(address: &str, test: &LoadTest) -> Result<Measurement> {
    let output = on_cpu(std::path::Path::new("wrk"), test.pin.then_some(1))
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
    let requests =
        text.lines().find_map(|line| line.trim().split_once(" requests in"))?.0.trim().parse().ok()?;
    Some(Measurement { requests_per_second, p99_ms: parse_latency_ms(p99)?, requests, server_cpu_us: 0.0 })
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
    let middle = values.len() / 2;
    if values.len() % 2 == 0 { (values[middle - 1] + values[middle]) / 2.0 } else { values[middle] }
}

/// `vana-ops` built in release mode: its path.
/// The popular-crates stack, built in release as the workspace builds vana-ops (its own target directory
/// and lock file: the workspace never compiles its dependencies).
fn build_anchor() -> Result<std::path::PathBuf> {
    let root = crate::workspace_root();
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "--locked", "--manifest-path", "xtask/anchor/Cargo.toml"])
        .args(["--target-dir", "target/anchor"])
        .status()?;
    if !status.success() {
        bail!("cargo build --release --manifest-path xtask/anchor/Cargo.toml failed");
    }
    Ok(root.join("target/anchor/release/popular-stack"))
}

fn build_release() -> Result<std::path::PathBuf> {
    let root = crate::workspace_root();
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "-p", "vana-ops-cli", "--bin", "vana-ops"])
        .status()?;
    if !status.success() {
        bail!("cargo build --release -p vana-ops-cli failed");
    }
    Ok(root.join("target/release/vana-ops"))
}

impl LoadTest {
    /// The modes measured, layer off first.
    fn modes(&self) -> Vec<Mode> {
        let mut modes = vec![Mode::Bare, Mode::Layer];
        if self.redis {
            modes.push(Mode::LayerRedis);
        }
        if self.upstream {
            modes.push(Mode::Direct);
        }
        if self.anchor {
            modes.extend([Mode::AnchorBare, Mode::AnchorStack]);
        }
        modes
    }

    /// One second of the same load, to warm connections, the allocator and caches.
    fn warm_up(&self) -> LoadTest {
        LoadTest {
            seconds: 1,
            rounds: 1,
            connections: self.connections,
            path: self.path.clone(),
            threads: self.threads,
            redis: false,
            pin: self.pin,
            upstream: false,
            anchor: false,
        }
    }
}

pub(crate) fn run(test: &LoadTest) -> Result<ExitCode> {
    ensure(&[WRK])?;
    if test.pin {
        if test.upstream {
            bail!("--pin and --upstream do not combine: the upstream needs a core too");
        }
        ensure(&[TASKSET])?;
    }
    if test.anchor && test.upstream {
        bail!("--anchor and --upstream do not combine: the anchor is a server, not a gateway");
    }
    let binary = build_release()?;
    let anchor = if test.anchor { Some(build_anchor()?) } else { None };
    let redis = if test.redis { Some(start_redis()?) } else { None };
    // Gateway mode: the demo application without a layer is the upstream, started once for every round.
    let upstream = if test.upstream { Some(start(&binary, Mode::Direct, test, None, None)?) } else { None };
    let upstream_url = upstream.as_ref().map(|server| server.address.clone());
    let modes = test.modes();
    let mut results: Vec<Vec<Measurement>> = vec![Vec::new(); modes.len()];
    for round in 0..test.rounds {
        // Every other round runs the modes in reverse order (A B, B A, ...): a drift of the machine's speed
        // within a run, or a cost one run leaves to the next, then weighs on every mode alike.
        let order: Vec<usize> =
            if round % 2 == 0 { (0..modes.len()).collect() } else { (0..modes.len()).rev().collect() };
        for index in order {
            let mode = modes[index];
            let mut started = None;
            let server = match (&upstream, mode) {
                (Some(upstream), Mode::Direct) => upstream,
                _ => {
                    let redis_port = redis.as_ref().map(|redis| redis.1);
                    let program = match (mode, &anchor) {
                        (Mode::AnchorBare | Mode::AnchorStack, Some(anchor)) => anchor,
                        _ => &binary,
                    };
                    started.insert(start(program, mode, test, redis_port, upstream_url.as_deref())?)
                }
            };
            // A short warm-up: connections, allocator, caches.
            wrk(&server.address, &test.warm_up())?;
            let measured = measure(server, test)?;
            eprintln!(
                "round {}: {}: {:.0} requests/s, p99 {:.2} ms, server CPU {:.2} µs a request",
                round + 1,
                mode.label(test.upstream),
                measured.requests_per_second,
                measured.p99_ms,
                measured.server_cpu_us
            );
            results[index].push(measured);
            // Stopped before the pause, so that the next server starts on a settled machine.
            drop(started);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    report(test, &modes, &results);
    report_anchor(&modes, &results);
    Ok(ExitCode::SUCCESS)
}

/// Prints the table of medians, then the server CPU each mode adds a request over the layer-off run of the
/// same round, with its spread over the rounds.
fn report(test: &LoadTest, modes: &[Mode], results: &[Vec<Measurement>]) {
    let summary = |runs: &[Measurement]| {
        let mut rps: Vec<f64> = runs.iter().map(|m| m.requests_per_second).collect();
        let mut p99: Vec<f64> = runs.iter().map(|m| m.p99_ms).collect();
        let mut cpu: Vec<f64> = runs.iter().map(|m| m.server_cpu_us).collect();
        (median(&mut rps), median(&mut p99), median(&mut cpu))
    };
    let (bare_rps, bare_p99, bare_cpu) = summary(&results[0]);
    let threads = test
        .threads
        .map_or_else(|| "serve's default worker threads".to_owned(), |n| format!("--threads {n}"));
    let pinned = if test.pin { ", server on CPU 0 and wrk on CPU 1" } else { "" };
    let gateway = if test.upstream { ", in front of `serve --no-layer` (same threads)" } else { "" };
    println!(
        "wrk -t1 -c{} -d{}s {}, server with {threads}{pinned}{gateway}, {} rounds alternating (A B, B A, ...)",
        test.connections, test.seconds, test.path, test.rounds
    );
    println!(
        "| mode | requests/s (median of {}) | p99 latency | server CPU a request | vs layer off |",
        test.rounds
    );
    println!("|---|---:|---:|---:|---:|");
    for (index, mode) in modes.iter().enumerate() {
        let (rps, p99, cpu) = summary(&results[index]);
        println!(
            "| {} | {rps:.0} | {p99:.2} ms | {cpu:.2} µs | {:.1} %, {:+.2} ms, {:+.2} µs |",
            mode.label(test.upstream),
            100.0 * rps / bare_rps,
            p99 - bare_p99,
            cpu - bare_cpu
        );
    }
    for (index, mode) in modes.iter().enumerate().skip(1) {
        if matches!(mode, Mode::AnchorBare | Mode::AnchorStack) {
            continue;
        }
        let mut added = added_cpu(&results[0], &results[index]);
        let (low, high) = (added.first().copied().unwrap_or(0.0), added.last().copied().unwrap_or(0.0));
        println!(
            "{}: {:+.2} µs of server CPU a request over the layer off (median of the rounds' pairs; {low:+.2} to {high:+.2})",
            mode.label(test.upstream),
            median(&mut added),
        );
    }
}

/// Each stack's added server CPU over its own bare server, round by round, and their ratio.
fn report_anchor(modes: &[Mode], results: &[Vec<Measurement>]) {
    let position = |wanted: Mode| modes.iter().position(|mode| *mode == wanted);
    let (Some(layer), Some(bare), Some(stack)) =
        (position(Mode::Layer), position(Mode::AnchorBare), position(Mode::AnchorStack))
    else {
        return;
    };
    let mut ours = added_cpu(&results[0], &results[layer]);
    let mut theirs = added_cpu(&results[bare], &results[stack]);
    let (ours, theirs) = (median(&mut ours), median(&mut theirs));
    println!(
        "added server CPU a request over each one's bare server (medians of the rounds' pairs): vana-ops' full \
         layer {ours:+.2} µs, the popular-crates stack {theirs:+.2} µs: the layer is {:.1}x cheaper",
        theirs / ours
    );
}

/// The server CPU a request that each round's run of a mode adds over that round's layer-off run, sorted.
fn added_cpu(bare: &[Measurement], mode: &[Measurement]) -> Vec<f64> {
    let mut added: Vec<f64> =
        bare.iter().zip(mode).map(|(off, on)| on.server_cpu_us - off.server_cpu_us).collect();
    added.sort_by(f64::total_cmp);
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_cpu_time() {
        let spent = process_cpu_seconds(std::process::id()).unwrap();
        let busy = std::time::Instant::now();
        while busy.elapsed() < Duration::from_millis(60) {}
        let later = process_cpu_seconds(std::process::id()).unwrap();
        assert!(later > spent, "{spent} -> {later}");
    }

    #[test]
    fn added_cpu_pairs_each_round_with_its_own_layer_off_run() {
        let run =
            |server_cpu_us| Measurement { requests_per_second: 1.0, p99_ms: 1.0, requests: 1, server_cpu_us };
        let bare = [run(7.0), run(9.0), run(7.5)];
        let layer = [run(10.5), run(11.0), run(10.0)];
        assert_eq!(added_cpu(&bare, &layer), [2.0, 2.5, 3.5]);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }

    #[test]
    fn reads_wrk_output() {
        let text = "  Latency Distribution\n     50%  200.00us\n     99%    1.50ms\n  1000 requests in 1.00s\nRequests/sec:  51234.56\n";
        let measured = parse_wrk(text).unwrap();
        assert_eq!(measured.requests_per_second, 51234.56);
        assert_eq!(measured.p99_ms, 1.5);
        assert_eq!(measured.requests, 1000);
        assert_eq!(parse_latency_ms("850.00us"), Some(0.85));
        assert!(
            parse_wrk(&format!("{text}  Non-2xx or 3xx responses: 5\n")).is_none(),
            "errors invalidate a run"
        );
    }
}
