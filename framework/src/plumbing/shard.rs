//! Shard runs (`--shard I/N --shard-dir DIR`) and their merge step
//! (`--merge DIR`): the bridge's side of `run/shard.rs`, which owns the
//! shard's identity, its share of a plan and the shard file.
//!
//! One record's way: shard 1 of 3 plans the action as any run does (a
//! fixed split size, so every shard plans alike); the record's split is in
//! shard 1's share, so it runs there (on threads or worker processes, into
//! its split's partial); the share's partials fold in split order, their
//! input positions moved back to the plan's split indices, into the
//! shard's partial, which is kept for the shard file (and finished
//! locally, so the program goes on, printing and writing nothing). The
//! merge step, at the same action, reads no input: it folds shard 0's,
//! 1's and 2's partials in that order and finishes the action as a single
//! process would.
//!
//! # Invariants
//! * Merges happen in a canonical order: splits by plan position within a
//!   shard, shards by index. The result is a full run's, for ordered
//!   actions exactly, and float sums add in the same order in every merge.
//! * A shard keeps only its splits' reports (counters, rejected records
//!   with those to quarantine, split attempts renumbered to the plan's
//!   indices): what the program counts outside actions is counted again by
//!   the merge step's program, never twice.

use super::incremental::SplitPartials;
use super::{Absorb, Source};
use crate::error::{Error, ErrorKind, Result};
use crate::exec::process::protocol;
use crate::merge::Merge;
use crate::plan::{FileKind, Plan, Split};
use crate::report::Report;
use crate::run::shard::{ActionEntry, MergeRun, PlanDigest, ShardRun, Sharding, share};
use crate::run::timeline::{ActionLog, Planned};

/// The shard this job runs, if it is one.
pub(crate) fn shard_of(job: &crate::Job) -> Option<&ShardRun> {
    match job.sharding() {
        Some(Sharding::Shard(shard)) => Some(shard),
        _ => None,
    }
}

/// The merge this job runs, if it is one.
pub(crate) fn merge_of(job: &crate::Job) -> Option<&MergeRun> {
    match job.sharding() {
        Some(Sharding::Merge(merge)) => Some(merge),
        _ => None,
    }
}

/// Runs this shard's share of `action` over `plan` and keeps its partial
/// for the shard file. `run_splits` runs a sub-plan into one partial per
/// split (threads or worker processes), with the reports of splits that
/// gave none (left out under `--on-failed-split skip`). The split reports
/// join `report`.
///
/// # Errors
/// The action's errors; standard input among the inputs; a partial that
/// cannot be encoded.
pub(crate) fn run<S, A>(
    shard: &ShardRun,
    number: u64,
    source: &S,
    action: &A,
    plan: &Plan,
    report: &mut Report,
    run_splits: impl FnOnce(&Plan) -> Result<(SplitPartials<A::Partial>, Report)>,
) -> Result<A::Partial>
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    if let Some(file) = plan.files.iter().find(|f| f.kind == FileKind::Stdin || f.spool.is_some()) {
        return Err(Error::new(
            ErrorKind::Config,
            "standard input cannot be read in shard mode: each shard would read a different one; save it to a file",
        )
        .with_path(&file.path));
    }
    let digest = PlanDigest::of(plan)?;
    let id = shard.id();
    let range = share(plan.splits.iter().map(|s| s.cost), id);
    if source.job().config().explain() {
        crate::diag::print(format_args!(
            "  shard {} of {} (from {}): action {number}: splits {}..{} of {}\n",
            id.index,
            id.count,
            shard.origin(),
            range.start,
            range.end,
            plan.splits.len()
        ));
    }
    // The other shards' splits count as done for the progress shown.
    let others: u64 =
        plan.total() - plan.splits[range.clone()].iter().flat_map(|s| &s.parts).map(|p| p.end - p.start).sum::<u64>();
    crate::run::progress::split_done(others, 0);
    let splits = plan.splits[range.clone()]
        .iter()
        .enumerate()
        .map(|(index, split)| Split { index, parts: split.parts.clone(), cost: split.cost })
        .collect();
    let sub = Plan { splits, ..plan.clone() };
    let (mut results, left_out) =
        if sub.splits.is_empty() { (Vec::new(), Report::default()) } else { run_splits(&sub)? };
    results.sort_by_key(|(index, _, _)| *index);
    let mut merged = action.identity();
    let mut kept = Report::default();
    for (index, mut partial, split_report) in results {
        action.rebase(&mut partial, index as u64, (range.start + index) as u64);
        action.merge(&mut merged, partial);
        kept.merge(split_report);
    }
    kept.merge(left_out);
    for attempt in &mut kept.splits {
        attempt.split += range.start;
    }
    let partial = protocol::encode(&merged)
        .map_err(|e| Error::new(ErrorKind::Io, "cannot encode a shard's partial").with_source(e))?;
    shard.keep(ActionEntry {
        number,
        pipeline: protocol::pipeline_fingerprint::<S, A>(),
        plan: digest,
        first: range.start as u64,
        end: range.end as u64,
        partial,
        report: kept.clone(),
    });
    report.merge(kept);
    Ok(merged)
}

/// The merge step's run of `action`: no plan and no input, the shards'
/// partials of action `number` merged in shard order, their reports
/// merged into the action's, and the action finished.
///
/// # Errors
/// A shard that is missing, duplicated, corrupt or mismatched (see
/// `run/shard.rs`); a partial that does not decode; the action's own.
pub(crate) fn merge<S, A>(merging: &MergeRun, number: u64, source: &S, action: &A) -> Result<A::Output>
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    let job = source.job();
    let pipeline = protocol::pipeline_fingerprint::<S, A>();
    let entries = merging.take_action(number, pipeline, job.config().explain())?;
    let (name, stages) = super::source::names::<S, A>(source);
    let planned = entries.first().map_or(Planned { files: 0, splits: 0, bytes: 0 }, |(_, e)| Planned {
        files: e.plan.files,
        splits: e.plan.splits,
        bytes: e.plan.total,
    });
    if job.config().explain() {
        let shares: Vec<String> = entries.iter().map(|(_, e)| format!("{}..{}", e.first, e.end)).collect();
        crate::diag::print(format_args!(
            "  merge: action {number}: {name} over {stages}: {} files, {} splits, by shard {}\n",
            planned.files,
            planned.splits,
            shares.join(" ")
        ));
    }
    let log = ActionLog::start_planned(number, name, stages, planned);
    let mut report = crate::report::take_outside();
    let mut merged = action.identity();
    for (index, (path, entry)) in entries.into_iter().enumerate() {
        action.merge_encoded(&mut merged, &entry.partial).map_err(|e| {
            e.context(format!("shard {index}'s partial of action {number} does not decode")).with_path(&path)
        })?;
        report.merge(entry.report);
    }
    let (summary, splits) = log.end(&mut report);
    job.log_action(summary, splits, &report);
    job.absorb_report(report)?;
    action.finish(merged)
}
