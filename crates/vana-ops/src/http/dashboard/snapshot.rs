//! One update of the dashboard: what the monitor, the security manager and the health checks know now, as
//! the JSON the page draws. Everything comes from the data they already keep (the monitor's kept samples
//! over its window for rates, percentiles and charts; its all-time series counts for totals), and every
//! list is capped, so an update's size is bounded whatever the traffic.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde_json::{Value, json};
use vana_metrics::{HTTP_METHOD_TAG, HTTP_STATUS_TAG, Summary};
use vana_security::EventQuery;

use vana_config::metric_names;

use crate::http::views::{AlertView, BlockView};
use crate::ops::Ops;

/// The span of the charts and the route percentiles.
const WINDOW: Duration = Duration::from_secs(300);
/// The span of the request rates.
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// One point of a chart.
const BIN: Duration = Duration::from_secs(10);
/// Most routes listed (the busiest first), and most drawn on the latency chart.
const MAX_ROUTES: usize = 20;
const MAX_CHARTED_ROUTES: usize = 5;
/// Most alerts, events and blocks listed.
const MAX_ALERTS: usize = 20;
const MAX_EVENTS: usize = 25;
const MAX_BLOCKS: usize = 50;
/// Most distinct status codes listed.
const MAX_STATUSES: usize = 64;

/// Builds updates; remembers the previous CPU reading, so CPU use is the share since the last update.
pub(crate) struct Snapshots {
    ops: Ops,
    cpu: Mutex<Option<(f64, Instant)>>,
}

/// The all-time request counts of one route, from its series.
#[derive(Default)]
struct RouteTotals {
    requests: u64,
    server_errors: u64,
}

/// What the monitor's HTTP series say: requests and server errors by route, responses by status, refusals
/// by reason, findings by category and action.
#[derive(Default)]
struct Traffic {
    routes: BTreeMap<String, RouteTotals>,
    statuses: BTreeMap<String, u64>,
    refusals: BTreeMap<String, u64>,
    findings: Vec<Value>,
    /// Server-sent event streams by how they ended.
    streams: BTreeMap<String, u64>,
    /// AI answers without content, by route.
    answers_without_content: BTreeMap<String, u64>,
}

impl Traffic {
    fn of(monitor: &vana_metrics::PerformanceMonitor) -> Self {
        let mut traffic = Traffic::default();
        let Traffic { routes, statuses, refusals, findings, streams, answers_without_content } = &mut traffic;
        for series in monitor.snapshot() {
            let tag =
                |key: &str| series.tags.iter().find(|(name, _)| &**name == key).map(|(_, value)| &**value);
            if let Some(route) = series.name.strip_prefix(vana_config::metric_names::RESPONSE_TIME_PREFIX)
                && tag(HTTP_METHOD_TAG).is_some()
            {
                let status = tag(HTTP_STATUS_TAG).unwrap_or("");
                let totals = routes.entry(route.to_owned()).or_default();
                totals.requests += series.count;
                if status.starts_with('5') {
                    totals.server_errors += series.count;
                }
                if statuses.len() < MAX_STATUSES || statuses.contains_key(status) {
                    *statuses.entry(status.to_owned()).or_default() += series.count;
                }
            } else if &*series.name == crate::http::counters::REFUSALS {
                *refusals.entry(tag("reason").unwrap_or("").to_owned()).or_default() += series.sum as u64;
            } else if &*series.name == crate::http::counters::FINDINGS && series.sum > 0.0 {
                findings.push(json!({
                    "category": tag("category"), "action": tag("action"), "count": series.sum as u64,
                }));
            } else if &*series.name == crate::http::step::route_metrics::STREAMS {
                *streams.entry(tag("outcome").unwrap_or("").to_owned()).or_default() += series.sum as u64;
            } else if &*series.name == metric_names::GEN_AI_RESPONSES
                && tag("gen_ai.content") == Some("absent")
            {
                let route = tag("http_route").unwrap_or("").to_owned();
                *answers_without_content.entry(route).or_default() += series.sum as u64;
            }
        }
        traffic
    }

    fn json(&self) -> Value {
        let requests: u64 = self.routes.values().map(|totals| totals.requests).sum();
        let server_errors: u64 = self.routes.values().map(|totals| totals.server_errors).sum();
        json!({
            "requests": requests,
            "server_errors": server_errors,
            "error_ratio": if requests == 0 { 0.0 } else { server_errors as f64 / requests as f64 },
            "statuses": self.statuses,
            "refusals": self.refusals,
            "rate_limited": self.refusals.get("rate_limited").copied().unwrap_or(0),
            "refused": self.refusals.values().sum::<u64>(),
            "streams": self.streams,
        })
    }
}

fn health_json(health: &crate::Health) -> Value {
    json!({
        "status": health.status.as_str(),
        "firing_warning": health.firing_warning,
        "firing_critical": health.firing_critical,
        "collector_running": health.collector_running,
        "backend": health.backend.map(|backend| json!({
            "available": backend.available, "failures": backend.failures, "fallbacks": backend.fallbacks,
        })),
    })
}

fn readiness_json(ops: &Ops) -> Value {
    let readiness = ops.readiness();
    json!({
        "ready": readiness.ready,
        "checks": readiness.checks.iter().map(|check| json!({
            "name": check.name, "ready": check.ready, "detail": check.detail,
        })).collect::<Vec<_>>(),
    })
}

impl Snapshots {
    pub(crate) fn new(ops: &Ops) -> Self {
        Self { ops: ops.clone(), cpu: Mutex::new(None) }
    }

    /// The instance this dashboard shows.
    #[cfg(test)]
    pub(crate) fn ops(&self) -> &Ops {
        &self.ops
    }

    /// The update now, with the stream's own counts.
    pub(crate) fn build(&self, clients: usize, dropped_updates: u64) -> Value {
        let ops = &self.ops;
        let monitor = ops.monitor();
        let now = SystemTime::now();
        let traffic = Traffic::of(monitor);
        let (route_rows, charts) = self.routes(&traffic.routes, now);
        let health = ops.health();
        let alerts = monitor.active_alerts();
        let history = monitor.alert_history();
        let events = ops.security().events().query(&EventQuery {
            min_severity: None,
            event_type: None,
            since: None,
            limit: Some(MAX_EVENTS),
        });
        let blocks: Vec<BlockView> =
            ops.security().blocklist().blocked(MAX_BLOCKS).into_iter().map(BlockView::from).collect();
        json!({
            "at": now.duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64()),
            "uptime_seconds": ops.uptime().as_secs_f64(),
            "health": health_json(&health),
            "readiness": readiness_json(ops),
            "process": self.process(),
            "traffic": traffic.json(),
            "routes": route_rows,
            "charts": charts,
            "ai": self.ai_routes(&traffic.answers_without_content, now),
            "alerts": {
                "active": alerts.iter().take(MAX_ALERTS).map(AlertView::from).collect::<Vec<_>>(),
                "recent": history.iter().rev().take(MAX_ALERTS).map(AlertView::from).collect::<Vec<_>>(),
            },
            "events": events,
            "findings": traffic.findings,
            "blocks": blocks,
            "blocked_addresses": health.blocked_addresses,
            "logging": { "dropped_lines": health.dropped_log_lines },
            "dashboard": { "clients": clients, "dropped_updates": dropped_updates },
        })
    }

    /// The busiest routes with their rates and percentiles over the window, and the charts: requests per
    /// second of all routes and the p99 of the busiest, per ten-second bin.
    fn routes(&self, totals: &BTreeMap<String, RouteTotals>, now: SystemTime) -> (Vec<Value>, Value) {
        let monitor = self.ops.monitor();
        let mut busiest: Vec<(&String, &RouteTotals)> = totals.iter().collect();
        busiest.sort_by(|a, b| b.1.requests.cmp(&a.1.requests).then(a.0.cmp(b.0)));
        busiest.truncate(MAX_ROUTES);
        let since = now.checked_sub(WINDOW).unwrap_or(UNIX_EPOCH);
        let bins = (WINDOW.as_secs() / BIN.as_secs()) as usize;
        let bin_of = |timestamp: SystemTime| {
            let age = now.duration_since(timestamp).unwrap_or_default().as_secs() / BIN.as_secs();
            bins.checked_sub(1 + age as usize)
        };
        let mut rate_chart = vec![0u64; bins];
        let mut latency_chart = Vec::new();
        let mut rows = Vec::new();
        for (index, (route, totals)) in busiest.iter().enumerate() {
            let samples = monitor.get_metrics(&vana_config::metric_names::response_time(route), Some(since));
            let recent = samples
                .iter()
                .filter(|sample| now.duration_since(sample.timestamp).unwrap_or_default() <= RATE_WINDOW)
                .count();
            let mut values: Vec<f64> = samples.iter().map(|sample| sample.value).collect();
            let summary = Summary::of(&mut values);
            let mut per_bin: Vec<Vec<f64>> = vec![Vec::new(); bins];
            for sample in &samples {
                if let Some(bin) = bin_of(sample.timestamp) {
                    rate_chart[bin] += 1;
                    per_bin[bin].push(sample.value);
                }
            }
            if index < MAX_CHARTED_ROUTES {
                let p99: Vec<Option<f64>> = per_bin
                    .iter_mut()
                    .map(|values| (!values.is_empty()).then(|| Summary::of(values).p99))
                    .collect();
                latency_chart.push(json!({ "route": route, "p99": p99 }));
            }
            rows.push(json!({
                "route": route,
                "requests": totals.requests,
                "server_errors": totals.server_errors,
                "requests_per_second": recent as f64 / RATE_WINDOW.as_secs_f64(),
                "window_seconds": WINDOW.as_secs(),
                "window_count": summary.count,
                "p50": finite(summary.p50),
                "p95": finite(summary.p95),
                "p99": finite(summary.p99),
            }));
        }
        let per_second: Vec<f64> = rate_chart.iter().map(|count| *count as f64 / BIN.as_secs_f64()).collect();
        (
            rows,
            json!({ "bin_seconds": BIN.as_secs(), "requests_per_second": per_second, "p99": latency_chart }),
        )
    }

    /// The AI routes (those that reported a first token or tokens in the window): time to first token p50
    /// and p95 over the window, tokens a minute by type over the last minute, answers without content.
    fn ai_routes(&self, without_content: &BTreeMap<String, u64>, now: SystemTime) -> Vec<Value> {
        let monitor = self.ops.monitor();
        let since = now.checked_sub(WINDOW).unwrap_or(UNIX_EPOCH);
        let route_of = |tags: &vana_metrics::Tags| {
            tags.iter()
                .find(|(key, _)| &**key == "http_route")
                .map(|(_, value)| value.to_string())
                .unwrap_or_default()
        };
        let mut first_tokens: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for sample in monitor.get_metrics(metric_names::GEN_AI_TIME_TO_FIRST_TOKEN, Some(since)) {
            first_tokens.entry(route_of(&sample.tags)).or_default().push(sample.value);
        }
        let recent = now.checked_sub(RATE_WINDOW).unwrap_or(UNIX_EPOCH);
        let mut tokens: BTreeMap<String, [f64; 2]> = BTreeMap::new();
        for sample in monitor.get_metrics(metric_names::GEN_AI_TOKEN_USAGE, Some(recent)) {
            let output =
                sample.tags.iter().any(|(key, value)| &**key == "gen_ai.token.type" && &**value == "output");
            tokens.entry(route_of(&sample.tags)).or_default()[usize::from(output)] += sample.value;
        }
        let routes: std::collections::BTreeSet<&String> =
            first_tokens.keys().chain(tokens.keys()).chain(without_content.keys()).collect();
        routes
            .into_iter()
            .take(MAX_ROUTES)
            .map(|route| {
                let summary = first_tokens.get(route).map(|values| Summary::of(&mut values.clone()));
                let [input, output] = tokens.get(route).copied().unwrap_or_default();
                let per_minute = 60.0 / RATE_WINDOW.as_secs_f64();
                json!({
                    "route": route,
                    "ttft_p50": summary.as_ref().and_then(|summary| finite(summary.p50)),
                    "ttft_p95": summary.as_ref().and_then(|summary| finite(summary.p95)),
                    "answers": summary.as_ref().map_or(0, |summary| summary.count),
                    "input_tokens_per_minute": input * per_minute,
                    "output_tokens_per_minute": output * per_minute,
                    "without_content": without_content.get(route).copied().unwrap_or(0),
                })
            })
            .collect()
    }

    /// CPU (cores busy since the previous update) and memory of the process.
    fn process(&self) -> Value {
        let Some(stats) = self.ops.monitor().process_stats() else { return Value::Null };
        let now = Instant::now();
        let previous = self.cpu.lock().replace((stats.cpu_seconds, now));
        let cpu = previous.and_then(|(seconds, at)| {
            let wall = now.duration_since(at).as_secs_f64();
            (wall > 0.0).then(|| ((stats.cpu_seconds - seconds) / wall).max(0.0))
        });
        json!({
            "cpu_cores": cpu,
            "cpu_seconds": stats.cpu_seconds,
            "resident_bytes": stats.resident_bytes,
            "virtual_bytes": stats.virtual_bytes,
            "open_fds": stats.open_fds,
            "max_fds": stats.max_fds,
        })
    }
}

/// `NaN` (no samples) as `null`.
fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ai_routes_show_their_first_token_percentiles_tokens_and_answers_without_content() {
        let ops = crate::Ops::builder_from_embedded_defaults()
            .install_logging(false)
            .start_collector(false)
            .build()
            .unwrap();
        let monitor = ops.monitor();
        let route = [("http_route", "/run_sse")];
        for ttft in [0.1, 0.2, 0.3, 0.4] {
            monitor.record_metric(metric_names::GEN_AI_TIME_TO_FIRST_TOKEN, ttft, "seconds", &route);
        }
        let output = [("http_route", "/run_sse"), ("gen_ai.token.type", "output")];
        monitor.record_metric(metric_names::GEN_AI_TOKEN_USAGE, 30.0, "{token}", &output);
        let absent = [("http_route", "/run"), ("gen_ai.content", "absent")];
        monitor.record_metric(metric_names::GEN_AI_RESPONSES, 1.0, "count", &absent);
        monitor.record_metric(
            crate::http::step::route_metrics::STREAMS,
            1.0,
            "count",
            &[("outcome", "idle_timeout")],
        );
        let update = Snapshots::new(&ops).build(0, 0);
        let ai = update["ai"].as_array().unwrap();
        assert_eq!(ai.len(), 2, "{ai:?}");
        let (run, run_sse) = (&ai[0], &ai[1]);
        assert_eq!((run["route"].as_str(), run["without_content"].as_u64()), (Some("/run"), Some(1)));
        assert_eq!(run_sse["answers"], 4);
        assert!(run_sse["ttft_p50"].as_f64().is_some_and(|p50| (0.2..=0.3).contains(&p50)), "{run_sse}");
        assert_eq!(run_sse["output_tokens_per_minute"], 30.0);
        assert_eq!(update["traffic"]["streams"]["idle_timeout"], 1);
    }
}
