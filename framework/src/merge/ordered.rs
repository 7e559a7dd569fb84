//! Records in input order, whatever order partials merge in.

use super::Merge;
use serde::{Deserialize, Serialize};

/// A vector whose runs are tagged with their position in the input.
///
/// Each run is the records of one split, tagged with the split's index; merge
/// appends runs in any order and [`into_vec`](Ordered::into_vec) sorts them by
/// tag. So the merge is commutative, and the result is in input order.
///
/// # Invariant
/// Tags are unique: one run per split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ordered<T> {
    runs: Vec<(u64, Vec<T>)>,
}

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered { runs: Vec::new() }
    }
}

impl<T> Ordered<T> {
    /// Adds the records of the input position `tag`.
    pub fn push_run(&mut self, tag: u64, run: Vec<T>) {
        if !run.is_empty() {
            self.runs.push((tag, run));
        }
    }

    /// How many records in all.
    pub fn len(&self) -> usize {
        self.runs.iter().map(|(_, r)| r.len()).sum()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.runs.iter().all(|(_, r)| r.is_empty())
    }

    /// Moves every tag `t` to `t - from + to` (see
    /// [`Action::rebase`](crate::plumbing::Action::rebase)); tags below
    /// `from` stay put.
    pub fn rebase(&mut self, from: u64, to: u64) {
        for (tag, _) in &mut self.runs {
            if *tag >= from {
                *tag = *tag - from + to;
            }
        }
    }

    /// The records in input order.
    pub fn into_vec(mut self) -> Vec<T> {
        self.runs.sort_unstable_by_key(|(tag, _)| *tag);
        let mut out = Vec::with_capacity(self.len());
        for (_, run) in self.runs {
            out.extend(run);
        }
        out
    }
}

impl<T> Merge for Ordered<T> {
    fn merge(&mut self, mut other: Self) {
        if self.runs.len() < other.runs.len() {
            std::mem::swap(self, &mut other);
        }
        self.runs.append(&mut other.runs);
    }
}
