//! CSV from a stream (a compressed file, a pipe, a special file), parsed
//! as it is read, in bounded memory.
//!
//! The bytes come from the framework's read-ahead
//! ([`shoal::plumbing::read::stream::open`]: decompressed on a thread of its
//! own, at most 4.5 MiB in flight) and are copied into a [`Window`] of
//! about [`WINDOW`] bytes. The window's records go through
//! [`Rules::read_records`], the function mapped parts use, so records,
//! rejects and errors are the same; the only difference is that a window's
//! end is not a record end: `read_records` stops before a record that
//! reaches it ([`Stop::More`]), the window drops the bytes before that
//! record, reads more, and the record is read again from its start.
//!
//! Invariants of the window:
//! - `data[0]` is byte `base` of the decompressed stream and lies on line
//!   `line` (lines dropped from the front are counted as they go), so a
//!   reject or an error names the same file, line and offset as a mapped
//!   file with the same bytes;
//! - a pending record stays whole in the window while it may still be at
//!   most `--max-record-size` bytes long; the window grows (doubling, but
//!   never past the limit plus 3 bytes, enough to tell the record is too
//!   long) to hold it, and shrinks back after it, so memory is bounded by
//!   the larger of [`WINDOW`] and the record limit, plus the read-ahead;
//! - a record that passes the limit is handed to the malformed-record
//!   policy at once (with its first bytes, like a mapped one), and the rest
//!   of it is read and dropped by csv-core's state machine ([`Dfa`]), which
//!   ends records where the tokenizer does; a first record without headers
//!   is no exception (its fields are counted as it is dropped: they are
//!   the width of the records after it, as in a mapped file);
//! - a header over the limit is an error, as in a mapped file (a header
//!   cannot be skipped: it names the columns), with its line and offset;
//! - blank and comment lines are dropped as they are passed, so they never
//!   count toward a record's length;
//! - a read error comes after the records read before it (they are pushed
//!   first), naming the offset and line reached.
//!
//! A pipe's header cannot be read at plan time (that would consume it):
//! when no input gave a reference header, the first stream header seen
//! names the columns and is checked when its stream starts (the expected
//! header, the row type's fields), as the plan checks a file's; every
//! later stream's header is checked against it as a file's is against the
//! first file's ([`FileHeader`](super::header::FileHeader)).
//!
//! Left alone: a comment line is held whole, whatever its length (the
//! tokenizer skips comment lines whole).

use super::cut;
use super::header::Reference;
use super::locator::{Locator, trim_terminator};
use super::options::{Header, Options};
use super::rules::{Decode, First, Rules, SplitState, Stop, check_reference};
use super::scan::{Dfa, State, bom_len};
use csv::ByteRecord;
use shoal::plumbing::read::blocks::{self, Block, Cutter, Feed, Hand, Position};
use shoal::plumbing::read::stream::{self, StreamRead};
use shoal::plumbing::{Consumer, InputFile};
use shoal::{Error, ErrorKind, Result};
use std::io::BufRead;
use std::sync::{Arc, Mutex};

/// The size the window is filled to: 4 MiB (4 KiB in debug builds, so
/// that tests cross window ends often).
pub(crate) const WINDOW: usize = if cfg!(debug_assertions) { 4 << 10 } else { 4 << 20 };

/// The header of the first stream that started, when no input gave a
/// reference header at plan time; shared by the splits of one source.
pub(crate) type StreamHeader = Mutex<Option<Arc<Reference>>>;

/// The bytes of a stream being parsed (see the module's invariants).
pub(crate) struct Window {
    pub(crate) data: Vec<u8>,
    /// The absolute offset of `data[0]` in the decompressed stream.
    base: u64,
    /// The line `data[0]` is on.
    line: u64,
    /// The stream has no more bytes (or a read failed: see `failed`).
    eof: bool,
    /// A read failed after the bytes in `data`: returned by the next
    /// [`fill`](Window::fill), once those bytes have been parsed.
    failed: Option<Error>,
    /// A record longer than this is too long for any limit (`max + 3`).
    cap: usize,
}

impl Window {
    /// A window for a stream whose record limit is `max`.
    pub(crate) fn new(max: u64) -> Window {
        Window::starting_at(max, 0, 1)
    }

    /// A window for the bytes of a stream (or file) from offset `base` on,
    /// which lies on line `line`.
    pub(crate) fn starting_at(max: u64, base: u64, line: u64) -> Window {
        let cap = usize::try_from(max.saturating_add(3)).unwrap_or(usize::MAX);
        Window { data: Vec::with_capacity(WINDOW), base, line, eof: false, failed: None, cap }
    }

    /// Drops `data[..n]`, counting its lines.
    fn drop_front(&mut self, n: usize) {
        self.line += memchr::memchr_iter(b'\n', &self.data[..n]).count() as u64;
        self.base += n as u64;
        self.data.drain(..n);
    }

    /// Reads until the window holds `want` bytes or the stream ends.
    ///
    /// # Errors
    /// A failed read (a truncated or corrupt compressed file), naming the
    /// input and the offset and line reached: not at once, but at the call
    /// after the one whose read failed, so the bytes before it are parsed
    /// first.
    fn fill(&mut self, reader: &mut dyn BufRead, input: &InputFile, want: usize) -> Result<()> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        // Exactly what is wanted: the window never grows past `want`.
        self.data.reserve_exact(want.saturating_sub(self.data.len()));
        while self.data.len() < want && !self.eof {
            let avail = match reader.fill_buf() {
                Ok(avail) => avail,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let offset = self.base + self.data.len() as u64;
                    let line = self.line + memchr::memchr_iter(b'\n', &self.data).count() as u64;
                    self.failed = Some(stream::read_error(input, e, offset).with_line(line));
                    break;
                }
            };
            if avail.is_empty() {
                self.eof = true;
                break;
            }
            let n = avail.len().min(want - self.data.len());
            self.data.extend_from_slice(&avail[..n]);
            reader.consume(n);
        }
        Ok(())
    }

    /// Drops what comes before `keep` and reads more: twice what is kept
    /// (so a long record is read again only a few times), but no more than
    /// it takes to tell that a pending record is too long (`cap`), and at
    /// least [`WINDOW`]. A window grown for a long record shrinks back.
    fn advance(&mut self, keep: usize, reader: &mut dyn BufRead, input: &InputFile) -> Result<()> {
        self.drop_front(keep);
        let kept = self.data.len();
        // What is kept is below `cap` unless it is comment lines (held whole).
        let grown = if kept < self.cap { kept.saturating_mul(2).min(self.cap) } else { kept.saturating_mul(2) };
        let want = grown.max(WINDOW);
        if self.data.capacity() > want.saturating_mul(2) {
            self.data.shrink_to(want);
        }
        self.fill(reader, input, want)
    }
}

/// How a stream begins, as [`start`] reads it.
pub(crate) enum Start {
    /// Its first record: a header is consumed (`*pos` is past it), a data
    /// record is not.
    Record(ByteRecord),
    /// It has no record.
    Empty,
    /// Its first record, a data record (without headers), is longer than
    /// the limit: it starts at `data[0]`, unfinished.
    TooLong,
}

/// Reads the first record of a stream into `w` (filled from `reader`),
/// dropping the blank and comment lines before it, with the rules of a
/// mapped file's first record: the stream driver and the plan-time header
/// read ([`super::first::first_record`]) both use it. `*pos` is where
/// reading goes on.
///
/// # Errors
/// A read error, a header that opens a quote and never closes it, or a
/// header over the limit `max`, each with its line and offset.
pub(crate) fn start(
    w: &mut Window,
    reader: &mut dyn BufRead,
    input: &InputFile,
    options: &Options,
    max: u64,
    state: &mut SplitState,
    pos: &mut usize,
) -> Result<Start> {
    w.fill(reader, input, WINDOW)?;
    *pos = bom_len(&w.data);
    loop {
        let first = state.first_record(&w.data, pos, w.eof, w.eof, options.header, options.trim.headers());
        match first {
            First::Record(rec, span) => {
                if options.header == Header::FirstRow && trim_terminator(&w.data[span.clone()]).len() as u64 > max {
                    return Err(Locator::counted(input, &w.data, w.base, w.line, &options.on_malformed)
                        .header_too_long(span, max));
                }
                return Ok(Start::Record(rec));
            }
            First::Empty => return Ok(Start::Empty),
            First::Unterminated(span) => {
                let mut read = Locator::counted(input, &w.data, w.base, w.line, &options.on_malformed);
                return Err(read.unterminated_header(span));
            }
            First::More { record: None } => {
                let done = done_lines(options, &w.data, *pos);
                w.advance(done, reader, input)?;
                *pos = 0;
            }
            First::More { record: Some(at) } => {
                // Blank and comment lines before the record are done with.
                w.drop_front(at);
                *pos = 0;
                if w.data.len() as u64 > max.saturating_add(2) {
                    // Too long whatever follows (a terminator takes at most 2 bytes).
                    if options.header == Header::FirstRow {
                        let end = w.data.len();
                        return Err(Locator::counted(input, &w.data, w.base, w.line, &options.on_malformed)
                            .header_too_long(0..end, max));
                    }
                    return Ok(Start::TooLong);
                }
                w.advance(0, reader, input)?;
            }
        }
    }
}

/// Where the blank or comment lines from `pos` on (no record starts among
/// them) are done with: all of them without comments, else up to the last
/// line break (a comment line may be unfinished).
fn done_lines(options: &Options, data: &[u8], pos: usize) -> usize {
    match options.dialect.comment {
        None => data.len(),
        Some(_) => memchr::memrchr(b'\n', &data[pos..]).map_or(pos, |i| pos + i + 1),
    }
}

/// What the threads that parse a CSV stream's blocks need from its head:
/// the header that names its columns when no input gave one at plan time,
/// and its own first record (its header, or the first data record, whose
/// width the records after it must have).
struct Head {
    reference: Option<Arc<Reference>>,
    own: ByteRecord,
}

/// Pushes the items of the stream `input`, decoded by `decode`, into
/// `consumer`: its header (or first record) first, checked against
/// `reference` (or, when no input gave one, against the first stream
/// header in `streams`), then its records, as the CSV source does for a
/// mapped file; `max` is the record limit.
///
/// A thread given a part in the stream ([`blocks::feed`]) plays it: it cuts
/// the records after the head into blocks for other threads
/// ([`cut::Records`]), or parses one block, with the head the cutter read.
///
/// # Errors
/// A read or decompression error, a header that does not match or is over
/// the limit, a rejected record under the fail policy, or the consumer's
/// error.
#[allow(clippy::too_many_arguments)]
pub(crate) fn drive<D, C>(
    options: &Options,
    max: u64,
    input: &InputFile,
    reference: &Reference,
    streams: &StreamHeader,
    decode: &D,
    state: &mut SplitState,
    consumer: &mut C,
) -> Result<()>
where
    D: Decode,
    C: for<'a> Consumer<D::Item<'a>>,
{
    let feed = blocks::feed();
    if let Some(Feed::Block(block)) = &feed {
        return drive_block(options, max, input, reference, decode, state, consumer, block);
    }
    let mut reader = stream::open(input)?;
    let reader = &mut *reader;
    let mut w = Window::new(max);
    let dfa = Dfa::new(options.dialect);
    let mut pos = 0;
    let own = match start(&mut w, reader, input, options, max, state, &mut pos)? {
        Start::Record(rec) => rec,
        Start::Empty => return Ok(()),
        Start::TooLong => {
            // As in a mapped file: rejected, and its field count is the
            // width of the records after it.
            state.rows += 1;
            state.rejected += 1;
            let mut read = Locator::counted(input, &w.data, w.base, w.line, &options.on_malformed);
            let end = w.data.len();
            read.reject(super::locator::too_long_prefix(max, 0, end), super::locator::too_long_reason(max))?;
            let (next, fields) = skip_record(&mut w, 0, &dfa, reader, input)?;
            pos = next;
            std::iter::repeat_n(&b""[..], fields).collect()
        }
    };
    // Without a reference header (every input a pipe or special file,
    // whose header cannot be read at plan time without consuming it), the
    // first stream's own header names the columns, checked here as the
    // plan checks a file's; later streams are checked against it.
    let shared = if reference.header.is_none() && options.header == Header::FirstRow {
        let mut first = streams.lock().unwrap_or_else(|p| p.into_inner());
        Some(match first.as_ref() {
            Some(r) => Arc::clone(r),
            None => {
                let r = Arc::new(Reference {
                    first: reference.first.clone(),
                    path: input.path.clone(),
                    header: Some(own.clone()),
                });
                check_reference(options, &r, decode)?;
                *first = Some(Arc::clone(&r));
                r
            }
        })
    } else {
        None
    };
    let rules = Rules::new(decode, shared.as_deref().unwrap_or(reference), &own, options, input, max)?;
    if let Some(Feed::Producer(hand)) = &feed {
        // The head is read and checked: the records after it go to other
        // threads, in blocks.
        return cut(w, pos, reader, input, options, max, hand, Head { reference: shared, own });
    }
    loop {
        let mut read = Locator::counted(input, &w.data, w.base, w.line, &options.on_malformed);
        match rules.read_records(state, &mut pos, w.eof, w.eof, &mut read, consumer)? {
            Stop::End => return Ok(()),
            Stop::More { record: Some(start) } if (w.data.len() - start) as u64 > max.saturating_add(2) => {
                // Too long whatever follows (a terminator takes at most 2
                // bytes): rejected now, from its first bytes, and skipped.
                state.rows += 1;
                state.rejected += 1;
                read.reject(rules.too_long_prefix(start, w.data.len()), rules.too_long_reason())?;
                pos = skip_record(&mut w, start, &dfa, reader, input)?.0;
            }
            Stop::More { record: Some(start) } => {
                // Blank lines before the record are dropped with the rest.
                w.advance(start, reader, input)?;
                pos = 0;
            }
            Stop::More { record: None } => {
                // Only blank or comment lines are left: the bytes up to the
                // last line break are done with (none of them starts a record).
                let done = done_lines(options, &w.data, pos);
                w.advance(done, reader, input)?;
                pos = 0;
            }
        }
    }
}

/// Cuts the records of a stream from `w.data[pos]` on (a record start,
/// after its head) into blocks of whole records and hands them over, each
/// with `head`, until the stream ends or the blocks are not wanted.
///
/// # Errors
/// A read error after the records before it were handed over.
#[allow(clippy::too_many_arguments)]
fn cut(
    mut w: Window,
    pos: usize,
    reader: &mut dyn StreamRead,
    input: &InputFile,
    options: &Options,
    max: u64,
    hand: &Hand,
    head: Head,
) -> Result<()> {
    // The window's own bookkeeping gives where the carry starts.
    w.drop_front(pos);
    let start = Position { offset: w.base, line: w.line };
    Cutter::with_framing(reader, input, max, blocks::block_size(), cut::Records::new(options.dialect))
        .starting_at(start, std::mem::take(&mut w.data), w.failed.take())
        .hand_over(hand, Some(Arc::new(head)))
}

/// Pushes the records of one block of a stream, cut by [`cut`], into
/// `consumer`, with the rules its head gave: every record in it is whole,
/// and records, rejects and errors name the stream's offsets and lines.
///
/// # Errors
/// As [`drive`]'s for the records of the block.
#[allow(clippy::too_many_arguments)]
fn drive_block<D, C>(
    options: &Options,
    max: u64,
    input: &InputFile,
    reference: &Reference,
    decode: &D,
    state: &mut SplitState,
    consumer: &mut C,
    block: &Block,
) -> Result<()>
where
    D: Decode,
    C: for<'a> Consumer<D::Item<'a>>,
{
    let head = block.context.as_deref().and_then(|c| c.downcast_ref::<Head>()).ok_or_else(|| {
        Error::new(ErrorKind::Io, "a block of a CSV stream came without its header").with_path(&input.path)
    })?;
    let reference = head.reference.as_deref().unwrap_or(reference);
    let rules = Rules::new(decode, reference, &head.own, options, input, max)?;
    let mut read = Locator::counted(input, &block.bytes, block.start.offset, block.start.line, &options.on_malformed);
    let mut pos = 0;
    // A block ends at a record start, or at the end of the stream, or
    // inside a too-long record cut to its first bytes: every record in it
    // is whole, and an open quote at its end is never closed.
    rules.read_records(state, &mut pos, true, true, &mut read, consumer).map(|_| ())
}

/// Reads past the record that starts at `data[start]` (not a line break:
/// the tokenizer skipped those), dropping it as it goes; returns where the
/// next one may start and how many fields the record has. The record ends
/// at the line break that takes csv-core's state machine back between
/// records (or at the end of the stream).
pub(crate) fn skip_record(
    w: &mut Window,
    start: usize,
    dfa: &Dfa,
    reader: &mut dyn BufRead,
    input: &InputFile,
) -> Result<(usize, usize)> {
    let mut s = State::Record;
    let mut from = start;
    let mut fields = 1;
    loop {
        for (i, &b) in w.data[from..].iter().enumerate() {
            let next = dfa.step(s, b);
            if next == State::Record && s != State::Record {
                return Ok((from + i + 1, fields));
            }
            fields += usize::from(next == State::Field);
            s = next;
        }
        if w.eof {
            return Ok((w.data.len(), fields));
        }
        let n = w.data.len();
        w.advance(n, reader, input)?;
        from = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal::plumbing::FileKind;

    fn input() -> InputFile {
        InputFile { path: "t.csv.gz".into(), len: None, kind: FileKind::Gzip, spool: None, modified: None }
    }

    /// A pending record grows the window only up to the limit plus 3 bytes
    /// (enough to tell it is too long), and the window shrinks back once
    /// the record is dropped.
    #[test]
    fn the_window_grows_to_the_limit_only_and_shrinks_back() {
        let max = 10_000u64;
        let mut bytes = vec![b'z'; 100_000];
        bytes.extend(b"\n1,2\n");
        let mut reader = std::io::Cursor::new(bytes);
        let input = input();
        let mut w = Window::new(max);
        w.fill(&mut reader, &input, WINDOW).unwrap();
        while w.data.len() as u64 <= max + 2 {
            w.advance(0, &mut reader, &input).unwrap();
        }
        assert_eq!(w.data.len() as u64, max + 3, "filled to what tells the record is too long");
        assert!(w.data.capacity() < 2 * (max as usize + 3), "capacity {}", w.data.capacity());
        let (next, fields) = skip_record(&mut w, 0, &Dfa::new(Default::default()), &mut reader, &input).unwrap();
        assert_eq!(fields, 1);
        assert_eq!(&w.data[next..next + 4], b"1,2\n");
        assert_eq!(w.base + next as u64, 100_001);
        assert!(w.base > 90_000, "the record was dropped as it was read");
        assert!(w.data.capacity() <= 2 * WINDOW, "shrunk back: capacity {}", w.data.capacity());
    }
}
