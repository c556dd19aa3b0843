//! Test harnesses shared by the vana crates' integration tests (a dev-dependency only, never published).
//!
//! Real components are started from Debian's packages on a free loopback port and stopped on drop; a test
//! that cannot start one fails with the package to install. Waits are bounded: they poll a condition until
//! a deadline, they never assert a timing.
//!
//! ```no_run
//! let redis = vana_testkit::RedisServer::start();
//! assert!(redis.url().starts_with("redis://127.0.0.1:"));
//! ```
//!
//! # Feature flags
//!
//! None.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod adk;
mod phoenix;

pub use adk::{AdkServer, python_venv, venv_program};
pub use phoenix::Phoenix;

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_or(0, |address| address.port())
}

/// Polls `done` every 20 ms until it holds or `within` passes; its last answer.
pub fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Whether something accepts connections on `port` within `within`.
pub fn wait_for_port(port: u16, within: Duration) -> bool {
    wait_until(within, || TcpStream::connect(("127.0.0.1", port)).is_ok())
}

/// A plain HTTP/1.1 `GET` of `path` on loopback `port` with `Connection: close`: (status, body), or `None`
/// when nothing answers within 5 s. For readiness polls, not for the traffic under test.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split(' ').nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned();
    Some((status, body))
}

/// A fresh directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new directory whose name starts with `name`.
    pub fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("vana-{name}-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", path.display()));
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (and reaped) on drop.
#[derive(Debug)]
pub struct Process(Child);

impl Process {
    /// Spawns `command` with its output discarded; a missing program fails naming `package`.
    pub fn spawn(command: &mut Command, package: &str) -> Process {
        let program = command.get_program().to_string_lossy().into_owned();
        let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(
            |error| panic!("cannot start `{program}` ({error}): install Debian's `{package}` package (cargo xtask ci does)"),
        );
        Process(child)
    }
}

impl Process {
    /// Sends `signal` (`STOP`, `CONT`, `KILL`...) with procps' `kill`.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill").arg(format!("-{signal}")).arg(self.0.id().to_string()).status();
        assert!(
            sent.is_ok_and(|status| status.success()),
            "kill -{signal} failed: install Debian's `procps`"
        );
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `redis-server` (Debian's `redis-server`) on a free loopback port, without persistence.
#[derive(Debug)]
pub struct RedisServer {
    process: Option<Process>,
    port: u16,
    /// Seconds after which it is killed whatever happens (coreutils' `timeout`), for a server kept in a
    /// `static`, which is never dropped.
    lifetime: Option<u64>,
}

/// The longest a [`RedisServer::start_shared`] server lives: longer than any test binary runs.
const SHARED_LIFETIME_SECONDS: u64 = 900;

impl RedisServer {
    /// Starts it and waits until it answers `PING`.
    pub fn start() -> RedisServer {
        let mut server = RedisServer { process: None, port: free_port(), lifetime: None };
        server.restart();
        server
    }

    /// Starts one to keep in a `static`, shared by a test binary's tests: statics are never dropped, so it
    /// ends on its own after fifteen minutes instead of outliving the binary. Not for `freeze`/`stop`.
    pub fn start_shared() -> RedisServer {
        let mut server =
            RedisServer { process: None, port: free_port(), lifetime: Some(SHARED_LIFETIME_SECONDS) };
        server.restart();
        server
    }

    /// Starts it again on the same port (after [`stop`](Self::stop)).
    pub fn restart(&mut self) {
        let port = self.port.to_string();
        let dir = std::env::temp_dir();
        let dbfilename = format!("vana-none-{port}.rdb");
        let mut command = match self.lifetime {
            Some(seconds) => {
                let mut bounded = Command::new("timeout");
                bounded.args(["--signal=KILL", &seconds.to_string(), "redis-server"]);
                bounded
            }
            None => Command::new("redis-server"),
        };
        command
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            // An empty working directory: nothing to load at start, nothing written.
            .args(["--dir", &dir.to_string_lossy(), "--dbfilename", &dbfilename]);
        self.process = Some(Process::spawn(&mut command, "redis-server"));
        assert!(wait_until(Duration::from_secs(20), || self.ping()), "redis-server did not answer on {port}");
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Kills it.
    pub fn stop(&mut self) {
        self.process.take();
    }

    /// Freezes it (SIGSTOP): connections stay open and nothing answers, as a hung server does.
    pub fn freeze(&self) {
        self.process.as_ref().expect("running").signal("STOP");
    }

    /// Lets a frozen server go on (SIGCONT).
    pub fn thaw(&self) {
        self.process.as_ref().expect("running").signal("CONT");
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

/// An HTTP receiver on a free loopback port: every request's first line and body go to a channel, and it
/// answers 200. For webhook tests; at most 1000 requests.
#[derive(Debug)]
pub struct HttpReceiver {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    /// (request line, body) of each request.
    pub requests: mpsc::Receiver<(String, String)>,
}

impl HttpReceiver {
    /// Starts it on a thread of its own.
    pub fn start() -> HttpReceiver {
        let listener =
            TcpListener::bind("127.0.0.1:0").unwrap_or_else(|error| panic!("cannot bind: {error}"));
        let url = format!("http://{}/hook", listener.local_addr().map(|a| a.to_string()).unwrap_or_default());
        let (sender, requests) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(1000) {
                let Ok(mut stream) = stream else { continue };
                let Ok(clone) = stream.try_clone() else { continue };
                let mut reader = BufReader::new(clone);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let _ =
                    stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let _ = sender.send((request_line, String::from_utf8_lossy(&body).into_owned()));
            }
        });
        HttpReceiver { url, requests }
    }
}
