//! Count, reduce, fold, sum, top-k and for-each.

use super::{Absorb, Action, Folding};
use crate::error::Result;
use crate::merge::{Merge, TopK};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::marker::PhantomData;

/// Counts items.
#[derive(Debug, Clone, Copy, Default)]
pub struct Count;

impl Action for Count {
    type Partial = u64;
    type Output = u64;

    /// Its merge does not depend on input order.
    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn identity(&self) -> u64 {
        0
    }

    fn merge(&self, into: &mut u64, other: u64) {
        *into += other;
    }

    fn finish(&self, partial: u64) -> Result<u64> {
        Ok(partial)
    }
}

impl<T> Absorb<T> for Count {
    #[inline(always)]
    fn absorb(&self, acc: &mut u64, _item: T) -> Result<()> {
        *acc += 1;
        Ok(())
    }
}

/// Combines items with an associative operation.
pub struct Reduce<T, F> {
    op: F,
    _item: PhantomData<fn(T) -> T>,
}

impl<T, F> Reduce<T, F> {
    /// Reduces with `op`.
    pub fn new(op: F) -> Self {
        Reduce { op, _item: PhantomData }
    }
}

impl<T, F> fmt::Debug for Reduce<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reduce")
    }
}

impl<T, F> Action for Reduce<T, F>
where
    T: Send + Serialize + DeserializeOwned,
    F: Fn(T, T) -> T + Sync,
{
    type Partial = Option<T>;
    type Output = Option<T>;

    /// Its merge does not depend on input order.
    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn identity(&self) -> Option<T> {
        None
    }

    fn merge(&self, into: &mut Option<T>, other: Option<T>) {
        if let Some(b) = other {
            *into = Some(match into.take() {
                Some(a) => (self.op)(a, b),
                None => b,
            });
        }
    }

    fn finish(&self, partial: Option<T>) -> Result<Option<T>> {
        Ok(partial)
    }
}

impl<T, F> Absorb<T> for Reduce<T, F>
where
    T: Send + Serialize + DeserializeOwned,
    F: Fn(T, T) -> T + Sync,
{
    #[inline(always)]
    fn absorb(&self, acc: &mut Option<T>, item: T) -> Result<()> {
        self.merge(acc, Some(item));
        Ok(())
    }
}

/// Folds items into accumulators, then combines them.
pub struct Fold<I, F, C> {
    identity: I,
    fold: F,
    combine: C,
}

impl<I, F, C> Fold<I, F, C> {
    /// Folds with `fold` from `identity()`, combining with `combine`.
    pub fn new(identity: I, fold: F, combine: C) -> Self {
        Fold { identity, fold, combine }
    }
}

impl<I, F, C> fmt::Debug for Fold<I, F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fold")
    }
}

impl<A, I, F, C> Action for Fold<I, F, C>
where
    A: Send + Serialize + DeserializeOwned,
    I: Fn() -> A + Sync,
    F: Sync,
    C: Fn(A, A) -> A + Sync,
{
    /// `None` until the first item: folding starts from `identity()` lazily.
    type Partial = Option<A>;
    type Output = A;

    /// Its merge does not depend on input order.
    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn identity(&self) -> Option<A> {
        None
    }

    fn merge(&self, into: &mut Option<A>, other: Option<A>) {
        if let Some(b) = other {
            *into = Some(match into.take() {
                Some(a) => (self.combine)(a, b),
                None => b,
            });
        }
    }

    fn finish(&self, partial: Option<A>) -> Result<A> {
        Ok(partial.unwrap_or_else(&self.identity))
    }
}

impl<T, A, I, F, C> Absorb<T> for Fold<I, F, C>
where
    A: Send + Serialize + DeserializeOwned,
    I: Fn() -> A + Sync,
    F: Fn(A, T) -> A + Sync,
    C: Fn(A, A) -> A + Sync,
{
    #[inline(always)]
    fn absorb(&self, acc: &mut Option<A>, item: T) -> Result<()> {
        let a = acc.take().unwrap_or_else(&self.identity);
        *acc = Some((self.fold)(a, item));
        Ok(())
    }
}

/// Merges items that are themselves [`Merge`] partials (sums for numbers).
pub struct MergeAll<T> {
    _item: PhantomData<fn(T) -> T>,
}

impl<T> MergeAll<T> {
    /// A new merging action.
    pub fn new() -> Self {
        MergeAll { _item: PhantomData }
    }
}

impl<T> Default for MergeAll<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for MergeAll<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MergeAll")
    }
}

impl<T: Merge + Send + Serialize + DeserializeOwned> Action for MergeAll<T> {
    type Partial = T;
    type Output = T;

    /// Its merge does not depend on input order.
    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn identity(&self) -> T {
        T::default()
    }

    fn merge(&self, into: &mut T, other: T) {
        into.merge(other);
    }

    fn finish(&self, partial: T) -> Result<T> {
        Ok(partial)
    }
}

impl<T: Merge + Send + Serialize + DeserializeOwned> Absorb<T> for MergeAll<T> {
    #[inline(always)]
    fn absorb(&self, acc: &mut T, item: T) -> Result<()> {
        acc.merge(item);
        Ok(())
    }
}

/// Keeps the `k` largest items.
pub struct TopKAction<T> {
    k: usize,
    _item: PhantomData<fn(T) -> T>,
}

impl<T> TopKAction<T> {
    /// Keeps the `k` largest.
    pub fn new(k: usize) -> Self {
        TopKAction { k, _item: PhantomData }
    }
}

impl<T> fmt::Debug for TopKAction<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopKAction").field("k", &self.k).finish()
    }
}

impl<T: Ord + Send + Serialize + DeserializeOwned> Action for TopKAction<T> {
    type Partial = TopK<T>;
    type Output = Vec<T>;

    /// Its merge does not depend on input order.
    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn identity(&self) -> TopK<T> {
        TopK::new(self.k)
    }

    fn merge(&self, into: &mut TopK<T>, other: TopK<T>) {
        into.merge(other);
    }

    fn finish(&self, partial: TopK<T>) -> Result<Vec<T>> {
        Ok(partial.into_sorted_vec())
    }
}

impl<T: Ord + Send + Serialize + DeserializeOwned> Absorb<T> for TopKAction<T> {
    #[inline(always)]
    fn absorb(&self, acc: &mut TopK<T>, item: T) -> Result<()> {
        acc.add(item);
        Ok(())
    }
}

/// Calls a function on every item.
pub struct ForEach<F> {
    f: F,
}

impl<F> ForEach<F> {
    /// Calls `f` on every item.
    pub fn new(f: F) -> Self {
        ForEach { f }
    }
}

impl<F> fmt::Debug for ForEach<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForEach")
    }
}

impl<F: Sync> Action for ForEach<F> {
    type Partial = ();
    type Output = ();

    fn identity(&self) {}

    fn merge(&self, _into: &mut (), _other: ()) {}

    /// Its work is the effect: every run sees every record.
    fn keeps_state(&self) -> bool {
        false
    }

    fn finish(&self, _partial: ()) -> Result<()> {
        Ok(())
    }
}

impl<T, F: Fn(T) + Sync> Absorb<T> for ForEach<F> {
    #[inline(always)]
    fn absorb(&self, _acc: &mut (), item: T) -> Result<()> {
        (self.f)(item);
        Ok(())
    }
}
