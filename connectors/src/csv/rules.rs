//! What becomes of each record of a region: the rules a mapped part and a
//! stream share.
//!
//! [`Rules::read_records`] cuts the records of a region of bytes with the
//! split's [`Tokenizer`] and applies, in this order, the checks of the CSV
//! source: longer than `--max-record-size`, an unterminated quote, the
//! field count; then trimming, column reordering and decoding. A rejected
//! record goes to the [`OnMalformed`](shoal::OnMalformed) policy through [`Locator`], which
//! names the file, the line and the byte offset (of the decompressed
//! stream, for compressed files). A mapped part (`source.rs`) hands the
//! whole part over at once; a stream (`stream.rs`) hands over a window at
//! a time and is told where the window ends inside a record ([`Stop::More`]).
//! Both go through this one function, so the same bytes give the same
//! records, rejects and errors however they arrive.

use super::dialect::Dialect;
use super::header::{self, FileHeader, Reference};
use super::locator::{Locator, too_long_prefix, too_long_reason, trim_terminator};
use super::options::{FieldCount, Options};
use super::record::Record;
use super::tokenize::{Span, Tokenizer};
use csv::ByteRecord;
use shoal::plumbing::{Consumer, InputFile};
use shoal::{Error, ErrorKind, Result};
use std::ops::Range;
use std::path::Path;

/// Counter: data records read (good and rejected; headers, blank and
/// comment lines excluded).
pub const ROWS: &str = "csv.rows";
/// Counter: data records rejected by the malformed-record policy.
pub const REJECTED: &str = "csv.rejected";

/// What became of one record.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It was decoded and pushed on.
    Pushed,
    /// It could not be decoded, for this reason.
    Rejected(String),
}

/// How a record becomes an item.
pub(crate) trait Decode: Sync {
    /// The item borrowed from the record.
    type Item<'a>;

    /// Decodes `rec` (in the first file's column order) and pushes it;
    /// `scratch` is a reused buffer.
    ///
    /// # Errors
    /// The consumer's error (user code), which stops the split.
    fn push<C>(
        &self,
        rec: &Record,
        scratch: &mut ByteRecord,
        headers: Option<&ByteRecord>,
        consumer: &mut C,
    ) -> Result<Outcome>
    where
        C: for<'a> Consumer<Self::Item<'a>>;

    /// Checks the item type against the reference header (`path`'s) before
    /// any record is read: every field of a row struct must name a column.
    ///
    /// # Errors
    /// A field that names no column, naming the field and the columns.
    fn check(&self, headers: Option<&ByteRecord>, path: &Path) -> Result<()>;
}

/// Per-split reading state, reused over the split's parts.
pub(crate) struct SplitState {
    pub(crate) tok: Tokenizer,
    rec: Record,
    scratch: ByteRecord,
    pub(crate) rows: u64,
    pub(crate) rejected: u64,
}

/// The first record of a file, as [`SplitState::first_record`] finds it.
pub(crate) enum First {
    /// The record (consumed if it is a header) and its bytes in the region
    /// (terminator included).
    Record(ByteRecord, Range<usize>),
    /// It opens a quote that is never closed (its bytes).
    Unterminated(Range<usize>),
    /// The file has no record.
    Empty,
    /// The region may end inside it: more bytes are needed (streams only).
    /// `record` is where it starts, if it has begun (`None`: only blank or
    /// comment lines are left, perhaps unfinished), as in [`Stop::More`].
    More { record: Option<usize> },
}

impl SplitState {
    pub(crate) fn new(dialect: Dialect) -> SplitState {
        SplitState {
            tok: Tokenizer::new(dialect),
            rec: Record::new(),
            scratch: ByteRecord::new(),
            rows: 0,
            rejected: 0,
        }
    }

    /// Reads a file's first record from `*pos`; a header is consumed, a
    /// data record is not (it is read again as data). `last`: no bytes of
    /// the file follow the region; `at_eof`: the region ends the file.
    pub(crate) fn first_record(
        &mut self,
        region: &[u8],
        pos: &mut usize,
        last: bool,
        at_eof: bool,
        header: super::options::Header,
        trim: bool,
    ) -> First {
        let mut probe = *pos;
        let Some(span) = self.tok.next(region, &mut probe, &mut self.rec, at_eof) else {
            return if last { First::Empty } else { First::More { record: None } };
        };
        if !last && span.raw.end == region.len() {
            return First::More { record: Some(span.raw.start) };
        }
        if span.unterminated {
            return First::Unterminated(span.raw);
        }
        let mut rec = self.rec.to_byte_record();
        if header == super::options::Header::FirstRow {
            *pos = probe;
            if trim {
                rec.trim();
            }
        }
        First::Record(rec, span.raw)
    }

    /// Adds the counts to the split's report.
    pub(crate) fn flush(&mut self) {
        if self.rows > 0 {
            shoal::report::records_read(self.rows);
            shoal::report::count(ROWS, std::mem::take(&mut self.rows));
        }
        if self.rejected > 0 {
            shoal::report::count(REJECTED, std::mem::take(&mut self.rejected));
        }
    }
}

/// Checks `decode`'s item type, and the expected header if any, against
/// `reference`.
///
/// # Errors
/// A header other than the expected one, or a row field that names no
/// column.
pub(crate) fn check_reference<D: Decode>(options: &Options, reference: &Reference, decode: &D) -> Result<()> {
    let names = reference.names(options.header);
    if let (Some(want), Some(got)) = (&options.expected_header, names)
        && want != got
    {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!("header {} is not the expected {}", header::show(got), header::show(want)),
        )
        .with_path(&reference.path)
        .with_line(1));
    }
    decode.check(names, &reference.path)
}

/// Why [`Rules::read_records`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// No record is left in the region.
    End,
    /// The region may end inside a record (streams only): `*pos` is left
    /// where reading must resume once more bytes follow (before any blank
    /// lines), and `record` is where that record starts, if it has begun
    /// (`None`: only blank or comment lines are left, perhaps unfinished).
    More { record: Option<usize> },
}

/// The checks and the decoding of one file's records.
pub(crate) struct Rules<'r, D> {
    pub(crate) decode: &'r D,
    /// The file's header against the reference (width, column order).
    pub(crate) shape: FileHeader,
    /// The reference header names, for decoding.
    pub(crate) headers: Option<&'r ByteRecord>,
    pub(crate) trim_fields: bool,
    pub(crate) strict: bool,
    /// `--max-record-size` (or the source's own limit).
    pub(crate) max_record: u64,
}

impl<'r, D: Decode> Rules<'r, D> {
    /// The rules for the records of `input`, whose own first record is `own`.
    ///
    /// # Errors
    /// A header that does not match the reference's.
    pub(crate) fn new(
        decode: &'r D,
        reference: &'r Reference,
        own: &ByteRecord,
        options: &Options,
        input: &InputFile,
        max_record: u64,
    ) -> Result<Rules<'r, D>> {
        Ok(Rules {
            decode,
            shape: FileHeader::new(own, reference, options, &input.path)?,
            headers: reference.names(options.header),
            trim_fields: options.trim.fields(),
            strict: options.field_count == FieldCount::Strict,
            max_record,
        })
    }

    /// Why a record over the limit is malformed ([`too_long_reason`]).
    pub(crate) fn too_long_reason(&self) -> String {
        too_long_reason(self.max_record)
    }

    /// The bytes of a too-long record starting at `start` that are kept.
    pub(crate) fn too_long_prefix(&self, start: usize, end: usize) -> Range<usize> {
        too_long_prefix(self.max_record, start, end)
    }

    /// Reads the records of `read.region` from `*pos` on, pushing the good
    /// ones into `consumer` and handing the bad ones to the policy.
    ///
    /// `last`: no bytes of the file follow the region, so every record in
    /// it is whole (a mapped part, whose planned end is a record start, or
    /// the end of a stream). Otherwise a record that reaches the region's
    /// end may go on, and reading stops before it with [`Stop::More`].
    /// `at_eof`: the region ends the file (an open quote at its end is
    /// unterminated).
    ///
    /// # Errors
    /// A rejected record under [`OnMalformed::Fail`], or the consumer's
    /// error, located.
    #[inline(always)]
    pub(crate) fn read_records<C>(
        &self,
        state: &mut SplitState,
        pos: &mut usize,
        last: bool,
        at_eof: bool,
        read: &mut Locator<'_>,
        consumer: &mut C,
    ) -> Result<Stop>
    where
        C: for<'a> Consumer<D::Item<'a>>,
    {
        let region = read.region;
        let max_record = self.max_record;
        // A record over the limit is malformed; only a region that long
        // can hold one, so others skip the check.
        let check_len = region.len() as u64 > max_record;
        let rec = &mut state.rec;
        loop {
            let before = *pos;
            let Some(span) = state.tok.next(region, pos, rec, at_eof) else {
                if last {
                    return Ok(Stop::End);
                }
                *pos = before;
                return Ok(Stop::More { record: None });
            };
            if !last && span.raw.end == region.len() {
                *pos = before;
                return Ok(Stop::More { record: Some(span.raw.start) });
            }
            let Span { raw, unterminated } = span;
            state.rows += 1;
            if check_len && trim_terminator(&region[raw.clone()]).len() as u64 > max_record {
                state.rejected += 1;
                read.reject(self.too_long_prefix(raw.start, raw.end), self.too_long_reason())?;
                continue;
            }
            if unterminated {
                state.rejected += 1;
                read.reject(raw, "unterminated quoted field (the quote opens here and is never closed)".into())?;
                continue;
            }
            if self.trim_fields {
                rec.trim();
            }
            if self.strict && rec.len() != self.shape.width {
                state.rejected += 1;
                read.reject(raw, format!("{} fields, expected {}", rec.len(), self.shape.width))?;
                continue;
            }
            if let Some(order) = &self.shape.order {
                rec.reorder(order);
            }
            match self.decode.push(rec, &mut state.scratch, self.headers, consumer) {
                Ok(Outcome::Pushed) => {}
                Ok(Outcome::Rejected(reason)) => {
                    state.rejected += 1;
                    read.reject(raw, reason)?;
                }
                // A stage rejected the record (`shoal::Error::malformed`):
                // the source's policy decides, like for records it rejects.
                Err(e) if e.is_malformed() => {
                    state.rejected += 1;
                    read.reject(raw, e.message().to_owned())?;
                }
                Err(e) => return Err(read.locate(e, raw.start)),
            }
        }
    }
}
