//! Running an action: plan, run splits, merge partials.
//!
//! [`threads`] runs the splits of one process on a work-stealing pool of
//! threads, one partial per thread. The process executor (worker processes
//! fed by a leader) builds on the same per-split step.

pub(crate) mod threads;

use crate::action::{Absorb, Sink};
use crate::error::Result;
use crate::merge::Merge;
use crate::pipeline::Pipeline;
use crate::plan::{Plan, Split};
use crate::report::{self, Report};

/// Runs `action` over `pipeline` in its job and returns the finished result.
pub(crate) fn run<P, A>(pipeline: &P, action: &A) -> Result<A::Output>
where
    P: Pipeline,
    A: for<'a> Absorb<P::Item<'a>>,
{
    let job = pipeline.job();
    let plan = pipeline.plan()?;
    if job.config().explain {
        eprint!("{plan}");
    }
    let partials = threads::run_splits(
        job.config().threads,
        &plan,
        || (action.identity(), Report::default()),
        |(acc, report), split| {
            let outcome = run_split(pipeline, &plan, split, action, acc);
            report.merge(report::end_split());
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

/// Folds the items of one split into `acc`: the per-split step that every
/// executor shares.
pub(crate) fn run_split<P, A>(pipeline: &P, plan: &Plan, split: &Split, action: &A, acc: &mut A::Partial) -> Result<()>
where
    P: Pipeline,
    A: for<'a> Absorb<P::Item<'a>>,
{
    report::begin_split();
    pipeline.drive(plan, split, &mut Sink { action, acc })?;
    action.end_split(acc, split);
    Ok(())
}
