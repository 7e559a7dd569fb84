//! One run of a program from the leader's side: the lock it holds and the
//! reports it writes when it ends.

use crate::lock::{LockWait, RunLock};
use super::report::{ReportFormat, RunReport};
use super::timeline::now_us;
use crate::diag::diag;
use crate::error::{Error, ErrorKind, Result};
use crate::job::Job;
use std::path::PathBuf;

/// A run in progress.
#[derive(Debug)]
pub(crate) struct Session {
    start_us: u64,
    reports: Vec<(PathBuf, ReportFormat)>,
    _lock: Option<RunLock>,
}

impl Session {
    /// Starts a run: checks the report paths (their folders must exist) and
    /// takes `lock` if given.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a report path with no folder or a bad name;
    /// [`ErrorKind::Locked`] when another run holds the lock.
    pub(crate) fn begin(reports: &[PathBuf], lock: Option<&PathBuf>, wait: LockWait) -> Result<Session> {
        let start_us = now_us();
        let mut checked = Vec::with_capacity(reports.len());
        for path in reports {
            let format = ReportFormat::of(path).map_err(|e| Error::new(ErrorKind::Config, e))?;
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            if !parent.is_dir() {
                return Err(Error::new(ErrorKind::Config, "the report's folder does not exist (it is not created)")
                    .with_path(path));
            }
            checked.push((path.clone(), format));
        }
        let lock = lock.map(|path| RunLock::acquire(path, wait)).transpose()?;
        Ok(Session { start_us, reports: checked, _lock: lock })
    }

    /// Ends the run with exit status `status` (`outcome` in words, `error`
    /// when it failed): writes the reports. A report that cannot be written
    /// is said on stderr; it does not change the status.
    pub(crate) fn finish(self, job: Option<&Job>, status: u8, outcome: &str, error: Option<String>) {
        if self.reports.is_empty() {
            return;
        }
        let (report, (actions, splits), threads, processes) = match job {
            Some(job) => (job.report(), job.run_log(), job.config().threads(), job.config().process().processes),
            None => Default::default(),
        };
        let mut run = RunReport::new(
            self.start_us,
            now_us(),
            status,
            outcome,
            error,
            &report,
            actions,
            splits,
            threads,
            processes,
        );
        if let Some(job) = job {
            run.set_quarantined(job.quarantined().iter().map(|(_, n)| n).sum());
        }
        for (path, format) in &self.reports {
            if let Err(e) = run.write(path, *format) {
                diag!("shoal: {e}");
            }
        }
    }
}
