//! Exit statuses of a Shoal program, and the summary of what a finished run
//! left out.
//!
//! | status | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the job failed |
//! | 2 | usage error (flags) |
//! | 3 | finished, but records were skipped or quarantined, or splits left out |
//! | 4 | another run holds a lock this run needs (`--lock`, a quarantine file) |
//! | 130, 143 | interrupted (`SIGINT`, `SIGTERM`) |

use crate::error::{BoxError, Error, ErrorKind};
use crate::job::Job;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

/// The exit statuses, for `--help` (`after_help` of [`crate::Flags`]).
pub(crate) const HELP: &str = "\
Exit status:
  0        success
  1        the job failed
  2        usage error
  3        finished, but records were skipped or quarantined, or splits left out
           (the last line of stderr says how many)
  4        another run holds a lock this run needs (--lock, a quarantine file)
  130/143  interrupted (SIGINT/SIGTERM)";

/// A Shoal program's exit status (the interrupted ones come from `signals`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Everything was read and nothing was left out.
    Success = 0,
    /// The job failed.
    Failed = 1,
    /// The flags were wrong.
    Usage = 2,
    /// Finished, with records or splits left out.
    Incomplete = 3,
    /// Another run holds a lock.
    Locked = 4,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// The status for an error: [`Status::Locked`] when a Shoal error of kind
/// [`ErrorKind::Locked`] is in its chain, else [`Status::Failed`].
pub(crate) fn status_of(err: &BoxError) -> Status {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&**err);
    while let Some(e) = cur {
        if e.downcast_ref::<Error>().is_some_and(|e| e.kind() == ErrorKind::Locked) {
            return Status::Locked;
        }
        cur = e.source();
    }
    Status::Failed
}

/// What a finished run left out: skipped records (some perhaps quarantined)
/// and splits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeftOut {
    /// Records rejected by a malformed-record policy (skipped or quarantined).
    pub(crate) records: u64,
    /// Quarantine files with the records written to each.
    pub(crate) quarantined: Vec<(PathBuf, u64)>,
    /// Splits left out under `--on-failed-split skip`.
    pub(crate) splits: u64,
}

/// The counter the process executor keeps for splits it left out.
const SPLITS_SKIPPED: &str = "shoal.splits_skipped";

impl LeftOut {
    /// What `job` left out, or `None` when nothing was.
    pub(crate) fn of(job: &Job) -> Option<LeftOut> {
        let report = job.report();
        let quarantined: Vec<(PathBuf, u64)> = job.quarantined().into_iter().filter(|(_, n)| *n > 0).collect();
        let left = LeftOut { records: report.rejects.count, quarantined, splits: report.counter(SPLITS_SKIPPED) };
        (left.records > 0 || left.splits > 0).then_some(left)
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `shoal: finished with 12 records skipped (3 quarantined to bad.jsonl) and 1 split left out`
impl fmt::Display for LeftOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shoal: finished with ")?;
        if self.records > 0 {
            write!(f, "{} skipped", plural(self.records, "record", "records"))?;
            for (i, (path, n)) in self.quarantined.iter().enumerate() {
                let (open, to) = if i == 0 { (" (", "quarantined to") } else { (", ", "to") };
                write!(f, "{open}{n} {to} {}", path.display())?;
            }
            if !self.quarantined.is_empty() {
                write!(f, ")")?;
            }
            if self.splits > 0 {
                write!(f, " and ")?;
            }
        }
        if self.splits > 0 {
            write!(f, "{} left out", plural(self.splits, "split", "splits"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_says_what_was_left_out() {
        let left = LeftOut { records: 12, quarantined: vec![("bad.jsonl".into(), 3)], splits: 1 };
        assert_eq!(
            left.to_string(),
            "shoal: finished with 12 records skipped (3 quarantined to bad.jsonl) and 1 split left out"
        );
        let left = LeftOut { records: 1, quarantined: vec![], splits: 0 };
        assert_eq!(left.to_string(), "shoal: finished with 1 record skipped");
        let left = LeftOut { records: 0, quarantined: vec![], splits: 2 };
        assert_eq!(left.to_string(), "shoal: finished with 2 splits left out");
        let left = LeftOut { records: 5, quarantined: vec![("a".into(), 2), ("b".into(), 3)], splits: 0 };
        assert_eq!(left.to_string(), "shoal: finished with 5 records skipped (2 quarantined to a, 3 to b)");
    }

    #[test]
    fn a_lock_error_anywhere_in_the_chain_is_status_4() {
        let locked: BoxError = Box::new(Error::new(ErrorKind::Locked, "held"));
        assert_eq!(status_of(&locked), Status::Locked);
        #[derive(Debug)]
        struct Wrapper(Error);
        impl fmt::Display for Wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "wrapped")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let wrapped: BoxError = Box::new(Wrapper(Error::new(ErrorKind::Locked, "held")));
        assert_eq!(status_of(&wrapped), Status::Locked);
        let other: BoxError = "plain".into();
        assert_eq!(status_of(&other), Status::Failed);
    }
}
