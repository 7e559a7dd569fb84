//! Keyed results in key order, streamed: [`Sorted`] and [`SortedGroups`].
//!
//! A report over millions of keys is usually printed in key order. Building
//! a `HashMap` of every group and sorting a copy of it holds the result two
//! or three times over and sorts it on one table; instead, each radix
//! partition ([`Partitioned`]) is aggregated and sorted on its own, in
//! parallel, and the sorted partitions are merged as the caller iterates.
//! Under `--memory-limit` the sorted partitions that would not fit go to
//! the spill directory and are read back a block at a time, so iterating
//! holds one block per partition, not the result.
//!
//! Invariant: each key is in exactly one partition (the partition of its
//! hash), so the merge never meets a key twice across partitions; within a
//! partition, equal keys (two encodings of one key) are folded after the
//! sort, where they are neighbours.

use super::byte_keys::{take_key, take_key_into};
use super::keyed::{AggregateByKey, CountByValue, ReduceByKey};
use super::radix::Partitioned;
use super::runs::{EncodedRun, OutputBudget, RunReader, end_on_error};
use super::{Absorb, Action, Folding};
use crate::error::Result;
use serde::de::DeserializeOwned;
use serde::ser::Serializer;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::hash::Hash;

/// A keyed action whose partial is a [`Partitioned`]: what [`Sorted`]
/// needs to finish it in key order.
pub trait Keyed: Action<Partial = Partitioned<Self::Key, Self::Value>> {
    /// The key type.
    type Key;
    /// The value type.
    type Value;
    /// Folds `other` into `into`, as the action merges values of one key.
    fn fold(&self, into: &mut Self::Value, other: Self::Value);
    /// The threads that finish the action.
    fn finish_threads(&self) -> usize;
}

impl<K, V> Keyed for AggregateByKey<K, V>
where
    K: Hash + Eq + Send + Serialize + DeserializeOwned,
    V: crate::merge::Merge + Send + Serialize + DeserializeOwned,
{
    type Key = K;
    type Value = V;

    fn fold(&self, into: &mut V, other: V) {
        into.merge(other);
    }

    fn finish_threads(&self) -> usize {
        self.threads
    }
}

impl<K, V, F> Keyed for ReduceByKey<K, V, F>
where
    K: Hash + Eq + Send + Serialize + DeserializeOwned,
    V: Send + Serialize + DeserializeOwned,
    F: Fn(&mut V, V) + Sync,
{
    type Key = K;
    type Value = V;

    fn fold(&self, into: &mut V, other: V) {
        (self.op)(into, other);
    }

    fn finish_threads(&self) -> usize {
        self.threads
    }
}

impl<K: Hash + Eq + Send + Serialize + DeserializeOwned> Keyed for CountByValue<K> {
    type Key = K;
    type Value = u64;

    fn fold(&self, into: &mut u64, other: u64) {
        *into += other;
    }

    fn finish_threads(&self) -> usize {
        self.threads
    }
}

/// A keyed action ([`AggregateByKey`](super::AggregateByKey),
/// [`ReduceByKey`](super::ReduceByKey), [`CountByValue`](super::CountByValue))
/// whose result is a [`SortedGroups`] in key order instead of a map.
#[derive(Debug)]
pub struct Sorted<A>(pub A);

impl<A> Action for Sorted<A>
where
    A: Keyed,
    A::Key: Ord + Hash + Eq + Send + Serialize + DeserializeOwned + 'static,
    A::Value: Send + Serialize + DeserializeOwned + 'static,
{
    type Partial = A::Partial;
    type Output = SortedGroups<A::Key, A::Value>;

    fn folding(&self) -> Folding {
        self.0.folding()
    }

    fn identity(&self) -> Self::Partial {
        self.0.identity()
    }

    fn merge(&self, into: &mut Self::Partial, other: Self::Partial) {
        self.0.merge(into, other);
    }

    fn merge_encoded(&self, into: &mut Self::Partial, bytes: &[u8]) -> Result<()> {
        self.0.merge_encoded(into, bytes)
    }

    fn reset(&self, partial: &mut Self::Partial) {
        self.0.reset(partial);
    }

    fn rebase(&self, partial: &mut Self::Partial, from: u64, to: u64) {
        self.0.rebase(partial, from, to);
    }

    fn keeps_state(&self) -> bool {
        self.0.keeps_state()
    }

    /// A leader shares the runs (spilled ones stay on disk) and encodes
    /// them only if a worker needs the result.
    fn defer_output(&self, output: &Self::Output) -> Option<crate::plumbing::Deferred> {
        Some(super::runs::defer_runs(&output.runs))
    }

    fn finish(&self, partial: Self::Partial) -> Result<Self::Output> {
        let fold = |a: &mut A::Value, b: A::Value| self.0.fold(a, b);
        let budget = OutputBudget::new(partial.spiller().cloned());
        let decode = super::byte_keys::decode_key::<A::Key>;
        let runs = partial.aggregate_each(self.0.finish_threads(), &fold, decode, |mut pairs| {
            pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            let pairs = fold_neighbours(pairs, &fold);
            budget.keep_or_spill(pairs)
        })?;
        Ok(SortedGroups::from_runs(runs))
    }
}

impl<T, A> Absorb<T> for Sorted<A>
where
    A: Keyed + Absorb<T>,
    A::Key: Ord + Hash + Eq + Send + Serialize + DeserializeOwned + 'static,
    A::Value: Send + Serialize + DeserializeOwned + 'static,
{
    #[inline(always)]
    fn absorb(&self, acc: &mut Self::Partial, item: T) -> Result<()> {
        self.0.absorb(acc, item)
    }
}

/// Folds neighbours with equal keys in a sorted list.
fn fold_neighbours<K: Ord, V>(pairs: Vec<(K, V)>, fold: &impl Fn(&mut V, V)) -> Vec<(K, V)> {
    let mut out: Vec<(K, V)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        match out.last_mut() {
            Some(last) if last.0 == key => fold(&mut last.1, value),
            _ => out.push((key, value)),
        }
    }
    out
}

/// The groups of a keyed action in key order: iterate it (each item a
/// `Result`, since spilled groups are read back from disk as they come) or
/// [`for_each`](SortedGroups::for_each) over it. Built by
/// [`aggregate_by_key_sorted`](crate::Pipeline::aggregate_by_key_sorted) and
/// its siblings.
pub struct SortedGroups<K, V> {
    /// Shared with the leader's deferred copy for its workers
    /// ([`Action::defer_output`]).
    runs: std::sync::Arc<Vec<EncodedRun>>,
    len: usize,
    _pairs: std::marker::PhantomData<fn() -> (K, V)>,
}

impl<K, V> fmt::Debug for SortedGroups<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SortedGroups").field("len", &self.len).field("runs", &self.runs.len()).finish()
    }
}

impl<K, V> SortedGroups<K, V> {
    fn from_runs(runs: Vec<EncodedRun>) -> Self {
        let len = runs.iter().map(EncodedRun::len).fold(0usize, usize::saturating_add);
        SortedGroups { runs: std::sync::Arc::new(runs), len, _pairs: std::marker::PhantomData }
    }

    /// The number of groups.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<K, V> SortedGroups<K, V>
where
    K: Ord + Serialize + DeserializeOwned + Send + 'static,
    V: Serialize + DeserializeOwned + Send + 'static,
{
    /// Calls `f` with each group in key order.
    ///
    /// # Errors
    /// The first error of `f`, or a spilled group that cannot be read back.
    pub fn for_each<E: From<crate::Error>>(
        self,
        mut f: impl FnMut(K, V) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        for group in self {
            let (key, value) = group?;
            f(key, value)?;
        }
        Ok(())
    }

    /// Every group, in key order, in a `Vec`.
    ///
    /// # Errors
    /// A spilled group that cannot be read back.
    pub fn into_vec(self) -> Result<Vec<(K, V)>> {
        // The stated length of a shipped result is not trusted for room.
        let mut out = Vec::with_capacity(self.len.min(1 << 20));
        for group in self {
            out.push(group?);
        }
        Ok(out)
    }
}

impl<K, V> IntoIterator for SortedGroups<K, V>
where
    K: Ord + Serialize + DeserializeOwned + Send + 'static,
    V: Serialize + DeserializeOwned + Send + 'static,
{
    type Item = Result<(K, V)>;
    type IntoIter = SortedIter<K, V>;

    /// A merge of the sorted partitions through a tree of losers (one
    /// comparison per level for each group). A large result is merged on a
    /// thread of its own, a batch ahead of the caller, so the comparisons
    /// overlap what the caller does with each group; the batches carry the
    /// groups encoded, so each key is allocated and freed by one thread
    /// (the merging one for its comparisons, the caller for its copy),
    /// which the allocator serves from its per-thread cache.
    fn into_iter(self) -> SortedIter<K, V> {
        let ahead = self.len >= MERGE_AHEAD_FROM;
        let merge = self.merge();
        if !ahead {
            return SortedIter { inner: Inner::Here(merge) };
        }
        // The merge is handed over once the thread runs: if it cannot be
        // started, the caller merges instead.
        let (hand, handed) = std::sync::mpsc::sync_channel::<Merge<K, V>>(1);
        let (tx, batches) = std::sync::mpsc::sync_channel::<Result<Vec<u8>>>(4);
        let spawned = std::thread::Builder::new().name("shoal-merge".into()).spawn(move || {
            let Ok(mut merge) = handed.recv() else { return };
            // A panic (in a `Deserialize`, say) reaches the caller as an
            // error, not as the end of the groups. The groups merged before
            // it come first: a batch holds only whole groups, since a
            // group's bytes are copied in one piece before the next head is
            // decoded or compared.
            let mut batch = Vec::new();
            let merged = crate::exec::unwind::catch_panic(|| {
                merge_ahead(&mut merge, &tx, &mut batch);
                Ok(())
            });
            if let Err(e) = merged {
                if !batch.is_empty() && tx.send(Ok(batch)).is_err() {
                    return;
                }
                let _ = tx.send(Err(e));
            }
        });
        if spawned.is_err() {
            return SortedIter { inner: Inner::Here(merge) };
        }
        match hand.send(merge) {
            Ok(()) => SortedIter { inner: Inner::Ahead { batches, batch: Vec::new(), pos: 0, ended: false } },
            // The thread is gone before it took the merge (it cannot be:
            // it waits for it), so the caller merges.
            Err(std::sync::mpsc::SendError(merge)) => SortedIter { inner: Inner::Here(merge) },
        }
    }
}

/// The merging thread's work: `merge`'s groups in batches of encoded
/// groups to `tx`, then an empty batch (the end), or an error (also the
/// end). Stops early when the caller stopped iterating. `batch` is the
/// batch being filled.
fn merge_ahead<K: Ord + DeserializeOwned + 'static, V: DeserializeOwned>(
    merge: &mut Merge<K, V>,
    tx: &std::sync::mpsc::SyncSender<Result<Vec<u8>>>,
    batch: &mut Vec<u8>,
) {
    loop {
        batch.reserve(BATCH + 256);
        let mut failed = None;
        while batch.len() < BATCH {
            match merge.next_encoded(batch) {
                Some(Ok(())) => {}
                Some(Err(e)) => {
                    failed = Some(e);
                    break;
                }
                None => break,
            }
        }
        let last = failed.is_some() || batch.len() < BATCH;
        // A send fails when the caller stopped iterating: stop too.
        if !batch.is_empty() && tx.send(Ok(std::mem::take(batch))).is_err() {
            return;
        }
        if last {
            let _ = tx.send(failed.map_or(Ok(Vec::new()), Err));
            return;
        }
    }
}

impl<K: Ord + DeserializeOwned + 'static, V: DeserializeOwned> SortedGroups<K, V> {
    /// The merge of the runs, on the calling thread.
    fn merge(self) -> Merge<K, V> {
        let mut sources: Vec<RunReader> = self.runs.iter().map(EncodedRun::source).collect();
        let mut failed = None;
        let heads: Vec<Option<(K, V)>> = sources
            .iter_mut()
            .zip(self.runs.iter())
            .map(|(source, run)| match source.next_with(run, take_pair::<K, V>) {
                Some(Ok(pair)) => Some(pair),
                Some(Err(e)) => {
                    failed.get_or_insert(e);
                    None
                }
                None => None,
            })
            .collect();
        let k = heads.len();
        let mut merge = Merge { runs: self.runs, sources, heads, tree: vec![0; k.max(1)], failed };
        if k > 0 {
            let winner = merge.build(1);
            merge.tree[0] = winner;
        }
        merge
    }
}

/// Groups from which the merge runs ahead on its own thread.
const MERGE_AHEAD_FROM: usize = 1 << 16;

/// Bytes of encoded groups per batch from the merging thread.
const BATCH: usize = 256 << 10;

/// The iterator of [`SortedGroups`].
pub struct SortedIter<K, V> {
    inner: Inner<K, V>,
}

enum Inner<K, V> {
    /// Merged on the calling thread.
    Here(Merge<K, V>),
    /// Merged on a thread of its own: batches of encoded groups, the last
    /// one empty. `ended` once the end or an error was read.
    Ahead { batches: std::sync::mpsc::Receiver<Result<Vec<u8>>>, batch: Vec<u8>, pos: usize, ended: bool },
}

impl<K: Ord + DeserializeOwned + 'static, V: DeserializeOwned> Iterator for SortedIter<K, V> {
    type Item = Result<(K, V)>;

    fn next(&mut self) -> Option<Result<(K, V)>> {
        match &mut self.inner {
            Inner::Here(merge) => merge.next(),
            Inner::Ahead { batches, batch, pos, ended } => {
                while *pos >= batch.len() {
                    if *ended {
                        return None;
                    }
                    let next = batches.recv().unwrap_or_else(|_| {
                        // Gone without its end: never taken for the end of
                        // the groups.
                        Err(crate::Error::new(
                            crate::ErrorKind::Panic,
                            "the merging thread of a sorted result stopped before its last group",
                        ))
                    });
                    match next {
                        Ok(next) if next.is_empty() => *ended = true,
                        Ok(next) => (*batch, *pos) = (next, 0),
                        Err(e) => {
                            *ended = true;
                            return Some(Err(e));
                        }
                    }
                }
                let group = end_on_error(batch, pos, take_pair::<K, V>);
                // A group the caller cannot decode ends the groups, as it
                // does when merged here.
                *ended |= group.is_err();
                Some(group)
            }
        }
    }
}

/// Decodes the group at `bytes[*pos..]` (its key as
/// [`take_key`] does, a byte string without serde's visit of each byte)
/// and moves `*pos` past it.
fn take_pair<K: DeserializeOwned + 'static, V: DeserializeOwned>(
    bytes: &[u8],
    pos: &mut usize,
) -> postcard::Result<(K, V)> {
    let (key, rest) = take_key::<K>(bytes.get(*pos..).unwrap_or_default())?;
    let (value, rest) = postcard::take_from_bytes::<V>(rest)?;
    *pos = bytes.len() - rest.len();
    Ok((key, value))
}

/// [`take_pair`] into `place`, reusing its key's buffer.
fn take_pair_into<K: DeserializeOwned + 'static, V: DeserializeOwned>(
    bytes: &[u8],
    pos: &mut usize,
    place: &mut (K, V),
) -> postcard::Result<()> {
    let rest = take_key_into(bytes.get(*pos..).unwrap_or_default(), &mut place.0)?;
    let (value, rest) = postcard::take_from_bytes::<V>(rest)?;
    place.1 = value;
    *pos = bytes.len() - rest.len();
    Ok(())
}

/// A merge of sorted runs through a tree of losers.
struct Merge<K, V> {
    runs: std::sync::Arc<Vec<EncodedRun>>,
    sources: Vec<RunReader>,
    /// The next group of each run; `None` once it is done.
    heads: Vec<Option<(K, V)>>,
    /// The tree of losers: `tree[0]` is the run with the smallest head,
    /// `tree[n]` (`1 <= n < k`) the loser of the match at node `n`, whose
    /// children are nodes `2n` and `2n + 1`; run `i` is leaf `k + i`.
    tree: Vec<usize>,
    failed: Option<crate::Error>,
}

impl<K, V> fmt::Debug for SortedIter<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SortedIter")
    }
}

impl<K: Ord, V> Merge<K, V> {
    /// Whether run `a`'s head comes before run `b`'s (a finished run comes
    /// last; ties go to the lower run).
    #[inline]
    fn before(&self, a: usize, b: usize) -> bool {
        match (&self.heads[a], &self.heads[b]) {
            // Less, or equal and `a < b`, as arithmetic: no branch on the
            // comparison's outcome, a coin flip in a merge.
            (Some(x), Some(y)) => 2 * (x.0.cmp(&y.0) as i8) - i8::from(a < b) < 0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => a < b,
        }
    }

    /// Plays the matches below node `n`; returns their winner.
    fn build(&mut self, n: usize) -> usize {
        let k = self.heads.len();
        if n >= k {
            return n - k;
        }
        let (l, r) = (self.build(2 * n), self.build(2 * n + 1));
        let (winner, loser) = if self.before(l, r) { (l, r) } else { (r, l) };
        self.tree[n] = loser;
        winner
    }

    /// Run `run`'s head changed: replays its matches up to the root.
    fn replay(&mut self, run: usize) {
        let k = self.heads.len();
        let mut winner = run;
        let mut n = (run + k) / 2;
        while n >= 1 {
            // Which side wins is a coin flip for the branch predictor: a
            // conditional move, not a branch (a mispredicted branch per
            // level was most of the merge's time).
            let stored = self.tree[n];
            let swap = self.before(stored, winner);
            self.tree[n] = std::hint::select_unpredictable(swap, winner, stored);
            winner = std::hint::select_unpredictable(swap, stored, winner);
            n /= 2;
        }
        self.tree[0] = winner;
    }
}

impl<K: Ord + DeserializeOwned + 'static, V: DeserializeOwned> Iterator for Merge<K, V> {
    type Item = Result<(K, V)>;

    fn next(&mut self) -> Option<Result<(K, V)>> {
        let run = match self.winner()? {
            Ok(run) => run,
            Err(e) => return Some(Err(e)),
        };
        let pair = self.heads[run].take()?;
        self.advance(run);
        Some(Ok(pair))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, None)
    }
}

impl<K: Ord + DeserializeOwned + 'static, V: DeserializeOwned> Merge<K, V> {
    /// The run whose head comes next, or the error that ends the merge
    /// (once; `None` after it, and after the last group).
    fn winner(&mut self) -> Option<Result<usize>> {
        if let Some(e) = self.failed.take() {
            self.heads.iter_mut().for_each(|h| *h = None);
            return Some(Err(e));
        }
        let run = *self.tree.first()?;
        self.heads.get(run)?.as_ref()?;
        Some(Ok(run))
    }

    /// Run `run`'s head was used: reads its next one (into the old head's
    /// place if it was not taken) and replays.
    fn advance(&mut self, run: usize) {
        let (source, bytes) = (&mut self.sources[run], &self.runs[run]);
        let read = match &mut self.heads[run] {
            // Not taken (the merging thread): decoded into its place.
            Some(head) => source.next_with(bytes, |b, p| take_pair_into(b, p, head)),
            // Taken by the caller: decoded afresh.
            None => source.next_with(bytes, take_pair::<K, V>).map(|r| r.map(|pair| self.heads[run] = Some(pair))),
        };
        match read {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                self.failed = Some(e);
                self.heads[run] = None;
            }
            None => self.heads[run] = None,
        }
        self.replay(run);
    }

    /// [`next`](Iterator::next), but the group is appended to `out` as its
    /// run holds it encoded, rather than decoded and encoded again (the
    /// merging thread's batches).
    fn next_encoded(&mut self, out: &mut Vec<u8>) -> Option<Result<()>> {
        let run = match self.winner()? {
            Ok(run) => run,
            Err(e) => return Some(Err(e)),
        };
        out.extend_from_slice(self.sources[run].last(&self.runs[run]));
        self.advance(run);
        Some(Ok(()))
    }
}

/// Sent to workers as its runs' encoded bytes (spilled ones read back):
/// no group is decoded on the way.
impl<K, V> Serialize for SortedGroups<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        super::runs::serialize_runs(&self.runs, serializer)
    }
}

/// Rebuilt as runs in memory. The runs' pairs are checked only as they are
/// iterated (a run that does not decode is an error then).
impl<'de, K, V> Deserialize<'de> for SortedGroups<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Ok(SortedGroups::from_runs(super::runs::deserialize_runs(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AggregateByKey, CountByValue};
    use super::*;
    use crate::action::spill::Spiller;
    use std::sync::Arc;

    /// Counts `n` keys (some repeated) with and without a tight memory
    /// limit and through a serde round trip: always the `BTreeMap`'s
    /// groups in its order, and the spill files are gone at the end.
    #[test]
    fn sorted_groups_come_in_key_order_at_every_size() {
        let parent = tempfile::tempdir().unwrap();
        for n in [0u64, 5, 20_000, 200_000] {
            for limited in [false, true] {
                let mut action = CountByValue::<String>::new().threads(2);
                if limited {
                    action = action.spill(Arc::new(Spiller::new(4 << 20, 2, parent.path().to_path_buf())));
                }
                let sorted = Sorted(action);
                let mut reference = std::collections::BTreeMap::new();
                let mut partials = vec![sorted.identity(), sorted.identity()];
                for i in 0..(2 * n) {
                    let key = format!("key {:07}", (i * 7919) % n.max(1));
                    *reference.entry(key.clone()).or_insert(0u64) += 1;
                    sorted.absorb(&mut partials[(i % 2) as usize], key.as_str()).unwrap();
                }
                let mut merged = sorted.identity();
                for p in partials {
                    sorted.merge(&mut merged, p);
                }
                let groups = sorted.finish(merged).unwrap();
                assert_eq!(groups.len(), reference.len());
                let spilled = groups.runs.iter().any(|r| matches!(r, EncodedRun::Spilled { .. }));
                assert_eq!(spilled, limited && n >= 200_000, "n={n} limited={limited}: spilled={spilled}");
                let bytes = postcard::to_allocvec(&groups).unwrap();
                let got = groups.into_vec().unwrap();
                let want: Vec<(String, u64)> = reference.into_iter().collect();
                assert!(got == want, "n={n} limited={limited}");
                let shipped: SortedGroups<String, u64> = postcard::from_bytes(&bytes).unwrap();
                assert!(shipped.into_vec().unwrap() == want, "n={n} limited={limited}: round trip");
            }
        }
        let left: Vec<_> = std::fs::read_dir(parent.path()).unwrap().flatten().collect();
        assert!(left.is_empty(), "spill directories left: {left:?}");
    }

    /// A run whose bytes end inside a group gives the groups before it in
    /// order, then one error, then nothing: merged here and merged ahead
    /// on a thread of its own (which copies groups as their runs hold
    /// them and decodes heads in place).
    #[test]
    fn a_run_that_ends_inside_a_group_is_one_error_after_the_groups_before_it() {
        for n in [100u64, 2 * MERGE_AHEAD_FROM as u64] {
            // The odd keys' run is cut one byte into its group `c`: the
            // merge gives the `c` odd groups before it and the `c` even
            // ones below them, then the error.
            let c = n / 8;
            let run = |parity: u64, cut: bool| {
                let items: Vec<(String, u64)> =
                    (0..n).filter(|i| i % 2 == parity).map(|i| (format!("key {i:09}"), i)).collect();
                let mut bytes = Vec::new();
                super::super::runs::encode_items(&items[..c as usize], &mut bytes).unwrap();
                let at = bytes.len();
                super::super::runs::encode_items(&items[c as usize..], &mut bytes).unwrap();
                if cut {
                    bytes.truncate(at + 1);
                }
                EncodedRun::Memory { bytes, len: items.len() }
            };
            let groups: SortedGroups<String, u64> = SortedGroups::from_runs(vec![run(0, false), run(1, true)]);
            let (mut ok, mut errors, mut last) = (0u64, 0, None::<String>);
            for group in groups {
                match group {
                    Ok((key, value)) => {
                        assert_eq!(errors, 0, "n={n}: a group after the error");
                        assert!(last.as_ref().is_none_or(|l| *l < key), "n={n}: out of order at {key}");
                        assert_eq!(key, format!("key {value:09}"));
                        last = Some(key);
                        ok += 1;
                    }
                    Err(_) => errors += 1,
                }
            }
            assert_eq!(errors, 1, "n={n}");
            assert_eq!(ok, 2 * c, "n={n}");
        }
    }

    /// A run whose bytes end on a group's boundary short of its length is
    /// an error after the groups before it, merged here and ahead.
    #[test]
    fn a_run_short_of_its_length_is_an_error_not_the_end() {
        for n in [100u64, 2 * MERGE_AHEAD_FROM as u64] {
            let items: Vec<(String, u64)> = (0..n).map(|i| (format!("key {i:09}"), i)).collect();
            let mut bytes = Vec::new();
            super::super::runs::encode_items(&items[..n as usize / 2], &mut bytes).unwrap();
            let groups: SortedGroups<String, u64> =
                SortedGroups::from_runs(vec![EncodedRun::Memory { bytes, len: items.len() }]);
            let got: Vec<Result<(String, u64)>> = groups.into_iter().collect();
            assert_eq!(got.len() as u64, n / 2 + 1, "n={n}");
            assert!(got[..n as usize / 2].iter().zip(&items).all(|(g, want)| g.as_ref().ok() == Some(want)));
            let err = got.last().unwrap().as_ref().unwrap_err();
            assert!(err.to_string().contains(&format!("holds only {}", n / 2)), "n={n}: {err}");
        }
    }

    /// A key whose decoding panics at one value.
    #[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
    struct Fragile(u64);

    impl<'de> Deserialize<'de> for Fragile {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
            let value = u64::deserialize(deserializer)?;
            assert!(value != 777, "cannot decode 777");
            Ok(Fragile(value))
        }
    }

    /// A panic on the merging thread reaches the caller as an error after
    /// the groups before it, not as the end of the groups.
    #[test]
    fn a_panic_while_merging_ahead_is_an_error() {
        let n = 2 * MERGE_AHEAD_FROM as u64;
        let items: Vec<(Fragile, u64)> = (0..n).map(|i| (Fragile(i), i)).collect();
        let mut bytes = Vec::new();
        super::super::runs::encode_items(&items, &mut bytes).unwrap();
        let groups: SortedGroups<Fragile, u64> =
            SortedGroups::from_runs(vec![EncodedRun::Memory { bytes, len: items.len() }]);
        let got: Vec<Result<(Fragile, u64)>> = groups.into_iter().collect();
        assert_eq!(got.len(), 778);
        assert!(got[..777].iter().enumerate().all(|(i, g)| g.as_ref().ok() == Some(&(Fragile(i as u64), i as u64))));
        let err = got[777].as_ref().unwrap_err();
        assert!(err.kind() == crate::ErrorKind::Panic && err.to_string().contains("cannot decode 777"), "{err}");
    }

    /// Spilled runs of groups larger than a read block (so each is read
    /// back in several blocks, some groups decoded again after a refill):
    /// the merging thread's batch is the reference's encoding byte for
    /// byte, and both ways of merging give the reference.
    #[test]
    fn groups_larger_than_a_block_merge_from_spilled_runs_byte_for_byte() {
        let parent = tempfile::tempdir().unwrap();
        // A limit this small spills every run.
        let spiller = Arc::new(Spiller::new(1 << 10, 1, parent.path().to_path_buf()));
        let budget = OutputBudget::new(Some(spiller));
        let item = |i: u64| {
            let value: Option<Vec<u8>> = (!i.is_multiple_of(4)).then(|| vec![i as u8; (i as usize * 7_919) % 170_000]);
            (format!("key {i:05}"), value)
        };
        let runs: Vec<Vec<(String, Option<Vec<u8>>)>> =
            (0..3u64).map(|r| (0..60u64).filter(|i| i % 3 == r).map(item).collect()).collect();
        let mut reference: Vec<(String, Option<Vec<u8>>)> = runs.iter().flatten().cloned().collect();
        reference.sort();
        let mut want = Vec::new();
        super::super::runs::encode_items(&reference, &mut want).unwrap();
        let encoded = || -> SortedGroups<String, Option<Vec<u8>>> {
            SortedGroups::from_runs(runs.iter().map(|r| budget.keep_or_spill(r.clone()).unwrap()).collect())
        };
        let groups = encoded();
        assert!(groups.runs.iter().all(|r| matches!(r, EncodedRun::Spilled { .. })), "not spilled");
        let mut merge = groups.merge();
        let mut batch = Vec::new();
        while let Some(done) = merge.next_encoded(&mut batch) {
            done.unwrap();
        }
        assert!(batch == want, "the batch differs from the reference's encoding");
        assert!(encoded().merge().collect::<Result<Vec<_>>>().unwrap() == reference, "merged here");
        assert!(encoded().into_vec().unwrap() == reference, "merged by the iterator");
    }

    /// A tight limit does spill sorted partitions, and an aggregation of
    /// values gives the same groups as without it.
    #[test]
    fn spilled_sorted_partitions_equal_kept_ones() {
        let parent = tempfile::tempdir().unwrap();
        let spiller = Arc::new(Spiller::new(1 << 20, 1, parent.path().to_path_buf()));
        let run = |action: AggregateByKey<String, u64>| {
            let sorted = Sorted(action);
            let mut p = sorted.identity();
            for i in 0..100_000u64 {
                sorted.absorb(&mut p, (format!("k{}", i % 60_000), i)).unwrap();
            }
            sorted.finish(p).unwrap()
        };
        let kept = run(AggregateByKey::new());
        let spilled = run(AggregateByKey::new().spill(spiller));
        assert!(spilled.runs.iter().any(|r| matches!(r, EncodedRun::Spilled { .. })), "nothing spilled");
        assert!(kept.into_vec().unwrap() == spilled.into_vec().unwrap());
    }
}
