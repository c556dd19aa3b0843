//! Scanning a file of inputs, one per line: one JSON verdict per line and a summary. Users audit logs
//! with it (`vana-scan`, `vana-ops scan`), and `cargo xtask detection-report` measures the rules with it.

use std::io::{self, BufRead, Read, Write};

use serde::Serialize;

use crate::validate::{InputValidator, Verdict};

/// Longest line read; a longer line is judged on its first bytes (and is then rejected as too long by any
/// limit below this).
const MAX_LINE_BYTES: usize = 1024 * 1024;

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanSummary {
    /// Lines read (empty lines included).
    pub lines: u64,
    /// Lines rejected.
    pub flagged: u64,
}

impl ScanSummary {
    /// Flagged lines in percent of all lines.
    pub fn percent_flagged(&self) -> f64 {
        if self.lines == 0 { 0.0 } else { 100.0 * self.flagged as f64 / self.lines as f64 }
    }
}

#[derive(Serialize)]
struct LineVerdict<'a> {
    line: u64,
    #[serde(flatten)]
    verdict: &'a Verdict,
}

/// Reads `input` line by line (any bytes), validates each line, writes one JSON verdict per line to
/// `output` when it is given, and returns the summary. The input text itself is never written.
pub fn scan(
    validator: &InputValidator,
    mut input: impl BufRead,
    mut output: Option<&mut dyn Write>,
) -> io::Result<ScanSummary> {
    let mut summary = ScanSummary::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = input.by_ref().take(MAX_LINE_BYTES as u64).read_until(b'\n', &mut line)?;
        if read == 0 {
            break;
        }
        if line.last() != Some(&b'\n') && read == MAX_LINE_BYTES {
            skip_rest_of_line(&mut input)?;
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        summary.lines += 1;
        let verdict = validator.validate_bytes(&line);
        if !verdict.is_passed() {
            summary.flagged += 1;
        }
        if let Some(out) = output.as_mut() {
            serde_json::to_writer(&mut **out, &LineVerdict { line: summary.lines, verdict: &verdict })?;
            out.write_all(b"\n")?;
        }
    }
    Ok(summary)
}

/// Consumes input up to and including the next newline, without keeping it.
fn skip_rest_of_line(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buffer = input.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => {
                input.consume(at + 1);
                return Ok(());
            }
            None => {
                let length = buffer.len();
                input.consume(length);
            }
        }
    }
}
