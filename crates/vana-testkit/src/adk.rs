//! The real ADK server (`google-adk` from PyPI) with the offline app of `adk/vana`, on a free loopback port.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{TempDir, free_port, wait_until};

/// Where the tests find the Python environment holding `google-adk`: `VANA_PYTHON_VENV`, else
/// `target/python-venv` of the workspace (what `cargo xtask python-env` and `cargo xtask ci` make).
pub fn python_venv() -> PathBuf {
    match std::env::var_os("VANA_PYTHON_VENV") {
        Some(venv) => PathBuf::from(venv),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/python-venv"),
    }
}

/// The Python of [`python_venv`], or a panic that says how to make it.
pub fn venv_program(name: &str) -> PathBuf {
    let program = python_venv().join("bin").join(name);
    assert!(
        program.is_file(),
        "{} is missing: the ADK tests need google-adk in a virtual environment; make it with \
         `cargo xtask python-env` (pip install into target/python-venv; `cargo xtask ci` does it), or point \
         VANA_PYTHON_VENV at one with `pip install google-adk==2.13.0 websockets`",
        program.display()
    );
    program
}

/// `adk api_server --with_ui` serving the offline app `vana`, killed on drop. Sessions and artifacts live in
/// memory; its output goes to a log file whose last lines a failing test can print.
#[derive(Debug)]
pub struct AdkServer {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl AdkServer {
    /// Starts it and waits (up to 60 s) until `GET /health` answers.
    pub fn start() -> AdkServer {
        Self::spawn(None)
    }

    /// Starts it under OpenTelemetry's instrumentation (`opentelemetry-instrument`: its FastAPI server
    /// spans take the caller's `traceparent`, ADK's own spans are their children), exporting its spans with
    /// OTLP/HTTP to `otlp_endpoint` (a base URL) as the service `adk`.
    pub fn start_traced(otlp_endpoint: &str) -> AdkServer {
        Self::spawn(Some(otlp_endpoint))
    }

    fn spawn(otlp_endpoint: Option<&str>) -> AdkServer {
        let dir = TempDir::new("adk");
        let log = dir.path().join("adk.log");
        let output =
            std::fs::File::create(&log).unwrap_or_else(|error| panic!("cannot create the log: {error}"));
        let errors = output.try_clone().unwrap_or_else(|error| panic!("cannot share the log: {error}"));
        let port = free_port();
        let apps = Path::new(env!("CARGO_MANIFEST_DIR")).join("adk");
        let mut command = match otlp_endpoint {
            None => Command::new(venv_program("adk")),
            Some(endpoint) => {
                let mut command = Command::new(venv_program("opentelemetry-instrument"));
                command.arg(venv_program("adk")).envs([
                    ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
                    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                    ("OTEL_SERVICE_NAME", "adk"),
                    ("OTEL_TRACES_EXPORTER", "otlp"),
                    ("OTEL_METRICS_EXPORTER", "none"),
                    ("OTEL_LOGS_EXPORTER", "none"),
                    ("OTEL_BSP_SCHEDULE_DELAY", "200"),
                ]);
                command
            }
        };
        let child = command
            .args(["api_server", "--with_ui", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--session_service_uri", "memory://", "--artifact_service_uri", "memory://"])
            .arg("--no-reload")
            .arg(&apps)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start adk: {error}"));
        let server = AdkServer { child, port, log, _dir: dir };
        let up = wait_until(Duration::from_secs(60), || {
            server.get("/health").is_some_and(|(status, _)| status == 200)
        });
        assert!(up, "the ADK server did not answer /health within 60 s:\n{}", server.log_tail());
        server
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last 40 lines of its output.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// A plain `GET` of `path` straight to the server: (status, body), or `None` when it does not answer.
    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        crate::http_get(self.port, path)
    }
}

impl Drop for AdkServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
