//! The embedded defaults, the shipped files and `Default` are one and the same.

use std::path::PathBuf;

use vana_config::{
    Config, ConfigLoader, Document, EMBEDDED_MONITORING_YAML, EMBEDDED_SECURITY_YAML, MonitoringConfig,
    Origin, SecurityPolicies, metric_names,
};

fn workspace_config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config")
}

#[test]
fn default_equals_the_embedded_files() {
    assert_eq!(SecurityPolicies::from_yaml_str(EMBEDDED_SECURITY_YAML).unwrap(), SecurityPolicies::default());
    assert_eq!(
        MonitoringConfig::from_yaml_str(EMBEDDED_MONITORING_YAML).unwrap(),
        MonitoringConfig::default()
    );
    Config::default().validate().unwrap();
}

#[test]
fn embedded_files_are_the_shipped_files() {
    let dir = workspace_config_dir();
    for document in Document::ALL {
        let shipped = std::fs::read_to_string(dir.join(document.path_in_dir())).unwrap();
        assert_eq!(shipped, document.embedded_yaml(), "{document}: embedded copy differs from config/");
    }
}

#[test]
fn loading_the_shipped_directory_reports_its_files() {
    let loaded = ConfigLoader::new().dir(workspace_config_dir()).load().unwrap();
    assert_eq!(loaded.config, Config::default());
    let origins: Vec<_> = loaded.sources.iter().map(|source| (source.document, &source.origin)).collect();
    assert!(
        matches!(origins[0], (Document::Security, Origin::File(path)) if path.ends_with("security/security_policies.yaml"))
    );
    assert!(
        matches!(origins[1], (Document::Monitoring, Origin::File(path)) if path.ends_with("monitoring/monitoring.yaml"))
    );
}

#[test]
fn the_specification_corrections_are_in_the_defaults() {
    let config = Config::default();
    assert_eq!(config.security.headers.security_headers["X-XSS-Protection"], "0");
    for (key, glob) in metric_names::DEFAULT_THRESHOLD_METRICS {
        let threshold = &config.monitoring.thresholds[key];
        assert_eq!(threshold.metric_glob(key), Some(glob), "{key}");
    }
}

#[test]
fn document_sections_match_the_schema() {
    let security = serde_yaml::to_value(SecurityPolicies::default()).unwrap();
    let monitoring = serde_yaml::to_value(MonitoringConfig::default()).unwrap();
    for (document, value) in [(Document::Security, security), (Document::Monitoring, monitoring)] {
        let keys: Vec<&str> = value.as_mapping().unwrap().keys().filter_map(|k| k.as_str()).collect();
        assert_eq!(keys, document.sections(), "{document}");
    }
}
