//! Maps and sets of mergeable values.

use super::Merge;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::{BuildHasher, Hash};

/// Hash maps: keys present on both sides merge their values; others are
/// carried over. The smaller map is merged into the larger.
macro_rules! merge_hash_map {
    ($($map:ident)::+) => {
        /// Keys present on both sides merge their values; others are carried over.
        impl<K: Hash + Eq, V: Merge, S: BuildHasher + Default> Merge for $($map)::+<K, V, S> {
            fn merge(&mut self, other: Self) {
                if self.len() < other.len() {
                    let mine = std::mem::replace(self, other);
                    self.merge(mine);
                    return;
                }
                for (k, v) in other {
                    self.entry(k).or_default().merge(v);
                }
            }
        }
    };
}
merge_hash_map!(HashMap);
merge_hash_map!(hashbrown::HashMap);

/// Keys present on both sides merge their values; others are carried over.
impl<K: Ord, V: Merge> Merge for BTreeMap<K, V> {
    fn merge(&mut self, other: Self) {
        for (k, v) in other {
            self.entry(k).or_default().merge(v);
        }
    }
}

/// Union.
impl<T: Hash + Eq, S: BuildHasher + Default> Merge for HashSet<T, S> {
    fn merge(&mut self, other: Self) {
        self.extend(other);
    }
}

/// Union.
impl<T: Ord> Merge for BTreeSet<T> {
    fn merge(&mut self, other: Self) {
        self.extend(other);
    }
}
