//! The configured outputs: a rotated file, and the bounded non-blocking writer that counts what it drops.

use std::time::Duration;

use vana_config::{LogOutput, LogRotation, Logging};
use vana_logging::{LogEntry, LoggingBuilder};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vana-logging-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn file_config(dir: &std::path::Path) -> Logging {
    let mut config = Logging::default();
    config.output = LogOutput::File;
    config.file.directory = dir.display().to_string();
    config.file.prefix = "test.log".into();
    config.file.rotation = LogRotation::Never;
    config
}

#[test]
fn lines_reach_the_file_and_the_guard_flushes() {
    let dir = temp_dir("file");
    let (dispatch, guard) = LoggingBuilder::new(&file_config(&dir)).build().unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for n in 0..500 {
            tracing::info!(n, "line");
        }
    });
    guard.shutdown();
    let text = std::fs::read_to_string(dir.join("test.log")).unwrap();
    let entries: Vec<LogEntry> = text.lines().map(|line| LogEntry::parse(line).unwrap()).collect();
    assert_eq!(entries.len(), 500);
    assert_eq!(entries[499].metadata["n"], 499);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_log_directory_that_cannot_be_created_is_an_error() {
    let mut config = file_config(std::path::Path::new("/proc/vana-cannot-exist"));
    config.file.rotation = LogRotation::Daily;
    let Err(error) = LoggingBuilder::new(&config).build() else { panic!("must fail") };
    assert!(error.to_string().starts_with("cannot open log files in /proc/vana-cannot-exist"), "{error}");
}

/// A writer stuck until its gate opens: the non-blocking buffer fills and lines are dropped, never
/// blocking the caller.
struct GatedFile {
    file: std::fs::File,
    open: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

impl std::io::Write for GatedFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let (lock, opened) = &*self.open;
        let _open = opened.wait_while(lock.lock().unwrap(), |open| !*open).unwrap();
        self.file.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[test]
fn an_overloaded_writer_drops_counts_and_reports() {
    let dir = temp_dir("drops");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("slow.log");
    let gate = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let file = GatedFile { file: std::fs::File::create(&path).unwrap(), open: std::sync::Arc::clone(&gate) };
    let (writer, worker) = vana_logging::BatchWriter::spawn(Box::new(file), 16).unwrap();
    let counter = writer.drop_counter();
    let layer = vana_logging::LogLayer::new(&Logging::default(), writer)
        .report_drops(counter.clone())
        .drop_report_interval(Duration::ZERO);
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::Registry::default().with(layer.with_level_filter());
    // Settled: the file holds a line logged after the flood and a report of every line dropped so far.
    let settled = || {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        // The last line may be half written while the writer works: only whole lines count.
        let entries: Vec<LogEntry> = text.lines().filter_map(|line| LogEntry::parse(line).ok()).collect();
        let last_report = entries.iter().rev().find(|entry| entry.message.starts_with("log lines dropped"));
        entries.iter().any(|entry| entry.message == "after the flood")
            && last_report.and_then(|report| report.metadata["dropped_lines"].as_u64())
                == Some(counter.dropped_lines() as u64)
    };
    tracing::subscriber::with_default(subscriber, || {
        for n in 0..2000 {
            tracing::info!(n, "flood");
        }
        // The writer is stuck: at most the 16 buffered lines and one batch in its hands got through.
        assert!(counter.dropped_lines() >= 2000 - 32, "{} dropped", counter.dropped_lines());
        *gate.0.lock().unwrap() = true;
        gate.1.notify_all();
        // Each line logged once the writer has room is written, with a report of the drops since the last.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !settled() && std::time::Instant::now() < deadline {
            tracing::info!("after the flood");
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    drop(worker);
    let dropped = counter.dropped_lines();
    let text = std::fs::read_to_string(&path).unwrap();
    let entries: Vec<LogEntry> = text.lines().map(|line| LogEntry::parse(line).unwrap()).collect();
    let flood_written = entries.iter().filter(|entry| entry.message == "flood").count();
    assert!(
        flood_written < 2000 && flood_written + dropped >= 2000,
        "{flood_written} written, {dropped} dropped"
    );
    assert!(entries.iter().any(|entry| entry.message == "after the flood"));
    let report = entries
        .iter()
        .rev()
        .find(|entry| entry.message.starts_with("log lines dropped"))
        .expect("a drop report");
    assert_eq!(report.level, "WARNING");
    assert_eq!(report.component, "logging");
    assert_eq!(report.metadata["dropped_lines"].as_u64().unwrap() as usize, dropped);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The files of `dir` whose names start with `prefix`, sorted.
fn files_of(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(prefix))
        .collect();
    names.sort();
    names
}

#[test]
fn rotation_names_the_file_by_its_period() {
    // The date part of the name: `2026-12-04`, `2026-12-04-19`, `2026-12-04-19-05`.
    for (rotation, date_length) in
        [(LogRotation::Daily, 10), (LogRotation::Hourly, 13), (LogRotation::Minutely, 16)]
    {
        let dir = temp_dir(&format!("rotation-{rotation:?}"));
        let mut config = file_config(&dir);
        config.file.rotation = rotation;
        let (dispatch, guard) = LoggingBuilder::new(&config).build().unwrap();
        tracing::dispatcher::with_default(&dispatch, || tracing::info!("rotated"));
        guard.shutdown();
        let files = files_of(&dir, "test.log.");
        assert_eq!(files.len(), 1, "{rotation:?}: {files:?}");
        let date = &files[0]["test.log.".len()..];
        assert!(
            date.len() == date_length && date.bytes().all(|b| b.is_ascii_digit() || b == b'-'),
            "{rotation:?}: {date}"
        );
        assert!(std::fs::read_to_string(dir.join(&files[0])).unwrap().contains("rotated"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn max_files_prunes_the_oldest_rotated_files() {
    let dir = temp_dir("max-files");
    std::fs::create_dir_all(&dir).unwrap();
    for day in 1..=5 {
        std::fs::write(dir.join(format!("test.log.2020-01-0{day}")), "old\n").unwrap();
    }
    let mut config = file_config(&dir);
    config.file.rotation = LogRotation::Daily;
    config.file.max_files = 3;
    let (_dispatch, guard) = LoggingBuilder::new(&config).build().unwrap();
    guard.shutdown();
    // Which old files go is tracing-appender's choice (by creation time, which a fast test cannot tell
    // apart on every file system); how many stay is the configuration's.
    let files = files_of(&dir, "test.log.");
    assert_eq!(files.len(), 3, "two old files and today's: {files:?}");
    assert_eq!(files.iter().filter(|name| name.starts_with("test.log.2020-")).count(), 2, "{files:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
