//! The system collector: this process's CPU and memory, and the system's total memory.
//!
//! Only the own process is refreshed (`ProcessesToUpdate::Some(&[pid])`, not a full process-table scan).
//! CPU usage is the delta since the previous sample, so sampling never sleeps on the caller's thread (the
//! specification's `cpu_percent(interval=1)` blocked for a second); the first sample, which has no previous
//! one, is the use since the process started (its CPU time over its age).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use sysinfo::{MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System};
use vana_config::metric_names;

use crate::monitor::PerformanceMonitor;

/// One reading of the process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    /// Resident memory, in MB (MiB).
    pub rss_mb: f64,
    /// Virtual memory size, in MB (MiB).
    pub vms_mb: f64,
    /// Resident memory in percent of the system's total memory.
    pub memory_percent: f64,
    /// CPU use in percent of one core since the previous sample, or since the process started for the
    /// first one; `None` where the process's start is unknown.
    pub cpu_percent: Option<f64>,
}

/// This process as the standard Prometheus process collector reports it (`process_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    /// User and system CPU time since the process started, in seconds.
    pub cpu_seconds: f64,
    /// Resident memory, in bytes.
    pub resident_bytes: f64,
    /// Virtual memory size, in bytes.
    pub virtual_bytes: f64,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: f64,
    /// Open file descriptors, where the platform tells.
    pub open_fds: Option<f64>,
    /// The limit of open file descriptors, where the platform tells.
    pub max_fds: Option<f64>,
}

/// Reads this process's CPU and memory.
pub struct ProcessSampler {
    system: System,
    pid: Pid,
    primed: bool,
}

impl std::fmt::Debug for ProcessSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessSampler").field("pid", &self.pid).finish_non_exhaustive()
    }
}

const MB: f64 = 1024.0 * 1024.0;

impl ProcessSampler {
    /// A sampler for the current process; `None` where the platform cannot tell its pid.
    pub fn new() -> Option<Self> {
        let pid = sysinfo::get_current_pid().ok()?;
        Some(Self { system: System::new(), pid, primed: false })
    }

    /// The process collector's reading now (a few file reads on Linux, and a listing of its descriptors).
    pub fn stats(&mut self) -> Option<ProcessStats> {
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.pid]),
            false,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        let process = self.system.process(self.pid)?;
        Some(ProcessStats {
            cpu_seconds: process.accumulated_cpu_time() as f64 / 1000.0,
            resident_bytes: process.memory() as f64,
            virtual_bytes: process.virtual_memory() as f64,
            start_time_seconds: process.start_time() as f64,
            open_fds: process.open_files().map(|count| count as f64),
            max_fds: process.open_files_limit().map(|count| count as f64),
        })
    }

    /// Reads the process now (a few file reads on Linux; never sleeps).
    pub fn sample(&mut self) -> Option<ProcessSample> {
        self.system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.pid]),
            false,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        let process = self.system.process(self.pid)?;
        let total = self.system.total_memory() as f64;
        let rss = process.memory() as f64;
        let cpu_percent = if std::mem::replace(&mut self.primed, true) {
            Some(f64::from(process.cpu_usage()))
        } else {
            since_start(process)
        };
        Some(ProcessSample {
            rss_mb: rss / MB,
            vms_mb: process.virtual_memory() as f64 / MB,
            memory_percent: if total > 0.0 { 100.0 * rss / total } else { 0.0 },
            cpu_percent,
        })
    }
}

/// A process's CPU use since it started, in percent of one core: its CPU time over its age.
fn since_start(process: &sysinfo::Process) -> Option<f64> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64();
    let age = now - process.start_time() as f64;
    let cpu_seconds = process.accumulated_cpu_time() as f64 / 1000.0;
    (age > 0.0).then(|| 100.0 * cpu_seconds / age)
}

/// Records a sample into `monitor` under `component`: `memory.<c>.rss`, `memory.<c>.vms`,
/// `memory.<c>.percent` and `cpu.<c>.usage`.
pub fn record_process_sample(monitor: &PerformanceMonitor, component: &str, sample: &ProcessSample) {
    monitor.record_metric(&metric_names::memory_rss(component), sample.rss_mb, "MB", &[]);
    monitor.record_metric(&metric_names::memory_vms(component), sample.vms_mb, "MB", &[]);
    monitor.record_metric(&metric_names::memory_percent(component), sample.memory_percent, "percent", &[]);
    if let Some(cpu) = sample.cpu_percent {
        monitor.record_metric(&metric_names::cpu_usage(component), cpu, "percent", &[]);
    }
}

/// A background thread sampling the process every interval into a monitor, as component `system`, and
/// resolving alerts whose series stopped ([`PerformanceMonitor::expire_alerts`]).
/// Dropping it (or [`stop`](Self::stop)) stops the thread promptly.
#[derive(Debug)]
pub struct SystemCollector {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SystemCollector {
    /// Starts sampling into `monitor` every `interval`; `None` where the process cannot be read.
    pub fn start(monitor: &PerformanceMonitor, interval: Duration) -> Option<Self> {
        let mut sampler = ProcessSampler::new()?;
        let monitor = monitor.clone();
        let (stop, stopped): (Sender<()>, Receiver<()>) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("vana-collector".into())
            .spawn(move || {
                loop {
                    if let Some(sample) = sampler.sample() {
                        record_process_sample(&monitor, "system", &sample);
                    }
                    monitor.expire_alerts();
                    match stopped.recv_timeout(interval) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        _ => break,
                    }
                }
            })
            .ok()?;
        Some(Self { stop: Some(stop), thread: Some(thread) })
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for SystemCollector {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// For [`PerformanceMonitor`]'s one-off calls.
pub(crate) type SharedSampler = Arc<parking_lot::Mutex<Option<ProcessSampler>>>;
