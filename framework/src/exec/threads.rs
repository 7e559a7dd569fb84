//! The work-stealing thread executor.
//!
//! Splits go into a global [`Injector`], biggest first; each thread keeps a
//! local FIFO deque, refills it in batches from the injector and steals from
//! its siblings when both are empty (the crossbeam-deque pattern). Each
//! thread folds every split it runs into its *own* partial, so the per-record
//! path has no lock and no atomic; partials are merged once, at the end.
//!
//! A failing or panicking split `i` cancels the splits after it (index
//! greater than `i`) that have not started, but every split before it still
//! runs: the error returned is the one of the lowest failing split index,
//! which is the first bad record in input order whatever the thread count.
//! It is named by the split (file and byte range).

use super::unwind::catch_panic;
use crate::error::{Error, ErrorKind, Result};
use crate::plan::{Plan, Split};
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// Runs `work` over every split of `plan` on `threads` threads, each folding
/// into its own partial from `identity()`; returns the partials.
pub(crate) fn run_splits<T, I, W>(threads: usize, plan: &Plan, identity: I, work: W) -> Result<Vec<T>>
where
    T: Send,
    I: Fn() -> T + Sync,
    W: Fn(&mut T, &Split) -> Result<()> + Sync,
{
    let queue = SplitQueue::planned(plan);
    let threads = threads.max(1).min(plan.splits.len().max(1));
    run_queue(threads, &queue, identity, |acc, index| {
        let split = &plan.splits[index];
        catch_panic(|| work(acc, split)).map_err(|err| err.with_split(plan.describe(split)))
    })
}

/// Runs `work` over every split index `queue` yields, on `threads` threads,
/// each folding into its own partial from `identity()`; returns the
/// partials once the queue is closed and drained. With one thread and a
/// planned queue the splits run on the calling thread. `work` catches its
/// own panics ([`catch_panic`]; `exec::run_split` does): a failing split
/// cancels the ones after it, as in [`run_splits`].
pub(crate) fn run_queue<T, I, W>(threads: usize, queue: &SplitQueue, identity: I, work: W) -> Result<Vec<T>>
where
    T: Send,
    I: Fn() -> T + Sync,
    W: Fn(&mut T, usize) -> Result<()> + Sync,
{
    let threads = threads.max(1);
    let failure = Failure::default();
    let run_one = |acc: &mut T, index: usize| {
        if !failure.cancels(index)
            && let Err(err) = work(acc, index)
        {
            failure.record(index, err);
        }
    };

    if threads == 1 && queue.taking == Taking::Batches {
        let mut acc = identity();
        let local = Worker::new_fifo();
        while let Some(index) = queue.next(&local, &[]) {
            run_one(&mut acc, index);
        }
        return failure.into_result(vec![acc]);
    }

    let locals: Vec<Worker<usize>> = (0..threads).map(|_| Worker::new_fifo()).collect();
    let stealers: Vec<Stealer<usize>> = locals.iter().map(Worker::stealer).collect();
    let partials = Mutex::new(Vec::with_capacity(threads));
    std::thread::scope(|scope| {
        for (id, local) in locals.into_iter().enumerate() {
            let (stealers, partials, failure) = (&stealers, &partials, &failure);
            let (identity, run_one) = (&identity, &run_one);
            let spawned = std::thread::Builder::new().name(format!("shoal-{id}")).spawn_scoped(scope, move || {
                crate::attempt::set_lane(id);
                let mut acc = identity();
                while let Some(index) = queue.next(&local, stealers) {
                    run_one(&mut acc, index);
                }
                partials.lock().unwrap_or_else(|p| p.into_inner()).push(acc);
            });
            if let Err(e) = spawned {
                failure.record(usize::MAX, Error::new(ErrorKind::Io, "cannot start a worker thread").with_source(e));
            }
        }
    });
    let partials = partials.into_inner().unwrap_or_else(|p| p.into_inner());
    failure.into_result(partials)
}

/// How a thread takes work from the global queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taking {
    /// A batch into the thread's own deque: a whole plan is queued at once.
    Batches,
    /// One split at a time: a leader keeps only `threads + 1` splits queued
    /// on a worker, and a split parked behind a running one in a thread's
    /// deque would leave a sibling idle.
    OneAtATime,
}

/// Whether more splits may still be pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feed {
    Open,
    Closed,
}

/// The split indices a pool runs: a whole plan (biggest first), or a stream
/// that grows while the pool runs (a worker process fed by its leader).
/// Threads refill from it and steal from siblings; while it is open and
/// empty they sleep until [`SplitQueue::push`] or [`SplitQueue::close`].
pub(crate) struct SplitQueue {
    injector: Injector<usize>,
    taking: Taking,
    feed: Mutex<Feed>,
    more: Condvar,
}

impl SplitQueue {
    /// Every split of `plan`, biggest first (ties keep input order); closed.
    fn planned(plan: &Plan) -> SplitQueue {
        let mut order: Vec<usize> = (0..plan.splits.len()).collect();
        // Biggest first (streams, large files); ties keep input order.
        order.sort_by_key(|&i| std::cmp::Reverse(plan.splits[i].cost));
        let injector = Injector::new();
        for index in order {
            injector.push(index);
        }
        SplitQueue { injector, taking: Taking::Batches, feed: Mutex::new(Feed::Closed), more: Condvar::new() }
    }

    /// An empty queue that splits are pushed to as they arrive.
    pub(crate) fn open() -> SplitQueue {
        SplitQueue {
            injector: Injector::new(),
            taking: Taking::OneAtATime,
            feed: Mutex::new(Feed::Open),
            more: Condvar::new(),
        }
    }

    /// Queues split `index` and wakes a sleeping thread.
    pub(crate) fn push(&self, index: usize) {
        self.injector.push(index);
        // Taking the lock orders this push before a sleeper's emptiness
        // check, or after its wait began: the wake-up is never lost.
        drop(self.feed.lock().unwrap_or_else(|p| p.into_inner()));
        self.more.notify_one();
    }

    /// No more splits will come: threads finish what is queued and stop.
    pub(crate) fn close(&self) {
        *self.feed.lock().unwrap_or_else(|p| p.into_inner()) = Feed::Closed;
        self.more.notify_all();
    }

    /// Drops what is queued and closes: nothing more needs to run.
    pub(crate) fn abandon(&self) {
        while !matches!(self.injector.steal(), Steal::Empty) {}
        self.close();
    }

    /// The next split for the thread owning `local`, waiting while the
    /// queue is open and empty; `None` once it is closed and drained.
    fn next(&self, local: &Worker<usize>, stealers: &[Stealer<usize>]) -> Option<usize> {
        loop {
            if let Some(index) = self.find_task(local, stealers) {
                return Some(index);
            }
            let feed = self.feed.lock().unwrap_or_else(|p| p.into_inner());
            if !self.injector.is_empty() {
                continue;
            }
            match *feed {
                Feed::Closed => return None,
                Feed::Open => drop(self.more.wait(feed).unwrap_or_else(|p| p.into_inner())),
            }
        }
    }

    /// Local deque first, then the global queue, then a sibling.
    fn find_task(&self, local: &Worker<usize>, stealers: &[Stealer<usize>]) -> Option<usize> {
        local.pop().or_else(|| {
            std::iter::repeat_with(|| {
                let global = match self.taking {
                    Taking::Batches => self.injector.steal_batch_and_pop(local),
                    Taking::OneAtATime => self.injector.steal(),
                };
                global.or_else(|| stealers.iter().map(Stealer::steal).collect())
            })
            .find(|s| !s.is_retry())
            .and_then(|s| s.success())
        })
    }
}

/// The failure of the lowest split index so far, and the cut-off that
/// cancels the splits after it.
struct Failure {
    /// The lowest failing split index (`usize::MAX`: none yet).
    cutoff: AtomicUsize,
    first: Mutex<Option<(usize, Error)>>,
}

impl Default for Failure {
    fn default() -> Self {
        Failure { cutoff: AtomicUsize::new(usize::MAX), first: Mutex::new(None) }
    }
}

impl Failure {
    fn record(&self, index: usize, err: Error) {
        // Relaxed is enough: the cut-off only lets threads skip splits that
        // cannot matter; the error itself travels under the mutex.
        self.cutoff.fetch_min(index, Ordering::Relaxed);
        let mut first = self.first.lock().unwrap_or_else(|p| p.into_inner());
        if first.as_ref().is_none_or(|(i, _)| index < *i) {
            *first = Some((index, err));
        }
    }

    /// Whether split `index` can be skipped: a split before it failed, so
    /// its outcome cannot change the job's error.
    fn cancels(&self, index: usize) -> bool {
        index > self.cutoff.load(Ordering::Relaxed)
    }

    fn into_result<T>(self, value: T) -> Result<T> {
        match self.first.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some((_, err)) => Err(err),
            None => Ok(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_split_runs_exactly_once_for_every_thread_count() {
        let plan = Plan::items(1000, 7, 4);
        for threads in 1..=5 {
            let partials = run_splits(threads, &plan, Vec::new, |acc: &mut Vec<u64>, split| {
                acc.push(split.index as u64);
                Ok(())
            })
            .unwrap();
            let mut seen: Vec<u64> = partials.into_iter().flatten().collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..plan.splits.len() as u64).collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_lowest_failing_split_is_reported_with_its_name() {
        let plan = Plan::items(100, 10, 2);
        for threads in 1..=3 {
            let err = run_splits(
                threads,
                &plan,
                || (),
                |_, split| {
                    if split.index >= 3 {
                        panic!("boom at {}", split.index);
                    }
                    Ok(())
                },
            )
            .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Panic);
            assert!(err.to_string().contains("boom at"), "{err}");
            assert!(err.split().is_some_and(|s| s.contains("items")), "{err}");
        }
    }

    #[test]
    fn a_failure_still_runs_every_earlier_split_and_reports_the_first_in_input_order() {
        // The last splits are scheduled first (biggest first), and fail at
        // once: the error must still be that of split 3, the first failing
        // split in input order, and every split before it must have run.
        let mut plan = Plan::items(100, 10, 2);
        let n = plan.splits.len();
        for split in &mut plan.splits {
            split.cost = split.index as u64;
        }
        for threads in 1..=4 {
            let ran = Mutex::new(Vec::new());
            let err = run_splits(
                threads,
                &plan,
                || (),
                |_, split| {
                    ran.lock().unwrap().push(split.index);
                    if split.index >= 3 && split.index % 2 == 1 {
                        return Err(Error::new(ErrorKind::InvalidInput, format!("bad record in {}", split.index)));
                    }
                    Ok(())
                },
            )
            .unwrap_err();
            assert!(err.to_string().contains("bad record in 3"), "{threads} threads: {err}");
            let ran = ran.into_inner().unwrap();
            for before in 0..3 {
                assert!(ran.contains(&before), "{threads} threads: split {before} did not run: {ran:?}");
            }
            assert!(ran.len() <= n, "{ran:?}");
        }
    }

    #[test]
    fn a_growing_queue_runs_every_split_pushed_while_it_runs_once() {
        for threads in 1..=3 {
            let queue = SplitQueue::open();
            let partials = std::thread::scope(|scope| {
                let pool = scope.spawn(|| {
                    run_queue(threads, &queue, Vec::new, |acc: &mut Vec<usize>, index| {
                        std::thread::sleep(std::time::Duration::from_millis(1));
                        acc.push(index);
                        Ok(())
                    })
                });
                for index in 0..40 {
                    // Pauses let the threads run dry and sleep before more come.
                    if index % 10 == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    queue.push(index);
                }
                queue.close();
                pool.join().unwrap().unwrap()
            });
            assert_eq!(partials.len(), threads);
            let mut seen: Vec<usize> = partials.into_iter().flatten().collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..40).collect::<Vec<_>>(), "{threads} threads");
        }
    }

    #[test]
    fn an_abandoned_queue_runs_nothing_more() {
        let queue = SplitQueue::open();
        for index in 0..5 {
            queue.push(index);
        }
        queue.abandon();
        let partials = run_queue(2, &queue, Vec::new, |acc: &mut Vec<usize>, index| {
            acc.push(index);
            Ok(())
        })
        .unwrap();
        assert!(partials.iter().all(Vec::is_empty), "{partials:?}");
    }
}
