//! An in-memory writer with a cap, for tests and benchmarks that look at the lines.

use std::io;
use std::sync::Arc;

use parking_lot::Mutex;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Default)]
struct Buffer {
    bytes: Vec<u8>,
    dropped_writes: u64,
}

/// Collects written lines in memory, up to a byte cap; writes past the cap are dropped and counted.
#[derive(Clone)]
pub struct MemoryWriter {
    buffer: Arc<Mutex<Buffer>>,
    cap: usize,
}

impl MemoryWriter {
    /// A writer keeping at most `cap` bytes.
    pub fn with_cap(cap: usize) -> Self {
        Self { buffer: Arc::default(), cap }
    }

    /// The text written so far.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().bytes).into_owned()
    }

    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.contents().lines().map(str::to_owned).collect()
    }

    /// How many writes were dropped because the cap was reached.
    pub fn dropped_writes(&self) -> u64 {
        self.buffer.lock().dropped_writes
    }

    /// Forgets what was written.
    pub fn clear(&self) {
        self.buffer.lock().bytes.clear();
    }
}

impl Default for MemoryWriter {
    /// A writer keeping at most 64 MiB.
    fn default() -> Self {
        Self::with_cap(64 * 1024 * 1024)
    }
}

impl io::Write for MemoryWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut buffer = self.buffer.lock();
        if buffer.bytes.len() + bytes.len() > self.cap {
            buffer.dropped_writes += 1;
        } else {
            buffer.bytes.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for MemoryWriter {
    type Writer = MemoryWriter;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_cap_holds() {
        let mut writer = MemoryWriter::with_cap(10);
        writer.write_all(b"12345\n").unwrap();
        writer.write_all(b"678901\n").unwrap();
        assert_eq!(writer.contents(), "12345\n");
        assert_eq!(writer.dropped_writes(), 1);
    }
}
