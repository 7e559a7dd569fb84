//! Keyed aggregation: combine values per key inside each split, then merge.

use super::{Absorb, Action};
use crate::error::Result;
use crate::merge::Merge;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;

/// The hash map of keyed results: hashbrown with foldhash, fast for the short
/// keys of grouping. Its iteration order is arbitrary: sort for output.
pub type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

/// A grouping key: borrowed (`&str`, `&[u8]`, `&T`, tuples of them) or owned.
///
/// A key that is already in the partial is found through its borrowed form,
/// with no allocation; [`into_owned`](GroupKey::into_owned) runs once per new
/// key. Tuples of keys are keys, so `(&str, &str)` groups by two borrowed
/// fields and stores `(String, String)`.
///
/// Invariants, relied on by the hash maps of keyed actions: a key hashes
/// exactly like its owned form, and [`matches`](GroupKey::matches) agrees with
/// `==` on the owned form. Implement it for your own owned key type with
/// [`group_key!`](crate::group_key); that also makes the type usable inside
/// tuple keys (every part of a tuple key is a `GroupKey`).
pub trait GroupKey: Hash {
    /// The key as stored in results.
    type Owned: Hash + Eq + Send + Serialize + DeserializeOwned;
    /// Whether this key equals the stored key `stored`.
    fn matches(&self, stored: &Self::Owned) -> bool;
    /// The key to store.
    fn into_owned(self) -> Self::Owned;
}

impl<T> GroupKey for &T
where
    T: Clone + Hash + Eq + Send + Serialize + DeserializeOwned,
{
    type Owned = T;

    #[inline]
    fn matches(&self, stored: &T) -> bool {
        *self == stored
    }

    #[inline]
    fn into_owned(self) -> T {
        self.clone()
    }
}

/// Byte-string keys (`&str`, `&[u8]` and their owned forms): equality without
/// a call to `memcmp` for the short keys that grouping sees most.
macro_rules! bytes_key {
    ($borrowed:ty, $owned:ty, $to_owned:expr) => {
        impl GroupKey for &$borrowed {
            type Owned = $owned;

            #[inline]
            fn matches(&self, stored: &$owned) -> bool {
                bytes_eq(self.as_ref(), stored.as_ref())
            }

            #[inline]
            fn into_owned(self) -> $owned {
                $to_owned(self)
            }
        }

        impl GroupKey for $owned {
            type Owned = $owned;

            #[inline]
            fn matches(&self, stored: &$owned) -> bool {
                bytes_eq(self.as_ref(), stored.as_ref())
            }

            #[inline]
            fn into_owned(self) -> $owned {
                self
            }
        }
    };
}
bytes_key!(str, String, str::to_owned);
bytes_key!([u8], Vec<u8>, <[u8]>::to_vec);

impl GroupKey for &std::path::Path {
    type Owned = std::path::PathBuf;

    #[inline]
    fn matches(&self, stored: &std::path::PathBuf) -> bool {
        *self == stored.as_path()
    }

    #[inline]
    fn into_owned(self) -> std::path::PathBuf {
        self.to_path_buf()
    }
}

/// `a == b` for byte strings, inlined: keys of up to 16 bytes compare with
/// two overlapping loads per side instead of a call to `memcmp`.
#[inline(always)]
fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return a == b;
    }
    let word = |x: &[u8; 8]| u64::from_ne_bytes(*x);
    if let (Some(a0), Some(a1), Some(b0), Some(b1)) =
        (a.first_chunk::<8>(), a.last_chunk::<8>(), b.first_chunk::<8>(), b.last_chunk::<8>())
    {
        return word(a0) == word(b0) && word(a1) == word(b1);
    }
    let half = |x: &[u8; 4]| u32::from_ne_bytes(*x);
    if let (Some(a0), Some(a1), Some(b0), Some(b1)) =
        (a.first_chunk::<4>(), a.last_chunk::<4>(), b.first_chunk::<4>(), b.last_chunk::<4>())
    {
        return half(a0) == half(b0) && half(a1) == half(b1);
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// Implements [`GroupKey`] for owned key types that are their own lookup form.
///
/// ```
/// #[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
/// struct Region(u16);
/// shoal::group_key!(Region);
/// ```
#[macro_export]
macro_rules! group_key {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::action::GroupKey for $t {
            type Owned = $t;
            #[inline]
            fn matches(&self, stored: &$t) -> bool {
                self == stored
            }
            #[inline]
            fn into_owned(self) -> $t {
                self
            }
        }
    )*};
}

crate::group_key!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool, char);

macro_rules! tuple_key {
    ($($name:ident $i:tt),+) => {
        /// Tuples of keys group as the tuple of their owned forms; each part
        /// may be borrowed.
        impl<$($name: GroupKey),+> GroupKey for ($($name,)+) {
            type Owned = ($($name::Owned,)+);
            #[inline]
            fn matches(&self, stored: &Self::Owned) -> bool {
                $(self.$i.matches(&stored.$i))&&+
            }
            #[inline]
            fn into_owned(self) -> Self::Owned {
                ($(self.$i.into_owned(),)+)
            }
        }
    };
}
tuple_key!(A 0, B 1);
tuple_key!(A 0, B 1, C 2);
tuple_key!(A 0, B 1, C 2, D 3);

/// A borrowed key in a probe of a map of owned keys: hashes as the key does,
/// compares through [`GroupKey::matches`].
struct Probe<'k, G>(&'k G);

impl<G: Hash> Hash for Probe<'_, G> {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl<G: GroupKey> hashbrown::Equivalent<G::Owned> for Probe<'_, G> {
    #[inline]
    fn equivalent(&self, stored: &G::Owned) -> bool {
        self.0.matches(stored)
    }
}

/// Looks `key` up in `map`, calling `hit` on the value or `miss` to insert.
#[inline]
fn upsert<G: GroupKey, V>(map: &mut HashMap<G::Owned, V>, key: G, value: V, hit: impl FnOnce(&mut V, V)) {
    match map.get_mut(&Probe(&key)) {
        Some(slot) => hit(slot, value),
        None => {
            map.insert(key.into_owned(), value);
        }
    }
}

fn merge_maps<K: Hash + Eq, V>(into: &mut HashMap<K, V>, other: HashMap<K, V>, mut op: impl FnMut(&mut V, V)) {
    let (mut big, small) =
        if into.len() >= other.len() { (std::mem::take(into), other) } else { (other, std::mem::take(into)) };
    for (k, v) in small {
        match big.get_mut(&k) {
            Some(slot) => op(slot, v),
            None => {
                big.insert(k, v);
            }
        }
    }
    *into = big;
}

/// Merges the [`Merge`] values of each key.
pub struct AggregateByKey<K, V> {
    _pair: PhantomData<fn() -> (K, V)>,
}

impl<K, V> AggregateByKey<K, V> {
    /// A new keyed aggregation.
    pub fn new() -> Self {
        AggregateByKey { _pair: PhantomData }
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
    type Partial = HashMap<K, V>;
    type Output = HashMap<K, V>;

    fn identity(&self) -> HashMap<K, V> {
        HashMap::default()
    }

    fn merge(&self, into: &mut HashMap<K, V>, other: HashMap<K, V>) {
        merge_maps(into, other, V::merge);
    }

    fn finish(&self, partial: HashMap<K, V>) -> Result<HashMap<K, V>> {
        Ok(partial)
    }
}

impl<G, K, V> Absorb<(G, V)> for AggregateByKey<K, V>
where
    G: GroupKey<Owned = K>,
    K: Hash + Eq + Send + Serialize + DeserializeOwned,
    V: Merge + Send + Serialize + DeserializeOwned,
{
    #[inline]
    fn absorb(&self, acc: &mut HashMap<K, V>, (key, value): (G, V)) -> Result<()> {
        upsert(acc, key, value, V::merge);
        Ok(())
    }
}

/// Combines the values of each key with a user operation.
pub struct ReduceByKey<K, V, F> {
    op: F,
    _pair: PhantomData<fn() -> (K, V)>,
}

impl<K, V, F> ReduceByKey<K, V, F> {
    /// Reduces values per key with `op`, which folds its second argument into its first.
    pub fn new(op: F) -> Self {
        ReduceByKey { op, _pair: PhantomData }
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
    type Partial = HashMap<K, V>;
    type Output = HashMap<K, V>;

    fn identity(&self) -> HashMap<K, V> {
        HashMap::default()
    }

    fn merge(&self, into: &mut HashMap<K, V>, other: HashMap<K, V>) {
        merge_maps(into, other, &self.op);
    }

    fn finish(&self, partial: HashMap<K, V>) -> Result<HashMap<K, V>> {
        Ok(partial)
    }
}

impl<G, K, V, F> Absorb<(G, V)> for ReduceByKey<K, V, F>
where
    G: GroupKey<Owned = K>,
    K: Hash + Eq + Send + Serialize + DeserializeOwned,
    V: Send + Serialize + DeserializeOwned,
    F: Fn(&mut V, V) + Sync,
{
    #[inline]
    fn absorb(&self, acc: &mut HashMap<K, V>, (key, value): (G, V)) -> Result<()> {
        upsert(acc, key, value, &self.op);
        Ok(())
    }
}

/// Counts how often each distinct item occurs.
pub struct CountByValue<K> {
    _key: PhantomData<fn(K) -> K>,
}

impl<K> CountByValue<K> {
    /// A new counting action.
    pub fn new() -> Self {
        CountByValue { _key: PhantomData }
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
    type Partial = HashMap<K, u64>;
    type Output = HashMap<K, u64>;

    fn identity(&self) -> HashMap<K, u64> {
        HashMap::default()
    }

    fn merge(&self, into: &mut HashMap<K, u64>, other: HashMap<K, u64>) {
        merge_maps(into, other, |a, b| *a += b);
    }

    fn finish(&self, partial: HashMap<K, u64>) -> Result<HashMap<K, u64>> {
        Ok(partial)
    }
}

impl<G, K> Absorb<G> for CountByValue<K>
where
    G: GroupKey<Owned = K>,
    K: Hash + Eq + Send + Serialize + DeserializeOwned,
{
    #[inline]
    fn absorb(&self, acc: &mut HashMap<K, u64>, key: G) -> Result<()> {
        upsert(acc, key, 1, |a, b| *a += b);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `bytes_eq` agrees with `==` for every length up to 40 and a difference
    /// at every position, and for different lengths.
    #[test]
    fn bytes_eq_is_equality() {
        for len in 0..=40usize {
            let a: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            assert!(bytes_eq(&a, &a.clone()), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x40;
                assert!(!bytes_eq(&a, &b), "{len} {at}");
            }
            assert!(!bytes_eq(&a, &a[..len.saturating_sub(1)]) || len == 0, "{len}");
        }
    }

    /// A borrowed key hashes like its owned form, so lookups find it.
    #[test]
    fn borrowed_and_owned_keys_hash_alike() {
        let mut map: HashMap<(String, Vec<u8>), u32> = HashMap::default();
        upsert(&mut map, ("eu", &b"tea"[..]), 2, |a, b| *a += b);
        upsert(&mut map, ("eu".to_string(), b"tea".to_vec()), 3, |a, b| *a += b);
        upsert(&mut map, ("eu", &b"te"[..]), 1, |a, b| *a += b);
        assert_eq!(map.len(), 2);
        assert_eq!(map[&("eu".to_string(), b"tea".to_vec())], 5);
    }
}
