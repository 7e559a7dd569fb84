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
use std::sync::{Arc, Mutex};

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

/// Cuts a stream of lines (LF or CRLF) into blocks (see the module docs).
#[allow(missing_debug_implementations)] // holds a `dyn BufRead`
pub struct LineCutter<'r> {
    reader: &'r mut dyn StreamRead,
    input: &'r InputFile,
    /// The bytes of a line of the record limit with CRLF: a line without
    /// a newline in its first `keep` bytes is too long.
    keep: usize,
    size: usize,
    next: Position,
    index: u32,
    /// Bytes read past the last block's end (a line's start).
    carry: Vec<u8>,
    done: bool,
    /// A read error met after the whole lines of the last block: returned
    /// by the next call, so the lines before it come first (as they do
    /// from the sequential reader).
    failed: Option<crate::error::Error>,
    /// The last block ended inside a too-long line, this many bytes of it
    /// read past the block: the rest of it is to be dropped.
    skip: Option<u64>,
    /// Whether the blocks are no longer wanted: checked while a too-long
    /// line is read past, which may never end (`/dev/zero`).
    stop: Option<&'r (dyn Fn() -> bool + Sync)>,
}

impl<'r> LineCutter<'r> {
    /// Cuts `reader`, the stream of `input`, into blocks of about `size`
    /// bytes; lines longer than `max` end their block after `max + 2` bytes.
    pub fn new(reader: &'r mut dyn StreamRead, input: &'r InputFile, max: u64, size: usize) -> Self {
        LineCutter {
            reader,
            input,
            keep: usize::try_from(max.max(1).saturating_add(2)).unwrap_or(usize::MAX),
            size: size.max(1),
            next: Position::START,
            index: 0,
            carry: Vec::new(),
            done: false,
            failed: None,
            skip: None,
            stop: None,
        }
    }

    /// Stops reading (the stream ends early) once `stop` says so: for a
    /// producer whose blocks are no longer wanted (one failed).
    pub fn stop_when(mut self, stop: &'r (dyn Fn() -> bool + Sync)) -> Self {
        self.stop = Some(stop);
        self
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
        if let Some(read) = self.skip.take() {
            // The rest of the too-long line that ended the last block.
            let (dropped, ended) = self.skip_line(read)?;
            self.next.offset += read + dropped;
            self.next.line += u64::from(ended);
            if self.done {
                return Ok(None);
            }
        }
        let keep = self.keep;
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.reserve(self.size.saturating_sub(bytes.len()));
        // Whether `bytes` holds a newline (the carry holds none).
        let mut has_line = false;
        while bytes.len() < self.size {
            // What has arrived makes a block when more would mean waiting
            // (a slow pipe): its lines are parsed now, not when 4 MiB came.
            if has_line && !self.reader.ready() {
                break;
            }
            let (before, want) = (bytes.len(), self.size - bytes.len());
            let filled = match self.fill(&mut bytes, want) {
                Ok(n) => n,
                Err(err) => return self.failed_after(bytes, err),
            };
            if filled == 0 {
                self.done = true;
                return Ok((!bytes.is_empty()).then(|| self.emit(bytes)));
            }
            has_line = has_line || memchr::memchr(b'\n', &bytes[before..]).is_some();
        }
        if let Some(i) = memchr::memrchr(b'\n', &bytes) {
            self.carry = bytes.split_off(i + 1);
            return Ok(Some(self.emit(bytes)));
        }
        // One line of at least `size` bytes, from the block's start: read
        // on to its end, or until it is known to be too long.
        loop {
            if bytes.len() >= keep {
                // Keep its first `keep` bytes (enough to be reported too
                // long) and drop the rest of it, up to and including its
                // newline, at the next call: the block goes out first, so
                // endless input (`/dev/zero`) is reported too long at once.
                self.skip = Some((bytes.len() - keep) as u64);
                bytes.truncate(keep);
                return Ok(Some(self.emit(bytes)));
            }
            let before = bytes.len();
            let filled = match self.fill(&mut bytes, keep - before) {
                Ok(n) => n,
                Err(err) => return self.failed_after(bytes, err),
            };
            if filled == 0 {
                self.done = true;
                return Ok(Some(self.emit(bytes)));
            }
            if let Some(i) = memchr::memchr(b'\n', &bytes[before..]) {
                self.carry = bytes.split_off(before + i + 1);
                return Ok(Some(self.emit(bytes)));
            }
        }
    }

    /// After a read error: the whole lines of `bytes` as a block, and the
    /// error from the next call; the error now if there are none.
    fn failed_after(&mut self, mut bytes: Vec<u8>, err: crate::error::Error) -> Result<Option<Block>> {
        self.done = true;
        let keep = self.keep;
        let tail = memchr::memrchr(b'\n', &bytes).map_or(0, |i| i + 1);
        // A line already too long before the error is reported first, as
        // the sequential reader reports it.
        let end = if bytes.len() - tail >= keep { tail + keep } else { tail };
        if end == 0 {
            return Err(err);
        }
        bytes.truncate(end);
        self.failed = Some(err);
        Ok(Some(self.emit(bytes)))
    }

    /// Numbers `bytes` as the next block.
    fn emit(&mut self, bytes: Vec<u8>) -> Block {
        let start = self.next;
        let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        self.next = Position { offset: start.offset + bytes.len() as u64, line: start.line + newlines };
        let index = self.index;
        self.index = self.index.saturating_add(1);
        Block { index, start, bytes }
    }

    /// Reads up to `want` more bytes onto `bytes`; 0 at the end, or once
    /// the blocks are no longer wanted (checked while a slow pipe is
    /// waited for, so a failed job does not wait for its input to end).
    fn fill(&mut self, bytes: &mut Vec<u8>, want: usize) -> Result<usize> {
        if let Some(stop) = self.stop {
            while !self.reader.wait_ready(std::time::Duration::from_millis(50)) {
                if stop() {
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
                    let line = self.next.line + bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                    return Err(read_error(self.input, e, offset).with_line(line));
                }
            };
            let take = avail.len().min(want.max(1));
            bytes.extend_from_slice(&avail[..take]);
            self.reader.consume(take);
            return Ok(take);
        }
    }

    /// Reads and drops the rest of the too-long line the last block ended
    /// inside (`read` bytes past that block were read already), up to and
    /// including its newline: how many bytes were dropped, and whether a
    /// newline ended it (else the stream did).
    fn skip_line(&mut self, read: u64) -> Result<(u64, bool)> {
        let mut dropped = 0u64;
        loop {
            let offset = self.next.offset + read + dropped;
            let avail = match self.reader.fill_buf() {
                Ok(avail) => avail,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_error(self.input, e, offset).with_line(self.next.line)),
            };
            if avail.is_empty() || self.stop.is_some_and(|stop| stop()) {
                self.done = true;
                return Ok((dropped, false));
            }
            match memchr::memchr(b'\n', avail) {
                Some(i) => {
                    self.reader.consume(i + 1);
                    return Ok((dropped + i as u64 + 1, true));
                }
                None => {
                    let n = avail.len();
                    self.reader.consume(n);
                    dropped += n as u64;
                }
            }
        }
    }
}
