//! `thresholds` in a document add to the default thresholds: raising one line keeps every other alert,
//! `null` removes a default on purpose.

use vana_config::{ConfigLoader, Document, MonitoringConfig};

fn monitoring(yaml: &str) -> MonitoringConfig {
    let loaded = ConfigLoader::new()
        .document_str(Document::Monitoring, "test", yaml)
        .load()
        .unwrap_or_else(|error| panic!("{error}"));
    loaded.config.monitoring
}

fn keys(config: &MonitoringConfig) -> Vec<&str> {
    config.thresholds.keys().map(String::as_str).collect()
}

#[test]
fn a_threshold_of_a_default_name_replaces_that_default_and_keeps_the_others() {
    let config = monitoring(
        "thresholds:\n  response_time:\n    metric: \"response_time.*\"\n    warning: 15\n    critical: 45\n",
    );
    assert_eq!(keys(&config), ["cpu_usage", "error_rate", "memory_usage", "response_time"]);
    assert_eq!(config.thresholds["response_time"].warning, 15.0);
    assert_eq!(config.thresholds["error_rate"], MonitoringConfig::default().thresholds["error_rate"]);
}

#[test]
fn a_new_threshold_is_added_and_null_removes_a_default() {
    let config = monitoring(
        "thresholds:\n  memory_usage: null\n  queue_depth:\n    metric: queue.depth\n    warning: 5\n    critical: 10\n",
    );
    assert_eq!(keys(&config), ["cpu_usage", "error_rate", "queue_depth", "response_time"]);
}

#[test]
fn an_override_reaches_a_default_threshold_the_file_does_not_name() {
    let loaded = ConfigLoader::new()
        .document_str(Document::Monitoring, "test", "logging:\n  level: INFO\n")
        .env_vars([("VANA_MONITORING__THRESHOLDS__CPU_USAGE__WARNING", "60")])
        .load()
        .unwrap_or_else(|error| panic!("{error}"));
    let thresholds = &loaded.config.monitoring.thresholds;
    assert_eq!((thresholds["cpu_usage"].warning, thresholds["cpu_usage"].critical), (60.0, 85.0));
    assert_eq!(thresholds.len(), 4);
}

#[test]
fn a_problem_in_a_written_threshold_is_still_located() {
    let error = ConfigLoader::new()
        .document_str(
            Document::Monitoring,
            "test",
            "thresholds:\n  cpu_usage:\n    warning: 95\n    critical: 90\n",
        )
        .load()
        .unwrap_err()
        .to_string();
    assert!(error.contains("test:3:") && error.contains("thresholds.cpu_usage.warning"), "{error}");
}
