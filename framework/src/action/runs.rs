//! Runs of encoded items, in memory or in a spill file: what the results
//! that may outgrow memory ([`SortedGroups`](super::SortedGroups),
//! [`Collected`](super::Collected)) are made of.
//!
//! A run is its items encoded with postcard, back to back, and their
//! number ([`EncodedRun`]). [`OutputBudget`] decides, run by run, whether
//! a result's run stays in memory or goes to the spill directory; a
//! [`RunReader`] decodes a run's items one at a time, reading a spilled run
//! a block at a time, so iterating holds one block per open run, not the
//! result.

use super::spill::{Spilled, Spiller};
use crate::error::Result;
use crate::transport::bytes::{ByteBuf, Bytes};
use serde::de::DeserializeOwned;
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One run: encoded items in memory or in a spill file, and their number.
#[derive(Debug)]
pub(crate) enum EncodedRun {
    Memory { bytes: Vec<u8>, len: usize },
    Spilled { range: Spilled, len: usize },
}

impl EncodedRun {
    /// The number of items.
    pub(crate) fn len(&self) -> usize {
        match self {
            EncodedRun::Memory { len, .. } | EncodedRun::Spilled { len, .. } => *len,
        }
    }

    /// The run of `len` items that a spill round wrote to `range`, or, with
    /// no range (no bytes to write: no items, or items that encode to
    /// none), held in memory.
    pub(crate) fn spilled(range: Option<Spilled>, len: usize) -> EncodedRun {
        match range {
            Some(range) => EncodedRun::Spilled { range, len },
            None => EncodedRun::Memory { bytes: Vec::new(), len },
        }
    }

    /// Its items, decoded as they are read.
    pub(crate) fn source(&self) -> RunReader {
        match self {
            EncodedRun::Memory { .. } => RunReader { from: From::Memory { pos: 0, last: 0 }, read: 0 },
            EncodedRun::Spilled { range, .. } => RunReader {
                from: From::Disk(DiskRun { range: range.clone(), at: 0, buf: Vec::new(), pos: 0, last: 0 }),
                read: 0,
            },
        }
    }

    /// Its bytes, read back if spilled.
    ///
    /// # Errors
    /// A spilled run that cannot be read back.
    pub(crate) fn bytes(&self) -> Result<std::borrow::Cow<'_, [u8]>> {
        match self {
            EncodedRun::Memory { bytes, .. } => Ok(std::borrow::Cow::Borrowed(bytes)),
            EncodedRun::Spilled { range, .. } => Ok(std::borrow::Cow::Owned(range.read()?)),
        }
    }
}

/// Serializes `runs` as `(items, bytes)` each, spilled runs read back.
pub(crate) fn serialize_runs<S: Serializer>(
    runs: &[EncodedRun],
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(runs.len()))?;
    for run in runs {
        let bytes = run.bytes().map_err(serde::ser::Error::custom)?;
        seq.serialize_element(&(run.len() as u64, Bytes(&bytes)))?;
    }
    seq.end()
}

/// A leader's deferred copy of a result's runs for its workers
/// ([`Action::defer_output`](crate::plumbing::Action::defer_output)):
/// shared, not copied, and encoded as [`serialize_runs`] only if a worker
/// needs the result.
pub(crate) fn defer_runs(runs: &Arc<Vec<EncodedRun>>) -> crate::plumbing::Deferred {
    struct Shared(Arc<Vec<EncodedRun>>);
    impl Serialize for Shared {
        fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
            serialize_runs(&self.0, serializer)
        }
    }
    let shared = Shared(runs.clone());
    Box::new(move || {
        crate::exec::process::protocol::encode(&shared)
            .map_err(|e| crate::Error::new(crate::ErrorKind::Transport, "cannot encode a result").with_source(e))
    })
}

/// The runs [`serialize_runs`] wrote, in memory.
pub(crate) fn deserialize_runs<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<EncodedRun>, D::Error> {
    let runs: Vec<(u64, ByteBuf)> = Vec::deserialize(deserializer)?;
    Ok(runs
        .into_iter()
        .map(|(len, bytes)| EncodedRun::Memory { bytes: bytes.0, len: usize::try_from(len).unwrap_or(usize::MAX) })
        .collect())
}

/// The items a run's memory is estimated from: a sample, evenly spaced.
const SAMPLE: usize = 16;

/// The memory `items` take: their inline size, plus what their encoded
/// size says of the heap they own (a `String`'s bytes), estimated from a
/// sample.
pub(crate) fn estimate<T: Serialize>(items: &[T]) -> u64 {
    let inline = std::mem::size_of_val(items) as u64;
    if items.is_empty() {
        return 0;
    }
    let step = items.len().div_ceil(SAMPLE);
    let (mut sampled, mut bytes) = (0u64, 0u64);
    for item in items.iter().step_by(step) {
        sampled += 1;
        bytes += postcard::experimental::serialized_size(item).unwrap_or(0) as u64;
    }
    inline + bytes * items.len() as u64 / sampled
}

/// Encodes `items` with postcard, back to back.
///
/// # Errors
/// An item whose `Serialize` fails.
pub(crate) fn encode_items<T: Serialize>(items: &[T], out: &mut Vec<u8>) -> Result<()> {
    for item in items {
        postcard::to_io(item, &mut *out).map_err(|e| {
            crate::Error::new(crate::ErrorKind::Transport, "cannot encode a result's item").with_source(e)
        })?;
    }
    Ok(())
}

/// Decides which runs of a result stay in memory: while the ones kept fit
/// in a quarter of the memory limit (the rest is the partials' and the
/// caller's); the others go to the spill directory.
pub(crate) struct OutputBudget {
    spiller: Option<Arc<Spiller>>,
    kept: AtomicU64,
}

impl OutputBudget {
    pub(crate) fn new(spiller: Option<Arc<Spiller>>) -> Self {
        OutputBudget { spiller, kept: AtomicU64::new(0) }
    }

    /// Encodes one run (postcard items, back to back: for keyed groups a
    /// fifth of the room their keys and values take as values, and their
    /// keys are then allocated and freed by the thread that iterates,
    /// which the allocator serves from its cache) and keeps it or spills it.
    ///
    /// # Errors
    /// An item that cannot be encoded, or a spill file that cannot be written.
    pub(crate) fn keep_or_spill<T: Serialize>(&self, items: Vec<T>) -> Result<EncodedRun> {
        let len = items.len();
        let mut bytes = Vec::with_capacity(len * 16);
        encode_items(&items, &mut bytes)?;
        drop(items);
        self.keep_or_spill_bytes(bytes, len)
    }

    /// Keeps or spills a run already encoded: `len` items in `bytes`.
    ///
    /// # Errors
    /// A spill file that cannot be written.
    pub(crate) fn keep_or_spill_bytes(&self, bytes: Vec<u8>, len: usize) -> Result<EncodedRun> {
        let Some(spiller) = &self.spiller else { return Ok(EncodedRun::Memory { bytes, len }) };
        let size = bytes.len() as u64;
        let kept = self.kept.fetch_add(size, Ordering::Relaxed) + size;
        if kept <= spiller.limit() / 4 {
            return Ok(EncodedRun::Memory { bytes, len });
        }
        self.kept.fetch_sub(size, Ordering::Relaxed);
        let mut parts = [(vec![bytes], len as u64)];
        Ok(EncodedRun::spilled(spiller.dir()?.write_round(&mut parts)?.pop().flatten(), len))
    }
}

/// Reads one run's items, checking that there are as many as it says.
pub(crate) struct RunReader {
    from: From,
    /// Items read so far; the run's length once an error ended it.
    read: usize,
}

/// Where one run's items are read from.
enum From {
    /// The position in the run's bytes, and where the item last read
    /// starts.
    Memory {
        pos: usize,
        last: usize,
    },
    Disk(DiskRun),
}

impl RunReader {
    /// The next item of `run` (the run this reader was made from).
    pub(crate) fn next<T: DeserializeOwned>(&mut self, run: &EncodedRun) -> Option<Result<T>> {
        self.next_with(run, take_at::<T>)
    }

    /// The next item of `run`, decoded by `take` from `bytes[*pos..]`
    /// (moving `*pos` past it).
    pub(crate) fn next_with<R>(
        &mut self,
        run: &EncodedRun,
        mut take: impl FnMut(&[u8], &mut usize) -> postcard::Result<R>,
    ) -> Option<Result<R>> {
        let item = match (&mut self.from, run) {
            (From::Memory { pos, last }, EncodedRun::Memory { bytes, .. }) => (*pos < bytes.len()).then(|| {
                *last = *pos;
                end_on_error(bytes, pos, &mut take)
            }),
            (From::Disk(disk), _) => disk.next_with(&mut take),
            (From::Memory { .. }, EncodedRun::Spilled { .. }) => None,
        };
        // A run's bytes that end early on an item's boundary, or hold more
        // items than it says (a corrupt spill file, a result shipped
        // wrong), are an error once, not fewer or more items.
        let len = run.len();
        match &item {
            Some(Ok(_)) if self.read < len => self.read += 1,
            Some(Ok(_)) => {
                self.end(run);
                return Some(Err(miscounted(len, "more")));
            }
            Some(Err(_)) => self.end(run),
            None if self.read < len => {
                // Items that encode to no bytes (`()`, unit structs) are
                // read from the end of the run's bytes.
                let mut at = 0;
                if let Ok(empty) = take(&[], &mut at) {
                    self.read += 1;
                    self.mark_empty();
                    return Some(Ok(empty));
                }
                let read = self.read;
                self.end(run);
                return Some(Err(miscounted(len, &format!("only {read}"))));
            }
            None => {}
        }
        item
    }

    /// Nothing more is read: after an error, the rest of the run is skipped.
    fn end(&mut self, run: &EncodedRun) {
        self.read = run.len();
        match (&mut self.from, run) {
            (From::Memory { pos, last }, EncodedRun::Memory { bytes, .. }) => {
                (*pos, *last) = (bytes.len(), bytes.len())
            }
            (From::Disk(disk), _) => {
                (disk.pos, disk.last, disk.at) = (disk.buf.len(), disk.buf.len(), disk.range.len());
            }
            (From::Memory { .. }, EncodedRun::Spilled { .. }) => {}
        }
    }

    /// The item last read took no bytes: [`last`](RunReader::last) is empty.
    fn mark_empty(&mut self) {
        match &mut self.from {
            From::Memory { pos, last } => *last = *pos,
            From::Disk(disk) => disk.last = disk.pos,
        }
    }

    /// The encoded bytes of the item [`next`](RunReader::next) or
    /// [`next_with`](RunReader::next_with) last read from `run` (empty
    /// before the first). After an error they are of no meaning.
    pub(crate) fn last<'a>(&'a self, run: &'a EncodedRun) -> &'a [u8] {
        match (&self.from, run) {
            (From::Memory { pos, last }, EncodedRun::Memory { bytes, .. }) => {
                bytes.get(*last..*pos).unwrap_or_default()
            }
            (From::Disk(disk), _) => disk.buf.get(disk.last..disk.pos).unwrap_or_default(),
            (From::Memory { .. }, EncodedRun::Spilled { .. }) => &[],
        }
    }
}

/// The error of a run of `len` items whose bytes hold `held` items.
fn miscounted(len: usize, held: &str) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Transport,
        format!("a run of {len} encoded items (a result's, spilled or shipped) holds {held}: its bytes are damaged"),
    )
}

/// Decodes the item at `bytes[*pos..]` and moves `*pos` past it.
fn take_at<T: DeserializeOwned>(bytes: &[u8], pos: &mut usize) -> postcard::Result<T> {
    let (item, rest) = postcard::take_from_bytes::<T>(bytes.get(*pos..).unwrap_or_default())?;
    *pos = bytes.len() - rest.len();
    Ok(item)
}

/// `take` of bytes held whole: a bad item ends them (`*pos` moves to the
/// end) and is an error.
pub(crate) fn end_on_error<R>(
    bytes: &[u8],
    pos: &mut usize,
    mut take: impl FnMut(&[u8], &mut usize) -> postcard::Result<R>,
) -> Result<R> {
    take(bytes, pos).map_err(|e| {
        *pos = bytes.len();
        crate::plumbing::undecodable(e)
    })
}

/// A spilled run read a block at a time.
pub(crate) struct DiskRun {
    range: Spilled,
    /// Bytes of the range read so far.
    at: u64,
    buf: Vec<u8>,
    pos: usize,
    /// Where in `buf` the item last read starts.
    last: usize,
}

/// The bytes a spilled run reads at a time.
const BLOCK: usize = 64 << 10;

impl DiskRun {
    fn next_with<R>(&mut self, mut take: impl FnMut(&[u8], &mut usize) -> postcard::Result<R>) -> Option<Result<R>> {
        loop {
            if self.pos < self.buf.len() {
                let start = self.pos;
                match take(&self.buf, &mut self.pos) {
                    Ok(item) => {
                        self.last = start;
                        return Some(Ok(item));
                    }
                    Err(postcard::Error::DeserializeUnexpectedEnd) if self.at < self.range.len() => {}
                    Err(e) => {
                        self.pos = self.buf.len();
                        self.at = self.range.len();
                        return Some(Err(crate::plumbing::undecodable(e)));
                    }
                }
            } else if self.at >= self.range.len() {
                return None;
            }
            // Keep the unread tail, append the next block: as much again
            // as is held, so an item larger than a block is decoded a few
            // times in all, not once per block.
            self.buf.drain(..self.pos);
            (self.pos, self.last) = (0, 0);
            match self.range.read_at(self.at, BLOCK.max(self.buf.len())) {
                Ok(block) => {
                    self.at += block.len() as u64;
                    self.buf.extend_from_slice(&block);
                }
                Err(e) => {
                    self.at = self.range.len();
                    return Some(Err(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::spill::SpillDir;

    /// Everything a reader gives for `run`.
    fn read_all<T: DeserializeOwned>(run: &EncodedRun) -> Vec<Result<T>> {
        let mut reader = run.source();
        std::iter::from_fn(|| reader.next::<T>(run)).take(100).collect()
    }

    /// The run of `items` as `len` items, in memory and spilled.
    fn runs_of<T: Serialize>(items: &[T], len: usize, dir: &Arc<SpillDir>) -> [EncodedRun; 2] {
        let mut bytes = Vec::new();
        encode_items(items, &mut bytes).unwrap();
        let mut parts = [(vec![bytes.clone()], len as u64)];
        let spilled = EncodedRun::spilled(dir.write_round(&mut parts).unwrap().pop().flatten(), len);
        [EncodedRun::Memory { bytes, len }, spilled]
    }

    /// A run reads exactly its length of items: items that encode to no
    /// bytes included; a run that holds fewer or more is one error after
    /// the items it has, then nothing.
    #[test]
    fn a_run_reads_its_length_of_items_or_one_error() {
        let parent = tempfile::tempdir().unwrap();
        let dir = SpillDir::create(parent.path()).unwrap();
        for run in runs_of(&[(); 3], 3, &dir) {
            let got = read_all::<()>(&run);
            assert_eq!(got.len(), 3, "{run:?}");
            assert!(got.iter().all(Result::is_ok));
        }
        for run in runs_of(&[1u32, 2], 3, &dir) {
            let got = read_all::<u32>(&run);
            assert_eq!(got.len(), 3, "{run:?}");
            assert!(got[..2].iter().all(Result::is_ok));
            assert!(got[2].as_ref().unwrap_err().to_string().contains("holds only 2"), "{run:?}");
        }
        for run in runs_of(&[1u32, 2, 3, 4, 5], 2, &dir) {
            let got = read_all::<u32>(&run);
            assert_eq!(got.len(), 3, "{run:?}");
            assert!(got[2].as_ref().unwrap_err().to_string().contains("holds more"), "{run:?}");
        }
        for run in runs_of::<u32>(&[], 0, &dir) {
            assert!(read_all::<u32>(&run).is_empty());
        }
        // Kept and spilled by a budget: a run of no bytes keeps its length.
        let spiller = Arc::new(Spiller::new(0, 1, parent.path().to_path_buf()));
        for budget in [OutputBudget::new(None), OutputBudget::new(Some(spiller))] {
            let run = budget.keep_or_spill(vec![(); 10]).unwrap();
            assert_eq!(read_all::<()>(&run).into_iter().filter(Result::is_ok).count(), 10, "{run:?}");
        }
    }
}
