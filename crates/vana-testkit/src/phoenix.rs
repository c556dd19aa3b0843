//! Arize Phoenix (`arize-phoenix` from PyPI, in `target/phoenix-venv`), the trace receiver of the trace
//! tests: OTLP over HTTP at `<url>/v1/traces`, the spans read back from its REST API.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{Process, TempDir, free_port, wait_until};

/// Where the tests find Phoenix: `VANA_PHOENIX_VENV`, else `target/phoenix-venv` of the workspace (what
/// `cargo xtask python-env` and `cargo xtask ci` make).
fn phoenix_program() -> PathBuf {
    let venv = match std::env::var_os("VANA_PHOENIX_VENV") {
        Some(venv) => PathBuf::from(venv),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/phoenix-venv"),
    };
    let program = venv.join("bin/phoenix");
    assert!(
        program.is_file(),
        "{} is missing: the trace tests need Arize Phoenix; make it with `cargo xtask python-env` (pip \
         install arize-phoenix into target/phoenix-venv; `cargo xtask ci` does it), or point VANA_PHOENIX_VENV \
         at a virtual environment with `pip install arize-phoenix`",
        program.display()
    );
    program
}

/// `phoenix serve` on free loopback ports, its data in a temporary directory; stopped on drop.
pub struct Phoenix {
    _process: Process,
    port: u16,
    _dir: TempDir,
}

impl Phoenix {
    /// Starts it and waits (up to 120 s: it migrates its database first) until `/healthz` answers.
    pub fn start() -> Phoenix {
        let dir = TempDir::new("phoenix");
        let port = free_port();
        let process = Process::spawn(
            Command::new(phoenix_program())
                .arg("serve")
                .env("PHOENIX_HOST", "127.0.0.1")
                .env("PHOENIX_PORT", port.to_string())
                .env("PHOENIX_GRPC_PORT", free_port().to_string())
                .env("PHOENIX_WORKING_DIR", dir.path())
                .env("PHOENIX_TELEMETRY_ENABLED", "false")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "arize-phoenix (pip)",
        );
        let phoenix = Phoenix { _process: process, port, _dir: dir };
        let up = wait_until(Duration::from_secs(120), || {
            crate::http_get(port, "/healthz").is_some_and(|(status, _)| status == 200)
        });
        assert!(up, "Arize Phoenix did not answer /healthz on port {port} within 120 s");
        phoenix
    }

    /// `http://127.0.0.1:PORT`: the OTLP/HTTP base URL too.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The spans of the `default` project as Phoenix returns them (`GET /v1/projects/default/spans`): each
    /// with `name`, `context.trace_id`, `context.span_id`, `parent_id` and `attributes`.
    pub fn spans(&self) -> Vec<serde_json::Value> {
        let Some((200, body)) = crate::http_get(self.port, "/v1/projects/default/spans?limit=1000") else {
            return Vec::new();
        };
        let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        body["data"].as_array().cloned().unwrap_or_default()
    }
}
