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
//!   most `--max-record-size` bytes long; the window grows (doubling) to
//!   hold it, so memory is bounded by about twice the record limit, and by
//!   [`WINDOW`] plus the read-ahead for ordinary records;
//! - a record that passes the limit is handed to the malformed-record
//!   policy at once (with its first bytes, like a mapped one), and the rest
//!   of it is read and dropped by csv-core's state machine ([`Dfa`]), which
//!   ends records where the tokenizer does.
//!
//! A pipe's header cannot be read at plan time (that would consume it):
//! when no input gave a reference header, each stream's own header names
//! its columns and is checked when the stream starts (the expected header,
//! the row type's fields), as the plan checks a file's.
//!
//! Left alone: a comment line is held whole, whatever its length (the
//! tokenizer skips comment lines whole); a first record (header or not)
//! longer than the limit is an error, not a reject.

use super::header::Reference;
use super::locator::Locator;
use super::options::{Header, Options};
use super::rules::{Decode, First, Rules, SplitState, Stop, check_reference};
use super::scan::{Dfa, State, bom_len};
use shoal::plumbing::read::stream;
use shoal::plumbing::{Consumer, InputFile};
use shoal::{Error, ErrorKind, Result};
use std::io::BufRead;

/// The size the window is filled to: 4 MiB (4 KiB in debug builds, so
/// that tests cross window ends often).
pub(crate) const WINDOW: usize = if cfg!(debug_assertions) { 4 << 10 } else { 4 << 20 };

/// The bytes of a stream being parsed (see the module's invariants).
struct Window {
    data: Vec<u8>,
    /// The absolute offset of `data[0]` in the decompressed stream.
    base: u64,
    /// The line `data[0]` is on.
    line: u64,
    /// The stream has no more bytes.
    eof: bool,
}

impl Window {
    fn new() -> Window {
        Window { data: Vec::with_capacity(WINDOW), base: 0, line: 1, eof: false }
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
    /// input and the offset reached.
    fn fill(&mut self, reader: &mut dyn BufRead, input: &InputFile, want: usize) -> Result<()> {
        while self.data.len() < want && !self.eof {
            let avail = match reader.fill_buf() {
                Ok(avail) => avail,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let offset = self.base + self.data.len() as u64;
                    let line = self.line + memchr::memchr_iter(b'\n', &self.data).count() as u64;
                    return Err(stream::read_error(input, e, offset).with_line(line));
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

    /// Drops what comes before `keep` and reads more: at least twice what
    /// is kept, so a long record is read again only a few times.
    fn advance(&mut self, keep: usize, reader: &mut dyn BufRead, input: &InputFile) -> Result<()> {
        self.drop_front(keep);
        let want = self.data.len().saturating_mul(2).max(WINDOW);
        self.fill(reader, input, want)
    }
}

/// Pushes the items of the stream `input`, decoded by `decode`, into
/// `consumer`: its header (or first record) first, checked against
/// `reference`, then its records, as the CSV source does for a mapped
/// file; `max` is the record limit.
///
/// # Errors
/// A read or decompression error, a header that does not match, a rejected
/// record under the fail policy, or the consumer's error.
pub(crate) fn drive<D, C>(
    options: &Options,
    max: u64,
    input: &InputFile,
    reference: &Reference,
    decode: &D,
    state: &mut SplitState,
    consumer: &mut C,
) -> Result<()>
where
    D: Decode,
    C: for<'a> Consumer<D::Item<'a>>,
{
    let mut reader = stream::open(input)?;
    let reader = &mut *reader;
    let mut w = Window::new();
    w.fill(reader, input, WINDOW)?;
    let mut pos = bom_len(&w.data);
    let own = loop {
        let first = state.first_record(&w.data, &mut pos, w.eof, w.eof, options.header, options.trim.headers());
        match first {
            First::Record(rec) => break rec,
            First::Empty => return Ok(()),
            First::Unterminated(span) => {
                let mut read = Locator::counted(input, &w.data, w.base, w.line, &options.on_malformed);
                return Err(read.unterminated_header(span));
            }
            First::More => {
                if (w.data.len() - pos) as u64 > max.saturating_add(2) {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!(
                            "the first record is longer than the maximum record size of {max} bytes \
                             (--max-record-size)"
                        ),
                    )
                    .with_path(&input.path)
                    .with_offset(w.base + pos as u64));
                }
                w.advance(pos, reader, input)?;
                pos = 0;
            }
        }
    };
    // Without a reference header (every input a pipe or special file,
    // whose header cannot be read at plan time without consuming it), the
    // stream's own header names the columns, checked here as the plan
    // checks a file's.
    let own_reference;
    let reference = if reference.header.is_none() && options.header == Header::FirstRow {
        own_reference =
            Reference { first: reference.first.clone(), path: input.path.clone(), header: Some(own.clone()) };
        check_reference(options, &own_reference, decode)?;
        &own_reference
    } else {
        reference
    };
    let rules = Rules::new(decode, reference, &own, options, input, max)?;
    let dfa = Dfa::new(options.dialect);
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
                pos = skip_record(&mut w, start, &dfa, reader, input)?;
            }
            Stop::More { record: Some(_) } => {
                w.advance(pos, reader, input)?;
                pos = 0;
            }
            Stop::More { record: None } => {
                // Only blank or comment lines are left: the bytes up to the
                // last line break are done with (none of them starts a record).
                let done = match options.dialect.comment {
                    None => w.data.len(),
                    Some(_) => memchr::memrchr(b'\n', &w.data[pos..]).map_or(pos, |i| pos + i + 1),
                };
                w.advance(done, reader, input)?;
                pos = 0;
            }
        }
    }
}

/// Reads past the record that starts at `data[start]` (not a line break:
/// the tokenizer skipped those), dropping it as it goes; returns where the
/// next one may start. The record ends at the line break that takes
/// csv-core's state machine back between records (or at the end of the
/// stream).
fn skip_record(w: &mut Window, start: usize, dfa: &Dfa, reader: &mut dyn BufRead, input: &InputFile) -> Result<usize> {
    let mut s = State::Record;
    let mut from = start;
    loop {
        for (i, &b) in w.data[from..].iter().enumerate() {
            let next = dfa.step(s, b);
            if next == State::Record && s != State::Record {
                return Ok(from + i + 1);
            }
            s = next;
        }
        if w.eof {
            return Ok(w.data.len());
        }
        let n = w.data.len();
        w.drop_front(n);
        w.fill(reader, input, WINDOW)?;
        from = 0;
    }
}
