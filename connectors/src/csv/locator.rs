//! Where a record of a region is: its file, line and byte offset, for
//! rejects and errors.
//!
//! A mapped part finds line numbers only when a record is rejected, from
//! the file ([`RegionLines`]); a window of a stream knows the line of its
//! first byte and counts forward from it. Either way the same bytes get the
//! same line and offset (of the decompressed stream, for compressed files).

use crate::lines::RegionLines;
use shoal::plumbing::InputFile;
use shoal::plumbing::read::bounded::TOO_LONG_PREFIX;
use shoal::{Error, OnMalformed, Rejected, Result};
use std::ops::Range;

/// Line numbers in a region.
enum Lines<'p> {
    /// A part of a regular file: counted from the file when first needed.
    Mapped(RegionLines<'p>),
    /// A window of a stream, whose first byte starts or continues line
    /// `first`; `at` is the last answer, `(position, line)`.
    Counted { first: u64, at: Option<(usize, u64)> },
}

/// Locating and rejecting the records of one region.
pub(crate) struct Locator<'p> {
    input: &'p InputFile,
    pub(crate) region: &'p [u8],
    /// The absolute offset of `region[0]`.
    base: u64,
    lines: Lines<'p>,
    on_malformed: &'p OnMalformed,
}

impl<'p> Locator<'p> {
    /// For a mapped part: line numbers are read from the file when needed.
    pub(crate) fn mapped(
        input: &'p InputFile,
        region: &'p [u8],
        base: u64,
        lines: RegionLines<'p>,
        on_malformed: &'p OnMalformed,
    ) -> Self {
        Locator { input, region, base, lines: Lines::Mapped(lines), on_malformed }
    }

    /// For a window of a stream: `region[0]` is byte `base` of the
    /// (decompressed) stream, on line `line`.
    pub(crate) fn counted(
        input: &'p InputFile,
        region: &'p [u8],
        base: u64,
        line: u64,
        on_malformed: &'p OnMalformed,
    ) -> Self {
        Locator { input, region, base, lines: Lines::Counted { first: line, at: None }, on_malformed }
    }

    #[cold]
    fn line_at(&mut self, rel: usize) -> Option<u64> {
        match &mut self.lines {
            Lines::Mapped(lines) => lines.line_at(rel),
            Lines::Counted { first, at } => {
                let rel = rel.min(self.region.len());
                let (from, line) = match *at {
                    Some((p, l)) if p <= rel => (p, l),
                    _ => (0, *first),
                };
                let line = line + memchr::memchr_iter(b'\n', &self.region[from..rel]).count() as u64;
                *at = Some((rel, line));
                Some(line)
            }
        }
    }

    /// Hands the record `raw` of the region to the policy, for `reason`.
    ///
    /// # Errors
    /// Under [`OnMalformed::Fail`], the record as an error.
    #[cold]
    pub(crate) fn reject(&mut self, raw: Range<usize>, reason: String) -> Result<()> {
        let line = self.line_at(raw.start);
        let record = trim_terminator(&self.region[raw.clone()]);
        let rejected = Rejected::new(&self.input.path, line, self.base + raw.start as u64, reason, record);
        self.on_malformed.handle(rejected)
    }

    /// The error for a header that opens a quote and never closes it.
    #[cold]
    pub(crate) fn unterminated_header(&mut self, raw: Range<usize>) -> Error {
        let line = self.line_at(raw.start);
        let record = &self.region[raw.clone()];
        let reason = "unterminated quoted field in the header (the quote opens here and is never closed)";
        Rejected::new(&self.input.path, line, self.base + raw.start as u64, reason, record).into_error()
    }

    /// The error for a header longer than `max` bytes (terminator aside):
    /// a header cannot be skipped, it names the columns. Its first bytes
    /// are kept, as for a too-long record.
    #[cold]
    pub(crate) fn header_too_long(&mut self, raw: Range<usize>, max: u64) -> Error {
        let line = self.line_at(raw.start);
        let record = &self.region[too_long_prefix(max, raw.start, raw.end)];
        let reason = format!("header {}", too_long_reason(max));
        Rejected::new(&self.input.path, line, self.base + raw.start as u64, reason, record).into_error()
    }

    /// Adds the file, offset and line of the record at `rel` to `err`,
    /// unless it has a location already.
    #[cold]
    pub(crate) fn locate(&mut self, err: Error, rel: usize) -> Error {
        if err.has_location() {
            return err;
        }
        let line = self.line_at(rel);
        let err = err.with_path(&self.input.path).with_offset(self.base + rel as u64);
        match line {
            Some(line) => err.with_line(line),
            None => err,
        }
    }
}

/// A record's bytes without its terminator (LF or CRLF).
pub(crate) fn trim_terminator(raw: &[u8]) -> &[u8] {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

/// Why a record over the limit `max` is malformed: the one wording of
/// rejects and of the error for a header over the limit.
pub(crate) fn too_long_reason(max: u64) -> String {
    format!("record is longer than the maximum record size of {max} bytes (--max-record-size)")
}

/// The bytes of a too-long record `start..end` of a region that are kept
/// (in rejects and errors): its first [`TOO_LONG_PREFIX`] bytes, at most
/// the limit `max`.
pub(crate) fn too_long_prefix(max: u64, start: usize, end: usize) -> Range<usize> {
    start..end.min(start.saturating_add(TOO_LONG_PREFIX.min(usize::try_from(max).unwrap_or(usize::MAX))))
}
