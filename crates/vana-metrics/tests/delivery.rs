//! Alert delivery against real servers on loopback: an SMTP server (Debian's `python3-aiosmtpd`), a real
//! Alertmanager (Debian's `prometheus-alertmanager`) and a webhook receiver in the test.

#![cfg(all(feature = "email", feature = "webhook"))]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vana_config::{AlertLevel, Comparison, DeliverySettings, MonitoringConfig, WebhookFormat};
use vana_metrics::{
    AlertContext, AlertSink, AlertmanagerChannel, DeliveryChannel, EmailTransport, HttpClient,
    PerformanceMonitor, PrometheusOptions, SmtpSettings, ThresholdRule, WebhookTransport, render_prometheus,
};
use vana_testkit::{HttpReceiver, Process, TempDir, free_port, wait_for_port, wait_until};

fn context() -> AlertContext {
    AlertContext { instance: "test-host".into(), job: "vana-ops".into(), service: "vana-test".into() }
}

/// aiosmtpd with its Maildir handler: each message becomes a file in `<dir>/new`.
fn start_smtp(port: u16, maildir: &Path) -> Process {
    // A Maildir: the handler creates these only when the directory itself is new.
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let smtp = Process::spawn(
        Command::new("aiosmtpd")
            .args(["-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir),
        "python3-aiosmtpd",
    );
    assert!(wait_for_port(port, Duration::from_secs(20)), "aiosmtpd did not listen on {port}");
    smtp
}

fn messages(maildir: &Path) -> Vec<String> {
    let mut found: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(maildir.join("new"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|entry| {
                    let modified = entry.metadata().ok()?.modified().ok()?;
                    Some((modified, std::fs::read_to_string(entry.path()).ok()?))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.into_iter().map(|(_, text)| text).collect()
}

fn http_client() -> HttpClient {
    HttpClient::new(Duration::from_secs(5), None).unwrap()
}

fn settings(queue_capacity: u64) -> DeliverySettings {
    let mut settings = DeliverySettings::default();
    settings.queue_capacity = queue_capacity;
    settings.max_attempts = 200;
    settings.initial_backoff_ms = 50;
    settings.max_backoff_ms = 200;
    settings.timeout_seconds = 5;
    settings
}

fn smtp_settings(port: u16) -> SmtpSettings {
    let vars = move |name: &str| match name {
        "VANA_SMTP_HOST" => Some("127.0.0.1".to_owned()),
        "VANA_SMTP_PORT" => Some(port.to_string()),
        "VANA_SMTP_FROM" => Some("alerts@vana.test".to_owned()),
        _ => None,
    };
    SmtpSettings::from_vars(vars, &context()).unwrap().unwrap()
}

/// A monitor whose `queue.*` metrics warn at 10 and are critical at 20, delivering to `sink`; without a hold
/// time, so a clear value resolves at once (the hold is the monitor's own tests').
fn monitor_with(sink: Arc<dyn AlertSink>) -> PerformanceMonitor {
    let mut config = MonitoringConfig::default();
    config.alerting.keep_firing_seconds = 0;
    let monitor = PerformanceMonitor::with_sinks(&config, vec![sink]);
    monitor.add_threshold(ThresholdRule {
        name: Arc::from("queue_depth"),
        metric_glob: Arc::from("queue.*"),
        warning: 10.0,
        critical: 20.0,
        comparison: Comparison::Greater,
        for_duration: Duration::ZERO,
    });
    monitor
}

#[test]
fn email_reaches_the_recipients_with_what_fired_and_its_resolution() {
    let port = free_port();
    let maildir = TempDir::new("mail");
    let maildir = maildir.path();
    let _smtp = start_smtp(port, maildir);
    let recipients = vec!["oncall@vana.test".to_owned(), "lead@vana.test".to_owned()];
    let transport =
        EmailTransport::new(&smtp_settings(port), &recipients, context(), Duration::from_secs(5)).unwrap();
    let channel =
        Arc::new(DeliveryChannel::spawn("email", AlertLevel::Critical, settings(16), transport).unwrap());
    let monitor = monitor_with(channel.clone());
    channel.attach(&monitor);
    monitor.record_metric("queue.jobs", 12.0, "jobs", &[("region", "eu")]); // warning: not for this channel
    monitor.record_metric("queue.jobs", 25.0, "jobs", &[("region", "eu")]); // critical
    assert!(wait_until(Duration::from_secs(20), || !messages(maildir).is_empty()), "no email arrived");
    let first = &messages(maildir)[0];
    assert!(first.contains("X-RcptTo: oncall@vana.test, lead@vana.test"), "{first}");
    assert!(first.contains("Subject: [vana-ops] CRITICAL ESCALATED: queue.jobs on test-host"), "{first}");
    for needle in ["value:      25", "threshold:  greater 20", "host:       test-host", "region=eu", "since:"]
    {
        assert!(first.contains(needle), "missing {needle:?} in {first}");
    }
    monitor.record_metric("queue.jobs", 1.0, "jobs", &[("region", "eu")]);
    assert!(
        wait_until(Duration::from_secs(20), || messages(maildir).iter().any(|m| m.contains("RESOLVED"))),
        "no resolution email"
    );
    // The counters move after the server has the message: wait for them, then look at the export.
    assert!(wait_until(Duration::from_secs(20), || channel.stats().sent == 2), "{:?}", channel.stats());
    assert_eq!(channel.stats().failed, 0);
    let text = render_prometheus(&monitor, &PrometheusOptions::default());
    assert!(text.contains("vana_alerts_sent_total{channel=\"email\"} 2"), "{text}");
    monitor.shutdown();
    channel.shutdown(Instant::now() + Duration::from_secs(2));
}

#[test]
fn email_queues_through_an_outage_delivers_when_back_and_drops_past_its_queue() {
    let port = free_port();
    let maildir = TempDir::new("outage");
    let maildir = maildir.path();
    let smtp = start_smtp(port, maildir);
    drop(smtp); // the server goes down
    let transport = EmailTransport::new(
        &smtp_settings(port),
        &["oncall@vana.test".to_owned()],
        context(),
        Duration::from_secs(2),
    )
    .unwrap();
    let channel =
        Arc::new(DeliveryChannel::spawn("email", AlertLevel::Warning, settings(2), transport).unwrap());
    let monitor = monitor_with(channel.clone());
    channel.attach(&monitor);
    monitor.record_metric("queue.a", 25.0, "jobs", &[]);
    assert!(
        wait_until(Duration::from_secs(10), || channel.stats().retried >= 2),
        "no retries: {:?}",
        channel.stats()
    );
    // One in flight, two queued, the rest dropped and counted; memory does not grow.
    for name in ["queue.b", "queue.c", "queue.d", "queue.e"] {
        monitor.record_metric(name, 25.0, "jobs", &[]);
    }
    assert!(wait_until(Duration::from_secs(10), || channel.stats().dropped == 2), "{:?}", channel.stats());
    assert_eq!(channel.stats().queued, 2);
    assert!(messages(maildir).is_empty());
    let _smtp = start_smtp(port, maildir); // back
    assert!(
        wait_until(Duration::from_secs(30), || messages(maildir).len() == 3),
        "the queued alerts were not delivered after the outage: {:?}",
        channel.stats()
    );
    // The counters move after the server has the messages: wait for them.
    assert!(wait_until(Duration::from_secs(20), || channel.stats().sent == 3), "{:?}", channel.stats());
    let stats = channel.stats();
    assert_eq!((stats.sent, stats.failed, stats.dropped), (3, 0, 2), "{stats:?}");
    assert!(wait_until(Duration::from_secs(20), || monitor.total_recorded("alerts.dropped") == 2));
    monitor.shutdown();
    channel.shutdown(Instant::now() + Duration::from_secs(2));
}

#[test]
fn webhooks_post_alertmanager_v4_payloads_and_slack_text() {
    let receiver = HttpReceiver::start();
    let (url, received) = (receiver.url.clone(), &receiver.requests);
    let transport = WebhookTransport::new(url.clone(), WebhookFormat::Alertmanager, context(), http_client());
    let channel =
        Arc::new(DeliveryChannel::spawn("webhook", AlertLevel::Warning, settings(16), transport).unwrap());
    let monitor = monitor_with(channel.clone());
    monitor.record_metric("queue.jobs", 15.0, "jobs", &[("region", "eu")]);
    let (request_line, body) = received.recv_timeout(Duration::from_secs(10)).expect("a webhook post");
    assert!(request_line.starts_with("POST /hook "), "{request_line}");
    let payload: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["version"], "4");
    assert_eq!(payload["status"], "firing");
    assert_eq!(payload["receiver"], "vana-ops");
    let alert = &payload["alerts"][0];
    assert_eq!(alert["status"], "firing");
    for (label, value) in [
        ("alertname", "queue_depth"),
        ("severity", "warning"),
        ("instance", "test-host"),
        ("service", "vana-test"),
        ("metric", "vana_queue_jobs"),
        ("region", "eu"),
    ] {
        assert_eq!(alert["labels"][label], value, "{label}");
    }
    assert_eq!(alert["annotations"]["value"], "15");
    assert_eq!(alert["annotations"]["threshold"], "greater 10");
    assert!(alert["annotations"]["summary"].as_str().unwrap().contains("queue.jobs"));
    assert!(alert["startsAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(alert["fingerprint"].as_str().unwrap().len(), 16);
    assert_eq!(payload["commonLabels"]["alertname"], "queue_depth");
    monitor.record_metric("queue.jobs", 1.0, "jobs", &[("region", "eu")]);
    let (_, body) = received.recv_timeout(Duration::from_secs(10)).expect("the resolution");
    let payload: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["status"], "resolved");
    assert_ne!(payload["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    monitor.shutdown();
    channel.shutdown(Instant::now() + Duration::from_secs(2));

    let slack = WebhookTransport::new(url, WebhookFormat::Slack, context(), http_client());
    let channel =
        Arc::new(DeliveryChannel::spawn("slack", AlertLevel::Warning, settings(16), slack).unwrap());
    let monitor = monitor_with(channel.clone());
    monitor.record_metric("queue.jobs", 30.0, "jobs", &[]);
    let (_, body) = received.recv_timeout(Duration::from_secs(10)).expect("a slack post");
    let payload: serde_json::Value = serde_json::from_str(&body).unwrap();
    let text = payload["text"].as_str().unwrap();
    assert!(
        text.contains("queue_depth") && text.contains("queue.jobs") && text.contains("test-host"),
        "{text}"
    );
    assert_eq!(payload.as_object().unwrap().len(), 1);
    monitor.shutdown();
    channel.shutdown(Instant::now() + Duration::from_secs(2));
}

fn start_alertmanager(port: u16, dir: &Path) -> Process {
    let config = dir.join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: \"null\"\n  group_wait: 1s\nreceivers:\n  - name: \"null\"\n",
    )
    .unwrap();
    let alertmanager = Process::spawn(
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address="),
        "prometheus-alertmanager",
    );
    assert!(wait_for_port(port, Duration::from_secs(30)), "alertmanager did not listen on {port}");
    alertmanager
}

fn alertmanager_alerts(port: u16) -> Vec<serde_json::Value> {
    let response = ureq::get(&format!("http://127.0.0.1:{port}/api/v2/alerts")).call();
    let Ok(mut response) = response else { return Vec::new() };
    let text = response.body_mut().read_to_string().unwrap_or_default();
    serde_json::from_str::<Vec<serde_json::Value>>(&text).unwrap_or_default()
}

#[test]
fn a_real_alertmanager_sees_the_alert_with_its_labels_and_then_its_resolution() {
    let port = free_port();
    let dir = TempDir::new("alertmanager");
    let dir = dir.path();
    let _alertmanager = start_alertmanager(port, dir);
    let mut delivery = settings(16);
    delivery.resend_interval_seconds = 1;
    let (channel, monitor) = alertmanager_channel(port, delivery);
    monitor.record_metric("queue.jobs", 25.0, "jobs", &[("region", "eu")]);
    let found = |port| {
        alertmanager_alerts(port).into_iter().find(|alert| {
            alert["labels"]["alertname"] == "queue_depth" && alert["labels"]["severity"] == "critical"
        })
    };
    assert!(
        wait_until(Duration::from_secs(30), || found(port).is_some()),
        "the alert never reached Alertmanager"
    );
    let alert = found(port).unwrap();
    for (label, value) in [
        ("instance", "test-host"),
        ("service", "vana-test"),
        ("metric", "vana_queue_jobs"),
        ("job", "vana-ops"),
        ("region", "eu"),
    ] {
        assert_eq!(alert["labels"][label], value, "{label}: {alert}");
    }
    assert_eq!(alert["annotations"]["threshold"], "greater 20");
    assert_eq!(alert["status"]["state"], "active");
    // Re-sent every interval without a change: Alertmanager sees its end move forward while it stays active.
    let first_end = ends_at(&alert).expect("an endsAt");
    let refreshed = || {
        found(port).is_some_and(|alert| {
            alert["status"]["state"] == "active" && ends_at(&alert).is_some_and(|end| end > first_end)
        })
    };
    assert!(wait_until(Duration::from_secs(30), refreshed), "the alert was not re-sent");
    monitor.record_metric("queue.jobs", 1.0, "jobs", &[("region", "eu")]);
    let resolved = || {
        found(port).is_none_or(|alert| ends_at(&alert).is_some_and(|end| end <= std::time::SystemTime::now()))
    };
    assert!(wait_until(Duration::from_secs(30), resolved), "Alertmanager never saw the resolution");
    assert!(channel.stats().sent >= 2 && channel.stats().failed == 0, "{:?}", channel.stats());
    monitor.shutdown();
    channel.shutdown(Instant::now() + Duration::from_secs(2));
}

#[test]
fn alertmanager_follows_an_escalation_and_a_de_escalation() {
    let port = free_port();
    let dir = TempDir::new("alertmanager-levels");
    let _alertmanager = start_alertmanager(port, dir.path());
    let (channel, monitor) = alertmanager_channel(port, settings(16));
    // Which severities of the alert Alertmanager holds as active (its end still ahead).
    let active = || -> Vec<String> {
        let mut severities: Vec<String> = alertmanager_alerts(port)
            .into_iter()
            .filter(|alert| alert["labels"]["alertname"] == "queue_depth")
            .filter(|alert| ends_at(alert).is_some_and(|end| end > std::time::SystemTime::now()))
            .map(|alert| alert["labels"]["severity"].as_str().unwrap_or("").to_owned())
            .collect();
        severities.sort();
        severities
    };
    for (value, expected) in [(15.0, ["warning"]), (25.0, ["critical"]), (15.0, ["warning"])] {
        monitor.record_metric("queue.jobs", value, "jobs", &[]);
        assert!(
            wait_until(Duration::from_secs(30), || active() == expected),
            "after {value}: Alertmanager holds {:?}, not {expected:?}",
            active()
        );
    }
    monitor.shutdown();
    channel.shutdown(Instant::now() + Duration::from_secs(2));
}

/// A channel to the Alertmanager on `port`, attached to a monitor with the `queue_depth` threshold.
fn alertmanager_channel(
    port: u16,
    delivery: DeliverySettings,
) -> (Arc<AlertmanagerChannel>, PerformanceMonitor) {
    let urls = [format!("http://127.0.0.1:{port}")];
    let channel = AlertmanagerChannel::spawn(
        "alertmanager",
        AlertLevel::Warning,
        delivery,
        &urls,
        context(),
        http_client(),
    );
    let channel = Arc::new(channel.unwrap());
    let monitor = monitor_with(channel.clone());
    channel.attach(&monitor);
    (channel, monitor)
}

/// An Alertmanager alert's `endsAt`, to the second.
fn ends_at(alert: &serde_json::Value) -> Option<std::time::SystemTime> {
    let text = alert["endsAt"].as_str()?;
    humantime::parse_rfc3339_weak(text.trim_end_matches('Z').split('.').next()?).ok()
}

/// A critical `queue_depth` alert, for the transports tested directly.
fn critical_alert() -> vana_metrics::AlertEvent {
    vana_metrics::AlertEvent {
        transition: vana_metrics::AlertTransition::Firing,
        threshold: Arc::from("queue_depth"),
        metric: Arc::from("queue.jobs"),
        tags: Arc::from(Vec::new()),
        level: AlertLevel::Critical,
        value: 25.0,
        unit: "count".into(),
        threshold_value: 20.0,
        comparison: Comparison::Greater,
        since: std::time::SystemTime::now(),
        at: std::time::SystemTime::now(),
    }
}

/// A self-signed certificate for 127.0.0.1 (openssl): `cert.pem` and `key.pem` in `dir`.
fn self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|error| panic!("cannot run `openssl` ({error}): install Debian's `openssl` package"));
    assert!(status.success(), "openssl could not make a certificate");
    (cert, key)
}

/// An HTTPS receiver (Python's `http.server` with `ssl`) that writes each POST body to a file in `dir`.
fn https_receiver(dir: &Path) -> (Process, u16) {
    let (cert, key) = self_signed(dir);
    let port = free_port();
    let script = format!(
        r#"
import http.server, ssl, pathlib, itertools
counter = itertools.count()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        pathlib.Path(r'{dir}', f'body-{{next(counter)}}.json').write_bytes(body)
        self.send_response(200); self.send_header('Content-Length', '0'); self.end_headers()
    def log_message(self, *args): pass
server = http.server.HTTPServer(('127.0.0.1', {port}), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(r'{cert}', r'{key}')
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#,
        dir = dir.display(),
        cert = cert.display(),
        key = key.display(),
    );
    let process = Process::spawn(Command::new("python3").arg("-c").arg(script), "python3");
    assert!(wait_for_port(port, Duration::from_secs(20)), "the HTTPS receiver did not listen");
    (process, port)
}

#[test]
fn webhooks_reach_https_endpoints_trusting_a_private_ca_and_refuse_an_untrusted_one() {
    use vana_metrics::Transport;

    let dir = TempDir::new("https");
    let (_server, port) = https_receiver(dir.path());
    let url = format!("https://127.0.0.1:{port}/hook");
    let alert = critical_alert();
    let ca = std::fs::read(dir.path().join("cert.pem")).unwrap();
    let trusting = HttpClient::new(Duration::from_secs(5), Some(&ca)).unwrap();
    let mut transport = WebhookTransport::new(url.clone(), WebhookFormat::Alertmanager, context(), trusting);
    transport.send(&alert).unwrap();
    let body = std::fs::read_to_string(dir.path().join("body-0.json")).unwrap();
    assert!(body.contains("\"alertname\":\"queue_depth\""), "{body}");
    // With the public roots, the private certificate is refused, and the error says so without the URL.
    let mut public = WebhookTransport::new(url, WebhookFormat::Slack, context(), http_client());
    let error = public.send(&alert).unwrap_err().to_string();
    assert!(error.contains("TLS") && !error.contains("127.0.0.1"), "{error}");
    assert!(HttpClient::new(Duration::from_secs(1), Some(b"not a certificate")).is_err());
}

#[test]
fn email_goes_over_starttls_to_a_server_with_a_private_ca() {
    use vana_metrics::Transport;

    let dir = TempDir::new("smtps");
    let (cert, key) = self_signed(dir.path());
    let maildir = dir.path().join("mail");
    for sub in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let port = free_port();
    let _smtp = Process::spawn(
        Command::new("aiosmtpd")
            .args(["-n", "-l", &format!("127.0.0.1:{port}")])
            .arg("--tlscert")
            .arg(&cert)
            .arg("--tlskey")
            .arg(&key)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir),
        "python3-aiosmtpd",
    );
    assert!(wait_for_port(port, Duration::from_secs(20)), "aiosmtpd did not listen on {port}");
    let settings = |ca: bool| {
        let cert = cert.display().to_string();
        let vars = move |name: &str| match name {
            "VANA_SMTP_HOST" => Some("127.0.0.1".to_owned()),
            "VANA_SMTP_PORT" => Some(port.to_string()),
            "VANA_SMTP_TLS" => Some("starttls".to_owned()),
            "VANA_SMTP_CA_FILE" if ca => Some(cert.clone()),
            "VANA_SMTP_FROM" => Some("alerts@vana.test".to_owned()),
            _ => None,
        };
        SmtpSettings::from_vars(vars, &context()).unwrap().unwrap()
    };
    let alert = critical_alert();
    let recipients = ["oncall@vana.test".to_owned()];
    let mut trusting =
        EmailTransport::new(&settings(true), &recipients, context(), Duration::from_secs(5)).unwrap();
    trusting.send(&alert).unwrap();
    assert!(wait_until(Duration::from_secs(10), || messages(&maildir).len() == 1));
    assert!(messages(&maildir)[0].contains("CRITICAL FIRING"));
    // Without the CA, the upgrade fails: nothing is sent in the clear.
    let mut public =
        EmailTransport::new(&settings(false), &recipients, context(), Duration::from_secs(5)).unwrap();
    assert!(public.send(&alert).is_err());
    assert_eq!(messages(&maildir).len(), 1);
}
