//! One run of a program from the leader's side: the lock it holds and the
//! reports it writes when it ends, also when a signal ends it.

use super::report::{ActionRun, ReportFormat, RunReport};
use crate::attempt::SplitRun;
use crate::attempt::now_us;
use crate::diag::diag;
use crate::error::{Error, ErrorKind, Result};
use crate::lock::{LockWait, RunLock};
use crate::report::Report;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What a run did, for its report.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    pub(crate) report: Report,
    pub(crate) actions: Vec<ActionRun>,
    pub(crate) splits: Vec<SplitRun>,
    pub(crate) threads: usize,
    pub(crate) processes: usize,
    pub(crate) quarantined: u64,
}

/// A run in progress.
#[derive(Debug)]
pub(crate) struct Session {
    _lock: Option<RunLock>,
}

/// The reports to write and what the finished actions did, kept where the
/// signal thread can reach them: a run ended by `SIGINT` or `SIGTERM`
/// writes its report too (outcome `interrupted`).
#[derive(Debug)]
struct Active {
    start_us: u64,
    reports: Vec<(PathBuf, ReportFormat)>,
    facts: Facts,
}

static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);

/// Checks a `--report` path: its name says the format, its folder exists.
///
/// # Errors
/// A message for the usage error.
pub(crate) fn check_report(path: &Path) -> std::result::Result<ReportFormat, String> {
    let format = ReportFormat::of(path)?;
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(format!("{}: the report's folder does not exist (it is not created)", path.display()));
    }
    Ok(format)
}

impl Session {
    /// Starts a run of `threads` threads in `processes` processes: checks
    /// the report paths and takes `lock` if given.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a bad report path; [`ErrorKind::Locked`]
    /// when another run holds the lock.
    pub(crate) fn begin(
        reports: &[PathBuf],
        lock: Option<&PathBuf>,
        wait: LockWait,
        threads: usize,
        processes: usize,
    ) -> Result<Session> {
        let start_us = now_us();
        let mut checked = Vec::with_capacity(reports.len());
        for path in reports {
            let format = check_report(path).map_err(|e| Error::new(ErrorKind::Config, e))?;
            checked.push((path.clone(), format));
        }
        let lock = lock.map(|path| RunLock::acquire(path, wait)).transpose()?;
        if !checked.is_empty() {
            let facts = Facts { threads, processes, ..Facts::default() };
            *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Active { start_us, reports: checked, facts });
            crate::signals::on_interrupt(interrupted);
        }
        Ok(Session { _lock: lock })
    }

    /// Ends the run with exit status `status` (`outcome` in words, `error`
    /// when it failed): writes the reports from `facts`. A report that
    /// cannot be written is said on stderr; it does not change the status.
    pub(crate) fn finish(self, facts: Option<Facts>, status: u8, outcome: &str, error: Option<String>) {
        // Held while writing: a stop signal now waits for this report, and
        // one that came first has written its own (while holding it).
        let mut slot = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
        match slot.take() {
            Some(mut active) => {
                if let Some(facts) = facts {
                    active.facts = facts;
                }
                write(&active, status, outcome, error);
            }
            // The signal thread wrote the interrupted run's report and is
            // ending the process: returning now could cut that short.
            None if crate::signals::interrupted().is_some() => loop {
                std::thread::park();
            },
            None => {}
        }
    }
}

/// Adds a finished action to what an interrupted run's report says.
pub(crate) fn note_action(action: &ActionRun, splits: &[SplitRun], report: &Report) {
    if let Some(active) = ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        active.facts.actions.push(action.clone());
        active.facts.splits.extend_from_slice(splits);
        let mut counts = report.clone();
        counts.splits.clear();
        counts.rejects.quarantine.clear();
        crate::merge::Merge::merge(&mut active.facts.report, counts);
    }
}

/// The signal thread's last words: the report of what finished.
fn interrupted(signal: i32) {
    // Written while the lock is held, so `finish` cannot race it.
    let mut slot = ACTIVE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(active) = slot.take() {
        let name = if signal == 2 { "SIGINT" } else { "SIGTERM" };
        write(&active, (128 + signal) as u8, "interrupted", Some(format!("interrupted by {name}")));
    }
}

fn write(active: &Active, status: u8, outcome: &str, error: Option<String>) {
    let f = &active.facts;
    let mut run = RunReport::new(
        active.start_us,
        now_us(),
        status,
        outcome,
        error,
        &f.report,
        f.actions.clone(),
        f.splits.clone(),
        f.threads,
        f.processes,
    );
    run.set_quarantined(f.quarantined);
    for (path, format) in &active.reports {
        let text = match format {
            ReportFormat::Json => run.json(),
            ReportFormat::Trace => run.trace(),
            ReportFormat::Html => super::html::page(&run, run.start_us, run.end_us),
        };
        if let Err(e) = crate::commit::write_file_whole(path, &[text.as_bytes()], 0o644, "cannot write the report") {
            diag!("shoal: {e}");
        }
    }
}
