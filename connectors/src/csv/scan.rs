//! Where records start: the exact boundary finder behind parallel splitting.
//!
//! A byte offset of a CSV file is a record start when a sequential reader
//! (`csv_core`) would be between records there. Two finders answer that:
//!
//! * [`Dfa`]: csv-core's state machine, reduced to the states that decide
//!   where records end, run byte by byte from the start of the file. Always
//!   right, one thread.
//! * [`scan_chunk`] + [`find_start`]: quote parity. A byte is inside quotes
//!   when an odd number of quote bytes precede it (counted from the start of
//!   the file, after a byte order mark). The parity of each chunk is counted
//!   in parallel and summed. That agrees with csv-core unless csv-core reads
//!   some quote as data: a quote inside an unquoted field (`ab"c`), which
//!   parity cannot see. So each chunk also checks, under both possible
//!   starting parities, the *parity rule*: every quote that parity says
//!   opens a field (an even number of quotes before it) is the file's first
//!   byte or follows a delimiter, a line break or a quote. A file that breaks
//!   it (or, with those configured, has an escape byte inside quotes or a
//!   comment line outside them) is *ambiguous* for parity and is scanned with
//!   the [`Dfa`] instead.
//!
//! Why openers are enough: while parity and csv-core agree, an even count
//! means csv-core is outside quotes (between records or fields, in an
//! unquoted field, or just after a closing quote), an odd one inside. The
//! first quote csv-core reads as data is read in an unquoted field, so parity
//! calls it an opener, and the byte before it is field data: not a
//! delimiter, a line break or a quote (a quote after a closing quote is the
//! second of a doubled `""`, not data). The check catches it. A quote parity
//! calls an opener after any other byte is such a stray quote, so the check
//! flags nothing csv-core reads as parity does. Closing quotes need no check:
//! data after one (`"abc"x,`) is read by csv-core as part of the field,
//! outside quotes, as parity says.
//!
//! Neither finder cuts between the `\r` and `\n` of a CRLF.

use super::blocks::{BLOCK, Classifier, low_bits, prefix_xor};
#[cfg(target_arch = "x86_64")]
use super::blocks::{QuoteBlocks, prefix_xor_clmul};
use super::dialect::Dialect;
use shoal::plumbing::{SplitGuard, map_indices};
use std::path::Path;

/// The UTF-8 byte order mark, skipped at the start of a file.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The length of the byte order mark `bytes` starts with (0 or 3).
pub(crate) fn bom_len(bytes: &[u8]) -> usize {
    if bytes.starts_with(BOM) { BOM.len() } else { 0 }
}

/// The states of csv-core's reader that matter for record boundaries.
///
/// csv-core's `CRLF` and `InRecordTerm` states behave like `StartRecord` on
/// every next byte, so they are folded into [`State::Record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Between records.
    Record,
    /// After a delimiter.
    Field,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Right after a quote inside a quoted field (closing, or the first of `""`).
    QuoteInQuoted,
    /// Right after an escape byte inside a quoted field.
    Escaped,
    /// Inside a comment line.
    Comment,
}

/// csv-core's record-boundary state machine for one [`Dialect`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dfa {
    dialect: Dialect,
}

impl Dfa {
    pub(crate) fn new(dialect: Dialect) -> Dfa {
        Dfa { dialect }
    }

    /// The state after reading `b` in state `s` (csv-core's `transition_nfa`,
    /// epsilon moves taken).
    #[inline]
    pub(crate) fn step(&self, s: State, b: u8) -> State {
        let d = &self.dialect;
        let term = b == b'\n' || b == b'\r';
        let quote = d.quote == Some(b);
        // A byte outside quotes ends a field, ends a record, or continues an unquoted field.
        let outside_quotes = || {
            if b == d.delimiter {
                State::Field
            } else if term {
                State::Record
            } else {
                State::Unquoted
            }
        };
        match s {
            State::Record if term => State::Record,
            State::Record if d.comment == Some(b) => State::Comment,
            State::Record | State::Field if quote => State::Quoted,
            State::Record | State::Field | State::Unquoted => outside_quotes(),
            State::Quoted => {
                if quote {
                    State::QuoteInQuoted
                } else if d.escape == Some(b) {
                    State::Escaped
                } else {
                    State::Quoted
                }
            }
            State::Escaped => State::Quoted,
            State::QuoteInQuoted if quote => State::Quoted,
            State::QuoteInQuoted => outside_quotes(),
            State::Comment if b == b'\n' => State::Record,
            State::Comment => State::Comment,
        }
    }

    /// The state after reading all of `bytes` from `s`.
    pub(crate) fn run(&self, mut s: State, bytes: &[u8]) -> State {
        for &b in bytes {
            s = self.step(s, b);
        }
        s
    }

    /// For each window `[cuts[k], cuts[k + 1])` (the last one runs to the end
    /// of `bytes`), the first record start inside it, if any, reading the
    /// whole file from its start. `cuts` must be increasing and `cuts[0] > 0`.
    /// Calls `release` on each stretch of [`RELEASE_STEP`] bytes it has read
    /// past (see [`Release`]).
    pub(crate) fn starts(&self, bytes: &[u8], cuts: &[usize], release: Release<'_>) -> Vec<Option<usize>> {
        let mut out = Vec::with_capacity(cuts.len());
        let mut s = State::Record;
        let mut pos = bom_len(bytes);
        for (k, &cut) in cuts.iter().enumerate() {
            let end = cuts.get(k + 1).copied().unwrap_or(bytes.len());
            while pos < cut {
                let step = (cut - pos).min(RELEASE_STEP);
                s = self.run(s, &bytes[pos..pos + step]);
                release(pos.saturating_sub(1)..pos + step - 1);
                pos += step;
            }
            let mut found = None;
            while pos < end {
                let after_break = matches!(bytes[pos - 1], b'\n' | b'\r');
                if s == State::Record && after_break && !(bytes[pos - 1] == b'\r' && bytes[pos] == b'\n') {
                    found = Some(pos);
                    break;
                }
                s = self.step(s, bytes[pos]);
                pos += 1;
            }
            out.push(found);
        }
        out
    }
}

/// What one chunk of a file says about quote parity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ChunkScan {
    /// An odd number of quote bytes in the chunk.
    pub(crate) odd: bool,
    /// Whether the parity rule breaks in the chunk, for a chunk entered
    /// outside quotes (`[0]`) or inside quotes (`[1]`).
    pub(crate) ambiguous: [bool; 2],
}

/// Counts quote parity over `bytes[start..end]` and checks the parity rule
/// under both starting parities. `bytes` is the whole file (neighbours of
/// the chunk's first and last byte are looked at).
pub(crate) fn scan_chunk(d: &Dialect, bytes: &[u8], start: usize, end: usize) -> ChunkScan {
    scan_chunk_at(d, bytes, start, end, bom_len(bytes))
}

/// [`scan_chunk`] of a piece of a file: `first` is the index of the file's
/// first byte after its byte order mark (`bom_len` of the file when
/// `bytes` starts the file; 0 for a piece that starts later, whose byte 0
/// is only looked at as the neighbour of `bytes[start]`, `start > 0`).
pub(crate) fn scan_chunk_at(d: &Dialect, bytes: &[u8], start: usize, end: usize, first: usize) -> ChunkScan {
    match d.quote {
        Some(quote) if d.comment.is_none() && d.escape.is_none() => {
            scan_quotes(d.delimiter, quote, bytes, start, end, first)
        }
        _ => scan_bytes_at(d, bytes, start, end, first),
    }
}

/// [`scan_chunk`] quote by quote (and comment and escape byte by byte).
#[cfg(test)]
fn scan_bytes(d: &Dialect, bytes: &[u8], start: usize, end: usize) -> ChunkScan {
    scan_bytes_at(d, bytes, start, end, bom_len(bytes))
}

/// [`scan_chunk_at`] quote by quote (and comment and escape byte by byte).
fn scan_bytes_at(d: &Dialect, bytes: &[u8], start: usize, end: usize, first: usize) -> ChunkScan {
    // Bytes that are not configured fall back to one that is; with neither
    // quoting nor comments every line break ends a record.
    let Some(quote) = d.quote.or(d.comment) else {
        return ChunkScan::default();
    };
    // The byte order mark is not read as CSV (csv-core skips it).
    let start = start.max(first);
    if start >= end {
        return ChunkScan::default();
    }
    let comment = d.comment.unwrap_or(quote);
    let escape = if d.quote.is_some() { d.escape.unwrap_or(quote) } else { quote };
    let at_line_start = |i: usize| i == first || (i > 0 && matches!(bytes[i - 1], b'\n' | b'\r'));
    // The bytes that may stand before an opening quote.
    let mut edge = [false; 256];
    for b in [d.delimiter, b'\n', b'\r', quote] {
        edge[usize::from(b)] = true;
    }
    let mut odd = false;
    let mut ambiguous = [false; 2];
    let mut visit = |i: usize| {
        let i = start + i;
        let b = bytes[i];
        if d.quote == Some(b) {
            // Entered outside quotes (`[0]`), this quote opens a field when
            // the count so far is even; entered inside (`[1]`), when it is odd.
            let opens_ok = i == first || edge[usize::from(bytes[i - 1])];
            ambiguous[usize::from(odd)] |= !opens_ok;
            odd = !odd;
        } else if d.comment == Some(b) && at_line_start(i) {
            // A comment line outside quotes: its quotes are not data.
            ambiguous[usize::from(odd)] = true;
        } else if d.escape == Some(b) && d.quote.is_some() {
            // An escape inside quotes can hide a quote from the count.
            ambiguous[usize::from(!odd)] = true;
        }
    };
    let chunk = &bytes[start..end];
    if d.comment.is_none() && d.escape.is_none() {
        memchr::memchr_iter(quote, chunk).for_each(&mut visit);
    } else {
        memchr::memchr3_iter(quote, comment, escape, chunk).for_each(&mut visit);
    }
    ChunkScan { odd, ambiguous }
}

/// [`scan_chunk`] without comment or escape bytes, 64 bytes at a time with
/// bit masks: AVX2, BMI1 and PCLMULQDQ when the CPU has them (checked on
/// every call), else SSE2 (the x86-64 baseline) or a portable loop.
fn scan_quotes(delimiter: u8, quote: u8, bytes: &[u8], start: usize, end: usize, first: usize) -> ChunkScan {
    #[cfg(target_arch = "x86_64")]
    if let Some(blocks) = QuoteBlocks::detect(quote, delimiter) {
        // SAFETY: `detect` found AVX2, BMI1 and PCLMULQDQ.
        return unsafe { scan_quotes_avx2(&blocks, delimiter, quote, bytes, start, end, first) };
    }
    scan_quotes_baseline(delimiter, quote, bytes, start, end, first)
}

/// [`scan_quotes`] with AVX2, BMI1 and PCLMULQDQ.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi1,pclmulqdq")]
fn scan_quotes_avx2(
    blocks: &QuoteBlocks,
    delimiter: u8,
    quote: u8,
    bytes: &[u8],
    start: usize,
    end: usize,
    first: usize,
) -> ChunkScan {
    let edge = edge_bytes(delimiter, quote);
    if blocks.lookup() {
        scan_blocks(bytes, start, end, first, quote, &edge, |b| blocks.block::<true>(b), |x| prefix_xor_clmul(x))
    } else {
        scan_blocks(bytes, start, end, first, quote, &edge, |b| blocks.block::<false>(b), |x| prefix_xor_clmul(x))
    }
}

/// [`scan_quotes`] with SSE2 (on x86-64) or portable masks.
fn scan_quotes_baseline(delimiter: u8, quote: u8, bytes: &[u8], start: usize, end: usize, first: usize) -> ChunkScan {
    let edge = edge_bytes(delimiter, quote);
    let classifier = Classifier::new([quote, delimiter, b'\n', b'\r']);
    let masks = |block: &[u8; BLOCK]| {
        let masks = classifier.block(block);
        (masks.first, masks.any)
    };
    scan_blocks(bytes, start, end, first, quote, &edge, masks, prefix_xor)
}

/// The bytes that may stand before an opening quote.
fn edge_bytes(delimiter: u8, quote: u8) -> [bool; 256] {
    let mut edge = [false; 256];
    for b in [quote, delimiter, b'\n', b'\r'] {
        edge[usize::from(b)] = true;
    }
    edge
}

/// Quote parity and the parity rule, from one block to the next.
#[derive(Debug, Clone, Copy)]
struct Carry {
    /// All ones after an odd number of quotes, else zero.
    odd: u64,
    /// 1 when the byte before the next block is an edge byte (or the block
    /// starts at the file's first byte), else 0.
    edge: u64,
    /// The quotes found opening a field after a byte that is not an edge
    /// byte, for a chunk entered outside quotes (`[0]`) and inside (`[1]`).
    bad: [u64; 2],
}

impl Carry {
    /// Takes in a block: bit `i` of `quotes` and `edges` marks its quotes
    /// and edge bytes, `prefix` is the prefix xor of `quotes`.
    #[inline(always)]
    fn block(&mut self, quotes: u64, edges: u64, prefix: u64) {
        // Bit `i`: an odd number of quotes up to and including byte `i`,
        // for a chunk entered outside quotes: a quote there opens a field.
        let parity = prefix ^ self.odd;
        let loose = quotes & !(edges << 1 | self.edge);
        self.bad[0] |= loose & parity;
        self.bad[1] |= loose & !parity;
        self.odd = ((parity as i64) >> 63) as u64;
        self.edge = edges >> 63;
    }

    fn scan(self) -> ChunkScan {
        ChunkScan { odd: self.odd != 0, ambiguous: self.bad.map(|bad| bad != 0) }
    }
}

/// The block scan of `bytes[start..end]` with `masks` (`(quotes, edges)` of
/// a block) and `prefix_xor`, from the first quote on (`memchr` finds it).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn scan_blocks(
    bytes: &[u8],
    start: usize,
    end: usize,
    first: usize,
    quote: u8,
    edge: &[bool; 256],
    masks: impl Fn(&[u8; BLOCK]) -> (u64, u64),
    prefix_xor: impl Fn(u64) -> u64,
) -> ChunkScan {
    // The byte order mark is not read as CSV (csv-core skips it).
    let start = start.max(first);
    let Some(within) = bytes.get(..end) else {
        return ChunkScan::default();
    };
    let Some(at) = within.get(start..).and_then(|chunk| memchr::memchr(quote, chunk)) else {
        return ChunkScan::default();
    };
    let mut base = start + at;
    // `base >= first`: `base - 1` is in bounds unless `base == first`.
    let edge_before = u64::from(base == first || edge[usize::from(bytes[base - 1])]);
    let mut carry = Carry { odd: 0, edge: edge_before, bad: [0; 2] };
    while let Some(block) = within.get(base..).and_then(<[u8]>::first_chunk::<BLOCK>) {
        let (quotes, edges) = masks(block);
        if quotes == 0 {
            // Nothing to check: only the last byte matters, for the next block.
            carry.edge = u64::from(edge[usize::from(block[BLOCK - 1])]);
        } else {
            carry.block(quotes, edges, prefix_xor(quotes));
        }
        base += BLOCK;
    }
    if base < end {
        // The last block: read past `end` when the file goes on (the bits
        // are dropped), else from a copy padded with zeros.
        let (quotes, edges) = match bytes.get(base..).and_then(<[u8]>::first_chunk::<BLOCK>) {
            Some(block) => masks(block),
            None => {
                let tail = &bytes[base..];
                let mut padded = [0u8; BLOCK];
                padded[..tail.len()].copy_from_slice(tail);
                masks(&padded)
            }
        };
        let quotes = quotes & low_bits(end - base);
        carry.block(quotes, edges, prefix_xor(quotes));
    }
    carry.scan()
}

/// The first record start in `[from, to)` when `bytes[from]` is entered
/// inside quotes iff `inside`, under the parity rule; `to <= bytes.len()`.
pub(crate) fn find_start(d: &Dialect, bytes: &[u8], from: usize, to: usize, inside: bool) -> Option<usize> {
    find_start_at(d, bytes, from, to, inside, bom_len(bytes))
}

/// [`find_start`] in a piece of a file, `first` as for [`scan_chunk_at`].
pub(crate) fn find_start_at(
    d: &Dialect,
    bytes: &[u8],
    from: usize,
    to: usize,
    mut inside: bool,
    first: usize,
) -> Option<usize> {
    debug_assert!(from > 0 && from <= to && to <= bytes.len());
    let quote = d.quote.unwrap_or(b'\n');
    // Quotes in the byte order mark are not counted (csv-core skips it).
    let counted = from.max(first);
    // A record starts at `p` when `bytes[p - 1]` is a line break outside quotes.
    let mut j = from - 1;
    loop {
        let b = bytes[j];
        if (b == b'\n' || b == b'\r') && !inside {
            let p = j + 1;
            if p >= to {
                return None;
            }
            if !(b == b'\r' && bytes[p] == b'\n') {
                return Some(p);
            }
        } else if b == quote && j >= counted {
            inside = !inside;
        }
        // Next interesting byte after `j`.
        let next = memchr::memchr3(quote, b'\n', b'\r', &bytes[j + 1..to])?;
        j += 1 + next;
    }
}

/// Called by the scan with the byte ranges of the file it has read past
/// and will not read again soon, so a mapping can give their pages back
/// ([`FileRange::release`](shoal::plumbing::FileRange::release)): the
/// planner's resident memory stays at the windows in flight, not the file.
/// A range may be read again later (only a few bytes after a cut); the
/// callee must keep the bytes readable.
pub(crate) type Release<'r> = &'r (dyn Fn(std::ops::Range<usize>) + Sync);

/// How many bytes the sequential [`Dfa`] reads between calls of [`Release`].
pub(crate) const RELEASE_STEP: usize = 8 << 20;

/// A [`Release`] that keeps every page (tests).
#[cfg(test)]
const KEEP: Release<'static> = &|_| {};

/// The exact record start of each nominal cut of one file, or `None` when no
/// record starts between a cut and the next: `(starts, used_dfa)`.
///
/// The parity of each window between cuts is counted on up to `threads`
/// threads; a file that is ambiguous for parity is read with the [`Dfa`].
///
/// `path` names the file for the bus-error message of each scan thread.
/// `release` is called behind each window scanned (and behind the [`Dfa`],
/// when it runs).
pub(crate) fn exact_starts(
    d: &Dialect,
    bytes: &[u8],
    cuts: &[usize],
    threads: usize,
    path: &Path,
    release: Release<'_>,
) -> (Vec<Option<usize>>, bool) {
    debug_assert!(cuts.windows(2).all(|w| w[0] < w[1]) && cuts.first().is_none_or(|&c| c > 0));
    if cuts.is_empty() {
        return (Vec::new(), false);
    }
    // Windows: [0, c0), [c0, c1), ..., [c_last, len).
    let mut bounds = Vec::with_capacity(cuts.len() + 2);
    bounds.push(0);
    bounds.extend_from_slice(cuts);
    bounds.push(bytes.len());
    let windows: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let scans = scan_windows(d, bytes, &windows, threads, path, release);
    let mut inside = false;
    let mut entered = Vec::with_capacity(windows.len());
    for scan in &scans {
        if scan.ambiguous[usize::from(inside)] {
            return (Dfa::new(*d).starts(bytes, cuts, release), true);
        }
        entered.push(inside);
        inside ^= scan.odd;
    }
    let starts = windows[1..]
        .iter()
        .zip(&entered[1..])
        .map(|(&(from, to), &inside)| find_start(d, bytes, from, to, inside))
        .collect();
    (starts, false)
}

/// [`scan_chunk`] of every window, on up to `threads` threads of the job's
/// work-stealing pool ([`map_indices`]).
fn scan_windows(
    d: &Dialect,
    bytes: &[u8],
    windows: &[(usize, usize)],
    threads: usize,
    path: &Path,
    release: Release<'_>,
) -> Vec<ChunkScan> {
    let threads = threads.clamp(1, windows.len().max(1));
    // Each window is read once; its pages go back as soon as it is scanned.
    let scan = |s: usize, e: usize| {
        let scanned = scan_chunk(d, bytes, s, e);
        release(s..e);
        scanned
    };
    if threads == 1 {
        return windows.iter().map(|&(s, e)| scan(s, e)).collect();
    }
    let scanned = map_indices(threads, windows.len(), |k| {
        let (s, e) = windows[k];
        let _guard = SplitGuard::new(scan_name(path, Some(k), s as u64, e as u64));
        scan(s, e)
    });
    // A scan only runs memchr over a slice and cannot panic short of a bug;
    // then scan again on this thread rather than lose the plan.
    scanned.unwrap_or_else(|_| windows.iter().map(|&(s, e)| scan_chunk(d, bytes, s, e)).collect())
}

/// What the planner's scan reads, for the bus-error message: nominal split
/// `split` (or the whole file) of `path`.
pub(crate) fn scan_name(path: &Path, split: Option<usize>, start: u64, end: u64) -> String {
    let split = split.map(|k| format!("#{k} ")).unwrap_or_default();
    format!("{split}{} bytes {start}..{end} (planning: finding record starts)", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn scan_names_name_the_file_and_split() {
        let path = std::path::Path::new("data/a.csv");
        assert_eq!(
            super::scan_name(path, Some(3), 96, 128),
            "#3 data/a.csv bytes 96..128 (planning: finding record starts)"
        );
        assert_eq!(super::scan_name(path, None, 0, 128), "data/a.csv bytes 0..128 (planning: finding record starts)");
    }

    /// Record start offsets as csv::Reader sees them, for a BOM-free input.
    fn reference_starts(d: &Dialect, bytes: &[u8]) -> Vec<usize> {
        let mut rdr = d.reference_builder().from_reader(bytes);
        let mut rec = csv::ByteRecord::new();
        let mut ends = vec![0];
        while rdr.read_byte_record(&mut rec).unwrap() {
            ends.push(rdr.position().byte() as usize);
        }
        ends
    }

    fn check_every_cut(d: &Dialect, text: &[u8]) {
        let dfa = Dfa::new(*d);
        for cut in 1..text.len() {
            let want_dfa = dfa.starts(text, &[cut], KEEP)[0];
            let (got, _) = exact_starts(d, text, &[cut], 2, Path::new("t.csv"), KEEP);
            assert_eq!(got[0], want_dfa, "cut {cut} of {:?}", String::from_utf8_lossy(text));
            if let Some(p) = want_dfa {
                // A start is where csv::Reader finished a record (or a blank line).
                let mut rdr = d.reference_builder().from_reader(&text[p..]);
                let mut rest = Vec::new();
                let mut rec = csv::ByteRecord::new();
                while rdr.read_byte_record(&mut rec).unwrap() {
                    rest.push(rec.clone());
                }
                let mut all = d.reference_builder().from_reader(text);
                let mut whole = Vec::new();
                while all.read_byte_record(&mut rec).unwrap() {
                    whole.push(rec.clone());
                }
                assert!(whole.ends_with(&rest), "cut {cut} -> {p} of {:?}", String::from_utf8_lossy(text));
            }
        }
        let _ = reference_starts(d, text);
    }

    #[test]
    fn every_cut_agrees_with_the_dfa_and_csv() {
        let d = Dialect::default();
        for text in [
            &b"a,b\n1,2\n"[..],
            b"a,\"x\ny\",c\r\n\"q\"\"\",2\r\n3,\"\"\n",
            b"x,\"\"\"\",\"\n\n\"\nlast",
            b"ab\"c,d\ne\"\nf,g\n",
            b"\"a\"b,c\n\"d\ne\"\n",
            b"\n\r\n\r\r\na\n",
            b"\"unterminated\nx,y\n",
        ] {
            check_every_cut(&d, text);
        }
        let hash = Dialect { comment: Some(b'#'), escape: Some(b'\\'), ..Dialect::default() };
        let bare = Dialect { quote: None, comment: Some(b'#'), ..Dialect::default() };
        for text in [&b"#c \"\na,\"b\\\"\nc\"\n#\"\nd\n"[..], b"a,\"#\n#\"\n#x\ny\n", b"#a\rb\nc\n"] {
            check_every_cut(&hash, text);
            check_every_cut(&bare, text);
        }
    }

    /// The block scans (the one this CPU takes and the SSE2 or portable
    /// one) agree with the quote-by-quote one on random documents and
    /// chunks (quotes near block edges, the file's ends and a byte order
    /// mark included), in dialects whose edge bytes the AVX2 scan looks up
    /// and in ones it compares.
    #[test]
    fn block_scan_agrees_with_quote_by_quote() {
        let dialects = [
            Dialect::default(),
            Dialect { delimiter: b';', quote: Some(b'\''), ..Dialect::default() },
            Dialect { delimiter: b':', ..Dialect::default() },
            Dialect { delimiter: 0xFE, ..Dialect::default() },
        ];
        let mut seed = 0x5CA7_u64;
        let mut next = move |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n
        };
        let mut ambiguous = [0, 0];
        for _ in 0..3000 {
            let d = dialects[next(dialects.len())];
            let (delimiter, quote) = (d.delimiter, d.quote.unwrap_or(b'"'));
            let mut text = if next(4) == 0 { BOM.to_vec() } else { Vec::new() };
            // Fields, mostly well formed, sometimes with a stray quote.
            for _ in 0..next(60) {
                // Sometimes a long unquoted field (blocks without quotes).
                if next(20) == 0 {
                    text.extend(std::iter::repeat_n(b'a', next(150)));
                }
                let quoted = next(2) == 0;
                if quoted {
                    text.push(quote);
                }
                for _ in 0..next(12) {
                    let b = [b'a', b' ', delimiter, b'\n', quote, b'\r'][next(6)];
                    if (b == quote || b == delimiter || b == b'\n' || b == b'\r') && !quoted && next(30) != 0 {
                        continue;
                    }
                    text.push(b);
                    if b == quote && quoted && next(30) != 0 {
                        text.push(quote);
                    }
                }
                if quoted {
                    text.push(quote);
                    // Sometimes data after the closing quote.
                    if next(30) == 0 {
                        text.push(b'a');
                    }
                }
                text.push([delimiter, delimiter, b'\n', b'\r'][next(4)]);
            }
            if text.is_empty() {
                continue;
            }
            let start = next(text.len());
            let end = start + 1 + next(text.len() - start);
            let want = scan_bytes(&d, &text, start, end);
            let got = scan_chunk(&d, &text, start, end);
            assert_eq!(got, want, "{start}..{end} of {:?} in {d:?}", String::from_utf8_lossy(&text));
            let baseline = scan_quotes_baseline(delimiter, quote, &text, start, end, bom_len(&text));
            assert_eq!(baseline, want, "{start}..{end} of {:?} in {d:?}", String::from_utf8_lossy(&text));
            for (n, a) in ambiguous.iter_mut().zip(want.ambiguous) {
                *n += usize::from(a);
            }
        }
        // Both outcomes occur under both starting parities.
        assert!(ambiguous.iter().all(|&n| n > 300 && n < 2700), "{ambiguous:?}");
    }

    /// Data after a closing quote is read by csv-core as parity says: not
    /// ambiguous, and the starts are exact.
    #[test]
    fn data_after_a_closing_quote_is_not_ambiguous() {
        let d = Dialect::default();
        let text = b"\"abc\"x,y\n\"p\nq\"r,s\nt,\"u\"v\n\"w\",z\n";
        for (start, end) in [(0, text.len()), (1, text.len()), (3, 20)] {
            let scan = scan_chunk(&d, text, start, end);
            assert_eq!(scan, scan_bytes(&d, text, start, end));
        }
        assert_eq!(scan_chunk(&d, text, 0, text.len()).ambiguous, [false, true]);
        for cut in 1..text.len() {
            let (starts, dfa) = exact_starts(&d, text, &[cut], 1, Path::new("t.csv"), KEEP);
            assert!(!dfa, "cut {cut}");
            assert_eq!(starts, Dfa::new(d).starts(text, &[cut], KEEP), "cut {cut}");
        }
        check_every_cut(&d, text);
    }

    /// A quote after a closing quote and data is a stray quote: ambiguous.
    #[test]
    fn a_stray_quote_after_a_closing_quote_is_ambiguous() {
        let d = Dialect::default();
        let text = b"\"a\"b\"c\nd,e\nf\"\ng,h\n";
        assert!(scan_chunk(&d, text, 0, text.len()).ambiguous[0]);
        assert_eq!(scan_chunk(&d, text, 0, text.len()), scan_bytes(&d, text, 0, text.len()));
        let (starts, dfa) = exact_starts(&d, text, &[5, 12], 2, Path::new("t.csv"), KEEP);
        assert!(dfa, "a quote after `\"a\"b` is data to csv-core");
        assert_eq!(starts, Dfa::new(d).starts(text, &[5, 12], KEEP));
        check_every_cut(&d, text);
    }

    #[test]
    fn ambiguous_files_use_the_dfa() {
        let d = Dialect::default();
        let text = b"ab\"c,d\nx,y\nz\"\n1,2\n";
        let (_, dfa) = exact_starts(&d, text, &[8], 1, Path::new("t.csv"), KEEP);
        assert!(dfa, "a quote inside an unquoted field needs the DFA");
        let clean = b"a,\"b\nc\"\nd,e\n";
        let (starts, dfa) = exact_starts(&d, clean, &[3, 9], 2, Path::new("t.csv"), KEEP);
        assert!(!dfa);
        assert_eq!(starts, vec![Some(8), None]);
    }
}
