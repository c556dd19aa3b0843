//! `cargo xtask ci-under-load [--runs N]`: `ci` N times in a row while `stress-ng` keeps every core busy,
//! the check that the suite does not depend on timing (docs/testing.md).

use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::system_tools::{SystemTool, ensure};

const STRESS_NG: SystemTool =
    SystemTool { binary: "stress-ng", package: "stress-ng", used_by: "cargo xtask ci-under-load" };

/// A process killed when dropped.
struct Load(Child);

impl Drop for Load {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn run(runs: usize) -> Result<ExitCode> {
    ensure(&[STRESS_NG])?;
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    // One busy worker per core, for as long as the runs take.
    let _load = Load(
        Command::new("stress-ng")
            .args(["--cpu", &cores.to_string(), "--quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start stress-ng")?,
    );
    println!("ci-under-load: stress-ng --cpu {cores} runs beside {runs} runs of `cargo xtask ci`");
    let mut results = Vec::new();
    for run in 1..=runs {
        let started = Instant::now();
        let outcome = crate::ci::run();
        let minutes = started.elapsed().as_secs_f64() / 60.0;
        let passed = matches!(outcome, Ok(ExitCode::SUCCESS));
        println!(
            "ci-under-load: run {run} of {runs}: {} in {minutes:.1} min",
            if passed { "passed" } else { "FAILED" }
        );
        if let Err(error) = &outcome {
            println!("ci-under-load: {error:#}");
        }
        results.push(passed);
    }
    let passed = results.iter().filter(|passed| **passed).count();
    println!("ci-under-load: {passed} of {runs} runs passed under load");
    Ok(if passed == runs { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
