//! [`Groups`]: the partial result of keyed actions, a hash table laid out
//! for the per-record lookup of grouping.
//!
//! Most records of a keyed aggregation hit a key that is already in the
//! partial, so the hit path is what matters. In a plain
//! `HashMap<Vec<u8>, V>` a hit loads the bucket, follows the stored key's
//! pointer to its heap bytes and compares them: two dependent loads after
//! the control bytes. Here each entry also keeps, for byte strings of 4 to
//! 16 bytes, the key itself in two words ([`ShortKey`]) next to the value,
//! so a hit compares three words of the bucket it already loaded and updates
//! the value in the same bucket; the stored key is not read.
//!
//! The table is hashbrown's [`HashTable`](hashbrown::HashTable) (SIMD probing
//! of control bytes) with Shoal's [`KeyState`] hash.
//!
//! Invariants:
//! * no two entries have equal keys;
//! * an entry's hash is the process-wide [`KeyState`] hash of its key, which
//!   equals the hash of every borrowed form of it (see [`GroupKey`]);
//! * an entry's short form, when it has one, is [`GroupKey::short_key`] of
//!   the key. Entries added from an owned key (a merged or deserialized
//!   partial) may lack it; lookups then compare the keys themselves.

use super::GroupKey;
use super::hash::{KeyState, is_short, short_words};
use hashbrown::HashTable;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::num::NonZeroU64;

/// An exact fixed-size form of a short byte-string key: its length and the
/// two words that cover its bytes (four 4-byte loads at offsets clamped to
/// the string). Two byte strings with short forms are equal
/// exactly when their short forms are.
///
/// The length is never zero, so `Option<ShortKey>` takes no more room than
/// `ShortKey` (24 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortKey {
    len: NonZeroU64,
    lo: u64,
    hi: u64,
}

impl ShortKey {
    /// The short form of `bytes`, for 4 to 16 bytes.
    #[inline(always)]
    pub fn of(bytes: &[u8]) -> Option<ShortKey> {
        let len = NonZeroU64::new(bytes.len() as u64).filter(|_| is_short(bytes.len()))?;
        let (lo, hi) = short_words(bytes);
        Some(ShortKey { len, lo, hi })
    }

    /// Equality as one branch-free expression.
    #[inline(always)]
    fn same(&self, other: &ShortKey) -> bool {
        (self.len.get() ^ other.len.get()) | (self.lo ^ other.lo) | (self.hi ^ other.hi) == 0
    }
}

/// One group: the key's short form (if known), the key, the value.
struct Entry<K, V> {
    short: Option<ShortKey>,
    key: K,
    value: V,
}

impl<K, V> Entry<K, V> {
    /// Whether this is the group of a key with short form `short`: by the
    /// short forms when both sides have one, else by `same_key` on the
    /// stored key.
    #[inline(always)]
    fn holds(&self, short: &Option<ShortKey>, same_key: impl FnOnce(&K) -> bool) -> bool {
        match (short, &self.short) {
            (Some(probe), Some(stored)) => probe.same(stored),
            _ => same_key(&self.key),
        }
    }
}

/// The hash state shared by every [`Groups`] of this process.
fn state() -> &'static KeyState {
    static STATE: std::sync::OnceLock<KeyState> = std::sync::OnceLock::new();
    STATE.get_or_init(KeyState::default)
}

/// The partial of keyed actions: groups of `(key, value)`; see the module
/// docs. It travels between processes as its list of pairs.
///
/// Usable on its own, for aggregation by hand:
///
/// ```
/// use shoal::action::Groups;
///
/// let mut totals: Groups<String, u64> = Groups::new();
/// for (region, amount) in [("north", 3), ("south", 4), ("north", 5)] {
///     // The borrowed key is copied only the first time it is seen.
///     totals.upsert(region, amount, |total, n| *total += n);
/// }
/// let totals = totals.into_map();
/// assert_eq!(totals["north"], 8);
/// assert_eq!(totals.len(), 2);
/// ```
pub struct Groups<K, V> {
    table: HashTable<Entry<K, V>>,
    /// A copy of [`state`], kept here so the per-record path reads no global.
    state: KeyState,
}

impl<K, V> Default for Groups<K, V> {
    fn default() -> Self {
        Groups { table: HashTable::new(), state: *state() }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Groups<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.table.iter().map(|e| (&e.key, &e.value))).finish()
    }
}

impl<K: Hash + Eq, V> Groups<K, V> {
    /// No groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of distinct keys.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The keys and their values, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.table.iter().map(|e| (&e.key, &e.value))
    }

    /// The groups as a [`HashMap`](super::HashMap).
    pub fn into_map(self) -> super::HashMap<K, V> {
        let mut map = super::HashMap::with_capacity_and_hasher(self.table.len(), KeyState::default());
        map.extend(self.table.into_iter().map(|e| (e.key, e.value)));
        map
    }

    /// Folds `value` into the group of `key` with `hit`, or starts the group.
    /// `key` may be borrowed (`&str`, `&[u8]`, tuples of them): it is copied
    /// only when its group is new.
    #[inline(always)]
    pub fn upsert<G: GroupKey<Owned = K>>(&mut self, key: G, value: V, hit: impl FnOnce(&mut V, V)) {
        let hash = self.state.hash_one(&key);
        let short = key.short_key();
        let found = self.table.find_mut(hash, |e| e.holds(&short, |stored| key.matches(stored)));
        match found {
            Some(entry) => hit(&mut entry.value, value),
            None => self.insert_new(hash, Entry { short, key: key.into_owned(), value }),
        }
    }

    /// Adds an entry whose key is absent. Once per distinct key: out of line.
    #[cold]
    #[inline(never)]
    fn insert_new(&mut self, hash: u64, entry: Entry<K, V>) {
        let state = self.state;
        self.table.insert_unique(hash, entry, |e| state.hash_one(&e.key));
    }

    /// Merges `other` into `self`, combining the values of keys on both
    /// sides with `op`. The larger table is kept; the smaller one's entries
    /// move over with their short forms.
    pub fn merge_with(&mut self, other: Groups<K, V>, mut op: impl FnMut(&mut V, V)) {
        let (mut big, small) =
            if self.len() >= other.len() { (std::mem::take(self), other) } else { (other, std::mem::take(self)) };
        for entry in small.table {
            let hash = big.state.hash_one(&entry.key);
            let found = big.table.find_mut(hash, |e| e.holds(&entry.short, |stored| *stored == entry.key));
            match found {
                Some(into) => op(&mut into.value, entry.value),
                None => big.insert_new(hash, entry),
            }
        }
        *self = big;
    }
}

impl<K: Serialize, V: Serialize> Serialize for Groups<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.table.iter().map(|e| (&e.key, &e.value)))
    }
}

impl<'de, K, V> Deserialize<'de> for Groups<K, V>
where
    K: Hash + Eq + DeserializeOwned,
    V: DeserializeOwned,
{
    /// Rebuilds the table from its pairs; a key that appears twice is an
    /// error (no partial Shoal writes has one).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pairs: Vec<(K, V)> = Vec::deserialize(deserializer)?;
        let mut groups = Groups::new();
        for (key, value) in pairs {
            let hash = groups.state.hash_one(&key);
            if groups.table.find(hash, |e| e.key == key).is_some() {
                return Err(D::Error::custom("a partial result lists a key twice"));
            }
            groups.insert_new(hash, Entry { short: None, key, value });
        }
        Ok(groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(groups: &mut Groups<String, u64>, key: &str, n: u64) {
        groups.upsert(key, n, |a, b| *a += b);
    }

    fn sorted(groups: Groups<String, u64>) -> Vec<(String, u64)> {
        let mut pairs: Vec<_> = groups.into_map().into_iter().collect();
        pairs.sort();
        pairs
    }

    /// Keys of every length class (with short forms and without), enough of
    /// them to force growth, against a `BTreeMap`; through upsert, a serde
    /// round trip (entries without short forms) and merge.
    #[test]
    fn agrees_with_a_btree_map() {
        let keys: Vec<String> =
            (0..3000).map(|i: u32| "k".repeat(1 + (i as usize * 7) % 24) + &(i % 997).to_string()).collect();
        let mut reference = std::collections::BTreeMap::new();
        let (mut a, mut b) = (Groups::new(), Groups::new());
        for (i, key) in keys.iter().enumerate() {
            let n = i as u64 % 5 + 1;
            *reference.entry(key.clone()).or_insert(0) += n;
            if i % 3 == 0 {
                add(&mut b, key, n);
            } else {
                add(&mut a, key, n);
            }
        }
        let bytes = postcard::to_allocvec(&b).expect("serialize");
        let mut b: Groups<String, u64> = postcard::from_bytes(&bytes).expect("deserialize");
        // Borrowed keys find the owned ones that came without short forms.
        for key in keys.iter().take(100) {
            add(&mut b, key, 1);
            *reference.get_mut(key).expect("present") += 1;
        }
        a.merge_with(b, |x, y| *x += y);
        let want: Vec<(String, u64)> = reference.into_iter().collect();
        assert_eq!(sorted(a), want);
    }

    #[test]
    fn short_forms_tell_apart_what_words_alone_would_not() {
        let mut groups = Groups::new();
        for key in ["abcd", "abcdabcd", "abcdabcdabcd", "abcdabcdabcdabcd", "abc", ""] {
            add(&mut groups, key, 1);
            add(&mut groups, key, 1);
        }
        assert_eq!(groups.len(), 6);
        assert!(groups.iter().all(|(_, n)| *n == 2));
    }

    #[test]
    fn short_forms_cost_no_tag() {
        assert_eq!(std::mem::size_of::<Option<ShortKey>>(), 24);
    }

    #[test]
    fn a_partial_listing_a_key_twice_is_an_error() {
        let bytes = postcard::to_allocvec(&vec![("a".to_string(), 1u64), ("a".to_string(), 2)]).expect("serialize");
        assert!(postcard::from_bytes::<Groups<String, u64>>(&bytes).is_err());
    }
}
