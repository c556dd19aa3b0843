//! Caps on what a configuration may ask for: each keeps a hostile or mistaken file from costing unbounded
//! memory or time, or from overflowing a duration.

/// Largest configuration file the loader reads, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Deepest nesting of mappings and sequences in a document.
pub const MAX_NESTING_DEPTH: usize = 32;
/// Most nodes a document may expand to once its aliases are followed ("billion laughs" guard).
pub const MAX_EXPANDED_NODES: u64 = 100_000;
/// Most problems reported for one document; a file with more is reported up to here.
pub const MAX_PROBLEMS_PER_DOCUMENT: usize = 100;

/// Largest `input_validation.max_input_length`, in bytes.
pub const MAX_INPUT_LENGTH: u64 = 64 * 1024 * 1024;
/// Most entries in `input_validation.forbidden_patterns`.
pub const MAX_FORBIDDEN_PATTERNS: usize = 256;
/// Largest compiled size of one forbidden pattern (the `regex` crate's size limit), in bytes.
pub const MAX_PATTERN_COMPILED_BYTES: usize = 1024 * 1024;
/// Longest window or age in seconds (`window_seconds`, `token_max_age`, `collection_interval`): 30 days.
pub const MAX_SECONDS: u64 = 30 * 24 * 3600;
/// Longest `ip_blocking.block_duration_hours`: ten years.
pub const MAX_BLOCK_HOURS: u64 = 10 * 365 * 24;
/// Longest `performance_monitoring.retention_minutes`: 30 days.
pub const MAX_RETENTION_MINUTES: u64 = 30 * 24 * 60;
/// Most entries in `ip_blocking.whitelist`.
pub const MAX_WHITELIST_ENTRIES: usize = 10_000;
/// Most entries in `headers.security_headers`.
pub const MAX_SECURITY_HEADERS: usize = 64;
/// Most thresholds in `thresholds`.
pub const MAX_THRESHOLDS: usize = 256;
/// Most alerting channels.
pub const MAX_CHANNELS: usize = 32;
/// Most recipients of one email channel.
pub const MAX_RECIPIENTS: usize = 100;
/// Most entries in `logging.components`.
pub const MAX_LOG_COMPONENTS: usize = 256;
/// Longest name (metric glob, component name) accepted, in bytes.
pub const MAX_NAME_LENGTH: usize = 200;
/// Largest `logging.buffer_lines`.
pub const MAX_LOG_BUFFER_LINES: u64 = 10_000_000;
/// Largest `logging.max_message_bytes` and `logging.max_field_bytes`.
pub const MAX_LOG_VALUE_BYTES: u64 = 1024 * 1024;
/// Most entries in `logging.redact_keys`.
pub const MAX_REDACT_KEYS: usize = 256;
/// Largest `logging.file.max_files`.
pub const MAX_LOG_FILES: u64 = 10_000;
/// Largest in-memory table (tracked clients, blocked addresses, kept events).
pub const MAX_TABLE_ENTRIES: u64 = 100_000_000;
/// Most response-time histogram buckets.
pub const MAX_HISTOGRAM_BUCKETS: usize = 64;
/// Largest `http.max_body_bytes`.
pub const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
/// Most entries of each list of the `http` section (headers, paths, route templates).
pub const MAX_HTTP_LIST: usize = 1000;

/// Highest `input_validation.level` (the paranoia levels are 1 to 3).
pub const MAX_VALIDATION_LEVEL: u64 = 3;

/// Highest `input_validation.anomaly_threshold`: past it no combination of built-in rules could refuse.
pub(crate) const MAX_ANOMALY_THRESHOLD: u64 = 100;

/// Most refusals `ip_blocking.auto_block_after` may wait for.
pub(crate) const MAX_AUTO_BLOCK_AFTER: u64 = 1000;

/// Most connections `http.max_connections` may allow.
pub(crate) const MAX_CONNECTIONS: u64 = 1_000_000;
