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

/// A writer that is slow: the non-blocking buffer fills and lines are dropped, never blocking the caller.
struct SlowFile(std::fs::File);

impl std::io::Write for SlowFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(Duration::from_millis(1));
        self.0.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[test]
fn an_overloaded_writer_drops_counts_and_reports() {
    let dir = temp_dir("drops");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("slow.log");
    let (writer, worker) =
        vana_logging::BatchWriter::spawn(Box::new(SlowFile(std::fs::File::create(&path).unwrap())), 16)
            .unwrap();
    let counter = writer.drop_counter();
    let layer = vana_logging::LogLayer::new(&Logging::default(), writer)
        .report_drops(counter.clone())
        .drop_report_interval(Duration::ZERO);
    use tracing_subscriber::layer::SubscriberExt;
    let subscriber = tracing_subscriber::Registry::default().with(layer.with_level_filter());
    tracing::subscriber::with_default(subscriber, || {
        for n in 0..2000 {
            tracing::info!(n, "flood");
        }
        // Once the writer has caught up, the next line brings a report that is not itself dropped.
        std::thread::sleep(Duration::from_millis(200));
        tracing::info!("after the flood");
    });
    drop(worker);
    let dropped = counter.dropped_lines();
    assert!(dropped > 0, "nothing dropped");
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
