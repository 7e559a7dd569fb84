//! [`Partitioned`]: the partial of keyed actions at any number of keys, a
//! small table of hot keys in front of radix partitions of encoded pairs.
//!
//! A per-thread table that grows to millions of keys makes every record a
//! random probe into a table far larger than the caches, and merging such
//! tables probes again per key. So the partial pre-aggregates only while
//! its table is small, as DuckDB's radix-partitioned aggregate does:
//!
//! * **Hot keys**: a [`Groups`] table of at most [`HOT_KEYS`] keys (it
//!   stays in the L2 cache). Every record whose key is in it, or which
//!   finds it not yet full, folds there as before: a job with a few
//!   thousand keys never leaves this table, and its hit path is exactly
//!   the one of [`Groups::upsert`].
//! * **Partitions**: a record whose key is new once the table is full is
//!   appended, encoded (postcard, as the process protocol encodes partials)
//!   with its value, to one of [`PARTS`] partitions chosen by bits of the
//!   key's hash that neither the table's buckets nor its control bytes use.
//!   Appending is sequential writing: no probe into a large table.
//!
//! * **Spill rounds**: past its share of `--memory-limit` (a
//!   [`Spiller`]), a partial writes all its partitions' pairs to one spill
//!   file and keeps each partition's byte range ([`super::spill`]).
//!
//! Merging two partials merges their hot tables and appends their
//! partitions' chunks and ranges (no pair is decoded), which is all a
//! leader does with the partials its workers ship. [`Partitioned::into_map`]
//! then aggregates each partition on its own (a key is in exactly one), in
//! parallel, reading its spilled ranges back: into a table keyed by the
//! pairs' encoded key bytes (about `keys / PARTS` of them, which fits in
//! cache), decoding each distinct key once, and gathers the partitions
//! into the result.
//!
//! Invariants:
//! * a key's pairs are all in the partition of its hash ([`part_of`]),
//!   whichever partial and process wrote them, as long as both hashed with
//!   the same state: a partial carries the fingerprint of its state
//!   ([`state_fingerprint`]), and a partial from another state is re-read
//!   pair by pair instead of appended;
//! * the hot table and the partitions may both hold a key: the result folds
//!   them together (so does any merge), which is why values fold with a
//!   merge operation that is associative and commutative, as for every
//!   keyed partial.

use super::groups::Groups;
use super::hash::{HashMap, KeyState};
use super::key::{GroupKey, bytes_eq};
use super::spill::{Spilled, Spiller};
use crate::transport::bytes::{ByteBuf, Bytes};
use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The most keys the hot table holds: 16K groups of a few tens of bytes
/// stay within a core's L2 cache.
pub(crate) const HOT_KEYS: usize = 1 << 14;

/// The number of radix partitions: with 20M keys, about 20K per partition,
/// whose table (under 2 MB) stays in a core's L2 cache while it is
/// aggregated; with 256, 8% more CPU time on the `keys` dataset.
pub(crate) const PARTS: usize = 1024;

/// The size a partition's chunk grows to before a new chunk starts: large
/// enough that a chunk is one allocation among many pairs, small enough
/// that partitions of a few pairs waste little.
const CHUNK: usize = 64 << 10;

/// The room a partition's first chunk starts with.
const FIRST_CHUNK: usize = 1 << 10;

/// A chunk with less room left than this gets no more pairs: the next pair
/// starts a new chunk (most pairs are shorter; a longer one grows its
/// chunk once).
const SLACK: usize = 64;

/// The partition of a key hash: bits 32 to 41, which hashbrown's bucket
/// index (the low bits) and control byte (the top seven) do not use, so
/// the keys of one partition still spread over a table's buckets.
#[inline(always)]
pub(crate) fn part_of(hash: u64) -> usize {
    (hash >> 32) as usize & (PARTS - 1)
}

/// A fingerprint of the hash state of this process's [`Groups`]: two
/// partials with equal fingerprints put every key in the same partition.
fn state_fingerprint<K: Hash + Eq, V>(groups: &Groups<K, V>) -> u64 {
    groups.hash_of(&0x5140_5eed_u64)
}

/// One partition: encoded `(key, value)` pairs in chunks in memory, and
/// the ranges of spill files that hold more of them.
#[derive(Default)]
struct Run {
    chunks: Vec<Vec<u8>>,
    /// Pairs in `chunks`.
    pairs: u64,
    spilled: Vec<Spilled>,
}

impl Run {
    /// The chunk to append to: the last one while it has room. A chunk is
    /// never grown by reallocation (which copies it and faults fresh pages
    /// in): a full one, or one merged in from another partial (sized
    /// exactly, with no room), is followed by a new one. Chunks start at
    /// [`FIRST_CHUNK`] and double up to [`CHUNK`].
    #[inline]
    fn tail(&mut self) -> &mut Vec<u8> {
        let room = match self.chunks.last() {
            None => Some(FIRST_CHUNK),
            Some(c) if !has_room(c) => Some((c.capacity() * 2).clamp(FIRST_CHUNK, CHUNK) + SLACK),
            Some(_) => None,
        };
        if let Some(room) = room {
            // A partition's first chunk starts small: with 1024 partitions,
            // full-size first chunks would reserve 64 MiB per partial for a
            // few pairs each.
            self.chunks.push(Vec::with_capacity(room));
        }
        // Just pushed, or there already.
        let last = self.chunks.len() - 1;
        &mut self.chunks[last]
    }

    /// Takes a chunk of another partial. This run's own tail, while it has
    /// room, stays last, so that pairs appended later go on filling it
    /// rather than starting a chunk after every merged one (with 1024
    /// partitions, a leader would reserve up to 64 MiB a split for a few
    /// pairs each).
    fn adopt(&mut self, chunk: Vec<u8>) {
        match self.chunks.last() {
            Some(tail) if has_room(tail) => {
                let at = self.chunks.len() - 1;
                self.chunks.insert(at, chunk);
            }
            _ => self.chunks.push(chunk),
        }
    }
}

/// Whether pairs may still be appended to `chunk`: it is not full and has
/// room left without growing.
fn has_room(chunk: &Vec<u8>) -> bool {
    chunk.len() < CHUNK && chunk.capacity() - chunk.len() >= SLACK
}

/// The partial of the keyed actions ([`AggregateByKey`](super::AggregateByKey),
/// [`ReduceByKey`](super::ReduceByKey), [`CountByValue`](super::CountByValue)):
/// hot keys in a small table, the rest in radix partitions (see the module
/// docs).
pub struct Partitioned<K, V> {
    hot: Groups<K, V>,
    /// Empty until the hot table first overflows, then [`PARTS`] long.
    runs: Vec<Run>,
    /// Encoded bytes in `runs`.
    bytes: usize,
    /// The first pair that could not be encoded (a `Serialize` impl that
    /// fails) or the first spill that failed: reported when the partial is
    /// shipped or finished, since absorbing cannot return it without a
    /// check on every record.
    failed: Option<crate::Error>,
    /// Where and when to spill; `None`: never (all in memory).
    spiller: Option<Arc<Spiller>>,
}

impl<K, V> Default for Partitioned<K, V> {
    fn default() -> Self {
        Partitioned { hot: Groups::default(), runs: Vec::new(), bytes: 0, failed: None, spiller: None }
    }
}

impl<K, V> fmt::Debug for Partitioned<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: u64 = self.runs.iter().map(|r| r.pairs).sum();
        f.debug_struct("Partitioned")
            .field("hot_keys", &self.hot.len())
            .field("partitioned_pairs", &pairs)
            .field("partitioned_bytes", &self.bytes)
            .finish()
    }
}

/// A postcard flavor that appends to a `Vec`, a slice at a time.
struct Append<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(data);
        Ok(())
    }

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        self.0.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Appends one pair to `chunk` as `[key length][key][value]`: the key's
/// postcard bytes behind their length (a postcard varint), then the
/// value's postcard bytes. The length lets a partition be aggregated by
/// the key's bytes, decoding each distinct key once.
fn encode_pair<Q: Serialize + ?Sized, W: Serialize + ?Sized>(
    chunk: &mut Vec<u8>,
    key: &Q,
    value: &W,
) -> postcard::Result<()> {
    let at = chunk.len();
    // One byte for the length, which fits keys up to 127 bytes; a longer
    // key's bytes move up to make room.
    chunk.push(0);
    postcard::serialize_with_flavor(key, Append(chunk))?;
    let len = chunk.len() - at - 1;
    let mut prefix = [0u8; 10];
    let prefix = postcard::to_slice(&(len as u64), &mut prefix)?;
    if prefix.len() == 1 {
        chunk[at] = prefix[0];
    } else {
        let prefix = prefix.to_vec();
        chunk.splice(at..at + 1, prefix);
    }
    postcard::serialize_with_flavor(value, Append(chunk))
}

/// Splits the first pair off `bytes` (as [`encode_pair`] wrote it): the
/// key's bytes, the decoded value, and the rest.
fn split_pair<V: DeserializeOwned>(bytes: &[u8]) -> postcard::Result<(&[u8], V, &[u8])> {
    let (len, rest) = postcard::take_from_bytes::<u64>(bytes)?;
    let len = usize::try_from(len).map_err(|_| postcard::Error::DeserializeUnexpectedEnd)?;
    if len > rest.len() {
        return Err(postcard::Error::DeserializeUnexpectedEnd);
    }
    let (key, rest) = rest.split_at(len);
    let (value, rest) = postcard::take_from_bytes::<V>(rest)?;
    Ok((key, value, rest))
}

/// Decodes a key's bytes, all of them: [`decode_key`], or a faster one
/// for keys known to be `'static` ([`super::byte_keys::decode_key`]).
pub(crate) type KeyDecoder<K> = fn(&[u8]) -> postcard::Result<K>;

/// Decodes a key's bytes, all of them.
pub(crate) fn decode_key<K: DeserializeOwned>(bytes: &[u8]) -> postcard::Result<K> {
    match postcard::take_from_bytes::<K>(bytes)? {
        (key, []) => Ok(key),
        _ => Err(postcard::Error::DeserializeBadEncoding),
    }
}

/// A key's encoded bytes as a table key: equality without a call to
/// `memcmp` for short keys.
#[derive(Clone, Copy)]
struct Encoded<'a>(&'a [u8]);

impl Hash for Encoded<'_> {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl PartialEq for Encoded<'_> {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        bytes_eq(self.0, other.0)
    }
}

impl Eq for Encoded<'_> {}

impl<K: Hash + Eq, V> Partitioned<K, V> {
    /// No groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// No groups; pairs spill to disk as `spiller` says.
    pub fn with_spiller(spiller: Option<Arc<Spiller>>) -> Self {
        Partitioned { spiller, ..Self::default() }
    }

    /// Folds `value` into the group of `key` with `op`: in the hot table
    /// if the key is there or the table has room, else appended to the
    /// key's partition.
    #[inline(always)]
    pub fn upsert<G>(&mut self, key: G, value: V, op: impl FnOnce(&mut V, V))
    where
        G: GroupKey<Owned = K> + Serialize,
        V: Serialize,
    {
        if let Some((hash, key, value)) = self.hot.upsert_within(key, value, op, HOT_KEYS) {
            self.append(hash, &key, &value);
        }
    }

    /// Appends one pair to its partition, encoded (see [`encode_pair`]).
    #[cold]
    #[inline(never)]
    fn append<Q: Serialize + ?Sized, W: Serialize + ?Sized>(&mut self, hash: u64, key: &Q, value: &W) {
        if self.runs.is_empty() {
            self.runs = std::iter::repeat_with(Run::default).take(PARTS).collect();
        }
        let run = &mut self.runs[part_of(hash)];
        let chunk = run.tail();
        let before = chunk.len();
        match encode_pair(chunk, key, value) {
            Ok(()) => {
                self.bytes += chunk.len() - before;
                run.pairs += 1;
            }
            Err(e) => {
                chunk.truncate(before);
                self.fail(
                    crate::Error::new(crate::ErrorKind::Transport, "cannot encode a key or value").with_source(e),
                );
            }
        }
        self.spill_if_over();
    }

    /// Records the first failure.
    fn fail(&mut self, err: crate::Error) {
        self.failed.get_or_insert(err);
    }

    /// Spills a round if the pairs in memory are past the budget.
    #[inline]
    fn spill_if_over(&mut self) {
        if let Some(spiller) = &self.spiller
            && self.bytes > spiller.partial_bytes()
            && self.failed.is_none()
        {
            let spiller = spiller.clone();
            if let Err(err) = self.spill(&spiller) {
                self.fail(err);
            }
        }
    }

    /// Writes every partition's pairs in memory to one spill file.
    #[cold]
    fn spill(&mut self, spiller: &Spiller) -> crate::Result<()> {
        let dir = spiller.dir()?;
        let mut parts: Vec<(Vec<Vec<u8>>, u64)> =
            self.runs.iter_mut().map(|r| (std::mem::take(&mut r.chunks), std::mem::take(&mut r.pairs))).collect();
        let ranges = dir.write_round(&mut parts)?;
        for (run, range) in self.runs.iter_mut().zip(ranges) {
            run.spilled.extend(range);
        }
        self.bytes = 0;
        Ok(())
    }

    /// The number of pairs in the partitions (each key of the partitions
    /// counted once per pair that was appended for it).
    pub fn partitioned_pairs(&self) -> u64 {
        self.runs.iter().map(|r| r.pairs + r.spilled.iter().map(|s| s.pairs).sum::<u64>()).sum()
    }

    /// Merges `other` into `self`: hot tables merge (the larger kept) up to
    /// [`HOT_KEYS`] keys, the other side's further new keys join their
    /// partitions; partition chunks move over without being decoded.
    pub(crate) fn merge_with(&mut self, mut other: Partitioned<K, V>, op: impl FnMut(&mut V, V))
    where
        K: Serialize,
        V: Serialize,
    {
        if other.hot.len() > self.hot.len() {
            std::mem::swap(&mut self.hot, &mut other.hot);
        }
        let over = self.hot.merge_within(std::mem::take(&mut other.hot), op, HOT_KEYS);
        for (hash, key, value) in over {
            self.append(hash, &key, &value);
        }
        if let Some(err) = other.failed.take() {
            self.fail(err);
        }
        if other.runs.is_empty() {
            return;
        }
        if self.runs.is_empty() {
            self.runs = std::mem::take(&mut other.runs);
        } else {
            for (mine, theirs) in self.runs.iter_mut().zip(other.runs) {
                for chunk in theirs.chunks.into_iter().filter(|c| !c.is_empty()) {
                    mine.adopt(chunk);
                }
                mine.pairs = mine.pairs.saturating_add(theirs.pairs);
                mine.spilled.extend(theirs.spilled);
            }
        }
        self.bytes += other.bytes;
        self.spill_if_over();
    }

    /// Folds `bytes`, a partial as a worker process encodes it, into `self`
    /// without building it first: each hot pair is looked up in this hot
    /// table (added while it has room, else appended to its partition) and
    /// the chunks are appended, as [`merge_with`](Partitioned::merge_with)
    /// would after decoding. The leader's per-split step: decoding into a
    /// table of its own first cost a table built and grown per split.
    ///
    /// # Errors
    /// `bytes` do not decode as a partial.
    pub(crate) fn merge_encoded(&mut self, bytes: &[u8], op: impl FnMut(&mut V, V)) -> crate::Result<()>
    where
        K: DeserializeOwned + Serialize,
        V: DeserializeOwned + Serialize,
    {
        let mut de = postcard::Deserializer::from_bytes(bytes);
        de::DeserializeSeed::deserialize(MergeSeed { into: &mut *self, op }, &mut de)
            .map_err(crate::plumbing::undecodable)?;
        self.spill_if_over();
        Ok(())
    }

    /// Empties the partial, keeping the hot table's memory.
    pub(crate) fn clear(&mut self) {
        self.hot.clear();
        self.runs.clear();
        self.bytes = 0;
        self.failed = None;
    }

    /// The error of a pair that could not be encoded, if any.
    pub(crate) fn check(&mut self) -> crate::Result<()> {
        match self.failed.take() {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }
}

impl<K, V> Partitioned<K, V>
where
    K: Hash + Eq + Send + DeserializeOwned,
    V: Send + DeserializeOwned,
{
    /// The groups as one [`HashMap`]: each partition is
    /// aggregated on its own, on up to `threads` threads, then all are
    /// gathered (see the module docs).
    ///
    /// # Errors
    /// A pair that could not be encoded when it was appended, a spill file
    /// that cannot be read back, a partition past the memory limit, or a
    /// chunk that does not decode.
    pub(crate) fn into_map(mut self, threads: usize, op: impl Fn(&mut V, V) + Sync) -> crate::Result<HashMap<K, V>>
    where
        K: Serialize,
        V: Serialize,
    {
        self.check()?;
        if self.runs.is_empty() {
            return Ok(self.hot.into_map());
        }
        // A map must hold every group: past the memory limit, stop before
        // the groups do not fit rather than after.
        let budget = self.spiller.clone().map(|s| (s, AtomicU64::new(0), AtomicU64::new(0)));
        let groups = self.aggregate_each(threads, &op, decode_key::<K>, |groups| {
            let Some((spiller, used, counted)) = &budget else { return Ok(groups) };
            // The groups' `Vec` and, later, the map's slots.
            let bytes = 2 * super::runs::estimate(&groups);
            let used = used.fetch_add(bytes, Ordering::Relaxed) + bytes;
            let counted = counted.fetch_add(groups.len() as u64, Ordering::Relaxed) + groups.len() as u64;
            if used > spiller.limit() {
                return Err(map_too_large(counted, used, spiller));
            }
            Ok(groups)
        })?;
        let total = groups.iter().map(Vec::len).sum();
        let mut map = HashMap::with_capacity_and_hasher(total, KeyState::default());
        for part in groups {
            for (key, value) in part {
                // Two encodings of one key (a `Serialize` that writes equal
                // keys differently) meet here and fold like any two pairs.
                match map.entry(key) {
                    hashbrown::hash_map::Entry::Occupied(mut e) => op(e.get_mut(), value),
                    hashbrown::hash_map::Entry::Vacant(e) => {
                        e.insert(value);
                    }
                }
            }
        }
        Ok(map)
    }

    /// Aggregates every partition on its own, on up to `threads` threads,
    /// and hands each one's groups to `each` on the thread that aggregated
    /// them; returns what `each` made of them, by partition. Without
    /// partitions, the hot groups are the one partition.
    pub(crate) fn aggregate_each<T: Send>(
        mut self,
        threads: usize,
        op: &(impl Fn(&mut V, V) + Sync),
        decode: KeyDecoder<K>,
        each: impl Fn(Vec<(K, V)>) -> crate::Result<T> + Sync,
    ) -> crate::Result<Vec<T>>
    where
        K: Serialize,
        V: Serialize,
    {
        self.check()?;
        if self.runs.is_empty() {
            return Ok(vec![each(self.hot.into_pairs().collect())?]);
        }
        // The hot groups join their partitions, encoded like the rest.
        let hot = std::mem::take(&mut self.hot);
        for (key, value) in hot.into_pairs() {
            let hash = self.hot.hash_of(&key);
            self.append(hash, &key, &value);
        }
        self.check()?;
        let spiller = self.spiller.take();
        let runs: Vec<Mutex<Option<Run>>> = self.runs.into_iter().map(|run| Mutex::new(Some(run))).collect();
        let parts = crate::plumbing::map_indices(threads, PARTS, |p| -> crate::Result<T> {
            let taken = runs[p].lock().unwrap_or_else(|e| e.into_inner()).take();
            let Some(mut run) = taken else { return each(Vec::new()) };
            if let Some(spiller) = &spiller {
                check_partition_size(p, &run, spiller, threads)?;
            }
            for range in std::mem::take(&mut run.spilled) {
                run.pairs += range.pairs;
                run.chunks.push(range.read()?);
            }
            each(aggregate_partition(run, op, decode)?)
        })?;
        parts.into_iter().collect()
    }

    /// The spiller these partials spill with, if any.
    pub(crate) fn spiller(&self) -> Option<&Arc<Spiller>> {
        self.spiller.as_ref()
    }
}

/// The error of a `HashMap` result that would not fit in the memory limit:
/// `groups` of it took about `bytes` when it passed `limit`.
fn map_too_large(groups: u64, bytes: u64, spiller: &Spiller) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Config,
        format!(
            "a keyed action's HashMap result needs more than {} ({groups} groups so far), past \
             {}: use aggregate_by_key_sorted, reduce_by_key_sorted or count_by_value_sorted, \
             whose groups stream from disk as they are iterated, or raise --memory-limit",
            crate::diag::size(bytes as f64),
            spiller.describe_limit(),
        ),
    )
}

/// Fails, before anything is read back, when partition `p` holds more
/// pairs than the memory limit allows one partition on `threads` threads:
/// more partitions would not help a single key's pairs, and reading it
/// anyway could exhaust memory.
fn check_partition_size(p: usize, run: &Run, spiller: &Spiller, threads: usize) -> crate::Result<()> {
    let bytes =
        run.chunks.iter().map(|c| c.len() as u64).sum::<u64>() + run.spilled.iter().map(Spilled::len).sum::<u64>();
    if bytes <= spiller.partition_bytes() as u64 {
        return Ok(());
    }
    Err(crate::Error::new(
        crate::ErrorKind::Config,
        format!(
            "a keyed action's partition {p} of {PARTS} holds {} of pairs, more than the {} that \
             {} allows one partition on {threads} threads: raise --memory-limit or lower --threads",
            crate::diag::size(bytes as f64),
            crate::diag::size(spiller.partition_bytes() as f64),
            spiller.describe_limit(),
        ),
    ))
}

/// Aggregates one partition by the keys' encoded bytes, then decodes each
/// distinct key once.
fn aggregate_partition<K, V>(run: Run, op: &impl Fn(&mut V, V), decode: KeyDecoder<K>) -> crate::Result<Vec<(K, V)>>
where
    K: DeserializeOwned,
    V: DeserializeOwned,
{
    // The pairs are an upper bound of the keys that a skewed input would
    // overshoot: start at half, grow as they come.
    let cap = (run.pairs as usize / 2).min(1 << 22);
    let mut table: hashbrown::HashMap<Encoded<'_>, V, KeyState> =
        hashbrown::HashMap::with_capacity_and_hasher(cap, KeyState::default());
    for chunk in &run.chunks {
        let mut rest: &[u8] = chunk;
        while !rest.is_empty() {
            let (key, value, tail) = split_pair::<V>(rest).map_err(crate::plumbing::undecodable)?;
            match table.entry(Encoded(key)) {
                hashbrown::hash_map::Entry::Occupied(mut e) => op(e.get_mut(), value),
                hashbrown::hash_map::Entry::Vacant(e) => {
                    e.insert(value);
                }
            }
            rest = tail;
        }
    }
    let mut out = Vec::with_capacity(table.len());
    for (key, value) in table {
        out.push((decode(key.0).map_err(crate::plumbing::undecodable)?, value));
    }
    Ok(out)
}

/// Shipped as `(fingerprint, hot pairs, [(partition, pairs, chunk)])`.
impl<K: Serialize + Hash + Eq, V: Serialize> Serialize for Partitioned<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(e) = &self.failed {
            return Err(serde::ser::Error::custom(e));
        }
        // Spilled pairs are read back: a shipped partial carries them all.
        let mut read_back = Vec::new();
        for (p, run) in self.runs.iter().enumerate() {
            for range in &run.spilled {
                read_back.push((p as u16, range.pairs, range.read().map_err(serde::ser::Error::custom)?));
            }
        }
        let chunks: Vec<(u16, u64, Bytes<'_>)> = self
            .runs
            .iter()
            .enumerate()
            .flat_map(|(p, run)| {
                // The run's pair count rides on its first chunk sent.
                run.chunks
                    .iter()
                    .filter(|c| !c.is_empty())
                    .enumerate()
                    .map(move |(i, c)| (p as u16, if i == 0 { run.pairs } else { 0 }, Bytes(c)))
            })
            .chain(read_back.iter().map(|(p, pairs, bytes)| (*p, *pairs, Bytes(bytes))))
            .collect();
        let mut tuple = serializer.serialize_tuple(3)?;
        tuple.serialize_element(&state_fingerprint(&self.hot))?;
        tuple.serialize_element(&self.hot)?;
        tuple.serialize_element(&chunks)?;
        tuple.end()
    }
}

impl<'de, K, V> Deserialize<'de> for Partitioned<K, V>
where
    K: Hash + Eq + DeserializeOwned + Serialize,
    V: DeserializeOwned + Serialize,
{
    /// Rebuilds a partial. Chunks written under another hash state (a
    /// process that did not share the job's seed) are re-read pair by pair
    /// into this process's partitions.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_tuple(3, PartialVisitor(std::marker::PhantomData))
    }
}

struct PartialVisitor<K, V>(std::marker::PhantomData<fn() -> (K, V)>);

/// Decodes a partial straight into another ([`Partitioned::merge_encoded`]).
struct MergeSeed<'p, K, V, F> {
    into: &'p mut Partitioned<K, V>,
    op: F,
}

impl<'de, K, V, F> de::DeserializeSeed<'de> for MergeSeed<'_, K, V, F>
where
    K: Hash + Eq + DeserializeOwned + Serialize,
    V: DeserializeOwned + Serialize,
    F: FnMut(&mut V, V),
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_tuple(3, self)
    }
}

impl<'de, K, V, F> Visitor<'de> for MergeSeed<'_, K, V, F>
where
    K: Hash + Eq + DeserializeOwned + Serialize,
    V: DeserializeOwned + Serialize,
    F: FnMut(&mut V, V),
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a partitioned keyed partial")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let fingerprint: u64 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let hot = HotSeed { into: &mut *self.into, op: &mut self.op };
        seq.next_element_seed(hot)?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let chunks: Vec<ChunkIn> = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(2, &self))?;
        let into = self.into;
        if chunks.is_empty() {
            return Ok(());
        }
        if fingerprint == state_fingerprint(&into.hot) {
            if into.runs.is_empty() {
                into.runs = std::iter::repeat_with(Run::default).take(PARTS).collect();
            }
            for chunk in chunks {
                let run = &mut into.runs[usize::from(chunk.part)];
                into.bytes += chunk.bytes.len();
                run.pairs = run.pairs.saturating_add(chunk.pairs);
                run.adopt(chunk.bytes);
            }
        } else {
            for chunk in chunks {
                let mut rest: &[u8] = &chunk.bytes;
                while !rest.is_empty() {
                    let (key, value, tail) = split_pair::<V>(rest).map_err(de::Error::custom)?;
                    let key: K = decode_key(key).map_err(de::Error::custom)?;
                    let hash = into.hot.hash_of(&key);
                    into.append(hash, &key, &value);
                    rest = tail;
                }
            }
        }
        Ok(())
    }
}

/// The hot pairs of an encoded partial, folded into a partial's hot table.
struct HotSeed<'p, K, V, F> {
    into: &'p mut Partitioned<K, V>,
    op: &'p mut F,
}

impl<'de, K, V, F> de::DeserializeSeed<'de> for HotSeed<'_, K, V, F>
where
    K: Hash + Eq + DeserializeOwned + Serialize,
    V: DeserializeOwned + Serialize,
    F: FnMut(&mut V, V),
{
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, K, V, F> Visitor<'de> for HotSeed<'_, K, V, F>
where
    K: Hash + Eq + DeserializeOwned + Serialize,
    V: DeserializeOwned + Serialize,
    F: FnMut(&mut V, V),
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of (key, value) pairs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some((key, value)) = seq.next_element::<(K, V)>()? {
            if let Some((hash, key, value)) = self.into.hot.fold_within(key, value, &mut *self.op, HOT_KEYS) {
                self.into.append(hash, &key, &value);
            }
        }
        Ok(())
    }
}

/// One shipped chunk: its partition, its pair count and its bytes.
struct ChunkIn {
    part: u16,
    pairs: u64,
    bytes: Vec<u8>,
}

impl<'de> Deserialize<'de> for ChunkIn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChunkVisitor;
        impl<'de> Visitor<'de> for ChunkVisitor {
            type Value = ChunkIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a partition chunk")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ChunkIn, A::Error> {
                let part: u16 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let pairs: u64 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let bytes: ByteBuf = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(2, &self))?;
                if usize::from(part) >= PARTS {
                    return Err(de::Error::custom(format!("partition {part} out of range")));
                }
                Ok(ChunkIn { part, pairs, bytes: bytes.0 })
            }
        }
        deserializer.deserialize_tuple(3, ChunkVisitor)
    }
}

impl<'de, K, V> Visitor<'de> for PartialVisitor<K, V>
where
    K: Hash + Eq + DeserializeOwned + Serialize,
    V: DeserializeOwned + Serialize,
{
    type Value = Partitioned<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a partitioned keyed partial")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let fingerprint: u64 = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let hot: Groups<K, V> = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
        let chunks: Vec<ChunkIn> = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(2, &self))?;
        let mut partial = Partitioned { hot, ..Partitioned::default() };
        if chunks.is_empty() {
            return Ok(partial);
        }
        if fingerprint == state_fingerprint(&partial.hot) {
            partial.runs = std::iter::repeat_with(Run::default).take(PARTS).collect();
            for chunk in chunks {
                let run = &mut partial.runs[usize::from(chunk.part)];
                partial.bytes += chunk.bytes.len();
                run.pairs = run.pairs.saturating_add(chunk.pairs);
                run.adopt(chunk.bytes);
            }
        } else {
            // Another state: every pair goes to this process's partition
            // of its key.
            for chunk in chunks {
                let mut rest: &[u8] = &chunk.bytes;
                while !rest.is_empty() {
                    let (key, value, tail) = split_pair::<V>(rest).map_err(de::Error::custom)?;
                    let key: K = decode_key(key).map_err(de::Error::custom)?;
                    let hash = partial.hot.hash_of(&key);
                    partial.append(hash, &key, &value);
                    rest = tail;
                }
            }
        }
        Ok(partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(p: &mut Partitioned<String, u64>, key: &str, n: u64) {
        p.upsert(key, n, |a, b| *a += b);
    }

    fn sorted(map: HashMap<String, u64>) -> Vec<(String, u64)> {
        let mut pairs: Vec<_> = map.into_iter().collect();
        pairs.sort();
        pairs
    }

    /// One expectation through every path: key counts below, at and far
    /// past the hot table's size, split over partials that merge in memory
    /// and through their encoded form, finished on 1 and 3 threads: always
    /// the counts of a `BTreeMap`.
    #[test]
    fn agrees_with_a_btree_map_at_every_size() {
        for keys in [10usize, HOT_KEYS, HOT_KEYS + 1, 5 * HOT_KEYS] {
            let mut reference = std::collections::BTreeMap::new();
            let mut partials: Vec<Partitioned<String, u64>> = (0..3).map(|_| Partitioned::new()).collect();
            for i in 0..(3 * keys) {
                // Skewed: low keys repeat often, every key at least once.
                let key = format!("key-{}", if i % 3 == 0 { i % 97 } else { i % keys });
                *reference.entry(key.clone()).or_insert(0) += i as u64;
                // Each partial sees every key: past the hot table's size, each
                // of them partitions.
                add(&mut partials[i / keys], &key, i as u64);
            }
            let expected: Vec<(String, u64)> = reference.into_iter().collect();
            for threads in [1, 3] {
                let mut merged = Partitioned::new();
                for (n, p) in partials.iter().enumerate() {
                    let bytes = postcard::to_allocvec(p).unwrap();
                    let decoded: Partitioned<String, u64> = postcard::from_bytes(&bytes).unwrap();
                    assert_eq!(decoded.partitioned_pairs(), p.partitioned_pairs());
                    if n == 0 {
                        merged = decoded;
                    } else {
                        merged.merge_with(decoded, |a, b| *a += b);
                    }
                }
                let got = sorted(merged.into_map(threads, |a, b| *a += b).unwrap());
                assert_eq!(got, expected, "keys={keys} threads={threads}");
            }
            if keys > 2 * HOT_KEYS {
                assert!(partials.iter().all(|p| p.partitioned_pairs() > 0), "keys={keys}: nothing partitioned");
            }
        }
    }

    /// A partial encoded under another hash state (fingerprint differs) is
    /// re-partitioned on decode: merged results still count every key once.
    #[test]
    fn a_partial_from_another_state_is_repartitioned() {
        let mut p: Partitioned<String, u64> = Partitioned::new();
        for i in 0..(2 * HOT_KEYS) {
            add(&mut p, &format!("k{i}"), 1);
        }
        let mut bytes = postcard::to_allocvec(&p).unwrap();
        // The fingerprint is the first field: a varint; make it another.
        let (fp, rest) = postcard::take_from_bytes::<u64>(&bytes).unwrap();
        let mut forged = postcard::to_allocvec(&fp.wrapping_add(1)).unwrap();
        forged.extend_from_slice(rest);
        bytes = forged;
        let decoded: Partitioned<String, u64> = postcard::from_bytes(&bytes).unwrap();
        let mut merged: Partitioned<String, u64> = Partitioned::new();
        add(&mut merged, "k0", 1);
        merged.merge_with(decoded, |a, b| *a += b);
        let map = merged.into_map(2, |a, b| *a += b).unwrap();
        assert_eq!(map.len(), 2 * HOT_KEYS);
        for (key, &n) in &map {
            assert_eq!(n, if key == "k0" { 2 } else { 1 }, "{key}");
        }
    }

    /// Under a small memory limit the partials spill round after round
    /// (also the merged one, and through a shipped partial that carries
    /// its spilled pairs): the result is the unbounded one, and the spill
    /// files are gone once the partials are.
    #[test]
    fn spilled_partials_give_the_unbounded_result() {
        let parent = tempfile::tempdir().unwrap();
        let spiller = Arc::new(Spiller::new(1 << 20, 2, parent.path().to_path_buf()));
        let mut reference = std::collections::BTreeMap::new();
        let mut partials: Vec<Partitioned<String, u64>> =
            (0..3).map(|_| Partitioned::with_spiller(Some(spiller.clone()))).collect();
        for i in 0..300_000u64 {
            let key = format!("a fairly long key number {}", i % 150_000);
            *reference.entry(key.clone()).or_insert(0) += i;
            add(&mut partials[(i % 3) as usize], &key, i);
        }
        let spilled = |p: &Partitioned<String, u64>| p.runs.iter().map(|r| r.spilled.len()).sum::<usize>();
        assert!(partials.iter().all(|p| spilled(p) > 0), "nothing spilled");
        let shipped: Partitioned<String, u64> =
            postcard::from_bytes(&postcard::to_allocvec(&partials.pop().unwrap()).unwrap()).unwrap();
        let mut merged = Partitioned::with_spiller(Some(spiller.clone()));
        for p in partials.into_iter().chain([shipped]) {
            merged.merge_with(p, |a, b| *a += b);
        }
        // (A `HashMap` of 150,000 groups would not fit in 1 MiB: into_map
        // fails, so the groups are taken partition by partition.)
        let mut got: Vec<(String, u64)> = merged
            .aggregate_each(2, &|a: &mut u64, b| *a += b, decode_key::<String>, Ok)
            .unwrap()
            .into_iter()
            .flatten()
            .collect();
        got.sort();
        assert_eq!(got, reference.into_iter().collect::<Vec<_>>());
        let dir = spiller.dir().unwrap().path().to_path_buf();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "spill files left behind");
        drop(spiller);
        assert!(!dir.exists(), "the spill directory outlived its action");
    }

    /// A partition larger than the limit allows one partition is a clear
    /// error before it is read back.
    #[test]
    fn a_partition_past_the_limit_is_a_clear_error() {
        let parent = tempfile::tempdir().unwrap();
        let spiller = Arc::new(Spiller::new(4 << 20, 1, parent.path().to_path_buf()));
        let mut p: Partitioned<String, u64> = Partitioned::with_spiller(Some(spiller));
        // One partition only: every pair hashes to partition 0.
        for i in 0..200_000u64 {
            p.append(0, &format!("key {i}"), &i);
        }
        let err = p.into_map(1, |a, b| *a += b).unwrap_err().to_string();
        assert!(err.contains(&format!("partition 0 of {PARTS}")) && err.contains("--memory-limit"), "{err}");
    }

    /// Merging many full partials (a leader merging split after split)
    /// keeps the hot table at its size: the other new keys are partitioned.
    #[test]
    fn merged_hot_tables_stay_small() {
        let mut merged: Partitioned<String, u64> = Partitioned::new();
        for part in 0..8u64 {
            let mut p = Partitioned::new();
            for i in 0..HOT_KEYS as u64 {
                add(&mut p, &format!("p{part} k{i}"), 1);
            }
            merged.merge_with(p, |a, b| *a += b);
            assert!(merged.hot.len() <= HOT_KEYS, "hot table of {} keys", merged.hot.len());
        }
        let map = merged.into_map(2, |a, b| *a += b).unwrap();
        assert_eq!(map.len(), 8 * HOT_KEYS);
        assert!(map.values().all(|&n| n == 1));
    }

    /// Bad chunk bytes are an error, not a panic.
    #[test]
    fn a_corrupt_chunk_is_an_error() {
        let mut p: Partitioned<String, u64> = Partitioned::new();
        p.append(0, "x", &1u64);
        p.runs[0].chunks[0] = vec![0xff; 3];
        assert!(p.into_map(1, |a, b| *a += b).is_err());
    }
}
