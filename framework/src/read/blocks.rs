//! A stream cut into blocks of whole records, so several threads parse it.
//!
//! A compressed file, a pipe or standard input is one split: its bytes
//! cannot be cut before they are read. To parse it on more than one thread,
//! the thread that runs its split (the *producer*) reads it and cuts it into
//! [`Block`]s of about [`block_size`] bytes, each ending at a record
//! boundary and knowing the offset and line number of its first byte; it
//! hands them to helper threads through a bounded [`Hand`], which parse each
//! block as if it were the whole stream (same framing, same errors, same
//! offsets and line numbers), each into a partial of its own
//! (`plumbing::fanout` starts them and merges the partials).
//!
//! Which part a thread plays is set for the span of one `Source::drive`
//! call, in a thread-local [`Feed`]: a source that reads streams asks
//! [`feed`] and either cuts the stream ([`Feed::Producer`]), parses one
//! block ([`Feed::Block`]), or, with no feed, parses the stream itself as
//! before. A source that never asks is parsed whole by the producer: the
//! fan-out is an optimisation, never a change of result.
//!
//! # Invariants
//! * Blocks are numbered from 0 in stream order; their bytes, end to end,
//!   are the stream's bytes, except the tail of a line longer than the
//!   record limit, which is dropped after its first `max + 2` bytes (that
//!   line then ends its block and is reported too long, as the sequential
//!   reader reports it).
//! * At most `capacity` blocks wait in the hand, so memory stays bounded by
//!   about `(capacity + helpers + 1)` blocks, each at most the larger of
//!   [`block_size`] and the record limit plus 2 bytes.
//! * A block is cut at what has arrived when reading more would wait
//!   ([`StreamRead::ready`]): lines of a slow pipe are parsed as they come.

use super::prefetch::StreamRead;
use super::read_error;
use crate::error::Result;
use crate::plan::InputFile;
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex};

/// The default size of a block: large enough that handing one over costs
/// nothing next to parsing it, small enough that a few in flight per
/// thread stay within a few tens of MiB.
pub const BLOCK_SIZE: usize = 4 << 20;

/// The size blocks are cut to: [`BLOCK_SIZE`], or `SHOAL_STREAM_BLOCK`
/// (bytes, or a size like `64K`) for tests and tuning.
pub fn block_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        std::env::var("SHOAL_STREAM_BLOCK")
            .ok()
            .and_then(|s| crate::plan::parse_size(&s).ok())
            .and_then(|n| usize::try_from(n).ok())
            .map_or(BLOCK_SIZE, |n| n.max(1))
    })
}

/// How long a block being filled may wait for more bytes, in all, before
/// it is cut at what has arrived: long enough for a decompressor that is
/// only behind (a 4 MiB block fills in about 10 ms), short enough that a
/// slow pipe's records are parsed within it, however its bytes trickle in.
const EARLY_CUT: std::time::Duration = std::time::Duration::from_millis(50);

/// Where a block starts in its stream (decompressed bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// The offset of its first byte.
    pub offset: u64,
    /// The line number of its first byte, 1-based.
    pub line: u64,
}

impl Position {
    /// The start of a stream.
    pub const START: Position = Position { offset: 0, line: 1 };
}

/// Whole records of a stream, in stream order (see the module docs).
#[derive(Debug)]
pub struct Block {
    /// Its number, from 0.
    pub index: u32,
    /// Where its first byte is in the stream.
    pub start: Position,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// What the source that cut it hands to the threads parsing it (a CSV
    /// stream's header), if anything.
    pub context: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

/// What this thread does with the stream of the split it drives.
#[derive(Debug, Clone)]
pub enum Feed {
    /// Cut it into blocks and hand them over.
    Producer(Arc<Hand>),
    /// Parse only this block of it.
    Block(Arc<Block>),
}

thread_local! {
    static FEED: RefCell<Option<Feed>> = const { RefCell::new(None) };
}

/// This thread's part in the stream being driven, if it was given one.
pub fn feed() -> Option<Feed> {
    FEED.with(|f| f.borrow().clone())
}

/// Runs `f` with this thread's feed set to `feed` (`None`: no part in a
/// stream), then puts back the one before: a job run inside a stage of
/// another never sees the outer job's feed.
pub(crate) fn with_feed<R>(feed: Option<Feed>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Feed>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            FEED.with(|f| *f.borrow_mut() = before);
        }
    }
    let _restore = Restore(FEED.with(|f| std::mem::replace(&mut *f.borrow_mut(), feed)));
    f()
}

/// Where a producer hands its blocks, bounded; helpers take them from it.
pub struct Hand {
    sender: Mutex<Option<SyncSender<Block>>>,
    receiver: Mutex<Receiver<Block>>,
    stopped: AtomicBool,
    /// Whether a source took the producer's part (cut its stream).
    cutting: AtomicBool,
    /// Whether the hand was ever full (the parsing lags the reading), or
    /// closed: what helpers after the first wait for ([`Hand::wait_pressed`]).
    pressure: Mutex<Pressure>,
    pressed: Condvar,
    /// Block buffers parsed and handed back, for the next blocks: no fresh
    /// pages for each block.
    spares: Mutex<Vec<Vec<u8>>>,
    capacity: usize,
}

/// What [`Hand::wait_pressed`] waits for.
#[derive(Debug, Default)]
struct Pressure {
    full: bool,
    closed: bool,
}

impl std::fmt::Debug for Hand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hand").field("stopped", &self.stopped).finish_non_exhaustive()
    }
}

/// The producer should stop: a block failed, or nothing takes blocks.
#[derive(Debug)]
pub struct Stopped;

impl Hand {
    /// A hand holding at most `capacity` blocks.
    pub(crate) fn new(capacity: usize) -> Hand {
        let (sender, receiver) = std::sync::mpsc::sync_channel(capacity.max(1));
        Hand {
            sender: Mutex::new(Some(sender)),
            receiver: Mutex::new(receiver),
            stopped: AtomicBool::new(false),
            cutting: AtomicBool::new(false),
            pressure: Mutex::new(Pressure::default()),
            pressed: Condvar::new(),
            spares: Mutex::new(Vec::new()),
            capacity: capacity.max(1),
        }
    }

    /// Hands `block` over, waiting while the hand is full.
    ///
    /// # Errors
    /// [`Stopped`]: a block failed (what follows it is not needed) or the
    /// hand was closed.
    pub fn submit(&self, block: Block) -> std::result::Result<(), Stopped> {
        self.cutting.store(true, Ordering::Relaxed);
        let mut block = block;
        loop {
            if self.stopped.load(Ordering::Acquire) {
                return Err(Stopped);
            }
            let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let Some(sender) = sender else { return Err(Stopped) };
            // A bounded wait, so a stop is seen while the hand is full.
            match sender.try_send(block) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Disconnected(_)) => return Err(Stopped),
                Err(TrySendError::Full(back)) => {
                    block = back;
                    self.press(|p| p.full = true);
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            }
        }
    }

    /// The next block, waiting for one; `None` once the producer is done
    /// and every block was taken.
    pub(crate) fn take(&self) -> Option<Block> {
        self.receiver.lock().unwrap_or_else(|p| p.into_inner()).recv().ok()
    }

    /// No more blocks will come.
    pub(crate) fn close(&self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.press(|p| p.closed = true);
    }

    fn press(&self, set: impl FnOnce(&mut Pressure)) {
        let mut p = self.pressure.lock().unwrap_or_else(|p| p.into_inner());
        if !(p.full && p.closed) {
            set(&mut p);
            self.pressed.notify_all();
        }
    }

    /// Waits until the hand was once full (blocks wait for a parser: one
    /// more helps) or is closed. A second helper that starts only then
    /// takes no core from a reader that is the bottleneck (a gzip
    /// decompressing on two cores), where it would only add contention.
    pub(crate) fn wait_pressed(&self) {
        let mut p = self.pressure.lock().unwrap_or_else(|p| p.into_inner());
        while !p.full && !p.closed {
            p = self.pressed.wait(p).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// A buffer for the next block: one handed back, else a new one.
    pub fn spare(&self) -> Vec<u8> {
        self.spares.lock().unwrap_or_else(|p| p.into_inner()).pop().unwrap_or_default()
    }

    /// Hands back the buffer of a block that was parsed; at most the
    /// hand's capacity plus two are kept.
    pub(crate) fn recycle(&self, bytes: Vec<u8>) {
        let mut spares = self.spares.lock().unwrap_or_else(|p| p.into_inner());
        if spares.len() < self.capacity + 2 {
            spares.push(bytes);
        }
    }

    /// Tells the producer to stop cutting (a block failed).
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// Whether the producer was told to stop.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Whether a source cut its stream into this hand.
    pub(crate) fn was_cut(&self) -> bool {
        self.cutting.load(Ordering::Relaxed)
    }
}

/// Where the records of a stream end, for a [`Cutter`]: lines ([`Lines`]),
/// or a format's own records (CSV, whose quoted fields may hold line
/// breaks). A framing sees the bytes of one block at a time, from a record
/// start; it may keep state between the calls for one block.
pub trait Framing {
    /// The last record start in `bytes` known so far, if any, at or after
    /// `from` (an earlier one may be reported again): an offset `p` with
    /// `0 < p <= bytes.len()` at which the format's reader would be
    /// between records.
    /// `bytes[0]` is a record start; `bytes[..from]` are the bytes the last
    /// call saw, unchanged (`from == 0`: a new block).
    fn last_start(&mut self, bytes: &[u8], from: usize) -> Option<usize>;

    /// A record that starts at `record[0]` is too long and is being
    /// dropped; `record` is what was read of it (no record starts in it).
    fn begin_skip(&mut self, record: &[u8]);

    /// Where the record being dropped ([`begin_skip`](Framing::begin_skip))
    /// ends in `bytes`, which follow what was read of it: the offset the
    /// next record starts at, if it ends in `bytes`.
    fn skip(&mut self, bytes: &[u8]) -> Option<usize>;
}

/// Lines, LF or CRLF: a record starts after every `\n`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lines;

impl Framing for Lines {
    fn last_start(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        memchr::memrchr(b'\n', &bytes[from..]).map(|i| from + i + 1)
    }

    fn begin_skip(&mut self, _record: &[u8]) {}

    fn skip(&mut self, bytes: &[u8]) -> Option<usize> {
        memchr::memchr(b'\n', bytes).map(|i| i + 1)
    }
}

/// The number of `\n` bytes in `bytes`.
fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Cuts a stream of lines (LF or CRLF) into blocks.
pub type LineCutter<'r> = Cutter<'r, Lines>;

/// Cuts a stream into blocks of whole records, by its [`Framing`] (see the
/// module docs).
#[allow(missing_debug_implementations)] // holds a `dyn BufRead`
pub struct Cutter<'r, F> {
    reader: &'r mut dyn StreamRead,
    input: &'r InputFile,
    framing: F,
    /// The bytes of a record of the limit with CRLF: a record that does
    /// not end in its first `keep` bytes is too long.
    keep: usize,
    size: usize,
    next: Position,
    index: u32,
    /// Bytes read past the last block's end (from a record start).
    carry: Vec<u8>,
    done: bool,
    /// A read error met after the whole records of the last block:
    /// returned by the next call, so the records before it come first (as
    /// they do from the sequential reader).
    failed: Option<crate::error::Error>,
    /// A read error met before the cutter started (by whoever read the
    /// `carry` it starts with): met again at the first read.
    pending: Option<crate::error::Error>,
    /// The last block ended inside a too-long record: `(bytes, newlines)`
    /// of it read past that block; the rest of it is to be dropped.
    skip: Option<(u64, u64)>,
    /// Where the blocks go ([`Cutter::hand_over`]): its parsed blocks'
    /// buffers come back to be cut into again, and once it is stopped the
    /// blocks are no longer wanted (checked while a slow pipe is waited for
    /// and while a too-long record is read past, which may never end:
    /// `/dev/zero`).
    hand: Option<&'r Hand>,
    /// A buffer handed back by [`Cutter::recycle`].
    spare: Vec<u8>,
}

impl<'r> Cutter<'r, Lines> {
    /// Cuts `reader`, the stream of `input`, into blocks of whole lines of
    /// about `size` bytes; lines longer than `max` end their block after
    /// `max + 2` bytes.
    pub fn new(reader: &'r mut dyn StreamRead, input: &'r InputFile, max: u64, size: usize) -> Self {
        Cutter::with_framing(reader, input, max, size, Lines)
    }
}

impl<'r, F: Framing> Cutter<'r, F> {
    /// Cuts `reader`, the stream of `input`, into blocks of whole records
    /// by `framing`, of about `size` bytes; records longer than `max` end
    /// their block after `max + 2` bytes.
    pub fn with_framing(
        reader: &'r mut dyn StreamRead,
        input: &'r InputFile,
        max: u64,
        size: usize,
        framing: F,
    ) -> Self {
        Cutter {
            reader,
            input,
            framing,
            keep: usize::try_from(max.max(1).saturating_add(2)).unwrap_or(usize::MAX),
            size: size.max(1),
            next: Position::START,
            index: 0,
            carry: Vec::new(),
            done: false,
            failed: None,
            pending: None,
            skip: None,
            hand: None,
            spare: Vec::new(),
        }
    }

    /// Starts at `start` of the stream, with `carry` (from a record start)
    /// read already, and then `failed` if reading on from there failed:
    /// for a source that read the head of the stream itself (a CSV header).
    pub fn starting_at(mut self, start: Position, carry: Vec<u8>, failed: Option<crate::error::Error>) -> Self {
        self.next = start;
        self.carry = carry;
        self.pending = failed;
        self
    }

    /// Cuts the whole stream into `hand`, each block with `context`, until
    /// the stream ends or the hand is stopped (a block failed, or nothing
    /// takes blocks): the producer's part in a fan-out.
    ///
    /// # Errors
    /// A read error, after every block before it was handed over.
    pub fn hand_over(mut self, hand: &'r Hand, context: Option<Arc<dyn std::any::Any + Send + Sync>>) -> Result<()> {
        self.hand = Some(hand);
        while let Some(mut block) = self.next_block()? {
            block.context.clone_from(&context);
            if hand.submit(block).is_err() {
                break;
            }
        }
        Ok(())
    }

    /// Hands back the buffer of a block that was parsed, for the next one.
    pub fn recycle(&mut self, bytes: Vec<u8>) {
        self.spare = bytes;
    }

    /// The next block; `None` at the end of the stream.
    ///
    /// # Errors
    /// A read error (a truncated gzip member, a failing pipe), naming the
    /// input, the offset and line reached.
    pub fn next_block(&mut self) -> Result<Option<Block>> {
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        if self.done {
            return Ok(None);
        }
        if let Some((read, lines)) = self.skip.take() {
            // The rest of the too-long record that ended the last block.
            let (dropped, more) = self.skip_record(read, lines)?;
            self.next.offset += read + dropped;
            self.next.line += lines + more;
            if self.done {
                return Ok(None);
            }
        }
        let keep = self.keep;
        // A used buffer, so its pages are not faulted in again; the carry
        // keeps its own.
        let mut bytes = match self.hand {
            Some(hand) if self.spare.capacity() == 0 => hand.spare(),
            _ => std::mem::take(&mut self.spare),
        };
        bytes.clear();
        bytes.reserve(self.size.max(self.carry.len()));
        bytes.extend_from_slice(&self.carry);
        self.carry.clear();
        // The last record start in `bytes`, within `size` if there is one
        // (a carry may be longer: what a source read before cutting).
        // When the block is cut at what has arrived, if the reader is not
        // ready by then (set at the first wait).
        let mut cut_by: Option<std::time::Instant> = None;
        let mut last = match bytes.len() > self.size {
            true => {
                let seen = self.size;
                self.framing.last_start(&bytes[..seen], 0).or_else(|| self.framing.last_start(&bytes, seen))
            }
            false => self.framing.last_start(&bytes, 0),
        };
        while bytes.len() < self.size {
            // What has arrived makes a block when more would mean waiting
            // (a slow pipe): its records are parsed now, not when 4 MiB came.
            // A decompressor is waited for a little: it is only behind.
            if last.is_some() && !self.reader.ready() {
                let by = *cut_by.get_or_insert_with(|| std::time::Instant::now() + EARLY_CUT);
                let left = by.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() || !self.reader.wait_ready(left) {
                    break;
                }
            }
            let (before, want) = (bytes.len(), self.size - bytes.len());
            let filled = match self.fill(&mut bytes, want) {
                Ok(n) => n,
                Err(err) => return self.failed_after(bytes, last, err),
            };
            if filled == 0 {
                self.done = true;
                return Ok((!bytes.is_empty()).then(|| self.emit(bytes)));
            }
            last = self.framing.last_start(&bytes, before).or(last);
        }
        if let Some(end) = last {
            return Ok(Some(self.cut_at(bytes, end)));
        }
        // One record of at least `size` bytes, from the block's start: read
        // on to its end, or until it is known to be too long.
        loop {
            if bytes.len() >= keep {
                // Keep its first `keep` bytes (enough to be reported too
                // long) and drop the rest of it at the next call: the block
                // goes out first, so endless input (`/dev/zero`) is
                // reported too long at once.
                self.framing.begin_skip(&bytes);
                self.skip = Some(((bytes.len() - keep) as u64, newlines(&bytes[keep..])));
                bytes.truncate(keep);
                return Ok(Some(self.emit(bytes)));
            }
            let before = bytes.len();
            let filled = match self.fill(&mut bytes, keep - before) {
                Ok(n) => n,
                Err(err) => return self.failed_after(bytes, None, err),
            };
            if filled == 0 {
                self.done = true;
                return Ok(Some(self.emit(bytes)));
            }
            if let Some(end) = self.framing.last_start(&bytes, before) {
                return Ok(Some(self.cut_at(bytes, end)));
            }
        }
    }

    /// After a read error: the whole records of `bytes` (the last one
    /// starting at `last`) as a block, and the error from the next call;
    /// the error now if there are none.
    fn failed_after(
        &mut self,
        mut bytes: Vec<u8>,
        last: Option<usize>,
        err: crate::error::Error,
    ) -> Result<Option<Block>> {
        self.done = true;
        let tail = last.unwrap_or(0);
        // A record already too long before the error is reported first, as
        // the sequential reader reports it.
        let end = if bytes.len() - tail >= self.keep { tail + self.keep } else { tail };
        if end == 0 {
            return Err(err);
        }
        bytes.truncate(end);
        self.failed = Some(err);
        Ok(Some(self.emit(bytes)))
    }

    /// `bytes[..end]` as the next block; the rest is carried to the next.
    fn cut_at(&mut self, mut bytes: Vec<u8>, end: usize) -> Block {
        self.carry.extend_from_slice(&bytes[end..]);
        bytes.truncate(end);
        self.emit(bytes)
    }

    /// Numbers `bytes` as the next block.
    fn emit(&mut self, bytes: Vec<u8>) -> Block {
        let start = self.next;
        self.next = Position { offset: start.offset + bytes.len() as u64, line: start.line + newlines(&bytes) };
        let index = self.index;
        // Never `u32::MAX`, which stands for no block in the fan-out.
        self.index = self.index.saturating_add(1).min(u32::MAX - 1);
        Block { index, start, bytes, context: None }
    }

    /// Reads up to `want` more bytes onto `bytes`; 0 at the end, or once
    /// the blocks are no longer wanted (checked while a slow pipe is
    /// waited for, so a failed job does not wait for its input to end).
    fn fill(&mut self, bytes: &mut Vec<u8>, want: usize) -> Result<usize> {
        if let Some(err) = self.pending.take() {
            return Err(err);
        }
        if self.hand.is_some() {
            while !self.reader.wait_ready(std::time::Duration::from_millis(50)) {
                if self.hand.is_some_and(Hand::is_stopped) {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        loop {
            let offset = self.next.offset + bytes.len() as u64;
            let avail = match self.reader.fill_buf() {
                Ok(avail) => avail,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let line = self.next.line + newlines(bytes);
                    return Err(read_error(self.input, e, offset).with_line(line));
                }
            };
            let take = avail.len().min(want.max(1));
            bytes.extend_from_slice(&avail[..take]);
            self.reader.consume(take);
            return Ok(take);
        }
    }

    /// Reads and drops the rest of the too-long record the last block
    /// ended inside (`read` bytes and `read_lines` newlines past that block
    /// were read already), up to its end: how many bytes and newlines more
    /// were dropped (the stream may end first).
    fn skip_record(&mut self, read: u64, read_lines: u64) -> Result<(u64, u64)> {
        if let Some(err) = self.pending.take() {
            // The head's reader failed right after the record's start.
            return Err(err);
        }
        let (mut dropped, mut lines) = (0u64, 0u64);
        loop {
            let offset = self.next.offset + read + dropped;
            let avail = match self.reader.fill_buf() {
                Ok(avail) => avail,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let line = self.next.line + read_lines + lines;
                    return Err(read_error(self.input, e, offset).with_line(line));
                }
            };
            if avail.is_empty() || self.hand.is_some_and(Hand::is_stopped) {
                self.done = true;
                return Ok((dropped, lines));
            }
            let (n, ended) = match self.framing.skip(avail) {
                Some(n) => (n, true),
                None => (avail.len(), false),
            };
            lines += newlines(&avail[..n]);
            self.reader.consume(n);
            dropped += n as u64;
            if ended {
                return Ok((dropped, lines));
            }
        }
    }
}
