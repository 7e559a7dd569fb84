//! The bridge: runs one action of a source on the job's runtime.
//!
//! Every process of a job runs the same actions in the same order, so the
//! number [`run`] gives an action matches across processes. Locally the
//! splits go to the thread pool ([`crate::exec::threads`]); in a leader to
//! the workers ([`crate::exec::process`]), whose serialized partials merge
//! here ([`Action::merge_encoded`](super::Action::merge_encoded)); in a
//! worker the leader's splits run into one fresh partial each (spent ones
//! emptied by [`Action::reset`](super::Action::reset) and reused).
//! [`run_split`] is the one per-split step all three share. Incremental
//! runs (`incremental.rs`) and shard runs (`shard.rs`) run sub-plans
//! through the same executors; a merge step of shards runs none.

use super::incremental::{self, SplitPartials};
use super::shard;
use super::{Absorb, Source};
use crate::attempt::{Outcome, SplitRun};
use crate::error::{Error, ErrorKind, Result};
use crate::exec::process::leader::Leader;
use crate::exec::process::outputs::Published;
use crate::exec::process::protocol;
use crate::exec::process::worker::WorkerLink;
use crate::exec::runtime::Role;
use crate::exec::{threads, unwind};
use crate::merge::Merge;
use crate::plan::{Plan, Split};
use crate::report::{self, Report};
use crate::run::progress;
use crate::run::timeline::ActionLog;
use crate::signals;

/// Runs `action` over `source` in its job and returns the finished result.
pub(crate) fn run<S, A>(source: &S, action: &A) -> Result<A::Output>
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    let job = source.job();
    let number = job.next_action();
    if let Some(merging) = shard::merge_of(job) {
        return shard::merge(merging, number, source, action);
    }
    match job.runtime().role() {
        Role::Local => run_local(number, source, action),
        Role::Leader(leader) => run_leader(leader, number, source, action),
        Role::Worker(link) => run_worker(link, number, source, action),
    }
}

/// Plans the source, printing the plan, the stages and the action with
/// `--explain`.
fn planned<S: Source, A>(source: &S) -> Result<Plan> {
    let plan = source.plan()?;
    if source.job().config().explain() {
        let (action, pipeline) = super::source::names::<S, A>(source);
        crate::diag::print(format_args!("{plan}  pipeline: {pipeline}\n  action: {action}\n"));
    }
    Ok(plan)
}

/// Starts the run log's entry for action `number`, and its progress display.
fn log_start<S: Source, A>(number: u64, source: &S, plan: &Plan) -> (ActionLog, Option<progress::Display>) {
    let (action, pipeline) = super::source::names::<S, A>(source);
    let short = action.split('<').next().unwrap_or(&action).to_string();
    let log = ActionLog::start(number, action, pipeline, plan);
    let (total, bytes) = (log.planned(), plan.unit == crate::plan::Unit::Bytes);
    (log, progress::Display::start(source.job().config().progress(), number, &short, total, bytes))
}

/// One process: the work-stealing thread pool, one partial per thread.
fn run_local<S, A>(number: u64, source: &S, action: &A) -> Result<A::Output>
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    let job = source.job();
    let plan = planned::<S, A>(source)?;
    let (log, display) = log_start::<S, A>(number, source, &plan);
    let threads = job.config().threads();
    let mut report = report::take_outside();
    // The attempts of failed splits, for the run report of a failed run.
    let failed = std::sync::Mutex::new(Vec::new());
    let keep_failed = |split_report: &mut Report| {
        failed.lock().unwrap_or_else(|p| p.into_inner()).append(&mut split_report.splits);
    };
    // A sub-plan's splits, one partial each (incremental and shard runs).
    let split_partials = |sub: &Plan| -> Result<SplitPartials<A::Partial>> {
        let per_thread = threads::run_splits(threads, sub, Vec::new, |out, split| {
            let mut acc = action.identity();
            let (outcome, mut split_report) = run_split(number, source, sub, split, action, &mut acc);
            if outcome.is_err() {
                keep_failed(&mut split_report);
            }
            outcome?;
            out.push((split.index, acc, split_report));
            Ok(())
        })?;
        Ok(per_thread.into_iter().flatten().collect())
    };
    let merged = if incremental::applies(job, &plan, action) {
        incremental::run(number, source, action, &plan, &mut report, split_partials)
    } else if let Some(shard) = shard::shard_of(job) {
        shard::run(shard, number, source, action, &plan, &mut report, |sub| {
            Ok((split_partials(sub)?, Report::default()))
        })
    } else {
        threads::run_splits(
            threads,
            &plan,
            || (action.identity(), Report::default()),
            |(acc, report), split| {
                let (outcome, mut split_report) = run_split(number, source, &plan, split, action, acc);
                if outcome.is_err() {
                    keep_failed(&mut split_report);
                }
                report.merge(split_report);
                outcome
            },
        )
        .map(|partials| {
            let mut merged = action.identity();
            for (p, r) in partials {
                action.merge(&mut merged, p);
                report.merge(r);
            }
            merged
        })
    };
    let merged = match merged {
        Ok(merged) => merged,
        Err(err) => {
            let splits = failed.into_inner().unwrap_or_else(|p| p.into_inner());
            let mut failed = Report { splits, ..Report::default() };
            let (summary, splits) = log.end(&mut failed);
            job.log_action(summary, splits, &failed);
            drop(display);
            return Err(err);
        }
    };
    let (summary, splits) = log.end(&mut report);
    job.log_action(summary, splits, &report);
    drop(display);
    job.absorb_report(report)?;
    action.finish(merged)
}

/// The leader: workers run the splits; partials merge here as they arrive.
fn run_leader<S, A>(leader: &Leader, number: u64, source: &S, action: &A) -> Result<A::Output>
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    let job = source.job();
    let plan = planned::<S, A>(source)?;
    if plan.files.iter().any(|f| f.kind == crate::plan::FileKind::Stdin) {
        return Err(Error::new(
            ErrorKind::Config,
            "--stdin stream reads standard input in one process, and this job has worker processes or ranks: \
             drop --processes, or use --stdin spool (the default)",
        )
        .with_path("-"));
    }
    let fingerprint = protocol::pipeline_fingerprint::<S, A>();
    let (log, display) = log_start::<S, A>(number, source, &plan);
    let mut report = report::take_outside();
    let mut skipped = Report::default();
    // Each split's partial as it arrives: folded into `into` (its report
    // into `reports`), or (`None`) kept apart for an incremental or shard
    // run; with the report of the splits left out.
    let gather = |plan: &Plan, mut into: Option<(&mut A::Partial, &mut Report)>| {
        let mut apart: SplitPartials<A::Partial> = Vec::new();
        let skipped = leader.gather(number, fingerprint, plan, &mut |split, bytes, split_report| {
            for s in split_report.splits.iter().filter(|s| s.outcome == Outcome::Ok) {
                progress::split_done(s.bytes, s.records);
            }
            let named = |e: Error| e.with_split(plan.describe(&plan.splits[split]));
            match into.as_mut() {
                Some((merged, reports)) => {
                    action.merge_encoded(merged, bytes).map_err(named)?;
                    reports.merge(split_report);
                }
                None => {
                    let mut partial = action.identity();
                    action.merge_encoded(&mut partial, bytes).map_err(named)?;
                    apart.push((split, partial, split_report));
                }
            }
            Ok(())
        })?;
        Ok((apart, skipped))
    };
    let merged = if incremental::applies(job, &plan, action) {
        incremental::run(number, source, action, &plan, &mut report, |sub| {
            let (apart, left_out) = gather(sub, None)?;
            skipped = left_out;
            Ok(apart)
        })?
    } else if let Some(shard) = shard::shard_of(job) {
        shard::run(shard, number, source, action, &plan, &mut report, |sub| gather(sub, None))?
    } else {
        let mut merged = action.identity();
        skipped = gather(&plan, Some((&mut merged, &mut report)))?.1;
        merged
    };
    report.merge(skipped);
    if job.config().explain() {
        crate::diag::print(format_args!("  action {number} ran on:\n{}", leader.take_roster()));
    }
    let (summary, splits) = log.end(&mut report);
    job.log_action(summary, splits, &report);
    drop(display);
    let action_report = report.clone();
    job.absorb_report(report)?;
    let output = action.finish(merged)?;
    let published = match action.defer_output(&output) {
        Some(encode) => Published::Deferred(encode),
        None => Published::Encoded(
            protocol::encode(&output)
                .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode a result").with_source(e))?,
        ),
    };
    let mut shipped = action_report;
    shipped.rejects.quarantine.clear();
    shipped.splits.clear();
    leader.publish(number, published, shipped)?;
    Ok(output)
}

/// A worker: run the splits the leader sends, one fresh partial each.
fn run_worker<S, A>(link: &WorkerLink, number: u64, source: &S, action: &A) -> Result<A::Output>
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    let job = source.job();
    let fingerprint = protocol::pipeline_fingerprint::<S, A>();
    // Partials whose result was shipped, emptied for the next split: a
    // table grows once per thread, not once per split.
    let spent: std::sync::Mutex<Vec<A::Partial>> = std::sync::Mutex::default();
    let run = |plan: &Plan, split: &Split, encoded: &mut Vec<u8>| -> Result<Report> {
        let reused = spent.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut acc = reused.unwrap_or_else(|| action.identity());
        let (outcome, split_report) = run_split(number, source, plan, split, action, &mut acc);
        outcome?;
        protocol::encode_into(&acc, encoded)
            .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode a partial result").with_source(e))?;
        action.reset(&mut acc);
        spent.lock().unwrap_or_else(|p| p.into_inner()).push(acc);
        Ok(split_report)
    };
    let (output, action_report) = link.run_action(number, fingerprint, job.config().threads(), &run)?;
    job.absorb_report(action_report)?;
    protocol::decode(&output).map_err(|e| Error::new(ErrorKind::Transport, "cannot decode the result").with_source(e))
}

/// Folds the items of one split into `acc`: the per-split step that every
/// executor shares. Owns the split's report from start to end, names the
/// split for the bus-error reporter, and turns a panic into an error; an
/// error names the split. Returns the outcome and the split's report.
// Never inlined: the thread executor and a worker process call this one
// copy of the fused record loop, so both run the same machine code
// (BENCHMARKS.md, issue 2: with two inlined copies a worker used more CPU
// time for the same instructions).
#[inline(never)]
pub(crate) fn run_split<S, A>(
    number: u64,
    source: &S,
    plan: &Plan,
    split: &Split,
    action: &A,
    acc: &mut A::Partial,
) -> (Result<()>, Report)
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    let _guard = signals::SplitGuard::new(plan.describe(split));
    let attempt = SplitRun::start(plan, split, number);
    let progress = progress::split_started();
    report::begin_split();
    let mut records = 0;
    let _busy = super::fanout::Busy::enter();
    let mut helpers = Report::default();
    let outcome =
        unwind::catch_panic(|| super::fanout::drive(source, plan, split, action, acc, &mut records, &mut helpers));
    let mut split_report = report::end_split();
    split_report.merge(helpers);
    let how = if outcome.is_ok() { Outcome::Ok } else { Outcome::Failed };
    progress.done(attempt.bytes, records);
    split_report.splits.push(attempt.end(records, how));
    (outcome.map_err(|err| err.with_split(plan.describe(split))), split_report)
}
