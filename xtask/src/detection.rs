//! `cargo xtask detection-report`: how much of each attack file input validation flags, and how much of
//! each benign file (false positives). The table goes into docs/security.md.

use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use vana_security::{InputValidator, scan};

pub(crate) fn run(corpus: &Path, show: bool) -> Result<ExitCode> {
    let validator = InputValidator::new(&vana_config::Config::default().security.input_validation)?;
    let mut files = Vec::new();
    for kind in ["attacks", "benign"] {
        let dir = corpus.join(kind);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
            .collect();
        entries.sort();
        files.extend(entries.into_iter().map(|path| (kind, path)));
    }
    if files.is_empty() {
        bail!("no .txt files under {}/attacks or {}/benign", corpus.display(), corpus.display());
    }
    println!("| file | lines | flagged | % flagged |");
    println!("|---|---:|---:|---:|");
    for (kind, path) in files {
        let file = std::fs::File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
        let summary = scan(&validator, BufReader::new(file), None)?;
        let shown = path.strip_prefix(corpus).unwrap_or(&path).display();
        println!("| {shown} | {} | {} | {:.1} |", summary.lines, summary.flagged, summary.percent_flagged());
        if show {
            let text = std::fs::read(&path)?;
            for line in text.split(|&b| b == b'\n') {
                let verdict = validator.validate_bytes(line);
                let flagged = !verdict.is_passed();
                if flagged == (kind == "benign") {
                    let (score, rules) = verdict
                        .finding()
                        .map_or((0, Vec::new()), |finding| (finding.score, finding.rules.clone()));
                    eprintln!("{shown} {score:>2} {rules:?} {}", String::from_utf8_lossy(line));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
