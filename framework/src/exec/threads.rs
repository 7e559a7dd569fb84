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

use crate::error::{Error, ErrorKind, Result};
use crate::plan::{Plan, Split};
use crossbeam_deque::{Injector, Stealer, Worker};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `work` over every split of `plan` on `threads` threads, each folding
/// into its own partial from `identity()`; returns the partials.
pub(crate) fn run_splits<T, I, W>(threads: usize, plan: &Plan, identity: I, work: W) -> Result<Vec<T>>
where
    T: Send,
    I: Fn() -> T + Sync,
    W: Fn(&mut T, &Split) -> Result<()> + Sync,
{
    let mut order: Vec<usize> = (0..plan.splits.len()).collect();
    // Biggest first (streams, large files); ties keep input order.
    order.sort_by_key(|&i| std::cmp::Reverse(plan.splits[i].cost));
    let threads = threads.max(1).min(order.len().max(1));
    let failure = Failure::default();

    let run_one = |acc: &mut T, index: usize| {
        let split = &plan.splits[index];
        let outcome = catch_unwind(AssertUnwindSafe(|| work(acc, split)));
        let err = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(err)) => err,
            Err(payload) => Error::new(ErrorKind::Panic, format!("user code panicked: {}", panic_message(&*payload))),
        };
        failure.record(index, err.with_split(plan.describe(split)));
    };

    if threads == 1 {
        let mut acc = identity();
        for index in order {
            if !failure.cancels(index) {
                run_one(&mut acc, index);
            }
        }
        return failure.into_result(vec![acc]);
    }

    let injector = Injector::new();
    for index in order {
        injector.push(index);
    }
    let locals: Vec<Worker<usize>> = (0..threads).map(|_| Worker::new_fifo()).collect();
    let stealers: Vec<Stealer<usize>> = locals.iter().map(Worker::stealer).collect();
    let partials = Mutex::new(Vec::with_capacity(threads));
    std::thread::scope(|scope| {
        for (id, local) in locals.into_iter().enumerate() {
            let (injector, stealers, partials, failure) = (&injector, &stealers, &partials, &failure);
            let (identity, run_one) = (&identity, &run_one);
            let spawned = std::thread::Builder::new().name(format!("shoal-{id}")).spawn_scoped(scope, move || {
                let mut acc = identity();
                while let Some(index) = find_task(&local, injector, stealers) {
                    if !failure.cancels(index) {
                        run_one(&mut acc, index);
                    }
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

/// Local deque first, then a batch from the global queue, then a sibling.
fn find_task(local: &Worker<usize>, global: &Injector<usize>, stealers: &[Stealer<usize>]) -> Option<usize> {
    local.pop().or_else(|| {
        std::iter::repeat_with(|| {
            global.steal_batch_and_pop(local).or_else(|| stealers.iter().map(Stealer::steal).collect())
        })
        .find(|s| !s.is_retry())
        .and_then(|s| s.success())
    })
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

/// The message of a panic payload (`&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
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
}
