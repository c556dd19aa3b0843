//! A service instrumented with vana-ops: configuration, structured logs with a correlation id, APM timing,
//! input validation with a security event, rate limiting, and health.
//!
//! Run: `cargo run -p vana-ops --example instrumented_service` (uses `config/` when run from the
//! repository root, the embedded defaults otherwise).

#![allow(clippy::print_stdout)]

use std::time::Duration;

use vana_ops::logging::{CorrelationId, request_span};
use vana_ops::security::{SecurityEvent, Severity};
use vana_ops::{Ops, OpsError};

fn handle_request(ops: &Ops, client: std::net::IpAddr, input: &str) -> &'static str {
    let id = CorrelationId::new();
    let _request = request_span(&id, "POST", "/agents/run").entered();
    if !ops.security().rate_limiter().check(&client.to_string()).allowed {
        tracing::warn!(%client, "rate limited");
        return "429";
    }
    if let Some(rejection) = ops.security().validate_input(input).rejection() {
        ops.security().log_security_event(
            SecurityEvent::new("input_rejected", rejection.severity, Some(client))
                .detail("category", rejection.category.as_str())
                .detail("rule_id", rejection.rule_id),
        );
        tracing::warn!(category = rejection.category.as_str(), "input rejected");
        return "400";
    }
    ops.apm().trace("agents.run", || std::thread::sleep(Duration::from_millis(5)));
    tracing::info!("request handled");
    "200"
}

fn main() -> Result<(), OpsError> {
    let ops = if std::path::Path::new("config").is_dir() {
        Ops::from_config_dir("config")?
    } else {
        Ops::from_embedded_defaults()?
    };
    let client = "198.51.100.23".parse().expect("a valid address");
    for input in ["plan a trip to Lisbon", "' OR '1'='1' --", "summarise this article"] {
        println!("{input:?} -> {}", handle_request(&ops, client, input));
    }
    ops.security().log_security_event(SecurityEvent::new("probe", Severity::Low, Some(client)));
    let summary = ops.monitor().get_summary("response_time.agents.run", None);
    println!("agents.run: {} calls, p50 {:.3} s", summary.count, summary.p50);
    let health = ops.health();
    println!(
        "health: {} (uptime {:?}, {} blocked)",
        health.status.as_str(),
        health.uptime,
        health.blocked_addresses
    );
    ops.shutdown();
    Ok(())
}
