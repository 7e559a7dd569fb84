//! One stream parsed on several threads: the fan-out of a split into
//! blocks ([`crate::read::blocks`]).
//!
//! A split that is one stream (a compressed file, a pipe, standard input)
//! cannot be cut by the planner. When threads of this process would
//! otherwise be idle, [`drive`] makes the thread running the split its
//! *producer*: the source reads the stream and cuts it into blocks of whole
//! records, and helper threads parse the blocks, each into a partial of its
//! own (`Action::identity`), ending each block with
//! [`Action::end_block`]; the helpers' partials are then merged into the
//! split's. So decompressing (on the read-ahead thread), cutting and
//! parsing overlap, in memory bounded by the blocks in flight.
//!
//! # Invariants
//! * Only actions that say so ([`Folding::Blocks`]) are folded in blocks:
//!   their result does not depend on the order of blocks, or they tag what
//!   they hold with the block number.
//! * The error returned is the one of the lowest failing block, and a
//!   block's failure stops the blocks after it, as a failing split stops
//!   the splits after it; a read error of the producer comes after every
//!   block it handed over.
//! * A source that does not cut its stream drives it whole on the
//!   producer's thread, as without a fan-out: the result is the same either
//!   way.

use super::action::{Action, Folding, Sink};
use super::source::Source;
use crate::error::{Error, Result};
use crate::exec::unwind::catch_panic;
use crate::merge::Merge;
use crate::plan::{FileKind, Plan, Split};
use crate::read::blocks::{self, Feed, Hand};
use crate::report::{self, Report};
use crate::run::progress::BlockRecords;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Threads of this process folding a split or a block now.
static BUSY: AtomicUsize = AtomicUsize::new(0);

/// Counts a thread as busy while it lives.
pub(crate) struct Busy;

impl Busy {
    pub(crate) fn enter() -> Busy {
        BUSY.fetch_add(1, Ordering::Relaxed);
        Busy
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many helper threads would parse `split` in blocks: none unless the
/// split is one stream, the action folds blocks, and at least two of the
/// job's threads are idle counting the caller's (which then only cuts).
fn helpers_for<S: Source, A: Action>(source: &S, plan: &Plan, split: &Split, action: &A) -> usize {
    let [part] = split.parts.as_slice() else { return 0 };
    let streamed = plan
        .files
        .get(part.file)
        .is_some_and(|f| matches!(f.kind, FileKind::Gzip | FileKind::Zstd | FileKind::Special | FileKind::Stdin));
    if !streamed || action.folding() != Folding::Blocks {
        return 0;
    }
    let threads = source.job().config().threads();
    // The caller is busy (it entered before calling), but only cuts.
    let idle = threads.saturating_sub(BUSY.load(Ordering::Relaxed).saturating_sub(1));
    if idle >= 2 { idle } else { 0 }
}

/// The failure of the lowest block so far.
#[derive(Default)]
struct Failure(Mutex<Option<(u32, Error)>>);

impl Failure {
    fn record(&self, block: u32, err: Error) {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(|(at, _)| block < *at) {
            *slot = Some((block, err));
        }
    }

    /// Whether `block` comes after a failed one (and need not run).
    fn cancels(&self, block: u32) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref().is_some_and(|(at, _)| block > *at)
    }

    fn into_error(self) -> Option<Error> {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner()).map(|(_, e)| e)
    }
}

/// Closes the hand when the producer is done, also when it panics, so
/// helpers waiting for blocks end.
struct CloseOnDrop<'h>(&'h Hand);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Stops the producer when a helper unwinds outside a block (a panic in
/// `identity`, say): its blocks would never be taken.
struct StopOnUnwind<'h>(&'h Hand);

impl Drop for StopOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// The failure of a helper that ended outside a block: after every
/// block's own error.
const NO_BLOCK: u32 = u32::MAX;

/// Folds every item of `split` into `acc` and ends it, in blocks on helper
/// threads when that applies (see the module docs); `records` gets the
/// items folded and `helpers` the helpers' reports.
///
/// # Errors
/// The source's or the action's first error in input order.
pub(crate) fn drive<S, A>(
    source: &S,
    plan: &Plan,
    split: &Split,
    action: &A,
    acc: &mut A::Partial,
    records: &mut u64,
    helpers_report: &mut Report,
) -> Result<()>
where
    S: Source,
    A: for<'a> super::Absorb<S::Item<'a>>,
{
    let helpers = helpers_for(source, plan, split, action);
    if helpers == 0 {
        let mut sink = Sink { action, acc, records: 0 };
        // No feed: this split's stream (if any) is read here, whole, even
        // inside a stage of an outer job's block.
        let driven = blocks::with_feed(None, || source.drive(plan, split, &mut sink));
        *records = sink.records;
        driven?;
        action.end_split(acc, split);
        return Ok(());
    }
    // Two blocks waiting per helper keep each busy while the producer cuts.
    let hand = Arc::new(Hand::new(2 * helpers));
    let failure = Failure::default();
    // Shown by --progress as blocks end, not only when the stream ends.
    let shown = BlockRecords::default();
    let (produced, parts) = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(helpers);
        for i in 0..helpers {
            let (hand, failure, shown) = (&hand, &failure, &shown);
            let spawned = std::thread::Builder::new().name(format!("shoal-block-{i}")).spawn_scoped(scope, move || {
                // Busy from the first block: helpers of a source that never
                // cuts its stream (a user's own) take no thread from others.
                let mut busy = None;
                let _stop = StopOnUnwind(hand);
                if i > 0 {
                    // Only once one parser lags the reading.
                    hand.wait_pressed();
                }
                report::begin_split();
                let mut part = action.identity();
                let mut records = 0;
                while let Some(block) = hand.take() {
                    busy.get_or_insert_with(Busy::enter);
                    let index = block.index;
                    if failure.cancels(index) {
                        continue;
                    }
                    let block = Arc::new(block);
                    let outcome = catch_panic(|| {
                        blocks::with_feed(Some(Feed::Block(Arc::clone(&block))), || {
                            let mut sink = Sink { action, acc: &mut part, records: 0 };
                            let driven = source.drive(plan, split, &mut sink);
                            records += sink.records;
                            shown.add(sink.records);
                            driven
                        })?;
                        action.end_block(&mut part, split, index);
                        Ok(())
                    });
                    if let Ok(block) = Arc::try_unwrap(block) {
                        hand.recycle(block.bytes);
                    }
                    match outcome {
                        Ok(()) => {}
                        Err(err) => {
                            failure.record(index, err);
                            hand.stop();
                        }
                    }
                }
                (part, report::end_split(), records)
            });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // Fewer helpers then; with none, the blocks wait for
                    // nobody: stop, and the split fails naming the cause.
                    if handles.is_empty() {
                        failure
                            .record(NO_BLOCK, Error::new(crate::ErrorKind::Io, "cannot start a thread").with_source(e));
                        hand.stop();
                    }
                    break;
                }
            }
        }
        let produced = {
            let _close = CloseOnDrop(&hand);
            blocks::with_feed(Some(Feed::Producer(Arc::clone(&hand))), || {
                let mut sink = Sink { action, acc: &mut *acc, records: 0 };
                let driven = source.drive(plan, split, &mut sink);
                (driven, sink.records)
            })
        };
        // A helper's panics are caught block by block; one outside (in
        // `identity`, say) loses its partial, so it fails the split.
        let mut parts = Vec::with_capacity(handles.len());
        for handle in handles {
            match handle.join() {
                Ok(part) => parts.push(part),
                Err(_) => {
                    failure.record(NO_BLOCK, Error::new(crate::ErrorKind::Panic, "a thread parsing blocks panicked"))
                }
            }
        }
        (produced, parts)
    });
    let (driven, own) = produced;
    *records = own;
    if !hand.was_cut() {
        // The source drove the stream whole, on this thread, into `acc`;
        // the helpers got no block (their partials are empty).
        driven?;
        action.end_split(acc, split);
        return Ok(());
    }
    // The producer pushed nothing into `acc`: the split's items are in the
    // helpers' partials, each block ended. A failed block was not ended
    // (its partial is dropped with the split).
    let mut partials = Vec::with_capacity(parts.len());
    for (part, report, n) in parts {
        helpers_report.merge(report);
        *records += n;
        partials.push(part);
    }
    if let Some(err) = failure.into_error() {
        return Err(err);
    }
    driven?;
    for part in partials {
        action.merge(acc, part);
    }
    Ok(())
}
