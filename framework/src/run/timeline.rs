//! [`ActionLog`]: one action's summary for the run report, from its start
//! to its end (its split attempts, [`SplitRun`]s, come with its report).

use super::ActionRun;
use crate::attempt::{Outcome, SplitRun, now_us};

/// What an action's plan covers: files, splits, and bytes (or items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Planned {
    pub(crate) files: u64,
    pub(crate) splits: u64,
    pub(crate) bytes: u64,
}

/// One action while it runs: its summary, finished into the job's run log.
#[derive(Debug)]
pub(crate) struct ActionLog {
    run: ActionRun,
}

impl ActionLog {
    /// Action `number` (`action`, over the stages `pipeline`) starts with
    /// `plan`.
    pub(crate) fn start(number: u64, action: String, pipeline: String, plan: &crate::plan::Plan) -> ActionLog {
        let bytes = plan.splits.iter().flat_map(|s| &s.parts).map(|p| p.end - p.start).sum();
        let planned = Planned { files: plan.files.len() as u64, splits: plan.splits.len() as u64, bytes };
        ActionLog::start_planned(number, action, pipeline, planned)
    }

    /// Like [`start`](Self::start), with what a plan made elsewhere covers
    /// (the merge step of shards, which plans nothing itself).
    pub(crate) fn start_planned(number: u64, action: String, pipeline: String, planned: Planned) -> ActionLog {
        let Planned { files, splits, bytes } = planned;
        ActionLog {
            run: ActionRun {
                number,
                action,
                pipeline,
                files,
                splits,
                bytes,
                start_us: now_us(),
                ..ActionRun::default()
            },
        }
    }

    /// What the plan covers, in its unit (bytes or items).
    pub(crate) fn planned(&self) -> u64 {
        self.run.bytes
    }

    /// The action ended with `report` (its merged split reports): its
    /// summary, and the split attempts moved out of the report.
    pub(crate) fn end(mut self, report: &mut crate::report::Report) -> (ActionRun, Vec<SplitRun>) {
        let splits = std::mem::take(&mut report.splits);
        // What a rerun reused is the run report's business, not the
        // program's: a program printing its counters prints what a full run
        // prints.
        let reused = report.counters.remove("shoal.records_reused").unwrap_or(0);
        self.run.files_reused = report.counters.remove("shoal.files_reused").unwrap_or(0);
        self.run.records_out =
            splits.iter().filter(|s| s.outcome == Outcome::Ok).map(|s| s.records).sum::<u64>() + reused;
        self.run.rejected = report.rejects.count;
        self.run.end_us = now_us();
        (self.run, splits)
    }
}
