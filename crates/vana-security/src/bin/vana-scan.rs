//! `vana-scan [FILE|-]`: validate one input per line, print one JSON verdict per line and a summary.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, BufReader, Write};

use anyhow::Context;
use vana_security::{InputValidator, scan};

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "-".into());
    let validator = InputValidator::new(&vana_config::Config::default().security.input_validation)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let summary = if path == "-" {
        scan(&validator, io::stdin().lock(), Some(&mut out))?
    } else {
        let file = std::fs::File::open(&path).with_context(|| format!("cannot open {path}"))?;
        scan(&validator, BufReader::new(file), Some(&mut out))?
    };
    out.flush()?;
    eprintln!("{} lines, {} flagged ({:.1} %)", summary.lines, summary.flagged, summary.percent_flagged());
    Ok(())
}
