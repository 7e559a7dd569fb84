//! The bridge: runs one action of a source on the job's runtime.
//!
//! Every process of a job runs the same actions in the same order, so the
//! number [`run`] gives an action matches across processes. Locally the
//! splits go to the thread pool ([`crate::exec::threads`]); in a leader to
//! the workers ([`crate::exec::process`]), whose serialized partials merge
//! here ([`Action::merge_encoded`](super::Action::merge_encoded)); in a
//! worker the leader's splits run into one fresh partial each (spent ones
//! emptied by [`Action::reset`](super::Action::reset) and reused).
//! [`run_split`] is the one per-split step all three share.

use super::{Absorb, Sink, Source};
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
use crate::signals;

/// Runs `action` over `source` in its job and returns the finished result.
pub(crate) fn run<S, A>(source: &S, action: &A) -> Result<A::Output>
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    let job = source.job();
    let number = job.next_action();
    match job.runtime().role() {
        Role::Local => run_local(source, action),
        Role::Leader(leader) => run_leader(leader, number, source, action),
        Role::Worker(link) => run_worker(link, number, source, action),
    }
}

/// Plans the source, printing the plan, the stages and the action with
/// `--explain`.
fn planned<S: Source, A>(source: &S) -> Result<Plan> {
    let plan = source.plan()?;
    if source.job().config().explain() {
        let mut stages = Vec::new();
        source.describe(&mut stages);
        let action = super::source::short_type_name(std::any::type_name::<A>());
        crate::diag::print(format_args!("{plan}  pipeline: {}\n  action: {action}\n", stages.join(" -> ")));
    }
    Ok(plan)
}

/// One process: the work-stealing thread pool, one partial per thread.
fn run_local<S, A>(source: &S, action: &A) -> Result<A::Output>
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    let job = source.job();
    let plan = planned::<S, A>(source)?;
    let partials = threads::run_splits(
        job.config().threads(),
        &plan,
        || (action.identity(), Report::default()),
        |(acc, report), split| {
            let (outcome, split_report) = run_split(source, &plan, split, action, acc);
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
fn run_leader<S, A>(leader: &Leader, number: u64, source: &S, action: &A) -> Result<A::Output>
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    let job = source.job();
    let plan = planned::<S, A>(source)?;
    let fingerprint = protocol::pipeline_fingerprint::<S, A>();
    let mut merged = action.identity();
    let mut report = report::take_outside();
    let skipped = leader.gather(number, fingerprint, &plan, &mut |split, bytes, split_report| {
        action.merge_encoded(&mut merged, bytes).map_err(|e| e.with_split(plan.describe(&plan.splits[split])))?;
        report.merge(split_report);
        Ok(())
    })?;
    report.merge(skipped);
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
    let run = |plan: &Plan, split: &Split| -> Result<(Vec<u8>, Report)> {
        let reused = spent.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut acc = reused.unwrap_or_else(|| action.identity());
        let (outcome, split_report) = run_split(source, plan, split, action, &mut acc);
        outcome?;
        let bytes = protocol::encode(&acc)
            .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode a partial result").with_source(e))?;
        action.reset(&mut acc);
        spent.lock().unwrap_or_else(|p| p.into_inner()).push(acc);
        Ok((bytes, split_report))
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
    report::begin_split();
    let outcome = unwind::catch_panic(|| {
        source.drive(plan, split, &mut Sink { action, acc })?;
        action.end_split(acc, split);
        Ok(())
    });
    let split_report = report::end_split();
    (outcome.map_err(|err| err.with_split(plan.describe(split))), split_report)
}
