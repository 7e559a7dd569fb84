//! [`SplitRun`]: one attempt at one split, as the run report's task
//! timeline shows it (`run/`), and the clock and thread lane it is told in.
//!
//! Every executor runs a split through `plumbing::bridge::run_split`, which
//! stamps the attempt (process, thread, wall-clock start and end, bytes,
//! records) into the split's [`Report`](crate::report::Report); the entries
//! travel to the leader with the partial, like the counters. A worker lost
//! mid-split gets an entry from the leader's scheduler (`Outcome::Lost`).

use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The split's partial was merged.
    Ok,
    /// The split failed (a bad record, an error in a stage).
    Failed,
    /// The worker running it died or was killed; the split ran again.
    Lost,
}

/// One attempt at one split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitRun {
    /// The action's number in the program (0 for the first).
    pub action: u64,
    /// The split's index in its plan (input order).
    pub split: usize,
    /// The first file the split reads, when it reads files.
    pub file: Option<String>,
    /// Its byte (or item) range: first and one past the last.
    pub start_offset: u64,
    /// See `start_offset`.
    pub end_offset: u64,
    /// The process that ran it (its pid).
    pub process: u32,
    /// The thread of that process (0-based lane of its pool).
    pub thread: usize,
    /// Start, in microseconds since the Unix epoch.
    pub start_us: u64,
    /// End, in microseconds since the Unix epoch.
    pub end_us: u64,
    /// Bytes (or items) of input the split covers.
    pub bytes: u64,
    /// Records the split gave the action.
    pub records: u64,
    /// 1 for the first attempt, more after worker deaths.
    pub attempt: u32,
    /// How the attempt ended.
    pub outcome: Outcome,
}

thread_local! {
    /// The pool lane of this thread (0 outside a pool).
    static LANE: Cell<usize> = const { Cell::new(0) };
}

/// Names this thread's lane in its pool.
pub(crate) fn set_lane(lane: usize) {
    LANE.with(|l| l.set(lane));
}

/// This thread's lane in its pool.
pub(crate) fn lane() -> usize {
    LANE.with(Cell::get)
}

/// Now, in microseconds since the Unix epoch.
pub(crate) fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// An `Instant` of this process, in microseconds since the Unix epoch.
pub(crate) fn wall_us(at: Instant) -> u64 {
    let ago = Instant::now().saturating_duration_since(at);
    now_us().saturating_sub(ago.as_micros() as u64)
}

impl SplitRun {
    /// An attempt at `split` of action `action` starting now, on this
    /// process and thread.
    pub(crate) fn start(plan: &crate::plan::Plan, split: &crate::plan::Split, action: u64) -> SplitRun {
        let first = split.parts.first();
        let file = match plan.unit {
            crate::plan::Unit::Bytes => {
                first.and_then(|p| plan.files.get(p.file)).map(|f| f.path.display().to_string())
            }
            crate::plan::Unit::Items => None,
        };
        SplitRun {
            action,
            split: split.index,
            file,
            start_offset: first.map_or(0, |p| p.start),
            end_offset: split.parts.last().map_or(0, |p| p.end),
            process: std::process::id(),
            thread: lane(),
            start_us: now_us(),
            end_us: 0,
            bytes: split.parts.iter().map(|p| p.end - p.start).sum(),
            records: 0,
            attempt: 1,
            outcome: Outcome::Ok,
        }
    }

    /// Ends the attempt now, with `records` given to the action.
    pub(crate) fn end(mut self, records: u64, outcome: Outcome) -> SplitRun {
        self.end_us = now_us().max(self.start_us);
        self.records = records;
        self.outcome = outcome;
        self
    }
}
