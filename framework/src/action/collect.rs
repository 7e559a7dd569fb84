//! Collecting items in input order.

use super::{Absorb, Action};
use crate::error::Result;
use crate::merge::{Merge, Ordered};
use crate::plan::Split;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;

/// Collects all items, in input order.
pub struct Collect<T> {
    _item: PhantomData<fn(T) -> T>,
}

impl<T> Collect<T> {
    /// A new collecting action.
    pub fn new() -> Self {
        Collect { _item: PhantomData }
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

/// The partial of [`Collect`]: finished splits tagged by index, plus the
/// split being filled.
///
/// # Invariant
/// `current` is empty between splits; merges only happen between splits.
#[derive(Debug, Serialize, Deserialize)]
pub struct CollectPartial<T> {
    done: Ordered<T>,
    current: Vec<T>,
}

impl<T: Send + Serialize + for<'de> Deserialize<'de>> Action for Collect<T> {
    type Partial = CollectPartial<T>;
    type Output = Vec<T>;

    fn identity(&self) -> CollectPartial<T> {
        CollectPartial { done: Ordered::default(), current: Vec::new() }
    }

    fn merge(&self, into: &mut CollectPartial<T>, other: CollectPartial<T>) {
        debug_assert!(into.current.is_empty() && other.current.is_empty());
        into.done.merge(other.done);
    }

    fn end_split(&self, acc: &mut CollectPartial<T>, split: &Split) {
        let run = std::mem::take(&mut acc.current);
        acc.done.push_run(split.index as u64, run);
    }

    fn rebase(&self, partial: &mut CollectPartial<T>, from: u64, to: u64) {
        partial.done.rebase(from, to);
    }

    fn finish(&self, partial: CollectPartial<T>) -> Result<Vec<T>> {
        Ok(partial.done.into_vec())
    }
}

impl<T: Send + Serialize + for<'de> Deserialize<'de>> Absorb<T> for Collect<T> {
    #[inline(always)]
    fn absorb(&self, acc: &mut CollectPartial<T>, item: T) -> Result<()> {
        acc.current.push(item);
        Ok(())
    }
}
