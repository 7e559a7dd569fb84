//! Running an action: plan, run splits, merge partials.
//!
//! [`threads`] runs the splits of one process on a work-stealing pool of
//! threads, one partial per thread. The process executor (worker processes
//! fed by a leader) runs its splits on the same pool and the same per-split
//! step, [`run_split`]; [`unwind`] turns panics into errors.

pub(crate) mod process;
pub(crate) mod threads;
pub(crate) mod unwind;

use crate::action::{Absorb, Sink};
use crate::error::{Error, ErrorKind, Result};
use crate::job::Role;
use crate::merge::Merge;
use crate::pipeline::Pipeline;
use crate::plan::{Plan, Split};
use crate::report::{self, Report};
use crate::signals;
use process::leader::Leader;
use process::protocol;
use process::worker::WorkerLink;

/// Runs `action` over `pipeline` in its job and returns the finished result.
pub(crate) fn run<P, A>(pipeline: &P, action: &A) -> Result<A::Output>
where
    P: Pipeline,
    A: for<'a> Absorb<P::Item<'a>>,
{
    let job = pipeline.job();
    let number = job.next_action();
    match job.role() {
        Role::Local => run_local(pipeline, action),
        Role::Leader(leader) => run_leader(leader, number, pipeline, action),
        Role::Worker(link) => run_worker(link, number, pipeline, action),
    }
}

fn planned<P: Pipeline>(pipeline: &P) -> Result<Plan> {
    let plan = pipeline.plan()?;
    if pipeline.job().config().explain {
        eprint!("{plan}");
    }
    Ok(plan)
}

/// One process: the work-stealing thread pool, one partial per thread.
fn run_local<P, A>(pipeline: &P, action: &A) -> Result<A::Output>
where
    P: Pipeline,
    A: for<'a> Absorb<P::Item<'a>>,
{
    let job = pipeline.job();
    let plan = planned(pipeline)?;
    let partials = threads::run_splits(
        job.config().threads,
        &plan,
        || (action.identity(), Report::default()),
        |(acc, report), split| {
            let (outcome, split_report) = run_split(pipeline, &plan, split, action, acc);
            report.merge(split_report);
            outcome
        },
    )?;
    let mut merged = action.identity();
    let mut report = report::take_outside();
    for (p, r) in partials {
        action.merge(&mut merged, p);
        report.merge(r);
    }
    job.absorb_report(report)?;
    action.finish(merged)
}

/// The leader: workers run the splits; partials merge here as they arrive.
fn run_leader<P, A>(leader: &Leader, number: u64, pipeline: &P, action: &A) -> Result<A::Output>
where
    P: Pipeline,
    A: for<'a> Absorb<P::Item<'a>>,
{
    let job = pipeline.job();
    let plan = planned(pipeline)?;
    let fingerprint = protocol::pipeline_fingerprint::<P, A>();
    let mut merged = action.identity();
    let mut report = report::take_outside();
    let skipped = leader.gather(number, fingerprint, &plan, &mut |split, bytes, split_report| {
        let partial: A::Partial = protocol::decode(bytes).map_err(|e| {
            Error::new(ErrorKind::Transport, "cannot decode a partial result")
                .with_source(e)
                .with_split(plan.describe(&plan.splits[split]))
        })?;
        action.merge(&mut merged, partial);
        report.merge(split_report);
        Ok(())
    })?;
    report.merge(skipped);
    let action_report = report.clone();
    job.absorb_report(report)?;
    let output = action.finish(merged)?;
    let bytes = protocol::encode(&output)
        .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode a result").with_source(e))?;
    let mut shipped = action_report;
    shipped.rejects.quarantine.clear();
    leader.publish(number, bytes, shipped)?;
    Ok(output)
}

/// A worker: run the splits the leader sends, one fresh partial each.
fn run_worker<P, A>(link: &WorkerLink, number: u64, pipeline: &P, action: &A) -> Result<A::Output>
where
    P: Pipeline,
    A: for<'a> Absorb<P::Item<'a>>,
{
    let job = pipeline.job();
    let fingerprint = protocol::pipeline_fingerprint::<P, A>();
    let run = |plan: &Plan, split: &Split| -> Result<(Vec<u8>, Report)> {
        let mut acc = action.identity();
        let (outcome, split_report) = run_split(pipeline, plan, split, action, &mut acc);
        outcome?;
        let bytes = protocol::encode(&acc)
            .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode a partial result").with_source(e))?;
        Ok((bytes, split_report))
    };
    let (output, action_report) = link.run_action(number, fingerprint, job.config().threads, &run)?;
    job.absorb_report(action_report)?;
    protocol::decode(&output).map_err(|e| Error::new(ErrorKind::Transport, "cannot decode the result").with_source(e))
}

/// Folds the items of one split into `acc`: the per-split step that every
/// executor shares. Owns the split's report from start to end, names the
/// split for the bus-error reporter, and turns a panic into an error; an
/// error names the split. Returns the outcome and the split's report.
// Never inlined: the thread executor and a worker process call this one
// copy of the fused record loop. Inlined into each caller, the two copies
// were compiled apart and a worker's ran 7-9% more CPU time for the same
// instructions (weather, 100M rows, 2 processes x 1 thread against
// 1 process x 2 threads); one copy gives both the same speed.
#[inline(never)]
pub(crate) fn run_split<P, A>(
    pipeline: &P,
    plan: &Plan,
    split: &Split,
    action: &A,
    acc: &mut A::Partial,
) -> (Result<()>, Report)
where
    P: Pipeline,
    A: for<'a> Absorb<P::Item<'a>>,
{
    let _guard = signals::SplitGuard::new(plan.describe(split));
    report::begin_split();
    let outcome = unwind::catch_panic(|| {
        pipeline.drive(plan, split, &mut Sink { action, acc })?;
        action.end_split(acc, split);
        Ok(())
    });
    let split_report = report::end_split();
    (outcome.map_err(|err| err.with_split(plan.describe(split))), split_report)
}
