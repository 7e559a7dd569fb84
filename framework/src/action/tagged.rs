//! [`Tagged`]: runs of items tagged with their input position, spilled to
//! disk past a budget: the partial behind `collect`, `collect_iter` and the
//! connectors' output sinks.
//!
//! Each run is one split's items, tagged with the split's index; merging
//! appends runs, and reading puts them in tag order, so the items come in
//! input order whatever order threads and processes finished in.
//!
//! With a [`Spiller`], a `Tagged` whose runs held in memory grow past the
//! spiller's share for one partial encodes them (postcard, as the process
//! protocol) and writes them to the spill directory in one round. A
//! `Tagged` sent to another process carries its runs encoded (spilled ones
//! read back) and arrives with them encoded, so a leader keeps what its
//! workers send as bytes, counted against its own budget, until the result
//! is read.
//!
//! # Invariants
//! * Tags are unique: a split's runs are numbered in input order (empty
//!   runs are not kept); runs of the split being read are `PENDING` until
//!   its end, and merges and shipping happen only between splits.
//! * `held` is the estimated memory of the runs kept in memory.
//! * After an error (`failed`), nothing more is spilled and every read
//!   returns the error.

use super::runs::{EncodedRun, encode_items, estimate};
use super::spill::Spiller;
use crate::error::{Error, Result};
use crate::transport::bytes::{ByteBuf, Bytes};
use serde::de::DeserializeOwned;
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::sync::Arc;

/// One split's items: as pushed, or encoded (received from another
/// process, or spilled).
pub(crate) enum Run<T> {
    Items(Vec<T>),
    Encoded(EncodedRun),
}

/// A run's place: the split's index, then the run's number within the
/// split (a long split, or a stream, is cut into several runs): for a
/// split folded in blocks, the block's number in the high 32 bits and the
/// run's within the block in the low ones.
type Tag = (u64, u64);

/// The split index of the runs of the split being read, until
/// [`Tagged::push_run`] gives them the split's.
const PENDING: u64 = u64::MAX;

/// Runs of items tagged with their input position (see the module docs).
pub struct Tagged<T> {
    runs: Vec<(Tag, Run<T>)>,
    /// Runs pushed for the split being read ([`Tagged::push_piece`]).
    pieces: u32,
    held: u64,
    spiller: Option<Arc<Spiller>>,
    failed: Option<Error>,
}

impl<T> fmt::Debug for Tagged<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tagged").field("runs", &self.runs.len()).field("held", &self.held).finish()
    }
}

impl<T> Default for Tagged<T> {
    fn default() -> Self {
        Tagged::new(None)
    }
}

/// The memory an encoded run will take once decoded, at least.
fn estimate_encoded<T>(run: &EncodedRun) -> u64 {
    let inline = (run.len() as u64).saturating_mul(std::mem::size_of::<T>() as u64);
    match run {
        EncodedRun::Memory { bytes, .. } => inline + bytes.len() as u64,
        EncodedRun::Spilled { range, .. } => inline + range.len(),
    }
}

impl<T> Tagged<T> {
    /// No runs; with a spiller, runs past its share for one partial spill
    /// as they are pushed or merged. Without one, nothing spills unless
    /// [`spill_to`](Tagged::spill_to) is called (a caller that keeps many
    /// `Tagged` under one budget).
    pub fn new(spiller: Option<Arc<Spiller>>) -> Self {
        Tagged { runs: Vec::new(), pieces: 0, held: 0, spiller, failed: None }
    }

    /// The estimated memory of the runs held in memory, in bytes.
    pub fn held(&self) -> u64 {
        self.held
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.runs
            .iter()
            .map(|(_, run)| match run {
                Run::Items(items) => items.len(),
                Run::Encoded(run) => run.len(),
            })
            .sum()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Whether some runs are on disk.
    pub fn spilled(&self) -> bool {
        self.runs.iter().any(|(_, run)| matches!(run, Run::Encoded(EncodedRun::Spilled { .. })))
    }

    /// Moves every tag `t` to `t - from + to` (see
    /// [`Action::rebase`](crate::plumbing::Action::rebase)); tags below
    /// `from` stay put.
    pub fn rebase(&mut self, from: u64, to: u64) {
        for ((tag, _), _) in &mut self.runs {
            if *tag >= from && *tag != PENDING {
                *tag = *tag - from + to;
            }
        }
    }

    /// The first error met where errors could not be returned (a spill).
    ///
    /// # Errors
    /// That error.
    pub fn check(&self) -> Result<()> {
        match &self.failed {
            None => Ok(()),
            Some(e) => Err(Error::new(e.kind(), e.to_string())),
        }
    }

    /// The runs in input order.
    pub(crate) fn into_runs(mut self) -> Result<Vec<Run<T>>> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.runs.sort_unstable_by_key(|(tag, _)| *tag);
        Ok(self.runs.into_iter().map(|(_, run)| run).collect())
    }

    /// The spiller it spills with, if any.
    pub(crate) fn spiller(&self) -> Option<&Arc<Spiller>> {
        self.spiller.as_ref()
    }

    /// How large the items of the split being read may grow, in bytes,
    /// before they are pushed as a piece ([`push_piece`](Tagged::push_piece)):
    /// [`Spiller::piece_bytes`]. `None` without a spiller.
    pub fn piece_bytes(&self) -> Option<u64> {
        self.spiller.as_ref().map(|s| s.piece_bytes() as u64)
    }
}

impl<T: Serialize> Tagged<T> {
    /// Adds the last items of input position `tag` (a split's index): the
    /// runs pushed as pieces since the last call are given the same tag,
    /// in the order they came.
    pub fn push_run(&mut self, tag: u64, items: Vec<T>) {
        self.push_block_run(tag, 0, items);
    }

    /// [`push_run`](Tagged::push_run) for block `block` of a split folded
    /// in blocks (see [`Action::end_block`](crate::plumbing::Action::end_block)):
    /// its runs come after those of the blocks before it.
    pub fn push_block_run(&mut self, tag: u64, block: u32, items: Vec<T>) {
        let high = u64::from(block) << 32;
        if self.pieces > 0 {
            for ((split, seq), _) in self.runs.iter_mut().rev().take_while(|((split, _), _)| *split == PENDING) {
                *split = tag;
                *seq |= high;
            }
        }
        let seq = u64::from(std::mem::take(&mut self.pieces)) | high;
        if items.is_empty() {
            return;
        }
        self.held += estimate(&items);
        self.runs.push(((tag, seq), Run::Items(items)));
        self.settle();
    }

    /// Adds items of the split being read, before its end: for a split (or
    /// a stream) whose items would not fit the budget whole. They take the
    /// split's tag at its [`push_run`](Tagged::push_run).
    pub fn push_piece(&mut self, items: Vec<T>) {
        if items.is_empty() {
            return;
        }
        self.held += estimate(&items);
        self.runs.push(((PENDING, u64::from(self.pieces)), Run::Items(items)));
        self.pieces += 1;
        self.settle();
    }

    /// Appends `other`'s runs.
    pub fn merge(&mut self, mut other: Self) {
        if self.failed.is_none() {
            self.failed = other.failed.take();
        }
        self.held += other.held;
        self.runs.append(&mut other.runs);
        self.settle();
    }

    /// Past its spiller's share for one partial, writes every run held in
    /// memory to the spill directory, in one round.
    fn settle(&mut self) {
        let Some(spiller) = self.spiller.clone() else { return };
        if self.held > spiller.partial_bytes() as u64 {
            self.spill_to(&spiller);
        }
    }

    /// Writes every run held in memory to `spiller`'s directory, in one
    /// round. An error is kept, and returned by every read.
    pub fn spill_to(&mut self, spiller: &Spiller) {
        if self.failed.is_none()
            && let Err(e) = self.spill_held(spiller)
        {
            self.failed = Some(e);
        }
    }

    fn spill_held(&mut self, spiller: &Spiller) -> Result<()> {
        let mut held = Vec::new();
        let mut parts = Vec::new();
        for (i, (_, run)) in self.runs.iter_mut().enumerate() {
            let (bytes, len) = match run {
                Run::Items(items) => {
                    let mut bytes = Vec::new();
                    encode_items(items, &mut bytes)?;
                    (bytes, std::mem::take(items).len())
                }
                Run::Encoded(EncodedRun::Memory { bytes, len }) => (std::mem::take(bytes), *len),
                Run::Encoded(EncodedRun::Spilled { .. }) => continue,
            };
            held.push((i, len));
            parts.push((vec![bytes], len as u64));
        }
        if parts.is_empty() {
            return Ok(());
        }
        let ranges = spiller.dir()?.write_round(&mut parts)?;
        for ((i, len), range) in held.into_iter().zip(ranges) {
            self.runs[i].1 = Run::Encoded(EncodedRun::spilled(range, len));
        }
        self.held = 0;
        Ok(())
    }
}

impl<T: DeserializeOwned> Tagged<T> {
    /// Calls `f` with every item in input order (items pushed here by
    /// reference, encoded ones decoded, spilled ones read back a block at a
    /// time). It can be called again: nothing is consumed.
    ///
    /// # Errors
    /// An error kept from a spill, a spilled run that cannot be read back,
    /// an item that does not decode, or `f`'s first error.
    pub fn try_for_each(&self, mut f: impl FnMut(&T) -> Result<()>) -> Result<()> {
        self.check()?;
        let mut order: Vec<usize> = (0..self.runs.len()).collect();
        order.sort_unstable_by_key(|&i| self.runs[i].0);
        for i in order {
            match &self.runs[i].1 {
                Run::Items(items) => items.iter().try_for_each(&mut f)?,
                Run::Encoded(run) => {
                    let mut reader = run.source();
                    while let Some(item) = reader.next::<T>(run) {
                        f(&item?)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Bytes as one item of a [`Tagged`] (a split's encoded output): encoded
/// as one length and a copy, not as a sequence of single bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk(pub Vec<u8>);

impl Serialize for Chunk {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        Bytes(&self.0).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Chunk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        ByteBuf::deserialize(deserializer).map(|b| Chunk(b.0))
    }
}

/// Sent between processes as its runs' encoded items, `(tag, items,
/// bytes)` each (spilled runs read back). Only between splits: no run is
/// pending.
impl<T: Serialize> Serialize for Tagged<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        if let Some(e) = &self.failed {
            return Err(serde::ser::Error::custom(e));
        }
        let mut seq = serializer.serialize_seq(Some(self.runs.len()))?;
        let mut scratch = Vec::new();
        for (tag, run) in &self.runs {
            match run {
                Run::Items(items) => {
                    scratch.clear();
                    encode_items(items, &mut scratch).map_err(serde::ser::Error::custom)?;
                    seq.serialize_element(&(tag, items.len() as u64, Bytes(&scratch)))?;
                }
                Run::Encoded(run) => {
                    let bytes = run.bytes().map_err(serde::ser::Error::custom)?;
                    seq.serialize_element(&(tag, run.len() as u64, Bytes(&bytes)))?;
                }
            }
        }
        seq.end()
    }
}

/// Rebuilt as encoded runs in memory, with no spiller: merged into a
/// `Tagged` that has one, they count against its budget there. Items are
/// checked only when they are read.
impl<'de, T> Deserialize<'de> for Tagged<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let runs: Vec<(Tag, u64, ByteBuf)> = Vec::deserialize(deserializer)?;
        let mut tagged = Tagged::new(None);
        for (tag, len, bytes) in runs {
            let run = EncodedRun::Memory { bytes: bytes.0, len: usize::try_from(len).unwrap_or(usize::MAX) };
            tagged.held += estimate_encoded::<T>(&run);
            tagged.runs.push((tag, Run::Encoded(run)));
        }
        Ok(tagged)
    }
}

/// The memory the items of `runs` will take once in memory, estimated,
/// and their number.
pub(crate) fn footprint<T: Serialize>(runs: &[Run<T>]) -> (usize, u64) {
    runs.iter().fold((0, 0), |(items, bytes), run| match run {
        Run::Items(run) => (items + run.len(), bytes + estimate(run)),
        Run::Encoded(run) => (items + run.len(), bytes + estimate_encoded::<T>(run)),
    })
}
