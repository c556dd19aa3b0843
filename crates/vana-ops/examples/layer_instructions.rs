//! Runs the layer benchmark's request `N` times in one configuration, for counting instructions: unlike
//! time, the count does not move with the machine's load. Count only the requests (start-up, such as the
//! clock's calibration, varies from run to run) with callgrind:
//!
//! ```text
//! cargo build --release -p vana-ops --example layer_instructions
//! VARIANT="full layer" N=10000 valgrind --tool=callgrind --toggle-collect='*serve_requests*' \
//!   --callgrind-out-file=/dev/null target/release/examples/layer_instructions 2>&1 | grep Collected
//! ```
//!
//! and divide by `N`. `VARIANT` is `bare router` or one of the benchmark's layer configurations (`full layer`,
//! `every step off`, `without access log`, ...).

#[path = "../benches/scenario/mod.rs"]
mod scenario;

use axum::Router;
use tower::ServiceExt;

// As in the `vana-ops` binary, whose requests this stands for.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), String> {
    let variant = std::env::var("VARIANT").unwrap_or_else(|_| "full layer".into());
    let requests: usize = std::env::var("N").ok().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let guard = scenario::install_logging();
    let app = if variant == "bare router" {
        scenario::bare()
    } else {
        let (_, yaml) = scenario::VARIANTS
            .iter()
            .find(|(name, _)| *name == variant)
            .ok_or_else(|| format!("unknown VARIANT `{variant}`"))?;
        scenario::layered(&scenario::ops(yaml, &guard.request_log()))
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(|error| error.to_string())?;
    // Warm, outside the measured function: the first requests fill caches and make per-route state.
    for _ in 0..100 {
        let Ok(_) = runtime.block_on(app.clone().oneshot(scenario::request()));
    }
    serve_requests(&runtime, &app, requests)
}

/// The measured part (callgrind's `--toggle-collect`).
#[inline(never)]
fn serve_requests(runtime: &tokio::runtime::Runtime, app: &Router, requests: usize) -> Result<(), String> {
    for _ in 0..requests {
        let Ok(response) = runtime.block_on(app.clone().oneshot(scenario::request()));
        if !response.status().is_success() {
            return Err(format!("unexpected status {}", response.status()));
        }
    }
    Ok(())
}
