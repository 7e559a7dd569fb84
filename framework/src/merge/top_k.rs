//! The `k` largest values.

use super::Merge;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The `k` largest values seen, by `Ord`.
///
/// Equal values are interchangeable, so the result is the same for every merge
/// order. To rank records by a score and break ties, put both in a tuple:
/// `(count, Reverse(word))` ranks by count, then by word ascending.
///
/// The identity (`Default`) has `k = 0`; merging keeps the larger `k`, so a
/// default partial merged with `TopK::new(k)` behaves as `TopK::new(k)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopK<T: Ord> {
    k: usize,
    heap: BinaryHeap<Reverse<T>>,
}

impl<T: Ord> Default for TopK<T> {
    fn default() -> Self {
        TopK { k: 0, heap: BinaryHeap::new() }
    }
}

impl<T: Ord> TopK<T> {
    /// Keeps the `k` largest values.
    pub fn new(k: usize) -> Self {
        TopK { k, heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1) }
    }

    /// How many values are kept at most.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Offers one value.
    #[inline]
    pub fn add(&mut self, value: T) {
        if self.heap.len() < self.k {
            self.heap.push(Reverse(value));
        } else if let Some(mut smallest) = self.heap.peek_mut()
            && value > smallest.0
        {
            smallest.0 = value;
        }
    }

    /// The kept values, largest first.
    pub fn into_sorted_vec(self) -> Vec<T> {
        // `into_sorted_vec` sorts ascending by `Reverse`, i.e. largest first.
        self.heap.into_sorted_vec().into_iter().map(|Reverse(v)| v).collect()
    }
}

impl<T: Ord> Merge for TopK<T> {
    fn merge(&mut self, other: Self) {
        self.k = self.k.max(other.k);
        for Reverse(v) in other.heap {
            self.add(v);
        }
    }
}
