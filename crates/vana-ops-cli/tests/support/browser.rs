//! Headless Chromium over WebDriver: Debian's `chromedriver` on a free loopback port, killed with its
//! browsers on drop, and a session with the options this machine's closed network needs.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};

/// A running `chromedriver`.
pub(crate) struct Driver {
    child: Child,
    url: String,
    /// Its verbose log, the browsers' consoles among it, when asked for.
    pub(crate) log: Option<PathBuf>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The driver's process group holds the browsers it started: a failed test leaves none behind.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.child.id())]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts it, writing its verbose log to `log` when given.
    pub(crate) fn start(log: Option<&Path>) -> Driver {
        let port = vana_testkit::free_port();
        let mut command = Command::new("chromedriver");
        command.arg(format!("--port={port}"));
        if let Some(log) = log {
            command.arg(format!("--log-path={}", log.display())).arg("--verbose");
        }
        let child = command
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is not installed: install the Debian packages `chromium` and `chromium-driver` (cargo xtask ci does, as root)");
        assert!(
            vana_testkit::wait_for_port(port, Duration::from_secs(30)),
            "chromedriver did not listen within 30 s"
        );
        Driver { child, url: format!("http://127.0.0.1:{port}"), log: log.map(Path::to_owned) }
    }

    /// A session in headless Chromium with a fresh `profile`, a window of `width` x `height`; the browser's
    /// console goes to the driver's log when it keeps one.
    pub(crate) async fn browser(&self, profile: &Path, (width, height): (u32, u32)) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                format!("--window-size={width},{height}"),
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ]}),
        );
        if self.log.is_some() {
            capabilities.insert("goog:loggingPrefs".into(), serde_json::json!({ "browser": "ALL" }));
        }
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("a WebDriver session with headless chromium")
    }
}
