//! Keyed aggregation: combine values per key inside each split, then merge.

use super::hash::HashMap;
use super::key::GroupKey;
use super::radix::Partitioned;
use super::spill::Spiller;
use super::{Absorb, Action, Folding};
use crate::error::Result;
use crate::merge::Merge;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

/// Merges the [`Merge`] values of each key.
pub struct AggregateByKey<K, V> {
    pub(super) threads: usize,
    spiller: Option<Arc<Spiller>>,
    _pair: PhantomData<fn() -> (K, V)>,
}

impl<K, V> AggregateByKey<K, V> {
    /// A new keyed aggregation.
    pub fn new() -> Self {
        AggregateByKey { threads: 1, spiller: None, _pair: PhantomData }
    }
}

impl<K, V> Default for AggregateByKey<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V> fmt::Debug for AggregateByKey<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AggregateByKey")
    }
}

impl<K, V> Action for AggregateByKey<K, V>
where
    K: Hash + Eq + Send + Serialize + DeserializeOwned,
    V: Merge + Send + Serialize + DeserializeOwned,
{
    type Partial = Partitioned<K, V>;
    type Output = HashMap<K, V>;

    /// Its merge does not depend on input order.
    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn identity(&self) -> Partitioned<K, V> {
        Partitioned::with_spiller(self.spiller.clone())
    }

    fn merge(&self, into: &mut Partitioned<K, V>, other: Partitioned<K, V>) {
        into.merge_with(other, V::merge);
    }

    fn merge_encoded(&self, into: &mut Partitioned<K, V>, bytes: &[u8]) -> Result<()> {
        into.merge_encoded(bytes, V::merge)
    }

    fn reset(&self, partial: &mut Partitioned<K, V>) {
        partial.clear();
    }

    fn finish(&self, partial: Partitioned<K, V>) -> Result<HashMap<K, V>> {
        partial.into_map(self.threads, V::merge)
    }
}

impl<G, K, V> Absorb<(G, V)> for AggregateByKey<K, V>
where
    G: GroupKey<Owned = K> + Serialize,
    K: Hash + Eq + Send + Serialize + DeserializeOwned,
    V: Merge + Send + Serialize + DeserializeOwned,
{
    #[inline(always)]
    fn absorb(&self, acc: &mut Partitioned<K, V>, (key, value): (G, V)) -> Result<()> {
        acc.upsert(key, value, V::merge);
        Ok(())
    }
}

/// Combines the values of each key with a user operation.
pub struct ReduceByKey<K, V, F> {
    pub(super) op: F,
    pub(super) threads: usize,
    spiller: Option<Arc<Spiller>>,
    _pair: PhantomData<fn() -> (K, V)>,
}

impl<K, V, F> ReduceByKey<K, V, F> {
    /// Reduces values per key with `op`, which folds its second argument into its first.
    pub fn new(op: F) -> Self {
        ReduceByKey { op, threads: 1, spiller: None, _pair: PhantomData }
    }
}

impl<K, V, F> fmt::Debug for ReduceByKey<K, V, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReduceByKey")
    }
}

impl<K, V, F> Action for ReduceByKey<K, V, F>
where
    K: Hash + Eq + Send + Serialize + DeserializeOwned,
    V: Send + Serialize + DeserializeOwned,
    F: Fn(&mut V, V) + Sync,
{
    type Partial = Partitioned<K, V>;
    type Output = HashMap<K, V>;

    /// Its merge does not depend on input order.
    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn identity(&self) -> Partitioned<K, V> {
        Partitioned::with_spiller(self.spiller.clone())
    }

    fn merge(&self, into: &mut Partitioned<K, V>, other: Partitioned<K, V>) {
        into.merge_with(other, &self.op);
    }

    fn merge_encoded(&self, into: &mut Partitioned<K, V>, bytes: &[u8]) -> Result<()> {
        into.merge_encoded(bytes, &self.op)
    }

    fn reset(&self, partial: &mut Partitioned<K, V>) {
        partial.clear();
    }

    fn finish(&self, partial: Partitioned<K, V>) -> Result<HashMap<K, V>> {
        partial.into_map(self.threads, &self.op)
    }
}

impl<G, K, V, F> Absorb<(G, V)> for ReduceByKey<K, V, F>
where
    G: GroupKey<Owned = K> + Serialize,
    K: Hash + Eq + Send + Serialize + DeserializeOwned,
    V: Send + Serialize + DeserializeOwned,
    F: Fn(&mut V, V) + Sync,
{
    #[inline(always)]
    fn absorb(&self, acc: &mut Partitioned<K, V>, (key, value): (G, V)) -> Result<()> {
        acc.upsert(key, value, &self.op);
        Ok(())
    }
}

/// Counts how often each distinct item occurs.
pub struct CountByValue<K> {
    pub(super) threads: usize,
    spiller: Option<Arc<Spiller>>,
    _key: PhantomData<fn(K) -> K>,
}

impl<K> CountByValue<K> {
    /// A new counting action.
    pub fn new() -> Self {
        CountByValue { threads: 1, spiller: None, _key: PhantomData }
    }
}

impl<K> Default for CountByValue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> fmt::Debug for CountByValue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CountByValue")
    }
}

impl<K: Hash + Eq + Send + Serialize + DeserializeOwned> Action for CountByValue<K> {
    type Partial = Partitioned<K, u64>;
    type Output = HashMap<K, u64>;

    /// Its merge does not depend on input order.
    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn identity(&self) -> Partitioned<K, u64> {
        Partitioned::with_spiller(self.spiller.clone())
    }

    fn merge(&self, into: &mut Partitioned<K, u64>, other: Partitioned<K, u64>) {
        into.merge_with(other, |a, b| *a += b);
    }

    fn merge_encoded(&self, into: &mut Partitioned<K, u64>, bytes: &[u8]) -> Result<()> {
        into.merge_encoded(bytes, |a, b| *a += b)
    }

    fn reset(&self, partial: &mut Partitioned<K, u64>) {
        partial.clear();
    }

    fn finish(&self, partial: Partitioned<K, u64>) -> Result<HashMap<K, u64>> {
        partial.into_map(self.threads, |a, b| *a += b)
    }
}

impl<G, K> Absorb<G> for CountByValue<K>
where
    G: GroupKey<Owned = K> + Serialize,
    K: Hash + Eq + Send + Serialize + DeserializeOwned,
{
    #[inline(always)]
    fn absorb(&self, acc: &mut Partitioned<K, u64>, key: G) -> Result<()> {
        acc.upsert(key, 1, |a, b| *a += b);
        Ok(())
    }
}

/// The builder methods every keyed action has: the threads that finish
/// it and how its partials spill.
macro_rules! keyed_builders {
    ($($action:ident<$($g:ident),+>),+) => {$(
        impl<$($g),+> $action<$($g),+> {
            /// The threads that [`finish`](Action::finish) merges the
            /// partitions of a large result on (default 1; the pipeline
            /// methods pass all the job's threads: in a leader the workers
            /// wait while it finishes).
            #[must_use]
            pub fn threads(mut self, threads: usize) -> Self {
                self.threads = threads.max(1);
                self
            }

            /// Spills partials to disk as `spiller` says (default: never;
            /// the pipeline methods pass the job's `--memory-limit` and
            /// `--spill-dir`).
            #[must_use]
            pub fn spill(mut self, spiller: Arc<Spiller>) -> Self {
                self.spiller = Some(spiller);
                self
            }
        }
    )+};
}
keyed_builders!(AggregateByKey<K, V>, ReduceByKey<K, V, F>, CountByValue<K>);

#[cfg(test)]
mod tests {
    use super::super::key::AsKey;
    use super::*;

    /// A borrowed tuple key with an `AsKey` part goes through a keyed
    /// action (which needs it to encode like its owned form).
    #[test]
    fn as_key_parts_go_through_keyed_actions() {
        let action = CountByValue::<(u32, String)>::new();
        let mut partial = action.identity();
        action.absorb(&mut partial, (AsKey(3u32), "eu")).unwrap();
        assert_eq!(action.finish(partial).unwrap()[&(3, "eu".to_string())], 1);
    }
}
