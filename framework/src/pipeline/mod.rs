//! Typed pipelines: a source, lazy stages, and an action that runs them.
//!
//! A pipeline is a value describing work: a source ([`crate::source`]) wrapped
//! in stage adaptors ([`Map`], [`Filter`], ...), each a small struct named
//! after its method, built in O(1) and doing nothing until an action runs.
//! An action plans the input into splits and pushes every record of a split
//! through the fused stages into a per-thread partial: one pass over the
//! bytes, no intermediate collection, and for line sources no allocation per
//! record (items borrow from the mapped split).
//!
//! Under the hood each stage is a [`Source`] whose
//! [`drive`](Source::drive) wraps the downstream [`Consumer`] in its own
//! and asks its base to drive that: the source ends up calling one
//! monomorphized chain of closures per record. `Pipeline` itself has no
//! required methods: every [`Source`] is a `Pipeline` (a blanket impl), so
//! a connector's source gets every stage and action below.
//!
//! # Borrowed items
//! Items of line sources are `&str` (or `&[u8]`) borrowed from the split; they
//! cannot outlive it. [`map`](Pipeline::map) and friends produce owned values.
//! To group by a borrowed key without allocating per record, use
//! [`key_by`](Pipeline::key_by), which keeps the key borrowed until a new key
//! has to be stored.

mod filter;
mod filter_map;
mod flat_map;
mod inspect;
mod key_by;
mod map;
mod try_map;

pub use filter::Filter;
pub use filter_map::FilterMap;
pub use flat_map::FlatMap;
pub use inspect::Inspect;
pub use key_by::{KeyBy, KeyPairBy, KeyQuadBy, KeyTripleBy, TryKeyBy, TryKeyPairBy, TryKeyQuadBy, TryKeyTripleBy};
pub use map::Map;
pub use try_map::TryMap;

pub use crate::plumbing::{Consumer, Source};

use crate::action::{self, GroupKey, HashMap};
use crate::error::{BoxError, Result};
use crate::merge::{Merge, Numeric, Stats};
use crate::plan::Plan;
use crate::plumbing::Absorb;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A lazy, typed pipeline over splits of input.
///
/// Stage methods return adaptors; action methods (`count`, `reduce`,
/// `aggregate_by_key`, `collect`, ...) run the pipeline on the job's executor
/// and return the merged result, in every process of the job.
///
/// # Examples
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use shoal::prelude::*;
/// let job = Job::builder().threads(2).build()?;
/// let squares: u64 = job.range(0..1000u64).items_per_split(64).map(|x| x * x).sum()?;
/// assert_eq!(squares, (0..1000u64).map(|x| x * x).sum());
/// # Ok(()) }
/// ```
pub trait Pipeline: Source + Sized {
    // ---- stages -------------------------------------------------------

    /// Transforms each item.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let lens: Vec<usize> = job.iter(vec!["a", "bcd"]).map(|s: &&str| s.len()).collect()?;
    /// assert_eq!(lens, [1, 3]);
    /// # Ok(()) }
    /// ```
    fn map<F, U>(self, f: F) -> Map<Self, F>
    where
        F: for<'a> Fn(Self::Item<'a>) -> U + Sync,
    {
        Map::new(self, f)
    }

    /// Transforms each item with a fallible function; an error stops the job
    /// and names the file, line and byte offset of the record.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let ok: u64 = job.iter(vec!["1", "2"]).try_map(|s: &&str| s.parse::<u64>()).sum()?;
    /// assert_eq!(ok, 3);
    /// let bad = job.iter(vec!["1", "x"]).try_map(|s: &&str| s.parse::<u64>()).sum::<u64>();
    /// assert!(bad.is_err());
    /// # Ok(()) }
    /// ```
    fn try_map<F, U, E>(self, f: F) -> TryMap<Self, F>
    where
        F: for<'a> Fn(Self::Item<'a>) -> Result<U, E> + Sync,
        E: Into<BoxError>,
    {
        TryMap::new(self, f)
    }

    /// Keeps the items for which `f` is true.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let even = job.range(0..10u32).filter(|x| x % 2 == 0).count()?;
    /// assert_eq!(even, 5);
    /// # Ok(()) }
    /// ```
    fn filter<F>(self, f: F) -> Filter<Self, F>
    where
        F: for<'a, 'b> Fn(&'b Self::Item<'a>) -> bool + Sync,
    {
        Filter::new(self, f)
    }

    /// Transforms and filters in one step.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let words = vec!["7", "x", "35"];
    /// let total: u64 = job.iter(words).filter_map(|s: &&str| s.parse::<u64>().ok()).sum()?;
    /// assert_eq!(total, 42);
    /// # Ok(()) }
    /// ```
    fn filter_map<F, U>(self, f: F) -> FilterMap<Self, F>
    where
        F: for<'a> Fn(Self::Item<'a>) -> Option<U> + Sync,
    {
        FilterMap::new(self, f)
    }

    /// Replaces each item by any number of items.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let lines = vec!["a b", "c"];
    /// let words: Vec<String> = job.iter(lines).flat_map(|l: &&str| l.split(' ').map(str::to_owned).collect::<Vec<_>>()).collect()?;
    /// assert_eq!(words, ["a", "b", "c"]);
    /// # Ok(()) }
    /// ```
    fn flat_map<F, I>(self, f: F) -> FlatMap<Self, F>
    where
        F: for<'a> Fn(Self::Item<'a>) -> I + Sync,
        I: IntoIterator,
    {
        FlatMap::new(self, f)
    }

    /// Calls `f` on each item and passes it on unchanged.
    fn inspect<F>(self, f: F) -> Inspect<Self, F>
    where
        F: for<'a, 'b> Fn(&'b Self::Item<'a>) + Sync,
    {
        Inspect::new(self, f)
    }

    /// Splits each borrowed item into a key borrowed from it and a value.
    ///
    /// Available when items are references (`&str` lines, `&[u8]` lines,
    /// `&T` of in-memory collections). The key stays borrowed through the
    /// pipeline; [`aggregate_by_key`](Pipeline::aggregate_by_key) copies it
    /// only the first time a split sees it.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let words = vec!["a=1".to_string(), "b=2".into(), "a=3".into()];
    /// let sums: shoal::HashMap<String, u64> = job
    ///     .iter(words)
    ///     .key_by(|s: &String| {
    ///         let (k, v) = s.split_once('=').unwrap();
    ///         (k, v.parse::<u64>().unwrap())
    ///     })
    ///     .aggregate_by_key()?;
    /// assert_eq!(sums["a"], 4);
    /// # Ok(()) }
    /// ```
    fn key_by<R, F, Q, V>(self, f: F) -> KeyBy<Self, F, Q, V>
    where
        R: ?Sized + 'static,
        Q: ?Sized + 'static,
        Self: for<'a> Source<Item<'a> = &'a R>,
        F: for<'a> Fn(&'a R) -> (&'a Q, V) + Sync,
    {
        KeyBy::new(self, f)
    }

    /// Like [`key_by`](Pipeline::key_by) with a fallible function; an error
    /// names the file, line and byte offset of the record.
    fn try_key_by<R, F, Q, V, E>(self, f: F) -> TryKeyBy<Self, F, Q, V>
    where
        R: ?Sized + 'static,
        Q: ?Sized + 'static,
        Self: for<'a> Source<Item<'a> = &'a R>,
        F: for<'a> Fn(&'a R) -> Result<(&'a Q, V), E> + Sync,
        E: Into<BoxError>,
    {
        TryKeyBy::new(self, f)
    }

    /// Like [`key_by`](Pipeline::key_by) with a key of two parts, both
    /// borrowed from the item: `((&a, &b), value)`. The result's keys are the
    /// owned pair, `(String, String)` for two `&str`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let sales = vec!["eu,tea,2".to_string(), "eu,tea,3".into(), "us,tea,1".into()];
    /// let totals: shoal::HashMap<(String, String), u64> = job
    ///     .iter(sales)
    ///     .key_pair_by(|s: &String| {
    ///         let mut parts = s.split(',');
    ///         let (region, product) = (parts.next().unwrap(), parts.next().unwrap());
    ///         ((region, product), parts.next().unwrap().parse::<u64>().unwrap())
    ///     })
    ///     .aggregate_by_key()?;
    /// assert_eq!(totals[&("eu".to_string(), "tea".to_string())], 5);
    /// # Ok(()) }
    /// ```
    fn key_pair_by<R, F, A, B, V>(self, f: F) -> KeyPairBy<Self, F, A, B, V>
    where
        R: ?Sized + 'static,
        A: ?Sized + 'static,
        B: ?Sized + 'static,
        Self: for<'a> Source<Item<'a> = &'a R>,
        F: for<'a> Fn(&'a R) -> ((&'a A, &'a B), V) + Sync,
    {
        KeyPairBy::new(self, f)
    }

    /// Like [`key_pair_by`](Pipeline::key_pair_by) with a fallible function;
    /// an error names the file, line and byte offset of the record.
    fn try_key_pair_by<R, F, A, B, V, E>(self, f: F) -> TryKeyPairBy<Self, F, A, B, V>
    where
        R: ?Sized + 'static,
        A: ?Sized + 'static,
        B: ?Sized + 'static,
        Self: for<'a> Source<Item<'a> = &'a R>,
        F: for<'a> Fn(&'a R) -> Result<((&'a A, &'a B), V), E> + Sync,
        E: Into<BoxError>,
    {
        TryKeyPairBy::new(self, f)
    }

    /// Like [`key_pair_by`](Pipeline::key_pair_by) with a key of three
    /// parts, all borrowed from the item (of any types with an owned form:
    /// `&str`, `&[u8]`, `&u32`, ...), so grouping by (region, product, month)
    /// allocates only for new keys. The result's keys are the owned triple.
    ///
    /// A part computed from the item rather than borrowed (a month parsed out
    /// of a date) cannot be borrowed: `map` to an owned tuple instead.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// struct Sale { region: String, product: String, month: u8, qty: u64 }
    /// let job = Job::builder().threads(2).build()?;
    /// let sales = vec![
    ///     Sale { region: "eu".into(), product: "tea".into(), month: 1, qty: 2 },
    ///     Sale { region: "eu".into(), product: "tea".into(), month: 1, qty: 3 },
    ///     Sale { region: "eu".into(), product: "tea".into(), month: 2, qty: 1 },
    /// ];
    /// let totals: shoal::HashMap<(String, String, u8), u64> = job
    ///     .iter(sales)
    ///     .key_triple_by(|s: &Sale| ((s.region.as_str(), s.product.as_str(), &s.month), s.qty))
    ///     .aggregate_by_key()?;
    /// assert_eq!(totals[&("eu".to_string(), "tea".to_string(), 1)], 5);
    /// assert_eq!(totals.len(), 2);
    /// # Ok(()) }
    /// ```
    fn key_triple_by<R, F, A, B, D, V>(self, f: F) -> KeyTripleBy<Self, F, A, B, D, V>
    where
        R: ?Sized + 'static,
        A: ?Sized + 'static,
        B: ?Sized + 'static,
        D: ?Sized + 'static,
        Self: for<'a> Source<Item<'a> = &'a R>,
        F: for<'a> Fn(&'a R) -> ((&'a A, &'a B, &'a D), V) + Sync,
    {
        KeyTripleBy::new(self, f)
    }

    /// Like [`key_triple_by`](Pipeline::key_triple_by) with a fallible
    /// function; an error names the file, line and byte offset of the record.
    fn try_key_triple_by<R, F, A, B, D, V, E>(self, f: F) -> TryKeyTripleBy<Self, F, A, B, D, V>
    where
        R: ?Sized + 'static,
        A: ?Sized + 'static,
        B: ?Sized + 'static,
        D: ?Sized + 'static,
        Self: for<'a> Source<Item<'a> = &'a R>,
        F: for<'a> Fn(&'a R) -> Result<((&'a A, &'a B, &'a D), V), E> + Sync,
        E: Into<BoxError>,
    {
        TryKeyTripleBy::new(self, f)
    }

    /// Like [`key_triple_by`](Pipeline::key_triple_by) with a key of four
    /// borrowed parts.
    fn key_quad_by<R, F, A, B, D, G, V>(self, f: F) -> KeyQuadBy<Self, F, A, B, D, G, V>
    where
        R: ?Sized + 'static,
        A: ?Sized + 'static,
        B: ?Sized + 'static,
        D: ?Sized + 'static,
        G: ?Sized + 'static,
        Self: for<'a> Source<Item<'a> = &'a R>,
        F: for<'a> Fn(&'a R) -> ((&'a A, &'a B, &'a D, &'a G), V) + Sync,
    {
        KeyQuadBy::new(self, f)
    }

    /// Like [`key_quad_by`](Pipeline::key_quad_by) with a fallible function;
    /// an error names the file, line and byte offset of the record.
    fn try_key_quad_by<R, F, A, B, D, G, V, E>(self, f: F) -> TryKeyQuadBy<Self, F, A, B, D, G, V>
    where
        R: ?Sized + 'static,
        A: ?Sized + 'static,
        B: ?Sized + 'static,
        D: ?Sized + 'static,
        G: ?Sized + 'static,
        Self: for<'a> Source<Item<'a> = &'a R>,
        F: for<'a> Fn(&'a R) -> Result<((&'a A, &'a B, &'a D, &'a G), V), E> + Sync,
        E: Into<BoxError>,
    {
        TryKeyQuadBy::new(self, f)
    }

    // ---- actions ------------------------------------------------------

    /// The number of items.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// assert_eq!(job.range(0..1000u64).count()?, 1000);
    /// # Ok(()) }
    /// ```
    fn count(self) -> Result<u64>
    where
        action::Count: for<'a> Absorb<Self::Item<'a>>,
    {
        self.run(&action::Count)
    }

    /// Combines all items with an associative `op`; `None` when there are
    /// none. The order of combination is unspecified, so `op` should also be
    /// commutative, or the items should carry their order.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let longest = job.iter(vec!["ab", "abcd", "a"]).map(|s: &&str| s.len()).reduce(usize::max)?;
    /// assert_eq!(longest, Some(4));
    /// # Ok(()) }
    /// ```
    fn reduce<T, F>(self, op: F) -> Result<Option<T>>
    where
        Self: for<'a> Source<Item<'a> = T>,
        T: Send + Serialize + DeserializeOwned,
        F: Fn(T, T) -> T + Sync,
    {
        self.run(&action::Reduce::new(op))
    }

    /// Folds each thread's items into an accumulator starting at
    /// `identity()`, then combines the accumulators with `combine`.
    ///
    /// `identity` must be an identity of `combine`, and `combine` associative
    /// (and commutative: the merge order is unspecified).
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// // Count and total in one pass.
    /// let (n, total) = job.range(1..5u64).fold(|| (0u64, 0u64), |(n, t), x| (n + 1, t + x), |a, b| (a.0 + b.0, a.1 + b.1))?;
    /// assert_eq!((n, total), (4, 10));
    /// # Ok(()) }
    /// ```
    fn fold<A, I, F, C>(self, identity: I, fold: F, combine: C) -> Result<A>
    where
        A: Send + Serialize + DeserializeOwned,
        I: Fn() -> A + Sync,
        F: for<'a> Fn(A, Self::Item<'a>) -> A + Sync,
        C: Fn(A, A) -> A + Sync,
    {
        self.run(&action::Fold::new(identity, fold, combine))
    }

    /// The sum of the items (their [`Merge`], which is addition for numbers).
    fn sum<T>(self) -> Result<T>
    where
        Self: for<'a> Source<Item<'a> = T>,
        T: Merge + Send + Serialize + DeserializeOwned,
    {
        self.run(&action::MergeAll::new())
    }

    /// Count, sum, min, max and mean of numeric items.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let s = job.iter(vec![3i64, -1, 7]).map(|x: &i64| *x).stats()?;
    /// assert_eq!((s.count, s.min, s.max, s.sum), (3, -1, 7, 9));
    /// # Ok(()) }
    /// ```
    fn stats<T>(self) -> Result<Stats<T>>
    where
        Self: for<'a> Source<Item<'a> = T>,
        T: Numeric + Send + Serialize + DeserializeOwned,
    {
        self.map(Stats::of).sum()
    }

    /// The smallest item, if any.
    fn min<T>(self) -> Result<Option<T>>
    where
        Self: for<'a> Source<Item<'a> = T>,
        T: Ord + Send + Serialize + DeserializeOwned,
    {
        Ok(self.map(crate::merge::Min::of).sum()?.0)
    }

    /// The largest item, if any.
    fn max<T>(self) -> Result<Option<T>>
    where
        Self: for<'a> Source<Item<'a> = T>,
        T: Ord + Send + Serialize + DeserializeOwned,
    {
        Ok(self.map(crate::merge::Max::of).sum()?.0)
    }

    /// The `k` largest items, largest first.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let top = job.range(0..100u32).top_k(3)?;
    /// assert_eq!(top, [99, 98, 97]);
    /// # Ok(()) }
    /// ```
    fn top_k<T>(self, k: usize) -> Result<Vec<T>>
    where
        Self: for<'a> Source<Item<'a> = T>,
        T: Ord + Send + Serialize + DeserializeOwned,
    {
        self.run(&action::TopKAction::new(k))
    }

    /// All items, in input order.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// // In input order, whatever the threads did.
    /// let squares: Vec<u64> = job.range(0..5u64).map(|x| x * x).collect()?;
    /// assert_eq!(squares, [0, 1, 4, 9, 16]);
    /// # Ok(()) }
    /// ```
    ///
    /// The `Vec` must fit in `--memory-limit`: past it, the partials spill
    /// to disk and the action fails with an error naming the result's
    /// size, rather than reading them all back into memory. Use
    /// [`collect_iter`](Pipeline::collect_iter) for results of any size.
    fn collect<T>(self) -> Result<Vec<T>>
    where
        Self: for<'a> Source<Item<'a> = T>,
        T: Send + Serialize + DeserializeOwned,
    {
        let (_, spiller) = keyed_budget(self.job());
        self.run(&action::Collect::new().spill(spiller))
    }

    /// All items, in input order, as a [`Collected`](action::Collected)
    /// to iterate: under `--memory-limit` the items that do not fit stay
    /// in the spill directory and are read back a block at a time as they
    /// are iterated, so a result larger than memory streams.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let squares = job.range(0..5u64).map(|x| x * x).collect_iter()?;
    /// assert_eq!(squares.len(), 5);
    /// let mut sum = 0;
    /// for square in squares {
    ///     sum += square?;
    /// }
    /// assert_eq!(sum, 30);
    /// # Ok(()) }
    /// ```
    fn collect_iter<T>(self) -> Result<action::Collected<T>>
    where
        Self: for<'a> Source<Item<'a> = T>,
        T: Send + Serialize + DeserializeOwned,
    {
        let (_, spiller) = keyed_budget(self.job());
        self.run(&action::CollectIter(action::Collect::new().spill(spiller)))
    }

    /// Calls `f` on every item, in parallel, for its side effects.
    fn for_each<F>(self, f: F) -> Result<()>
    where
        F: for<'a> Fn(Self::Item<'a>) + Sync,
    {
        self.run(&action::ForEach::new(f))
    }

    /// Merges the values of each key: items are `(key, value)` pairs with a
    /// [`Merge`] value. Values combine inside each split first, then across
    /// threads and processes.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let pairs = vec![("a", 1u64), ("b", 2), ("a", 3)];
    /// let sums: shoal::HashMap<String, u64> =
    ///     job.iter(pairs).map(|(k, v): &(&str, u64)| (k.to_string(), *v)).aggregate_by_key()?;
    /// assert_eq!((sums["a"], sums["b"]), (4, 2));
    /// # Ok(()) }
    /// ```
    fn aggregate_by_key<K, V>(self) -> Result<HashMap<K, V>>
    where
        action::AggregateByKey<K, V>: for<'a> Absorb<Self::Item<'a>, Output = HashMap<K, V>>,
    {
        let (threads, spiller) = keyed_budget(self.job());
        self.run(&action::AggregateByKey::new().threads(threads).spill(spiller))
    }

    /// Combines the values of each key with `op`, which folds its second
    /// argument into its first: items are `(key, value)` pairs.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let pairs = vec![("a", 5u64), ("b", 2), ("a", 3)];
    /// let most: shoal::HashMap<String, u64> = job
    ///     .iter(pairs)
    ///     .map(|(k, v): &(&str, u64)| (k.to_string(), *v))
    ///     .reduce_by_key(|acc: &mut u64, v| *acc = (*acc).max(v))?;
    /// assert_eq!(most["a"], 5);
    /// # Ok(()) }
    /// ```
    fn reduce_by_key<K, V, F>(self, op: F) -> Result<HashMap<K, V>>
    where
        action::ReduceByKey<K, V, F>: for<'a> Absorb<Self::Item<'a>, Output = HashMap<K, V>>,
        F: Fn(&mut V, V) + Sync,
    {
        let (threads, spiller) = keyed_budget(self.job());
        self.run(&action::ReduceByKey::new(op).threads(threads).spill(spiller))
    }

    /// How many times each distinct item occurs.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let counts: shoal::HashMap<String, u64> =
    ///     job.iter(vec!["x", "y", "x"]).map(|s: &&str| s.to_string()).count_by_value()?;
    /// assert_eq!(counts["x"], 2);
    /// # Ok(()) }
    /// ```
    fn count_by_value<K>(self) -> Result<HashMap<K, u64>>
    where
        action::CountByValue<K>: for<'a> Absorb<Self::Item<'a>, Output = HashMap<K, u64>>,
    {
        let (threads, spiller) = keyed_budget(self.job());
        self.run(&action::CountByValue::new().threads(threads).spill(spiller))
    }

    /// [`aggregate_by_key`](Pipeline::aggregate_by_key), but the groups
    /// come in key order, streamed from sorted partitions (see
    /// [`SortedGroups`](action::SortedGroups)): for reports over millions of
    /// keys, and under `--memory-limit`, where the sorted partitions that
    /// do not fit are read back from disk as the groups are iterated.
    ///
    /// ```
    /// # fn main() -> Result<(), shoal::BoxError> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(2).build()?;
    /// let pairs = vec![("b", 1u64), ("a", 2), ("b", 3)];
    /// let sums = job.iter(pairs).map(|(k, v): &(&str, u64)| (k.to_string(), *v)).aggregate_by_key_sorted()?;
    /// assert_eq!(sums.into_vec()?, [("a".to_string(), 2), ("b".to_string(), 4)]);
    /// # Ok(()) }
    /// ```
    fn aggregate_by_key_sorted<K, V>(self) -> Result<action::SortedGroups<K, V>>
    where
        action::Sorted<action::AggregateByKey<K, V>>:
            for<'a> Absorb<Self::Item<'a>, Output = action::SortedGroups<K, V>>,
        action::AggregateByKey<K, V>: action::Keyed<Key = K, Value = V>,
    {
        let (threads, spiller) = keyed_budget(self.job());
        self.run(&action::Sorted(action::AggregateByKey::new().threads(threads).spill(spiller)))
    }

    /// [`reduce_by_key`](Pipeline::reduce_by_key), with the groups in key
    /// order (see [`aggregate_by_key_sorted`](Pipeline::aggregate_by_key_sorted)).
    fn reduce_by_key_sorted<K, V, F>(self, op: F) -> Result<action::SortedGroups<K, V>>
    where
        action::Sorted<action::ReduceByKey<K, V, F>>:
            for<'a> Absorb<Self::Item<'a>, Output = action::SortedGroups<K, V>>,
        action::ReduceByKey<K, V, F>: action::Keyed<Key = K, Value = V>,
        F: Fn(&mut V, V) + Sync,
    {
        let (threads, spiller) = keyed_budget(self.job());
        self.run(&action::Sorted(action::ReduceByKey::new(op).threads(threads).spill(spiller)))
    }

    /// [`count_by_value`](Pipeline::count_by_value), with the values in
    /// order (see [`aggregate_by_key_sorted`](Pipeline::aggregate_by_key_sorted)).
    fn count_by_value_sorted<K>(self) -> Result<action::SortedGroups<K, u64>>
    where
        action::Sorted<action::CountByValue<K>>: for<'a> Absorb<Self::Item<'a>, Output = action::SortedGroups<K, u64>>,
        action::CountByValue<K>: action::Keyed<Key = K, Value = u64>,
    {
        let (threads, spiller) = keyed_budget(self.job());
        self.run(&action::Sorted(action::CountByValue::new().threads(threads).spill(spiller)))
    }

    /// Runs any [`Action`](action::Action) over this pipeline.
    fn run<A>(self, action: &A) -> Result<A::Output>
    where
        A: for<'a> Absorb<Self::Item<'a>>,
    {
        crate::plumbing::bridge::run(&self, action)
    }

    /// The plan this pipeline would run with, for printing.
    fn explain(&self) -> Result<Plan> {
        self.plan()
    }
}

/// Keys of keyed actions: borrowed (`&str`) or owned (`String`, integers).
pub use crate::action::GroupKey as Key;

/// Every source is a pipeline: stages and actions for free.
impl<S: Source> Pipeline for S {}

/// Implements `job`, `plan` and `describe` by delegating to `self.base`;
/// `describe` appends the stage's method name.
macro_rules! delegate_to_base {
    ($name:literal) => {
        fn job(&self) -> &$crate::job::Job {
            self.base.job()
        }

        fn plan(&self) -> $crate::error::Result<$crate::plan::Plan> {
            self.base.plan()
        }

        fn describe(&self, stages: &mut Vec<String>) {
            self.base.describe(stages);
            stages.push($name.to_string());
        }
    };
}
pub(crate) use delegate_to_base;

#[allow(unused_imports)]
use GroupKey as _;

/// The threads that finish a keyed action of `job` (all of the job's: in a
/// leader the workers wait meanwhile) and how its partials spill.
fn keyed_budget(job: &crate::Job) -> (usize, std::sync::Arc<crate::action::spill::Spiller>) {
    (job.config().total_threads(), crate::action::spill::Spiller::for_job(job))
}
