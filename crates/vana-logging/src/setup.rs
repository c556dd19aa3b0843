//! Building the subscriber: outputs, the non-blocking writer, extra layers, and the guard that flushes.

use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;

use tracing::Dispatch;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, EitherWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{Layer, Registry};
use vana_config::{LogOutput, LogRotation, Logging};

use crate::batch::{BatchWorker, BatchWriter, DropCounter};
use crate::error::LoggingError;
use crate::layer::LogLayer;
use crate::levels::LevelHandle;
use crate::request_log::RequestLog;

/// A layer to install next to the log layer (an APM layer, an OpenTelemetry exporter, ...).
pub type ExtraLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Sets up logging from the `logging` section: the log layer with its levels, the output (stdout, stderr
/// or a rotated file) behind a bounded non-blocking writer, and any extra layers.
///
/// ```
/// use vana_logging::{LoggingBuilder, MemoryWriter};
///
/// let config = vana_config::Logging::default();
/// let memory = MemoryWriter::default();
/// let (dispatch, _guard) = LoggingBuilder::new(&config).writer(memory.clone()).build()?;
/// tracing::dispatcher::with_default(&dispatch, || tracing::info!(user = "ada", "signed in"));
/// let entry = vana_logging::LogEntry::parse(&memory.lines()[0]).unwrap();
/// assert_eq!(entry.message, "signed in");
/// assert_eq!(entry.metadata["user"], "ada");
/// # Ok::<(), vana_logging::LoggingError>(())
/// ```
pub struct LoggingBuilder {
    config: Logging,
    writer: Option<BoxMakeWriter>,
    extra_layers: Vec<ExtraLayer>,
}

/// Keeps logging running: flushes buffered lines when dropped, and gives access to the levels and the
/// count of dropped lines. Keep it alive for the life of the program.
pub struct LoggingGuard {
    worker: Option<BatchWorker>,
    request_log: RequestLog,
    levels: LevelHandle,
    dropped: Option<DropCounter>,
}

impl LoggingGuard {
    /// Changes levels at run time.
    pub fn levels(&self) -> &LevelHandle {
        &self.levels
    }

    /// Writes request lines straight to this logging's output, in its schema and levels (see
    /// [`RequestLog`]).
    pub fn request_log(&self) -> RequestLog {
        self.request_log.clone()
    }

    /// Lines dropped so far because the non-blocking buffer was full (0 with a custom writer).
    pub fn dropped_lines(&self) -> usize {
        self.dropped.as_ref().map_or(0, DropCounter::dropped_lines)
    }

    /// Flushes what is buffered and stops the writer thread (as dropping the guard does).
    pub fn shutdown(mut self) {
        if let Some(worker) = self.worker.take() {
            worker.shutdown();
        }
    }
}

impl std::fmt::Debug for LoggingGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggingGuard").field("dropped_lines", &self.dropped_lines()).finish_non_exhaustive()
    }
}

impl LoggingBuilder {
    /// Logging as `config` says.
    pub fn new(config: &Logging) -> Self {
        Self { config: config.clone(), writer: None, extra_layers: Vec::new() }
    }

    /// Writes to `writer` as is (synchronously) instead of the configured output: for tests, or an output
    /// of your own.
    pub fn writer<W>(mut self, writer: W) -> Self
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        self.writer = Some(BoxMakeWriter::new(writer));
        self
    }

    /// Installs `layer` next to the log layer.
    pub fn with_layer(mut self, layer: ExtraLayer) -> Self {
        self.extra_layers.push(layer);
        self
    }

    /// Builds the subscriber without installing it.
    pub fn build(self) -> Result<(Dispatch, LoggingGuard), LoggingError> {
        let (writer, worker, dropped) = match self.writer {
            Some(writer) => (SharedWriter::Custom(Arc::new(writer)), None, None),
            None => {
                let (writer, worker) = open_output(&self.config)?;
                let counter = writer.drop_counter();
                (SharedWriter::Batch(writer), Some(worker), Some(counter))
            }
        };
        let mut layer = LogLayer::new(&self.config, writer.clone());
        if let Some(counter) = &dropped {
            layer = layer.report_drops(counter.clone());
        }
        let (style, rules, drops) = layer.shared_parts();
        let request_log = RequestLog::direct(writer, style, rules, drops);
        let levels = layer.level_handle();
        let dispatch = if self.extra_layers.is_empty() {
            // Alone, the log layer's levels can decide for the whole subscriber: a span then costs no per-layer
            // filter bookkeeping on every enter and exit.
            let filter = crate::levels::GlobalFilter(layer.component_filter());
            Dispatch::new(Registry::default().with(filter).with(layer))
        } else {
            // Other layers see what they ask for, whatever the log levels: the filter is the log layer's own.
            Dispatch::new(Registry::default().with(self.extra_layers).with(layer.with_level_filter()))
        };
        Ok((dispatch, LoggingGuard { worker, request_log, levels, dropped }))
    }

    /// Builds the subscriber and installs it as the global default; with the `log` feature, records of the
    /// `log` crate are routed into it too.
    pub fn init(self) -> Result<LoggingGuard, LoggingError> {
        let (dispatch, guard) = self.build()?;
        tracing::dispatcher::set_global_default(dispatch).map_err(|_| LoggingError::AlreadyInitialized)?;
        #[cfg(feature = "log")]
        {
            // Another `log` logger may be installed already; tracing events still flow, so go on.
            let _ = tracing_log::LogTracer::init();
        }
        Ok(guard)
    }
}

/// Sets up logging from `config` and installs it globally: the one call a binary needs.
pub fn init(config: &Logging) -> Result<LoggingGuard, LoggingError> {
    LoggingBuilder::new(config).init()
}

/// The output, shared by the log layer and the [`RequestLog`]: the batch writer is called directly (no
/// boxed writer per line); a custom writer goes through its `MakeWriter`.
#[derive(Clone)]
pub(crate) enum SharedWriter {
    Batch(BatchWriter),
    Custom(Arc<BoxMakeWriter>),
}

impl SharedWriter {
    /// Writes one whole line.
    pub(crate) fn write_line(&self, line: &[u8]) {
        match self {
            SharedWriter::Batch(writer) => writer.append(line),
            // A line that cannot be written has nowhere to be reported.
            SharedWriter::Custom(make_writer) => {
                let _ = std::io::Write::write_all(&mut make_writer.make_writer(), line);
            }
        }
    }
}

impl<'a> MakeWriter<'a> for SharedWriter {
    type Writer = EitherWriter<&'a BatchWriter, <BoxMakeWriter as MakeWriter<'a>>::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        match self {
            SharedWriter::Batch(writer) => EitherWriter::A(writer),
            SharedWriter::Custom(make_writer) => EitherWriter::B(make_writer.make_writer()),
        }
    }

    fn make_writer_for(&'a self, metadata: &tracing::Metadata<'_>) -> Self::Writer {
        match self {
            SharedWriter::Batch(writer) => EitherWriter::A(writer),
            SharedWriter::Custom(make_writer) => EitherWriter::B(make_writer.make_writer_for(metadata)),
        }
    }
}

/// The writer thread's buffer in front of stdout or stderr.
const OUTPUT_BUFFER_BYTES: usize = 64 * 1024;

fn open_output(config: &Logging) -> Result<(BatchWriter, BatchWorker), LoggingError> {
    let max_lines = usize::try_from(config.buffer_lines).unwrap_or(usize::MAX);
    let output: Box<dyn std::io::Write + Send> = match config.output {
        // The writer thread writes whole batches; stdout's own line buffering would split them per line.
        LogOutput::Stdout => Box::new(BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, std::io::stdout())),
        LogOutput::Stderr => Box::new(BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, std::io::stderr())),
        LogOutput::File => {
            let directory = PathBuf::from(&config.file.directory);
            let rotation = match config.file.rotation {
                LogRotation::Minutely => Rotation::MINUTELY,
                LogRotation::Hourly => Rotation::HOURLY,
                LogRotation::Daily => Rotation::DAILY,
                LogRotation::Never => Rotation::NEVER,
            };
            std::fs::create_dir_all(&directory)
                .map_err(|source| LoggingError::Io { directory: directory.clone(), source })?;
            let appender = RollingFileAppender::builder()
                .rotation(rotation)
                .filename_prefix(&config.file.prefix)
                .max_log_files(usize::try_from(config.file.max_files).unwrap_or(usize::MAX))
                .build(&directory)
                .map_err(|error| LoggingError::Io {
                    directory,
                    source: std::io::Error::other(error.to_string()),
                })?;
            Box::new(appender)
        }
    };
    BatchWriter::spawn(output, max_lines).map_err(LoggingError::WriterThread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_lines_caps_the_writer() {
        let mut config = Logging::default();
        config.output = LogOutput::Stderr;
        config.buffer_lines = 7;
        let (writer, worker) = open_output(&config).unwrap();
        assert_eq!(writer.max_lines(), 7);
        worker.shutdown();
    }
}
