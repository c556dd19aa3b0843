//! The test harness: the `vana-ops` binary started for real on loopback, and its log lines.

#![allow(dead_code)]

pub(crate) mod browser;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `vana-ops serve`, killed on drop.
pub(crate) struct Gateway {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// The operational endpoints' own `http://ADDRESS:PORT`, with `http.ops_listen`.
    pub(crate) ops_base: Option<String>,
    stdout: Arc<Mutex<Vec<String>>>,
}

/// Settings every end-to-end gateway gets: the loopback is a trusted proxy (so each test names its client
/// in `X-Forwarded-For`), keys and tokens from the environment as in production.
pub(crate) const CSRF_KEY: &str = "an-e2e-test-key-of-more-than-32-bytes!!";
pub(crate) const ADMIN_TOKEN: &str = "e2e-admin-token-0123456789";

impl Gateway {
    /// Starts `vana-ops serve --listen 127.0.0.1:0 <args>` with `env` on top of the base settings.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Gateway {
        let mut command = Command::new(env!("CARGO_BIN_EXE_vana-ops"));
        command.args(["serve", "--listen", "127.0.0.1:0", "--threads", "2"]).args(args);
        for (key, _) in std::env::vars() {
            if key.starts_with("VANA_") {
                command.env_remove(key);
            }
        }
        command
            .env("VANA_SECURITY__CLIENT_ADDRESS__TRUSTED_PROXIES", "[\"127.0.0.1\"]")
            .env("VANA_CSRF_KEY", CSRF_KEY)
            .env("VANA_ADMIN_TOKEN", ADMIN_TOKEN)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the vana-ops binary starts");
        let stderr = child.stderr.take().unwrap();
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // The endpoints' own listener, when there is one, is announced first.
            let mut ops_base = None;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("vana-ops endpoints on ") {
                    ops_base = Some(rest.trim().to_owned());
                }
                if let Some(rest) = line.strip_prefix("vana-ops listening on ") {
                    let base = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = address_tx.send((base, ops_base.take()));
                }
            }
        });
        let stdout_lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stdout_lines);
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let (base, ops_base) = match address_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(found) => found,
            Err(_) => {
                let _ = child.kill();
                panic!("vana-ops serve did not report its address within 30 s");
            }
        };
        Gateway { child: Some(child), base, ops_base, stdout: stdout_lines }
    }

    /// The process's resident memory now, in bytes (`VmRSS` of `/proc/PID/status`).
    pub(crate) fn resident_bytes(&self) -> u64 {
        let pid = self.child.as_ref().expect("running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc is mounted");
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).expect("VmRSS in /proc/PID/status");
        let kib: u64 = line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmRSS in kB");
        kib * 1024
    }

    /// `count` clean `GET /echo` requests, each from a client of its own (198.51.100.10 on, through
    /// `X-Forwarded-For`), so no rate limit is reached; each must answer 200.
    pub(crate) async fn clean_requests(&self, count: usize) {
        let http = client();
        for index in 0..count {
            let response = http
                .get(self.url(&format!("/echo?msg=hello{index}")))
                .header("x-forwarded-for", format!("198.51.100.{}", 10 + index))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::OK);
        }
    }

    /// The ADK session `id` of `user-1` in the app `vana`, made through the gateway.
    pub(crate) async fn create_adk_session(&self, id: &str) {
        let created = client()
            .post(self.url(&format!("/apps/vana/users/user-1/sessions/{id}")))
            .header("x-forwarded-for", "198.51.100.7")
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 200, "{}", created.text().await.unwrap());
    }

    /// `base` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path` with the admin token, as JSON.
    pub(crate) async fn admin_json(&self, path: &str) -> serde_json::Value {
        let response = client().get(self.url(path)).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.json().await.unwrap()
    }

    /// `GET path` with the admin token, as text (`/_vana/metrics`, say).
    pub(crate) async fn admin_text(&self, path: &str) -> String {
        let response = client().get(self.url(path)).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        response.text().await.unwrap()
    }

    /// The gateway's own refusals so far, by reason (`vana_http_refusals_total` lines above 0), from its
    /// endpoints under `prefix`.
    pub(crate) async fn refusals(&self, prefix: &str) -> Vec<String> {
        let metrics = self.admin_text(&format!("{prefix}/metrics")).await;
        metrics
            .lines()
            .filter(|line| line.starts_with("vana_http_refusals_total{") && !line.ends_with(" 0"))
            .map(str::to_owned)
            .collect()
    }

    /// The log lines written so far.
    pub(crate) fn logs(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits (up to `within`) for a log line containing every one of `needles`.
    pub(crate) fn wait_for_log(&self, needles: &[&str], within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(line) = self.logs().into_iter().find(|line| needles.iter().all(|n| line.contains(n)))
            {
                return Some(line);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it at once (SIGKILL), as a crash would, mid-traffic.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited successfully in time.
    pub(crate) fn terminate(&mut self, within: Duration) -> bool {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -TERM (procps) failed");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                // Give the stdout reader a moment to take the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The settings of a gateway in a Redis fleet: Redis at `url`, keys under `prefix`, `timeout_ms` to connect
/// and for a command, the backend retried `retry_ms` after a failure, answers cached 100 ms; a limit of 5 an
/// hour (burst 5) and blocks after 3 refused attacks.
pub(crate) fn fleet_settings(
    url: &str,
    prefix: &str,
    timeout_ms: &str,
    retry_ms: &str,
) -> Vec<(&'static str, String)> {
    [
        ("VANA_SECURITY__BACKEND__TYPE", "redis"),
        ("VANA_REDIS_URL", url),
        ("VANA_SECURITY__BACKEND__KEY_PREFIX", prefix),
        ("VANA_SECURITY__BACKEND__RETRY_INTERVAL_MS", retry_ms),
        ("VANA_SECURITY__BACKEND__COMMAND_TIMEOUT_MS", timeout_ms),
        ("VANA_SECURITY__BACKEND__CONNECT_TIMEOUT_MS", timeout_ms),
        ("VANA_SECURITY__BACKEND__BLOCK_CACHE_MS", "100"),
        ("VANA_SECURITY__RATE_LIMITING__DEFAULT_LIMIT", "5"),
        ("VANA_SECURITY__RATE_LIMITING__WINDOW_SECONDS", "3600"),
        ("VANA_SECURITY__RATE_LIMITING__BURST_LIMIT", "5"),
        ("VANA_SECURITY__IP_BLOCKING__AUTO_BLOCK_AFTER", "3"),
    ]
    .into_iter()
    .map(|(name, value)| (name, value.to_owned()))
    .collect()
}

/// Owned settings as `Gateway::start` takes them.
pub(crate) fn as_env<'a>(settings: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    settings.iter().map(|(name, value)| (*name, value.as_str())).collect()
}

/// A reqwest client that never follows redirects nor keeps cookies.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}
