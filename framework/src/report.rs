//! What a job saw besides its results: named counters and rejected records.
//!
//! Each split collects its own [`Report`] in a thread-local context while it
//! runs ([`count`], [`OnMalformed::handle`]); the executor merges it into the job's report
//! with the split's partial result. So counts travel with results: a split
//! rerun after a worker died is counted once, like its records.
//!
//! Read the totals with [`crate::Job::report`].

use crate::error::{Error, ErrorKind, Result};
use crate::merge::Merge;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub use crate::rejected::{Rejected, SAMPLE_BYTES};

/// How many rejected records are kept as samples in a report.
pub const MAX_SAMPLES: usize = 5;
/// What to do with a record that cannot be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnMalformed {
    /// Stop the job with an error naming file, line, offset and the record.
    #[default]
    Fail,
    /// Count it, keep a few samples in the report, and go on.
    Skip,
    /// Like `Skip`, and write every rejected record to this JSON-lines file.
    ///
    /// The file's folder must exist; the file is locked against other runs,
    /// and replaced whole at the end of each action that uses it (empty
    /// when nothing was rejected). See [`OnMalformed::prepare`].
    Quarantine(PathBuf),
}

impl OnMalformed {
    /// Gets the policy ready before a source reads any record: under
    /// [`OnMalformed::Quarantine`], the leader (or the single process) checks
    /// the path, locks it against other runs and stages the file (see
    /// `framework/src/quarantine.rs`); otherwise, and in workers, nothing.
    /// Sources with a policy call this when they plan.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a quarantine path whose folder is missing
    /// or that is a folder; [`ErrorKind::Locked`] when another run holds it.
    pub fn prepare(&self, job: &crate::Job) -> Result<()> {
        match self {
            OnMalformed::Quarantine(path) => job.open_quarantine(path),
            OnMalformed::Fail | OnMalformed::Skip => Ok(()),
        }
    }

    /// Applies the policy to one rejected record.
    ///
    /// # Errors
    /// Under [`OnMalformed::Fail`], the record as an error.
    pub fn handle(&self, rejected: Rejected) -> Result<()> {
        match self {
            OnMalformed::Fail => Err(rejected.into_error()),
            OnMalformed::Skip => {
                with_current(|r| r.rejects.add(rejected, None));
                Ok(())
            }
            OnMalformed::Quarantine(path) => {
                with_current(|r| r.rejects.add(rejected, Some(path)));
                Ok(())
            }
        }
    }
}

/// How many malformed records an action may reject (skip or quarantine)
/// before the job fails: a ceiling on the `skip` and `quarantine` policies,
/// checked by the leader on each action's merged counts, so it holds over
/// all threads and processes.
///
/// The share is of the records read by the action's source (the sources
/// with a policy count them; see [`records_read`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MaxMalformed {
    /// More than 10% of the records read, once more than
    /// [`DEFAULT_MALFORMED_FLOOR`] were rejected: a wrong input (a binary
    /// file, another format) fails even when small, while a few bad lines in
    /// a sample pass.
    #[default]
    Default,
    /// More than this many records.
    Count(u64),
    /// More than this share of the records read, in parts per million (`1%` is 10,000).
    PerMillion(u32),
    /// No ceiling.
    Unlimited,
}

/// Rejected records the default ceiling always allows.
pub const DEFAULT_MALFORMED_FLOOR: u64 = 10;

impl MaxMalformed {
    /// Whether `rejected` of `read` records is over the ceiling.
    pub fn exceeded(&self, read: u64, rejected: u64) -> bool {
        // A source that does not count what it reads still read its rejects.
        let read = u128::from(read.max(rejected));
        let rejected_ppm = u128::from(rejected) * 1_000_000;
        match *self {
            MaxMalformed::Default => rejected > DEFAULT_MALFORMED_FLOOR && rejected_ppm > read * 100_000,
            MaxMalformed::Count(n) => rejected > n,
            MaxMalformed::PerMillion(ppm) => rejected_ppm > read * u128::from(ppm),
            MaxMalformed::Unlimited => false,
        }
    }

    /// Fails when an action's report is over the ceiling, saying how many of
    /// how many records were malformed and showing the first.
    ///
    /// # Errors
    /// [`ErrorKind::InvalidInput`] over the ceiling.
    pub fn check(&self, report: &Report) -> Result<()> {
        let (read, rejected) = (report.records_read.max(report.rejects.count), report.rejects.count);
        if !self.exceeded(read, rejected) {
            return Ok(());
        }
        let share = rejected as f64 * 100.0 / read as f64;
        let mut msg = format!(
            "too many malformed records: {rejected} of {read} records read ({share:.1}%) were rejected, \
             more than --max-malformed allows ({self}); the first:"
        );
        for sample in &report.rejects.samples {
            msg.push_str(&format!("\n  {sample}"));
        }
        Err(Error::new(ErrorKind::InvalidInput, msg))
    }
}

impl fmt::Display for MaxMalformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxMalformed::Default => write!(f, "default: 10%, once more than {DEFAULT_MALFORMED_FLOOR} are rejected"),
            MaxMalformed::Count(n) => write!(f, "{n}"),
            MaxMalformed::PerMillion(ppm) => write!(f, "{}%", f64::from(*ppm) / 10_000.0),
            MaxMalformed::Unlimited => write!(f, "none"),
        }
    }
}

/// Parses a count (`1000`), a share of the records read (`1%`, `0.5%`) or
/// `none` (for command-line flags).
impl FromStr for MaxMalformed {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}`: expected a count (1000), a share (1%) or none");
        if s == "none" {
            return Ok(MaxMalformed::Unlimited);
        }
        match s.strip_suffix('%') {
            Some(share) => {
                let pct: f64 = share.trim().parse().map_err(|_| bad())?;
                if !(0.0..=100.0).contains(&pct) {
                    return Err(format!("`{s}`: a share is between 0% and 100%"));
                }
                Ok(MaxMalformed::PerMillion((pct * 10_000.0).round() as u32))
            }
            None => s.parse().map(MaxMalformed::Count).map_err(|_| bad()),
        }
    }
}

/// Parses `fail`, `skip` or `quarantine=PATH` (for command-line flags);
/// a quarantine path whose folder is missing or not writable, or that is a
/// folder, is refused here, before the job starts.
impl FromStr for OnMalformed {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "fail" => Ok(OnMalformed::Fail),
            "skip" => Ok(OnMalformed::Skip),
            _ => match s.strip_prefix("quarantine=") {
                Some(path) if !path.is_empty() => {
                    let path = PathBuf::from(path);
                    crate::quarantine::check(&path).map_err(|e| e.to_string())?;
                    Ok(OnMalformed::Quarantine(path))
                }
                _ => Err(format!("`{s}`: expected fail, skip or quarantine=PATH")),
            },
        }
    }
}

/// Rejected records: how many, the first few, and those to quarantine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejects {
    /// How many records were rejected.
    pub count: u64,
    /// The first [`MAX_SAMPLES`] by file and offset.
    pub samples: Vec<Rejected>,
    /// Records to write to quarantine files, by file.
    pub quarantine: BTreeMap<PathBuf, Vec<Rejected>>,
}

impl Rejects {
    fn add(&mut self, rejected: Rejected, quarantine: Option<&PathBuf>) {
        self.count += 1;
        self.offer_sample(rejected.sample());
        if let Some(path) = quarantine {
            self.quarantine.entry(path.clone()).or_default().push(rejected);
        }
    }

    fn offer_sample(&mut self, sample: Rejected) {
        let pos = self.samples.partition_point(|s| s.key() < sample.key());
        if pos < MAX_SAMPLES {
            self.samples.insert(pos, sample);
            self.samples.truncate(MAX_SAMPLES);
        }
    }
}

impl Merge for Rejects {
    fn merge(&mut self, other: Self) {
        self.count += other.count;
        for s in other.samples {
            self.offer_sample(s);
        }
        Merge::merge(&mut self.quarantine, other.quarantine);
    }
}

/// Quarantine lists concatenate; they are sorted by file and offset when written.
impl Merge for Vec<Rejected> {
    fn merge(&mut self, mut other: Self) {
        self.append(&mut other);
    }
}

/// Counters and rejects of a split, a thread, or the whole job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Named counters, summed.
    pub counters: BTreeMap<String, u64>,
    /// Records that could not be read.
    pub rejects: Rejects,
    /// Records read (good and rejected) by sources with a malformed-record
    /// policy: what [`MaxMalformed`] shares are of.
    pub records_read: u64,
    /// The split attempts behind these counts, for the run report's
    /// timeline (moved out into the run's log after each action).
    #[serde(default)]
    pub splits: Vec<crate::attempt::SplitRun>,
}

impl Report {
    /// A counter's value (zero if never touched).
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// Whether nothing was counted or rejected.
    pub fn is_empty(&self) -> bool {
        self.counters.is_empty() && self.rejects.count == 0
    }
}

impl Merge for Report {
    fn merge(&mut self, other: Self) {
        Merge::merge(&mut self.counters, other.counters);
        self.rejects.merge(other.rejects);
        self.records_read += other.records_read;
        self.splits.extend(other.splits);
    }
}

thread_local! {
    /// The report of the split running on this thread, if any.
    static CURRENT: RefCell<Option<Report>> = const { RefCell::new(None) };
    /// What this thread reported outside any split (in the program's own
    /// code): per thread, so jobs running side by side in one process (tests,
    /// embedded uses) never take each other's counts. The program's thread
    /// is the one that runs its actions, which take it.
    static OUTSIDE: RefCell<Option<Report>> = const { RefCell::new(None) };
}

fn with_current(f: impl FnOnce(&mut Report)) {
    let mut f = Some(f);
    CURRENT.with(|cur| {
        if let Some(report) = cur.borrow_mut().as_mut() {
            (f.take().expect("called once"))(report);
        }
    });
    if let Some(f) = f {
        OUTSIDE.with(|out| f(out.borrow_mut().get_or_insert_with(Report::default)));
    }
}

/// Adds `n` to the named counter of the running split.
///
/// Cheap but not free (a thread-local map lookup): count rare events here,
/// and count records with actions.
pub fn count(name: &str, n: u64) {
    with_current(|r| match r.counters.get_mut(name) {
        Some(v) => *v += n,
        None => {
            r.counters.insert(name.to_owned(), n);
        }
    });
}

/// Adds `n` records read to the running split's report. Sources with a
/// malformed-record policy call this (once per split or part, not per
/// record) with every record they read, good or rejected.
pub fn records_read(n: u64) {
    with_current(|r| r.records_read += n);
}

/// Adds `n` to a named counter of `report` directly.
pub(crate) fn count_into(report: &mut Report, name: &str, n: u64) {
    *report.counters.entry(name.to_owned()).or_default() += n;
}

/// Starts collecting a split's report on this thread.
pub(crate) fn begin_split() {
    CURRENT.with(|cur| *cur.borrow_mut() = Some(Report::default()));
}

/// Stops collecting and returns the split's report.
pub(crate) fn end_split() -> Report {
    CURRENT.with(|cur| cur.borrow_mut().take()).unwrap_or_default()
}

/// Takes what was reported outside splits.
pub(crate) fn take_outside() -> Report {
    OUTSIDE.with(|out| out.borrow_mut().take()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_the_first_by_file_and_offset() {
        let mut a = Rejects::default();
        for off in [50, 10, 70, 30, 90, 20, 60] {
            a.add(Rejected::new("f", None, off, "bad", b"x"), None);
        }
        let offsets: Vec<u64> = a.samples.iter().map(|s| s.offset).collect();
        assert_eq!(offsets, [10, 20, 30, 50, 60]);
        let mut b = Rejects::default();
        b.add(Rejected::new("e", None, 999, "bad", b"y"), None);
        a.merge(b);
        assert_eq!(a.count, 8);
        assert_eq!(a.samples[0].path, PathBuf::from("e"));
    }

    #[test]
    fn ceilings_parse_and_apply() {
        assert_eq!("1%".parse::<MaxMalformed>(), Ok(MaxMalformed::PerMillion(10_000)));
        assert_eq!("0.5%".parse::<MaxMalformed>(), Ok(MaxMalformed::PerMillion(5_000)));
        assert_eq!("1000".parse::<MaxMalformed>(), Ok(MaxMalformed::Count(1000)));
        assert_eq!("none".parse::<MaxMalformed>(), Ok(MaxMalformed::Unlimited));
        assert!("101%".parse::<MaxMalformed>().is_err() && "x".parse::<MaxMalformed>().is_err());
        let default = MaxMalformed::Default;
        assert!(!default.exceeded(10, 10), "at most the floor always passes");
        assert!(default.exceeded(11, 11) && default.exceeded(82, 82), "a small file of garbage fails");
        assert!(default.exceeded(101, 101) && default.exceeded(1000, 101));
        assert!(!default.exceeded(150, 6), "a few bad lines in a sample pass");
        assert!(!default.exceeded(10_000, 1000) && default.exceeded(10_000, 1001));
        assert!(
            MaxMalformed::PerMillion(10_000).exceeded(100, 2) && !MaxMalformed::PerMillion(10_000).exceeded(100, 1)
        );
        assert!(MaxMalformed::Count(3).exceeded(0, 4) && !MaxMalformed::Count(3).exceeded(0, 3));
        assert!(!MaxMalformed::Unlimited.exceeded(1, 1));
    }

    #[test]
    fn over_the_ceiling_names_the_counts_and_the_first_records() {
        let mut report = Report { records_read: 200, ..Report::default() };
        for off in 0..150 {
            report.rejects.add(Rejected::new("bin.log", Some(off + 1), off * 10, "no host", b"\x01"), None);
        }
        let err = MaxMalformed::Default.check(&report).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("too many malformed records: 150 of 200 records read (75.0%)"), "{text}");
        assert!(text.contains("\n  bin.log:1 (byte 0): no host"), "{text}");
        assert!(MaxMalformed::Count(150).check(&report).is_ok());
    }

    #[test]
    fn policies_parse() {
        assert_eq!("skip".parse::<OnMalformed>(), Ok(OnMalformed::Skip));
        assert_eq!(
            "quarantine=/tmp/r.jsonl".parse::<OnMalformed>(),
            Ok(OnMalformed::Quarantine("/tmp/r.jsonl".into()))
        );
        assert!("drop".parse::<OnMalformed>().is_err());
        let missing = "quarantine=/no/such/folder/r.jsonl".parse::<OnMalformed>().unwrap_err();
        assert!(
            missing.contains("/no/such/folder: the folder of the quarantine file r.jsonl does not exist"),
            "{missing}"
        );
        assert!("quarantine=/tmp".parse::<OnMalformed>().unwrap_err().contains("is a folder"));
    }

    #[test]
    fn fail_gives_an_error_with_the_record() {
        let err = OnMalformed::Fail
            .handle(Rejected::new("d.csv", Some(4), 77, "3 fields, expected 7", b"a,b,c"))
            .unwrap_err();
        assert_eq!(err.to_string(), "d.csv: line 4 (byte 77): 3 fields, expected 7 (record starts: \"a,b,c\")");
    }
}
