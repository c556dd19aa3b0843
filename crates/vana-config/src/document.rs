//! The two configuration documents, where they live, and their embedded defaults.

use std::fmt;
use std::path::Path;

/// The shipped `config/security/security_policies.yaml`, compiled in.
pub const EMBEDDED_SECURITY_YAML: &str = include_str!("../defaults/security_policies.yaml");

/// The shipped `config/monitoring/monitoring.yaml`, compiled in.
pub const EMBEDDED_MONITORING_YAML: &str = include_str!("../defaults/monitoring.yaml");

/// One of the two configuration documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Document {
    /// `security/security_policies.yaml`: input validation, rate limits, IP blocking, CSRF, headers.
    Security,
    /// `monitoring/monitoring.yaml`: performance monitoring, thresholds, alerting, logging.
    Monitoring,
}

impl Document {
    /// Both documents, in load order.
    pub const ALL: [Document; 2] = [Document::Security, Document::Monitoring];

    /// The file's name: `security_policies.yaml` or `monitoring.yaml`.
    pub fn file_name(self) -> &'static str {
        match self {
            Document::Security => "security_policies.yaml",
            Document::Monitoring => "monitoring.yaml",
        }
    }

    /// Where the file sits inside a configuration directory.
    pub fn path_in_dir(self) -> &'static str {
        match self {
            Document::Security => "security/security_policies.yaml",
            Document::Monitoring => "monitoring/monitoring.yaml",
        }
    }

    /// The document's part of environment variable names: `VANA_<THIS>__SECTION__KEY`.
    pub fn env_name(self) -> &'static str {
        match self {
            Document::Security => "SECURITY",
            Document::Monitoring => "MONITORING",
        }
    }

    /// The shipped file's text.
    pub fn embedded_yaml(self) -> &'static str {
        match self {
            Document::Security => EMBEDDED_SECURITY_YAML,
            Document::Monitoring => EMBEDDED_MONITORING_YAML,
        }
    }

    /// The top-level sections of the document.
    pub fn sections(self) -> &'static [&'static str] {
        match self {
            Document::Security => &[
                "input_validation",
                "rate_limiting",
                "ip_blocking",
                "csrf_protection",
                "headers",
                "client_address",
                "security_events",
                "http",
                "backend",
            ],
            Document::Monitoring => {
                &["performance_monitoring", "thresholds", "alerting", "logging", "health", "traces"]
            }
        }
    }

    /// Which document a file is, from its name (`security_policies.yaml`, `monitoring.yaml`, or a name
    /// containing `security` or `monitoring`).
    pub fn from_file_name(path: &Path) -> Option<Document> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        if name.contains("security") {
            Some(Document::Security)
        } else if name.contains("monitoring") {
            Some(Document::Monitoring)
        } else {
            None
        }
    }
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Document::Security => "security",
            Document::Monitoring => "monitoring",
        })
    }
}
