//! Collecting items in input order: [`Collect`] into a `Vec`, and
//! [`CollectIter`] into a [`Collected`] that may be larger than memory.
//!
//! The partial is a [`Tagged`]: each split's items are one run, tagged
//! with the split's index, spilled under `--memory-limit` ([`Spiller`])
//! past the partial's share of it, in the threads, the workers and the
//! leader's merge alike. A [`Collected`] result keeps in memory
//! only the runs that fit in a quarter of the limit and reads the others
//! back a block at a time as it is iterated. A `Vec` result must fit: past
//! the limit, [`Collect`] fails with an error that says so, rather than
//! reading every run back into memory.

use super::runs::{EncodedRun, OutputBudget, RunReader, estimate};
use super::spill::Spiller;
use super::tagged::{Run, Tagged, footprint};
use super::{Absorb, Action, Folding};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::Split;
use serde::de::DeserializeOwned;
use serde::ser::Serializer;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

/// Collects all items, in input order, into a `Vec`.
pub struct Collect<T> {
    spiller: Option<Arc<Spiller>>,
    _item: PhantomData<fn(T) -> T>,
}

impl<T> Collect<T> {
    /// A new collecting action, unbounded.
    pub fn new() -> Self {
        Collect { spiller: None, _item: PhantomData }
    }

    /// Spills partials past `spiller`'s budget, and fails when the result
    /// would not fit in its limit. The pipeline methods pass the job's
    /// `--memory-limit` and `--spill-dir`.
    pub fn spill(mut self, spiller: Arc<Spiller>) -> Self {
        self.spiller = Some(spiller);
        self
    }
}

impl<T> Default for Collect<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Collect<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Collect")
    }
}

/// The partial of [`Collect`] and [`CollectIter`]: finished splits' runs
/// tagged by index, plus the split being filled.
///
/// # Invariant
/// `current` is empty between splits; merges only happen between splits.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = ""))]
pub struct CollectPartial<T> {
    done: Tagged<T>,
    #[serde(skip)]
    current: Vec<T>,
}

impl<T: Send + Serialize + DeserializeOwned> Action for Collect<T> {
    type Partial = CollectPartial<T>;
    type Output = Vec<T>;

    fn identity(&self) -> CollectPartial<T> {
        CollectPartial { done: Tagged::new(self.spiller.clone()), current: Vec::new() }
    }

    fn merge(&self, into: &mut CollectPartial<T>, other: CollectPartial<T>) {
        debug_assert!(into.current.is_empty() && other.current.is_empty());
        into.done.merge(other.done);
    }

    fn end_split(&self, acc: &mut CollectPartial<T>, split: &Split) {
        self.end_block(acc, split, 0);
    }

    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn end_block(&self, acc: &mut CollectPartial<T>, split: &Split, block: u32) {
        let run = std::mem::take(&mut acc.current);
        acc.done.push_block_run(split.index as u64, block, run);
    }

    fn rebase(&self, partial: &mut CollectPartial<T>, from: u64, to: u64) {
        partial.done.rebase(from, to);
    }

    /// # Errors
    /// A result that would take more than the memory limit (before any run
    /// is read back), a spill file that cannot be read back, or an item that
    /// does not decode.
    fn finish(&self, partial: CollectPartial<T>) -> Result<Vec<T>> {
        let runs = partial.done.into_runs()?;
        let (items, bytes) = footprint(&runs);
        if let Some(spiller) = &self.spiller
            && bytes > spiller.limit()
        {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "collect's result of {items} items needs about {} MiB, more than {}: \
                     iterate it with collect_iter, which reads it back from disk as it goes, or raise --memory-limit",
                    bytes >> 20,
                    spiller.describe_limit()
                ),
            ));
        }
        let mut out = Vec::with_capacity(items);
        for run in runs {
            match run {
                Run::Items(run) => out.extend(run),
                Run::Encoded(run) => {
                    let mut reader = run.source();
                    while let Some(item) = reader.next(&run) {
                        out.push(item?);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Items between two checks of the split's run against the budget.
const CHECK_EVERY: usize = 1024;

impl<T: Serialize> CollectPartial<T> {
    /// Past the piece budget, moves the split's items so far into the
    /// runs, so a long split or a stream stays within the limit.
    #[inline(never)]
    fn cut_piece(&mut self) {
        if let Some(limit) = self.done.piece_bytes()
            && estimate(&self.current) > limit
        {
            let piece = std::mem::take(&mut self.current);
            self.done.push_piece(piece);
        }
    }
}

impl<T: Send + Serialize + DeserializeOwned> Absorb<T> for Collect<T> {
    #[inline(always)]
    fn absorb(&self, acc: &mut CollectPartial<T>, item: T) -> Result<()> {
        acc.current.push(item);
        if acc.current.len().is_multiple_of(CHECK_EVERY) {
            acc.cut_piece();
        }
        Ok(())
    }
}

/// Collects all items, in input order, into a [`Collected`]: runs of
/// encoded items, kept in memory while they fit in a quarter of the memory
/// limit and read back from the spill directory as they are iterated.
#[derive(Debug, Default)]
pub struct CollectIter<T>(pub Collect<T>);

impl<T: Send + Serialize + DeserializeOwned> Action for CollectIter<T> {
    type Partial = CollectPartial<T>;
    type Output = Collected<T>;

    fn identity(&self) -> CollectPartial<T> {
        self.0.identity()
    }

    fn merge(&self, into: &mut CollectPartial<T>, other: CollectPartial<T>) {
        self.0.merge(into, other);
    }

    fn end_split(&self, acc: &mut CollectPartial<T>, split: &Split) {
        self.0.end_split(acc, split);
    }

    fn folding(&self) -> Folding {
        self.0.folding()
    }

    fn end_block(&self, acc: &mut CollectPartial<T>, split: &Split, block: u32) {
        self.0.end_block(acc, split, block);
    }

    fn rebase(&self, partial: &mut CollectPartial<T>, from: u64, to: u64) {
        self.0.rebase(partial, from, to);
    }

    /// A leader shares the runs (spilled ones stay on disk) and encodes
    /// them only if a worker needs the result.
    fn defer_output(&self, output: &Collected<T>) -> Option<crate::plumbing::Deferred> {
        Some(super::runs::defer_runs(&output.runs))
    }

    /// # Errors
    /// An item that cannot be encoded, or a spill file that cannot be written.
    fn finish(&self, partial: CollectPartial<T>) -> Result<Collected<T>> {
        let budget = OutputBudget::new(partial.done.spiller().cloned());
        let runs = partial
            .done
            .into_runs()?
            .into_iter()
            .map(|run| match run {
                Run::Items(items) => budget.keep_or_spill(items),
                Run::Encoded(EncodedRun::Memory { bytes, len }) => budget.keep_or_spill_bytes(bytes, len),
                Run::Encoded(spilled) => Ok(spilled),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Collected::from_runs(runs))
    }
}

impl<T: Send + Serialize + DeserializeOwned> Absorb<T> for CollectIter<T> {
    #[inline(always)]
    fn absorb(&self, acc: &mut CollectPartial<T>, item: T) -> Result<()> {
        self.0.absorb(acc, item)
    }
}

/// Every item of a pipeline, in input order, as runs of encoded items in
/// memory or on disk: iterate it (each item a `Result`, since spilled runs
/// are read back as they come), or [`for_each`](Collected::for_each) over
/// it. Built by [`collect_iter`](crate::Pipeline::collect_iter).
pub struct Collected<T> {
    /// Shared with the leader's deferred copy for its workers.
    runs: Arc<Vec<EncodedRun>>,
    len: usize,
    _items: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Collected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collected").field("len", &self.len).field("runs", &self.runs.len()).finish()
    }
}

impl<T> Collected<T> {
    fn from_runs(runs: Vec<EncodedRun>) -> Self {
        let len = runs.iter().map(EncodedRun::len).fold(0usize, usize::saturating_add);
        Collected { runs: Arc::new(runs), len, _items: PhantomData }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether some of the items are on disk (read back as iterated).
    pub fn spilled(&self) -> bool {
        self.runs.iter().any(|run| matches!(run, EncodedRun::Spilled { .. }))
    }
}

impl<T: DeserializeOwned> Collected<T> {
    /// Calls `f` with each item in input order.
    ///
    /// # Errors
    /// The first error of `f`, or a spilled item that cannot be read back.
    pub fn for_each<E: From<Error>>(
        self,
        mut f: impl FnMut(T) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        for item in self {
            f(item?)?;
        }
        Ok(())
    }

    /// Every item, in input order, in a `Vec`.
    ///
    /// # Errors
    /// A spilled item that cannot be read back.
    pub fn into_vec(self) -> Result<Vec<T>> {
        // The stated length of a shipped result is not trusted for room.
        let mut out = Vec::with_capacity(self.len.min(1 << 20));
        for item in self {
            out.push(item?);
        }
        Ok(out)
    }
}

impl<T: DeserializeOwned> IntoIterator for Collected<T> {
    type Item = Result<T>;
    type IntoIter = CollectedIter<T>;

    fn into_iter(self) -> CollectedIter<T> {
        CollectedIter { runs: self.runs, run: 0, reader: None, _items: PhantomData }
    }
}

/// The iterator of [`Collected`]: run after run, each decoded as it is read.
pub struct CollectedIter<T> {
    runs: Arc<Vec<EncodedRun>>,
    run: usize,
    reader: Option<RunReader>,
    _items: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for CollectedIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CollectedIter").field("run", &self.run).finish()
    }
}

impl<T: DeserializeOwned> Iterator for CollectedIter<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            let run = self.runs.get(self.run)?;
            let reader = self.reader.get_or_insert_with(|| run.source());
            match reader.next(run) {
                Some(Ok(item)) => return Some(Ok(item)),
                Some(Err(e)) => {
                    // A run that does not read back ends the iteration.
                    self.run = self.runs.len();
                    return Some(Err(e));
                }
                None => {
                    self.run += 1;
                    self.reader = None;
                }
            }
        }
    }
}

/// Sent to workers as its runs' encoded bytes (spilled ones read back),
/// like [`SortedGroups`](super::SortedGroups).
impl<T> Serialize for Collected<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        super::runs::serialize_runs(&self.runs, serializer)
    }
}

/// Rebuilt as runs in memory; items are checked as they are iterated.
impl<'de, T> Deserialize<'de> for Collected<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Ok(Collected::from_runs(super::runs::deserialize_runs(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use crate::prelude::*;

    fn job(limit: Option<u64>, threads: usize, spill: &std::path::Path) -> Job {
        let builder = Job::builder().threads(threads).spill_dir(spill);
        match limit {
            Some(limit) => builder.memory_limit(limit),
            None => builder,
        }
        .build()
        .unwrap()
    }

    fn line(i: u64) -> String {
        format!("item {i} with some text to own on the heap {}", i * 7919 % 1013)
    }

    /// One expectation through every path: unbounded and under a limit
    /// that spills partials round after round and the result's runs too,
    /// on one thread and two, `collect` and `collect_iter`, and the
    /// result through a serde round trip (as a leader ships it): always
    /// the items in input order.
    #[test]
    fn collected_items_come_in_input_order_on_every_path() {
        let spill = tempfile::tempdir().unwrap();
        let want: Vec<String> = (0..200_000).map(line).collect();
        // 7,000 items a split, and the whole input as one split (as a
        // stream is), cut into pieces under the limit.
        for (threads, per_split) in [(1, 7_000), (2, 7_000), (1, 200_000), (2, 200_000)] {
            for limit in [None, Some(4 << 20)] {
                let job = job(limit, threads, spill.path());
                let items = || job.range(0..200_000u64).items_per_split(per_split).map(line);
                let collected = items().collect_iter().unwrap();
                assert_eq!(collected.len(), want.len());
                assert_eq!(collected.spilled(), limit.is_some(), "threads={threads} limit={limit:?}");
                let shipped = crate::exec::process::protocol::encode(&collected).unwrap();
                assert!(collected.into_vec().unwrap() == want, "threads={threads} limit={limit:?}");
                let shipped: super::Collected<String> = crate::exec::process::protocol::decode(&shipped).unwrap();
                assert!(shipped.into_vec().unwrap() == want, "threads={threads} limit={limit:?}: round trip");
                match limit {
                    None => assert!(items().collect().unwrap() == want),
                    Some(_) => {
                        let err = items().collect().unwrap_err().to_string();
                        assert!(err.contains("collect_iter") && err.contains("--memory-limit 4 MiB"), "{err}");
                    }
                }
                let counters = job.report().counters;
                let rounds = counters.get(crate::action::spill::SPILL_ROUNDS).copied().unwrap_or(0);
                assert_eq!(rounds >= 3, limit.is_some(), "threads={threads} limit={limit:?}: {rounds} rounds");
            }
        }
        assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0, "spill directories left behind");
    }

    /// Pieces of a split being read take its tag when it ends, in order,
    /// after runs of other splits pushed meanwhile.
    #[test]
    fn pieces_take_their_split_tag_in_order() {
        use super::Tagged;
        let mut tagged: Tagged<u32> = Tagged::new(None);
        tagged.push_run(0, vec![1, 2]);
        tagged.push_piece(vec![5, 6]);
        tagged.push_piece(vec![7]);
        tagged.push_run(2, vec![8]);
        tagged.push_piece(vec![3]);
        tagged.push_run(1, Vec::new());
        let mut got = Vec::new();
        tagged
            .try_for_each(|&x| {
                got.push(x);
                Ok(())
            })
            .unwrap();
        assert_eq!(got, [1, 2, 3, 5, 6, 7, 8]);
    }

    /// A partial with spilled runs, shipped and merged into another (what a
    /// worker's partial does at its leader), keeps every item and its place.
    #[test]
    fn shipped_partials_keep_their_runs_and_tags() {
        use super::{Action, Collect, CollectPartial};
        use crate::action::spill::Spiller;
        let spill = tempfile::tempdir().unwrap();
        let spiller = std::sync::Arc::new(Spiller::new(1 << 20, 1, spill.path().to_path_buf()));
        let action = Collect::<String>::new().spill(spiller);
        let mut worker = action.identity();
        let mut leader = action.identity();
        for tag in (0..40u64).rev() {
            let run: Vec<String> = (tag * 1000..tag * 1000 + 1000).map(line).collect();
            if tag % 2 == 0 { worker.done.push_run(tag, run) } else { leader.done.push_run(tag, run) }
        }
        assert!(worker.done.spilled() && leader.done.spilled(), "nothing spilled");
        let bytes = crate::exec::process::protocol::encode(&worker).unwrap();
        action.merge_encoded(&mut leader, &bytes).unwrap();
        let _: &CollectPartial<String> = &leader;
        // A `Vec` of it would not fit in 1 MiB; the streamed result does.
        let got = super::CollectIter(action).finish(leader).unwrap();
        assert!(got.into_vec().unwrap() == (0..40_000).map(line).collect::<Vec<_>>());
    }
}
