//! [`Groups`]: the partial result of keyed actions, a hash table laid out
//! for the per-record lookup of grouping.
//!
//! Most records of a keyed aggregation hit a key that is already in the
//! partial, so the hit path is what matters. It has two levels:
//!
//! * **Slots**, an array in which each key has two places: the group of a
//!   key with hash `h` is in slot `i = h & (slots - 1)`, in its neighbour
//!   `i ^ 1`, or in the table below. Each slot keeps, for byte strings of 4
//!   to 16 bytes, the key itself in three words ([`ShortKey`]) next to the
//!   value, so a hit is one slot load (two for a key in its second slot),
//!   one comparison of three words per slot and the update in place; the
//!   stored key is not read. The slots are sized to about eight per key (at
//!   most [`MAX_SLOTS`]), so most keys own their first slot; of the rest,
//!   nearly all find the second one free.
//! * **The table**, hashbrown's [`HashTable`](hashbrown::HashTable) (SIMD
//!   probing of control bytes) with Shoal's [`KeyState`] hash: keys whose
//!   two slots other keys took, and every key once there are too many for
//!   the slots to pay (the slots are then retired).
//!
//! The slots save instructions over the table alone on the weather example
//! (BENCHMARKS.md, "Figures behind design choices"). A key in its second
//! slot costs a mispredicted branch, which is why they are kept sparse; the
//! second slot spares those keys the out-of-line search of the table.
//!
//! Invariants:
//! * no two groups have equal keys;
//! * a group lives in one of its key's two slots or in the table; it is in
//!   the second slot only if the first is taken, and in the table only if
//!   both are: so **an empty slot of a key proves that no group of that key
//!   lies beyond it** (a new key takes the first empty one of its slots
//!   before the table; slots never empty, except all at once when they are
//!   rebuilt or retired);
//! * hashes are the process-wide [`KeyState`] hash of the key, which equals
//!   the hash of every borrowed form of it (see [`GroupKey`]);
//! * a group's stored short form, when it has one, is
//!   [`GroupKey::short_key`] of its key. Groups read from a serialized
//!   partial have none until a lookup finds them by key and records it.

use super::hash::{HashMap, KeyState, ShortKey};
use super::key::GroupKey;
use hashbrown::HashTable;
use serde::de::{self, DeserializeOwned, Deserializer, Error as _};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::{BuildHasher, Hash};

/// A short form as three plain words, so that a lookup's hit test is one
/// comparison of three words with no test for "none" first: a stored entry
/// without a short form has `len == 0`, a probe without one has
/// `len == u64::MAX`, and a real short form has 4 to 16. So two `Words`
/// are equal only when both are real short forms of the same key.
#[derive(Clone, Copy)]
struct Words {
    len: u64,
    lo: u64,
    hi: u64,
}

impl Words {
    /// How a group stored without a short form reads.
    const STORED_NONE: Words = Words { len: 0, lo: 0, hi: 0 };
    /// How a lookup for a key without a short form reads.
    const PROBE_NONE: Words = Words { len: u64::MAX, lo: 0, hi: 0 };

    /// The words of a short form.
    #[inline(always)]
    fn of(short: ShortKey) -> Words {
        Words { len: short.len.get(), lo: short.lo, hi: short.hi }
    }

    /// The stored form of `short`.
    #[inline(always)]
    fn stored(short: Option<ShortKey>) -> Words {
        short.map_or(Words::STORED_NONE, Words::of)
    }

    /// The probe form of `short`.
    #[inline(always)]
    fn probe(short: Option<ShortKey>) -> Words {
        short.map_or(Words::PROBE_NONE, Words::of)
    }

    /// The stored form of a probe.
    #[inline(always)]
    fn to_stored(self) -> Words {
        if self.len == u64::MAX { Words::STORED_NONE } else { self }
    }

    /// The probe form of a stored form.
    fn to_probe(self) -> Words {
        if self.len == 0 { Words::PROBE_NONE } else { self }
    }

    /// A stored form, after a lookup with `probe` found its group by key:
    /// the probe's short form if this one had none.
    #[inline(always)]
    fn learn(self, probe: &Words) -> Words {
        if self.len == 0 { probe.to_stored() } else { self }
    }

    /// Equality as one branch-free expression.
    #[inline(always)]
    fn same(&self, other: &Words) -> bool {
        (self.len ^ other.len) | (self.lo ^ other.lo) | (self.hi ^ other.hi) == 0
    }
}

/// One group: the key's short form (`len == 0` if it has none or it is not
/// known), the key, the value.
struct Entry<K, V> {
    short: Words,
    key: K,
    value: V,
}

impl<K, V> Entry<K, V> {
    /// Whether this is the group of a key with probe form `probe`: equal
    /// short forms, or, when either side lacks one, `same_key` on the
    /// stored key.
    #[inline(always)]
    fn holds(&self, probe: &Words, same_key: impl FnOnce(&K) -> bool) -> bool {
        probe.same(&self.short) || ((probe.len == u64::MAX || self.short.len == 0) && same_key(&self.key))
    }
}

/// Where a key is in its two slots ([`Groups::find_in_slots`]).
enum InSlots {
    /// In this slot.
    At(usize),
    /// Not in the groups: one of its slots is empty.
    Absent,
    /// Both slots hold other keys: it may be in the table.
    Full,
}

/// The hash state shared by every [`Groups`] of this process (and, in a
/// job with workers, of every process of the job).
fn state() -> &'static KeyState {
    super::hash::groups_state()
}

/// The most slots a [`Groups`] keeps (see the module docs).
const MAX_SLOTS: usize = 4096;

/// The fewest slots, allocated at the first key. Every size is a power of
/// two of at least this, so a key's two slots `i` and `i ^ 1` both exist.
const MIN_SLOTS: usize = 64;

/// Slots per key that the slots grow to keep (while under [`MAX_SLOTS`]):
/// with eight, nearly every key owns its first slot, and nearly all the
/// others their second (the shares are in BENCHMARKS.md, "Figures behind
/// design choices").
const SLOTS_PER_KEY: usize = 8;

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
    /// The first level, two slots per key: empty, or a power of two (at
    /// least [`MIN_SLOTS`]) long.
    slots: Vec<Option<Entry<K, V>>>,
    /// The number of occupied slots.
    in_slots: usize,
    /// Set once there were too many keys for the slots: they stay empty.
    retired: bool,
    /// The groups that are not in a slot.
    table: HashTable<Entry<K, V>>,
    /// A copy of [`state`], kept here so the per-record path reads no global.
    state: KeyState,
}

impl<K, V> Default for Groups<K, V> {
    fn default() -> Self {
        Groups { slots: Vec::new(), in_slots: 0, retired: false, table: HashTable::new(), state: *state() }
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for Groups<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.entries().map(|e| (&e.key, &e.value))).finish()
    }
}

impl<K, V> Groups<K, V> {
    /// The number of distinct keys.
    pub fn len(&self) -> usize {
        self.in_slots + self.table.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys and their values, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries().map(|e| (&e.key, &e.value))
    }

    /// Every group: the slots' first, then the table's.
    fn entries(&self) -> impl Iterator<Item = &Entry<K, V>> {
        self.slots.iter().flatten().chain(self.table.iter())
    }

    /// Every group, by value.
    fn into_entries(self) -> impl Iterator<Item = Entry<K, V>> {
        self.slots.into_iter().flatten().chain(self.table)
    }

    /// The first of the two slots of `hash` (the second is its neighbour,
    /// `at ^ 1`), if there are slots.
    #[inline(always)]
    fn slot_index(&self, hash: u64) -> Option<usize> {
        // With no slots the mask is `usize::MAX` and the index is out of
        // range, so this one test also covers "no slots". Slots come in an
        // even number, so `at ^ 1` is in range whenever `at` is.
        let at = hash as usize & self.slots.len().wrapping_sub(1);
        (at < self.slots.len()).then_some(at)
    }
}

impl<K: Hash + Eq, V> Groups<K, V> {
    /// No groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// The groups as a [`HashMap`].
    ///
    /// The map hashes with the groups' own state: walking the table in
    /// bucket order, the map is then filled in (nearly) its own bucket
    /// order too, one cache line after the next, rather than at random
    /// places (with millions of keys, most of the time of the copy).
    pub fn into_map(self) -> HashMap<K, V> {
        let mut map = HashMap::with_capacity_and_hasher(self.len(), self.state);
        map.extend(self.into_entries().map(|e| (e.key, e.value)));
        map
    }

    /// Folds `value` into the group of `key` with `hit`, or starts the group.
    /// `key` may be borrowed (`&str`, `&[u8]`, tuples of them): it is copied
    /// only when its group is new.
    #[inline(always)]
    pub fn upsert<G: GroupKey<Owned = K>>(&mut self, key: G, value: V, hit: impl FnOnce(&mut V, V)) {
        // With no cap the key is never handed back.
        let _ = self.upsert_within(key, value, hit, usize::MAX);
    }

    /// [`upsert`](Groups::upsert), but a new key is added only while there
    /// are fewer than `cap` groups: past that, the key, its hash and the
    /// value come back, for the caller to put elsewhere (the radix
    /// partitions of [`super::radix`]). The check is on the new-key path
    /// only: a hit costs what it costs in `upsert`.
    #[inline(always)]
    pub(crate) fn upsert_within<G: GroupKey<Owned = K>>(
        &mut self,
        key: G,
        value: V,
        hit: impl FnOnce(&mut V, V),
        cap: usize,
    ) -> Option<(u64, G, V)> {
        let hash = self.state.hash_one(&key);
        let short = key.short_key();
        // The hit path: the key has a short form and is in one of its two
        // slots.
        if let Some(short) = short
            && let Some(at) = self.slot_index(hash)
        {
            let probe = Words::of(short);
            for at in [at, at ^ 1] {
                if let Some(Some(entry)) = self.slots.get_mut(at)
                    && probe.same(&entry.short)
                {
                    hit(&mut entry.value, value);
                    return None;
                }
            }
        }
        // Everything else (keys without a short form, keys in the table,
        // groups without a recorded short form, new keys) out of line. The
        // value is handed over only here, so the hit path does not spill it.
        let probe = Words::probe(short);
        let full = self.len() >= cap;
        match self.find(hash, &probe, |stored| key.matches(stored)) {
            Some(into) => hit(into, value),
            None if full => return Some((hash, key, value)),
            None => self.insert_absent(hash, Entry { short: probe.to_stored(), key: key.into_owned(), value }),
        }
        None
    }

    /// The hash of `key` in these groups (and in every [`Groups`] of this
    /// process: they share one state).
    #[inline]
    pub(crate) fn hash_of<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.state.hash_one(key)
    }

    /// The groups as `(key, value)` pairs, consumed.
    pub(crate) fn into_pairs(self) -> impl Iterator<Item = (K, V)> {
        self.into_entries().map(|e| (e.key, e.value))
    }

    /// The value of the group that `probe` and `same_key` identify (see
    /// [`Entry::holds`]), recording `probe` as its short form if it had
    /// none.
    #[inline(never)]
    fn find(&mut self, hash: u64, probe: &Words, same_key: impl Fn(&K) -> bool) -> Option<&mut V> {
        let entry = match self.slot_index(hash) {
            None => self.table.find_mut(hash, |e| e.holds(probe, &same_key)),
            Some(first) => match self.find_in_slots(first, probe, &same_key) {
                InSlots::At(at) => self.slots.get_mut(at).and_then(Option::as_mut),
                // By the invariant, an empty slot of the key means the table
                // does not have it.
                InSlots::Absent => None,
                InSlots::Full => self.table.find_mut(hash, |e| e.holds(probe, &same_key)),
            },
        };
        let entry = entry?;
        entry.short = entry.short.learn(probe);
        Some(&mut entry.value)
    }

    /// Where the key of `probe` is in the two slots from `first`.
    fn find_in_slots(&self, first: usize, probe: &Words, same_key: impl Fn(&K) -> bool) -> InSlots {
        for at in [first, first ^ 1] {
            match self.slots.get(at) {
                Some(Some(entry)) if entry.holds(probe, &same_key) => return InSlots::At(at),
                // Out of range cannot happen (an even number of slots); like
                // `place`, it would count as a slot taken.
                Some(Some(_)) | None => {}
                Some(None) => return InSlots::Absent,
            }
        }
        InSlots::Full
    }

    /// Adds a group whose key is absent: into the first empty one of its
    /// slots, else into the table; then grows or retires the slots if it is
    /// time.
    #[cold]
    #[inline(never)]
    fn insert_absent(&mut self, hash: u64, entry: Entry<K, V>) {
        self.place(hash, entry);
        self.resize_slots();
    }

    /// Puts a group whose key is absent where the invariant wants it.
    fn place(&mut self, hash: u64, entry: Entry<K, V>) {
        if let Some(first) = self.slot_index(hash) {
            for at in [first, first ^ 1] {
                if let Some(slot @ None) = self.slots.get_mut(at) {
                    *slot = Some(entry);
                    self.in_slots += 1;
                    return;
                }
            }
        }
        let state = self.state;
        self.table.insert_unique(hash, entry, |e| state.hash_one(&e.key));
    }

    /// Keeps about [`SLOTS_PER_KEY`] slots per key, up to [`MAX_SLOTS`];
    /// past a quarter of that many keys, retires the slots (most keys would
    /// miss them, and the miss costs more than it saves).
    fn resize_slots(&mut self) {
        let keys = self.len();
        if self.retired || keys * SLOTS_PER_KEY <= self.slots.len() {
            return;
        }
        if keys > MAX_SLOTS / 4 {
            self.retired = true;
            self.rebuild(0);
        } else if self.slots.len() < MAX_SLOTS {
            self.rebuild((keys * SLOTS_PER_KEY).next_power_of_two().clamp(MIN_SLOTS, MAX_SLOTS));
        }
    }

    /// Places every group again, with `slots` slots.
    #[cold]
    fn rebuild(&mut self, slots: usize) {
        let old = std::mem::take(self);
        self.state = old.state;
        self.retired = old.retired;
        debug_assert!(slots == 0 || (slots.is_power_of_two() && slots >= MIN_SLOTS));
        self.slots = std::iter::repeat_with(|| None).take(slots).collect();
        for entry in old.into_entries() {
            let hash = self.state.hash_one(&entry.key);
            self.place(hash, entry);
        }
    }

    /// Makes room for a union with `keys` distinct keys, of which there are
    /// at least as many as either side has: the slots are retired at once
    /// if `keys` is more than they would keep (as growing would), and the
    /// table grows once rather than step by step. Overlapping keys are not
    /// guessed at: past that lower bound the table grows as it fills.
    fn reserve_union(&mut self, keys: usize) {
        if !self.retired && keys > MAX_SLOTS / 4 {
            self.retired = true;
            self.rebuild(0);
        }
        if self.retired {
            let state = self.state;
            self.table.reserve(keys.saturating_sub(self.len()), |e| state.hash_one(&e.key));
        }
    }

    /// Removes every group, keeping the memory of the slots and the table
    /// for the groups to come (a worker reuses one partial for split after
    /// split: see [`Action::reset`](crate::plumbing::Action::reset)).
    pub(crate) fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = None);
        self.in_slots = 0;
        self.table.clear();
    }

    /// Merges `other` into `self`, combining the values of keys on both
    /// sides with `op`. The larger side is kept; the smaller one's groups
    /// move over with their short forms.
    pub fn merge_with(&mut self, other: Groups<K, V>, mut op: impl FnMut(&mut V, V)) {
        let (mut big, small) =
            if self.len() >= other.len() { (std::mem::take(self), other) } else { (other, std::mem::take(self)) };
        for entry in small.into_entries() {
            big.add_group(entry, &mut op);
        }
        *self = big;
    }

    /// Merges `other` into `self` like [`merge_with`](Groups::merge_with),
    /// but adds new keys only while there are fewer than `cap` groups: the
    /// other new keys come back with their hashes and values (for the radix
    /// partitions of [`super::radix`]).
    pub(crate) fn merge_within(
        &mut self,
        other: Groups<K, V>,
        mut op: impl FnMut(&mut V, V),
        cap: usize,
    ) -> Vec<(u64, K, V)> {
        let mut over = Vec::new();
        for entry in other.into_entries() {
            let hash = self.state.hash_one(&entry.key);
            let probe = entry.short.to_probe();
            let full = self.len() >= cap;
            match self.find(hash, &probe, |stored| *stored == entry.key) {
                Some(into) => op(into, entry.value),
                None if full => over.push((hash, entry.key, entry.value)),
                None => self.insert_absent(hash, entry),
            }
        }
        over
    }

    /// Folds one pair of another partial, decoded without its short form,
    /// like [`merge_within`](Groups::merge_within) folds one group: into the
    /// group of the same key with `op`, or added while there are fewer than
    /// `cap` groups; else given back with its hash.
    pub(crate) fn fold_within(
        &mut self,
        key: K,
        value: V,
        op: impl FnOnce(&mut V, V),
        cap: usize,
    ) -> Option<(u64, K, V)> {
        let entry = Entry { short: Words::stored(None), key, value };
        let hash = self.state.hash_one(&entry.key);
        let probe = entry.short.to_probe();
        let full = self.len() >= cap;
        match self.find(hash, &probe, |stored| *stored == entry.key) {
            Some(into) => {
                op(into, entry.value);
                None
            }
            None if full => Some((hash, entry.key, entry.value)),
            None => {
                self.insert_absent(hash, entry);
                None
            }
        }
    }

    /// Adds one group of another partial: merged into the group of the same
    /// key with `op`, or added.
    fn add_group(&mut self, entry: Entry<K, V>, op: impl FnOnce(&mut V, V)) {
        let hash = self.state.hash_one(&entry.key);
        let probe = entry.short.to_probe();
        match self.find(hash, &probe, |stored| *stored == entry.key) {
            Some(into) => op(into, entry.value),
            None => self.insert_absent(hash, entry),
        }
    }
}

impl<K: Serialize, V: Serialize> Serialize for Groups<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for e in self.entries() {
            seq.serialize_element(&(&e.key, &e.value))?;
        }
        seq.end()
    }
}

impl<'de, K, V> Deserialize<'de> for Groups<K, V>
where
    K: Hash + Eq + DeserializeOwned,
    V: DeserializeOwned,
{
    /// Rebuilds the groups from their pairs; a key that appears twice is
    /// an error (no partial Shoal writes has one).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut groups = Groups::new();
        let mut twice = false;
        // Without the input's length, presize for at most this many pairs
        // (serde's own caution against a forged length).
        const CAUTIOUS: usize = 1 << 16;
        deserializer.deserialize_seq(MergeInto {
            groups: &mut groups,
            op: |_: &mut V, _| twice = true,
            cap: CAUTIOUS,
        })?;
        if twice {
            return Err(D::Error::custom("a partial result lists a key twice"));
        }
        Ok(groups)
    }
}

/// Folds a serialized list of pairs into `groups` (for [`Deserialize`]).
struct MergeInto<'g, K, V, F> {
    groups: &'g mut Groups<K, V>,
    op: F,
    /// The most pairs to make room for from the list's stated length.
    cap: usize,
}

impl<'de, K, V, F> de::DeserializeSeed<'de> for MergeInto<'_, K, V, F>
where
    K: Hash + Eq + DeserializeOwned,
    V: DeserializeOwned,
    F: FnMut(&mut V, V),
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, K, V, F> de::Visitor<'de> for MergeInto<'_, K, V, F>
where
    K: Hash + Eq + DeserializeOwned,
    V: DeserializeOwned,
    F: FnMut(&mut V, V),
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of (key, value) pairs")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.groups.reserve_union(seq.size_hint().unwrap_or(0).min(self.cap));
        while let Some((key, value)) = seq.next_element::<(K, V)>()? {
            self.groups.add_group(Entry { short: Words::stored(None), key, value }, &mut self.op);
        }
        Ok(())
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

    impl<K: Hash + Eq, V> Groups<K, V> {
        /// Checks the invariants of the module docs.
        fn check(&self) {
            let mask = self.slots.len().wrapping_sub(1);
            let first = |key: &K| self.state.hash_one(key) as usize & mask;
            for (at, slot) in self.slots.iter().enumerate() {
                if let Some(entry) = slot {
                    let first = first(&entry.key);
                    assert!(at == first || at == first ^ 1, "a group in another key's slot");
                    if at != first {
                        assert!(self.slots[first].is_some(), "a group in its second slot while its first is empty");
                    }
                }
            }
            assert_eq!(self.in_slots, self.slots.iter().flatten().count());
            for entry in self.table.iter() {
                let first = first(&entry.key);
                for at in [first, first ^ 1] {
                    let slot = self.slots.get(at);
                    assert!(!matches!(slot, Some(None)), "a group in the table while one of its slots is empty");
                }
            }
            assert!(!self.retired || self.slots.is_empty());
            for entry in self.entries() {
                assert!(entry.short.len == 0 || (4..=16).contains(&entry.short.len), "a probe form stored");
            }
            let keys: std::collections::HashSet<&K> = self.entries().map(|e| &e.key).collect();
            assert_eq!(keys.len(), self.len(), "a key twice");
        }
    }

    impl<K: Hash + Eq, V> Groups<K, V> {
        /// How many groups are in their first slot, their second, and the
        /// table.
        fn places(&self) -> [usize; 3] {
            let mask = self.slots.len().wrapping_sub(1);
            let mut places = [0, 0, self.table.len()];
            for (at, slot) in self.slots.iter().enumerate() {
                if let Some(entry) = slot {
                    places[usize::from(self.state.hash_one(&entry.key) as usize & mask != at)] += 1;
                }
            }
            places
        }
    }

    /// Every stored short form of string keys is none or the key's own.
    fn check_short_forms(groups: &Groups<String, u64>) {
        for entry in groups.entries() {
            let own = Words::stored(ShortKey::of(entry.key.as_bytes()));
            assert!(entry.short.len == 0 || entry.short.same(&own), "a wrong short form for {:?}", entry.key);
        }
    }

    /// Keys of 1 to 24 bytes (with short forms and without).
    fn keys(n: u32) -> Vec<String> {
        (0..n).map(|i| "k".repeat(1 + (i as usize * 7) % 24) + &(i % 997).to_string()).collect()
    }

    /// One expectation through every path of both levels, against a
    /// `BTreeMap`: key counts that fit the first slots, grow them, fill
    /// them and retire them; upserts of borrowed keys (found in a slot, in
    /// the table, new); a serde round trip (groups without short forms) and
    /// upserts that then find those groups by key; merges in both
    /// directions (the larger side kept).
    #[test]
    fn agrees_with_a_btree_map() {
        for n in [1, 7, 60, 400, 1024, 1025, 3000] {
            let keys = keys(n);
            let mut reference = std::collections::BTreeMap::new();
            let (mut a, mut b) = (Groups::new(), Groups::new());
            for round in 0..3 {
                for (i, key) in keys.iter().enumerate() {
                    let k = i as u64 % 5 + 1;
                    *reference.entry(key.clone()).or_insert(0) += k;
                    if (i + round) % 3 == 0 {
                        add(&mut b, key, k);
                    } else {
                        add(&mut a, key, k);
                    }
                }
                a.check();
                b.check();
                check_short_forms(&a);
            }
            if n == 1024 {
                // Just under retirement: keys in first slots, in second
                // slots and in the table.
                assert!(a.places().iter().all(|&n| n > 0), "{:?}", a.places());
            }
            let bytes = postcard::to_allocvec(&b).expect("serialize");
            let mut b: Groups<String, u64> = postcard::from_bytes(&bytes).expect("deserialize");
            b.check();
            // Borrowed keys find the owned ones that came without short forms.
            for key in keys.iter().rev().take(100) {
                add(&mut b, key, 1);
                *reference.get_mut(key).expect("present") += 1;
            }
            b.check();
            check_short_forms(&b);
            let want: Vec<(String, u64)> = reference.into_iter().collect();
            // The other direction: a deserialized partial is the larger side,
            // merged into a partial that has one of its keys.
            let c: Groups<String, u64> =
                postcard::from_bytes(&postcard::to_allocvec(&a).expect("serialize")).expect("deserialize");
            let mut d = Groups::new();
            add(&mut d, &keys[0], 0);
            let want_d: std::collections::BTreeMap<String, u64> = a.iter().map(|(k, v)| (k.clone(), *v)).collect();
            d.merge_with(c, |x, y| *x += y);
            d.check();
            check_short_forms(&d);
            let mut got_d: Vec<(String, u64)> = d.into_map().into_iter().collect();
            got_d.sort();
            assert_eq!(got_d, want_d.into_iter().collect::<Vec<_>>(), "{n} keys");
            a.merge_with(b, |x, y| *x += y);
            a.check();
            check_short_forms(&a);
            assert_eq!(sorted(a), want, "{n} keys");
        }
    }

    /// Bytes that are not a list of pairs are an error, not a panic, and a
    /// stated length past the bytes reserves no more than serde's caution.
    #[test]
    fn decoding_bad_bytes_is_an_error() {
        for bytes in [&[0xffu8, 0xff, 0xff, 0xff, 0x0f][..], &[3, 1, b'a'], &[0x80]] {
            assert!(postcard::from_bytes::<Groups<String, u64>>(bytes).is_err(), "{bytes:?}");
        }
    }

    /// Cleared groups, reused, give what fresh groups give: for key counts
    /// in the slots and past their retirement, then fewer keys again.
    #[test]
    fn cleared_groups_behave_like_new_ones() {
        let mut reused = Groups::new();
        for n in [400, 3000, 7, 1024, 1025, 60] {
            reused.clear();
            assert!(reused.is_empty());
            let mut fresh = Groups::new();
            for round in 0..2 {
                for (i, key) in keys(n).iter().enumerate() {
                    add(&mut reused, key, (i + round) as u64);
                    add(&mut fresh, key, (i + round) as u64);
                }
            }
            reused.check();
            check_short_forms(&reused);
            assert_eq!(
                sorted(std::mem::take(&mut fresh)),
                reused
                    .iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .into_iter()
                    .collect::<Vec<_>>(),
                "{n} keys"
            );
        }
    }

    /// Keys without short forms (tuples) take the same paths.
    #[test]
    fn tuple_keys_agree_with_a_btree_map() {
        for n in [5u32, 300, 2000] {
            let mut reference = std::collections::BTreeMap::new();
            let mut groups: Groups<(String, u32), u64> = Groups::new();
            for round in 0..2 {
                for (i, key) in keys(n).iter().enumerate() {
                    let part = i as u32 % 3 + round;
                    groups.upsert((key.as_str(), part), 1, |a, b| *a += b);
                    *reference.entry((key.clone(), part)).or_insert(0) += 1;
                }
            }
            groups.check();
            let mut got: Vec<_> = groups.into_map().into_iter().collect();
            got.sort();
            assert_eq!(got, reference.into_iter().collect::<Vec<_>>(), "{n} keys");
        }
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

    /// A duplicated key is an error whether the groups would be in slots
    /// (few keys) or in the table with the slots retired (many).
    #[test]
    fn a_partial_listing_a_key_twice_is_an_error() {
        // With the slots in use (up to 1024 keys) the repeated key may sit in
        // its first slot, its second or the table; past that, in the table.
        for n in [1u32, 2, 300, 1000, 2000] {
            let pairs: Vec<(String, u64)> = keys(n).into_iter().map(|k| (k, 1)).collect();
            for at in [0, pairs.len() / 2, pairs.len() - 1] {
                let mut twice = pairs.clone();
                twice.push((pairs[at].0.clone(), 2));
                let bytes = postcard::to_allocvec(&twice).expect("serialize");
                assert!(postcard::from_bytes::<Groups<String, u64>>(&bytes).is_err(), "{n} keys, key {at} twice");
            }
        }
    }
}
