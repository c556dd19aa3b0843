//! `cargo xtask detection-report`: how much of each attack file input validation flags, and how much of
//! each benign file (false positives), for every source of the corpus: each directory whose name starts
//! with `attacks` is a source of attacks (`attacks/`, the one the rules were written against;
//! `attacks-fuzzdb/`, kept for validation), each whose name starts with `benign` holds ordinary input. The project's own corpus
//! (`crates/vana-security/corpus`: the attack families the shared corpus lacks) is read after it. The table
//! goes into docs/security.md.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use vana_security::{InputValidator, ScanSummary, scan};

/// A corpus file and whether its lines are attacks.
struct CorpusFile {
    path: PathBuf,
    /// The path as the tables show it: relative to its corpus.
    shown: String,
    source: String,
    attacks: bool,
}

pub(crate) fn run(corpus: &Path, show: bool, misses: Option<&Path>) -> Result<ExitCode> {
    let validator = InputValidator::new(&vana_config::Config::default().security.input_validation)?;
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/vana-security/corpus");
    let mut files = corpus_files(corpus)?;
    files.extend(corpus_files(&own)?);
    let mut misses_out = match misses {
        Some(path) => Some(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => None,
    };
    println!("| file | lines | flagged | % flagged |");
    println!("|---|---:|---:|---:|");
    let mut by_source: Vec<(String, bool, ScanSummary)> = Vec::new();
    for file in &files {
        let opened = std::fs::File::open(&file.path)
            .with_context(|| format!("cannot open {}", file.path.display()))?;
        let summary = scan(&validator, BufReader::new(opened), None)?;
        let shown = &file.shown;
        println!("| {shown} | {} | {} | {:.1} |", summary.lines, summary.flagged, summary.percent_flagged());
        match by_source.iter_mut().find(|(source, _, _)| *source == file.source) {
            Some((_, _, total)) => {
                total.lines += summary.lines;
                total.flagged += summary.flagged;
            }
            None => by_source.push((file.source.clone(), file.attacks, summary)),
        }
        if show || misses_out.is_some() {
            write_misses(
                &validator,
                file,
                shown,
                show,
                misses_out.as_mut().map(|out| out as &mut dyn Write),
            )?;
        }
    }
    println!();
    println!("| source | lines | flagged | % flagged |");
    println!("|---|---:|---:|---:|");
    for (source, attacks, total) in &by_source {
        let what = if *attacks { "attacks" } else { "benign" };
        println!(
            "| {source} ({what}) | {} | {} | {:.1} |",
            total.lines,
            total.flagged,
            total.percent_flagged()
        );
    }
    if let Some(mut out) = misses_out {
        out.flush()?;
    }
    println!();
    levels_table(&files)?;
    Ok(ExitCode::SUCCESS)
}

/// The frontier: each file (a family) and each source refused at each `input_validation.level` (the tables
/// above are the default level's), the held-out sources marked by their names.
fn levels_table(files: &[CorpusFile]) -> Result<()> {
    let mut validators = Vec::new();
    for level in 1..=vana_config::limits::MAX_VALIDATION_LEVEL {
        let mut config = vana_config::Config::default().security.input_validation;
        config.level = u8::try_from(level)?;
        validators.push(InputValidator::new(&config)?);
    }
    let header = |first: &str| {
        println!("| {first} | lines | refused at level 1 | level 2 | level 3 | level 1, break-outs only |");
        println!("|---|---:|---:|---:|---:|---:|");
    };
    header("file");
    let mut sources: Vec<LevelRow> = Vec::new();
    for file in files {
        let mut row =
            LevelRow { name: file.source.clone(), attacks: file.attacks, lines: 0, refused: Vec::new() };
        for validator in &validators {
            let opened = std::fs::File::open(&file.path)?;
            let summary = scan(validator, BufReader::new(opened), None)?;
            row.lines = summary.lines;
            row.refused.push(summary.flagged);
        }
        LevelRow { name: file.shown.clone(), ..row.clone() }.print();
        match sources.iter_mut().find(|source| source.name == file.source) {
            Some(source) => source.add(&row),
            None => sources.push(row),
        }
    }
    println!();
    header("source");
    sources.iter().for_each(LevelRow::print);
    Ok(())
}

/// One line of the level tables: how many lines of a file or a source each level refuses.
#[derive(Clone)]
struct LevelRow {
    name: String,
    attacks: bool,
    lines: u64,
    refused: Vec<u64>,
}

impl LevelRow {
    fn add(&mut self, other: &LevelRow) {
        self.lines += other.lines;
        self.refused.iter_mut().zip(&other.refused).for_each(|(count, more)| *count += more);
    }

    /// The last column, for attacks: level 1's refusals among the lines that carry a break-out, that is
    /// leaving out the lines only level 2 refuses (a statement or a command line sent whole, which level 1
    /// records as a finding by design).
    fn print(&self) {
        let what = if self.attacks { "attacks" } else { "benign" };
        let percent = |count: u64, of: u64| if of == 0 { 0.0 } else { 100.0 * count as f64 / of as f64 };
        let mut cells: Vec<String> =
            self.refused.iter().map(|&count| format!("{:.1} %", percent(count, self.lines))).collect();
        cells.push(match (self.attacks, self.refused.as_slice()) {
            (true, [level_1, level_2, ..]) => {
                let quoted_only = level_2.saturating_sub(*level_1);
                format!("{:.1} %", percent(*level_1, self.lines - quoted_only))
            }
            _ => String::new(),
        });
        println!("| {} ({what}) | {} | {} |", self.name, self.lines, cells.join(" | "));
    }
}

/// Every `.txt` file of every source directory of `corpus`, sorted.
fn corpus_files(corpus: &Path) -> Result<Vec<CorpusFile>> {
    let mut sources: Vec<PathBuf> = std::fs::read_dir(corpus)
        .with_context(|| format!("cannot read {}", corpus.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_dir())
        .collect();
    sources.sort();
    let mut files = Vec::new();
    for dir in sources {
        let source = dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let attacks = source.starts_with("attacks");
        if !attacks && !source.starts_with("benign") {
            continue;
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
            .collect();
        entries.sort();
        files.extend(entries.into_iter().map(|path| {
            let shown = path.strip_prefix(corpus).unwrap_or(&path).display().to_string();
            CorpusFile { path, shown, source: source.clone(), attacks }
        }));
    }
    if files.is_empty() {
        bail!("no .txt files under {}/attacks*/ or {}/benign*/", corpus.display(), corpus.display());
    }
    Ok(files)
}

/// The attack lines missed and the benign lines flagged, with their score and rules: to stderr with
/// `--show`, to `out` with `--misses FILE` (tab-separated: file, score, rules, line).
fn write_misses(
    validator: &InputValidator,
    file: &CorpusFile,
    shown: &str,
    show: bool,
    mut out: Option<&mut dyn Write>,
) -> Result<()> {
    let text = std::fs::read(&file.path)?;
    for line in text.split(|&b| b == b'\n') {
        // As `vana_security::scan` reads lines: without their CR.
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let verdict = validator.validate_bytes(line);
        if verdict.is_passed() != file.attacks {
            continue;
        }
        let (score, rules) =
            verdict.finding().map_or((0, Vec::new()), |finding| (finding.score, finding.rules.clone()));
        let line = String::from_utf8_lossy(line);
        if show {
            eprintln!("{shown} {score:>2} {rules:?} {line}");
        }
        if let Some(out) = out.as_deref_mut() {
            writeln!(out, "{shown}\t{score}\t{rules:?}\t{}", line.escape_debug())?;
        }
    }
    Ok(())
}
