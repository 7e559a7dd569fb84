//! Keyed aggregation: combine values per key inside each split, then merge.

use super::{Absorb, Action};
use crate::error::Result;
use crate::merge::Merge;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;

/// The hash map of keyed results: hashbrown with foldhash, fast for the short
/// keys of grouping. Its iteration order is arbitrary: sort for output.
pub type HashMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::RandomState>;

/// A grouping key: borrowed (`&str`, `&[u8]`, `&T`) or owned.
///
/// Lookups use the borrowed form, so a key that is already in the partial
/// costs no allocation; [`into_owned`](GroupKey::into_owned) runs once per
/// new key. Implement it for your own owned key type with
/// [`group_key!`](crate::group_key).
pub trait GroupKey {
    /// The key as stored in results.
    type Owned: Borrow<Self::Lookup> + Hash + Eq + Send + Serialize + DeserializeOwned;
    /// The form used for lookups.
    type Lookup: ?Sized + Hash + Eq;
    /// The key in lookup form.
    fn lookup(&self) -> &Self::Lookup;
    /// The key to store.
    fn into_owned(self) -> Self::Owned;
}

impl<Q> GroupKey for &Q
where
    Q: ?Sized + ToOwned + Hash + Eq,
    Q::Owned: Hash + Eq + Send + Serialize + DeserializeOwned,
{
    type Owned = Q::Owned;
    type Lookup = Q;

    #[inline]
    fn lookup(&self) -> &Q {
        self
    }

    #[inline]
    fn into_owned(self) -> Q::Owned {
        self.to_owned()
    }
}

impl GroupKey for String {
    type Owned = String;
    type Lookup = str;

    #[inline]
    fn lookup(&self) -> &str {
        self
    }

    #[inline]
    fn into_owned(self) -> String {
        self
    }
}

impl GroupKey for Vec<u8> {
    type Owned = Vec<u8>;
    type Lookup = [u8];

    #[inline]
    fn lookup(&self) -> &[u8] {
        self
    }

    #[inline]
    fn into_owned(self) -> Vec<u8> {
        self
    }
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
            type Lookup = $t;
            #[inline]
            fn lookup(&self) -> &$t {
                self
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
    ($($name:ident),+) => {
        /// Tuples of owned keys group as themselves.
        impl<$($name),+> GroupKey for ($($name,)+)
        where
            $($name: Hash + Eq + Send + Serialize + DeserializeOwned,)+
        {
            type Owned = Self;
            type Lookup = Self;
            #[inline]
            fn lookup(&self) -> &Self {
                self
            }
            #[inline]
            fn into_owned(self) -> Self {
                self
            }
        }
    };
}
tuple_key!(A, B);
tuple_key!(A, B, C);
tuple_key!(A, B, C, D);

/// Looks `key` up in `map`, calling `hit` on the value or `miss` to insert.
#[inline]
fn upsert<G: GroupKey, V>(map: &mut HashMap<G::Owned, V>, key: G, value: V, hit: impl FnOnce(&mut V, V)) {
    match map.get_mut(key.lookup()) {
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
