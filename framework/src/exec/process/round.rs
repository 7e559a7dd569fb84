//! One action's round of splits on the leader: which splits are queued,
//! done, failing or cancelled. No sockets and no clock: the leader's I/O
//! code asks it what to send next and tells it what came back.

use crate::attempt::{Outcome, SplitRun};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::{FileKind, Plan};
use crate::report::Report;
use std::collections::VecDeque;

/// The state of one action's round of splits.
pub(crate) struct Round<'p> {
    pub(crate) action: u64,
    pub(crate) fingerprint: u64,
    pub(crate) plan: &'p Plan,
    pub(crate) plan_msg: Vec<u8>,
    queue: VecDeque<usize>,
    done: Vec<bool>,
    remaining: usize,
    /// Worker deaths each split caused.
    pub(crate) failures: Vec<u32>,
    /// Counters of splits left out (`--on-failed-split skip`).
    pub(crate) skipped: Report,
    /// The failed split of lowest index so far, with its error: the splits
    /// before it still run (one of them may fail first in input order),
    /// the ones after it are cancelled.
    failure: Option<(usize, Error)>,
}

impl<'p> Round<'p> {
    /// A round over every split of `plan`, biggest first (ties keep input
    /// order).
    pub(crate) fn new(action: u64, fingerprint: u64, plan: &'p Plan, plan_msg: Vec<u8>) -> Round<'p> {
        let mut order: Vec<usize> = (0..plan.splits.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(plan.splits[i].cost));
        let n = plan.splits.len();
        Round {
            action,
            fingerprint,
            plan,
            plan_msg,
            queue: order.into(),
            done: vec![false; n],
            remaining: n,
            failures: vec![0; n],
            skipped: Report::default(),
            failure: None,
        }
    }

    /// Whether nothing is left to wait for: every split is done, or a split
    /// failed and every split before it is done.
    pub(crate) fn is_over(&self) -> bool {
        match &self.failure {
            None => self.remaining == 0,
            Some((first, _)) => self.done.iter().take(*first).all(|&d| d),
        }
    }

    /// The next split to send, if any: queued, not done, not cancelled.
    pub(crate) fn next_split(&mut self) -> Option<usize> {
        while let Some(split) = self.queue.pop_front() {
            if !self.done[split] && !self.cancels(split) {
                return Some(split);
            }
        }
        None
    }

    /// How many splits wait in the queue (some may turn out done).
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Puts a split back at the front of the queue, to run again.
    /// Stamps a split's report with the attempt it answers (1 + the worker
    /// deaths the split caused so far).
    pub(crate) fn stamp(&self, split: usize, mut report: Report) -> Report {
        let attempt = self.failures.get(split).map_or(1, |f| f + 1);
        for run in &mut report.splits {
            run.attempt = attempt;
        }
        report
    }

    /// Records an attempt at `split`, sent at `sent` to the worker `pid`,
    /// that ended with the worker's loss.
    pub(crate) fn lost_attempt(&mut self, split: usize, pid: u32, sent: std::time::Instant) {
        let Some(s) = self.plan.splits.get(split) else { return };
        let mut run = SplitRun::start(self.plan, s, self.action);
        run.start_us = crate::attempt::wall_us(sent);
        run.process = pid;
        run.attempt = self.failures.get(split).map_or(1, |f| f + 1);
        self.skipped.splits.push(run.end(0, Outcome::Lost));
    }

    pub(crate) fn requeue(&mut self, split: usize) {
        self.queue.push_front(split);
    }

    /// Marks `split` done; `false` if it already was (a late duplicate) or
    /// is not in the plan.
    pub(crate) fn complete(&mut self, split: usize) -> bool {
        match self.done.get_mut(split) {
            Some(done) if !*done => {
                *done = true;
                self.remaining -= 1;
                true
            }
            _ => false,
        }
    }

    /// Whether `split` needs no more attempts: done, or cancelled.
    pub(crate) fn settled(&self, split: usize) -> bool {
        self.done.get(split).is_none_or(|&d| d) || self.cancels(split)
    }

    /// Records that `split` failed with `err`; the round's error is that of
    /// the lowest failing split index.
    pub(crate) fn fail(&mut self, split: usize, err: Error) {
        if self.failure.as_ref().is_none_or(|(first, _)| split < *first) {
            self.failure = Some((split, err));
        }
        self.complete(split);
    }

    /// Whether a split before `split` failed, so `split` need not run.
    pub(crate) fn cancels(&self, split: usize) -> bool {
        self.failure.as_ref().is_some_and(|(first, _)| split > *first)
    }

    /// The round's outcome once it is over: the report of skipped splits,
    /// or the error of the first failing split in input order.
    pub(crate) fn into_result(self) -> Result<Report, Error> {
        match self.failure {
            Some((_, err)) => Err(err),
            None => Ok(self.skipped),
        }
    }
}

/// A shrunken input explains a worker's crash better than any retry could:
/// an error if a file of `split` is now shorter than planned.
pub(crate) fn check_not_truncated(plan: &Plan, split: usize, how: &str) -> Result<()> {
    let Some(planned_split) = plan.splits.get(split) else { return Ok(()) };
    for part in &planned_split.parts {
        let Some(file) = plan.files.get(part.file) else { continue };
        if file.kind == FileKind::Regular
            && let (Some(planned), Ok(meta)) = (file.len, std::fs::metadata(file.read_path()))
            && meta.len() < planned
        {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "input was truncated while the job read it: {} bytes planned, {} now ({how})",
                    planned,
                    meta.len()
                ),
            )
            .with_path(&file.path)
            .with_split(plan.describe(planned_split)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn err(what: &str) -> Error {
        Error::new(ErrorKind::InvalidInput, what)
    }

    #[test]
    fn a_round_ends_when_every_split_is_done() {
        let plan = Plan::items(40, 10, 1);
        let mut round = Round::new(0, 0, &plan, Vec::new());
        let mut sent = Vec::new();
        while let Some(split) = round.next_split() {
            sent.push(split);
        }
        assert_eq!(sent, vec![0, 1, 2, 3]);
        for split in [2, 0, 3] {
            assert!(round.complete(split));
            assert!(!round.is_over());
        }
        assert!(!round.complete(2), "a late duplicate");
        assert!(round.complete(1));
        assert!(round.is_over());
        assert!(round.into_result().is_ok());
    }

    #[test]
    fn a_failure_waits_for_the_splits_before_it_and_cancels_the_rest() {
        let plan = Plan::items(50, 10, 1);
        let mut round = Round::new(0, 0, &plan, Vec::new());
        assert_eq!(round.next_split(), Some(0));
        round.fail(3, err("three"));
        assert!(round.cancels(4) && !round.cancels(2));
        assert_eq!(round.next_split(), Some(1));
        assert_eq!(round.next_split(), Some(2));
        assert_eq!(round.next_split(), None, "3 failed, 4 is cancelled");
        assert!(round.complete(0));
        assert!(!round.is_over(), "splits 1 and 2 may still fail first");
        round.fail(1, err("one"));
        assert!(round.is_over(), "split 0 done, split 1 failed: nothing before it is left");
        let e = round.into_result().unwrap_err();
        assert!(e.to_string().contains("one"), "{e}");
    }

    #[test]
    fn a_later_failure_does_not_replace_an_earlier_one() {
        let plan = Plan::items(30, 10, 1);
        let mut round = Round::new(0, 0, &plan, Vec::new());
        round.fail(1, err("one"));
        round.fail(2, err("two"));
        assert!(round.settled(2));
        assert!(round.complete(0));
        assert!(round.is_over());
        assert!(round.into_result().unwrap_err().to_string().contains("one"));
    }
}
