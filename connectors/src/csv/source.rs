//! The CSV source: options, planning, and reading a split.

use super::first;
use super::header::Reference;
use super::locator::{Locator, trim_terminator};
use super::nulls::NullValues;
use super::options::{Columns, FieldCount, Header, Options, Trim};
use super::rules::{Decode, First, Rules, SplitState, check_reference};
use super::scan::bom_len;
use crate::lines::{LineStarts, RegionLines};
use shoal::plumbing::FileRange;
use shoal::plumbing::{Consumer, FileSource, ReadOptions};
use shoal::plumbing::{FileKind, InputFile, Inputs, Part, Plan, Split};
use shoal::{Error, ErrorKind, Job, OnMalformed, Result};
use std::fmt;
use std::sync::{Arc, Mutex};

/// A CSV source over files, directories (every file below, recursively)
/// and globs. Built by [`CsvExt::csv`](super::CsvExt::csv); pick the items
/// with [`records`](Csv::records), [`string_records`](Csv::string_records),
/// [`rows`](Csv::rows) or [`borrowed_rows`](Csv::borrowed_rows).
///
/// Every file has a header row unless [`has_headers(false)`](Csv::has_headers);
/// files must share the first file's header exactly unless
/// [`match_columns_by_name`](Csv::match_columns_by_name). Empty files and
/// header-only files have no records. A header longer than the record limit
/// (`--max-record-size`) is an error, naming its file and line (a longer
/// data record is malformed). A UTF-8 byte order mark at the start of
/// a file is skipped. Records end with LF, CRLF or CR; blank lines are
/// skipped, as `csv::Reader` does.
///
/// Large files are split across threads at exact record starts, whatever
/// the quoted fields hold: the records of every split, in order, are those
/// a sequential `csv::Reader` yields for the whole file.
#[must_use = "call records(), string_records() or rows() to make a pipeline"]
pub struct Csv<'j> {
    job: &'j Job,
    read: ReadOptions,
    options: Options,
    /// The first file's header (or first record), read once per process.
    reference: Mutex<Option<Arc<Reference>>>,
    /// Line numbers found for rejects, shared by the splits.
    lines: LineStarts,
    /// The first stream header seen, when no file gave a reference header.
    stream_header: super::stream::StreamHeader,
}

/// `include`, `exclude`, `split_size`, `max_record_size`, ...
impl FileSource for Csv<'_> {
    fn read_options(&mut self) -> &mut ReadOptions {
        &mut self.read
    }
}

impl fmt::Debug for Csv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Csv").field("read", &self.read).field("options", &self.options).finish()
    }
}

impl<'j> Csv<'j> {
    pub(crate) fn new(job: &'j Job, inputs: Inputs) -> Self {
        Csv {
            job,
            read: ReadOptions::new(inputs),
            options: Options::default(),
            reference: Mutex::new(None),
            lines: LineStarts::default(),
            stream_header: super::stream::StreamHeader::default(),
        }
    }

    /// The field delimiter (default `b','`).
    pub fn delimiter(mut self, delimiter: u8) -> Self {
        self.options.dialect.delimiter = delimiter;
        self
    }

    /// The quote byte (default `Some(b'"')`); `None` reads quotes as data.
    pub fn quote(mut self, quote: Option<u8>) -> Self {
        self.options.dialect.quote = quote;
        self
    }

    /// A byte that escapes the next one inside quoted fields, like `\` in
    /// `"a \" b"` (default `None`: quotes are doubled, `"a "" b"`).
    pub fn escape(mut self, escape: Option<u8>) -> Self {
        self.options.dialect.escape = escape;
        self
    }

    /// A byte that starts a comment line when it starts a record (default `None`).
    ///
    /// Files holding comment lines are still split exactly, but their record
    /// starts are found by a sequential scan (counted as
    /// [`SEQUENTIAL_SCANS`](super::SEQUENTIAL_SCANS)).
    pub fn comment(mut self, comment: Option<u8>) -> Self {
        self.options.dialect.comment = comment;
        self
    }

    /// Whitespace trimming (default [`Trim::None`]).
    pub fn trim(mut self, trim: Trim) -> Self {
        self.options.trim = trim;
        self
    }

    /// Whether records must all have the header's field count (default
    /// [`FieldCount::Strict`]).
    pub fn field_count(mut self, field_count: FieldCount) -> Self {
        self.options.field_count = field_count;
        self
    }

    /// Shorthand for [`field_count`](Csv::field_count): `true` is
    /// [`FieldCount::Flexible`].
    pub fn flexible(self, yes: bool) -> Self {
        self.field_count(if yes { FieldCount::Flexible } else { FieldCount::Strict })
    }

    /// Whether the first record of each file is a header (default `true`).
    pub fn has_headers(mut self, yes: bool) -> Self {
        self.options.header = if yes { Header::FirstRow } else { Header::None };
        self
    }

    /// Lets files order their columns differently: each file's records are
    /// reordered to the first file's columns, by header name. A file that
    /// lacks one of the first file's columns is an error; columns the first
    /// file does not have are dropped.
    pub fn match_columns_by_name(mut self) -> Self {
        self.options.columns = Columns::ByName;
        self
    }

    /// What to do with a malformed record (default [`OnMalformed::Fail`]):
    /// a wrong field count, an unterminated quote, or a record the items
    /// cannot hold (invalid UTF-8 for string records, a field that does not
    /// deserialize for typed rows).
    pub fn on_malformed(mut self, policy: OnMalformed) -> Self {
        self.options.on_malformed = policy;
        self
    }

    /// Field values that mean "no value" for typed rows ([`rows`](Csv::rows),
    /// [`borrowed_rows`](Csv::borrowed_rows)); default none. A null reads as
    /// `None` into an `Option` field; in any other field it makes the record
    /// malformed, naming the column. Markers are compared with the whole
    /// field after unquoting and trimming, so `"NA"` quoted is a null too.
    /// Columns read into types Shoal cannot see into (maps, flattened or
    /// hand-written `Deserialize` types) get a null as an empty field.
    ///
    /// Independently of null markers, every field of a row struct must name
    /// a column of the header (an `Option` field too: a missing column is an
    /// error, not `None` on every row), except a `#[serde(default)]` field
    /// that is not an `Option`. The check runs before any split, and the
    /// error names the field and the header's columns.
    ///
    /// ```no_run
    /// # use shoal::prelude::*;
    /// # use shoal_connectors::csv::CsvExt;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let job = Job::builder().build()?;
    /// #[derive(serde::Deserialize)]
    /// struct Sale {
    ///     quantity: Option<u64>,
    /// }
    /// let known: u64 = job.csv("sales/").null_values(["NA", ""]).rows::<Sale>().filter_map(|s: Sale| s.quantity).sum()?;
    /// # Ok(()) }
    /// ```
    pub fn null_values<I, S>(mut self, markers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.options.null_values = NullValues::new(markers);
        self
    }

    /// Requires the header (of the first file, which the others match) to be
    /// exactly `names`, in order: any other header fails the job before any
    /// split runs, naming the file and both headers. Without this, a file
    /// with other columns is read as long as its records deserialize.
    pub fn expect_headers<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.options.expected_header = Some(names.into_iter().collect());
        self
    }

    /// The inputs of this source.
    pub fn inputs(&self) -> &Inputs {
        self.read.inputs()
    }

    /// The header of the first file that has a record (trimmed if asked), or
    /// `None` without headers or when every file is empty.
    ///
    /// # Errors
    /// Missing inputs, unreadable files.
    pub fn headers(&self) -> Result<Option<csv::StringRecord>> {
        let files = self.read.inputs().expand()?;
        if files.iter().any(|f| f.kind == FileKind::Stdin) {
            return Err(Error::new(
                ErrorKind::Config,
                "headers() cannot read a streamed standard input (--stdin stream) ahead of its records: \
                 use --stdin spool (the default)",
            )
            .with_path("-"));
        }
        let reference = self.reference(&files)?;
        match (&reference.header, self.options.header) {
            (Some(h), Header::FirstRow) => csv::StringRecord::from_byte_record(h.clone()).map(Some).map_err(|e| {
                Error::new(ErrorKind::InvalidInput, "header is not valid UTF-8")
                    .with_source(e.utf8_error().clone())
                    .with_path(&reference.path)
            }),
            _ => Ok(None),
        }
    }

    pub(crate) fn job(&self) -> &Job {
        self.job
    }

    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    /// Checks `decode`'s item type against the reference header of `plan`.
    pub(crate) fn check<D: Decode>(&self, plan: &Plan, decode: &D) -> Result<()> {
        let reference = self.reference(&plan.files)?;
        check_reference(&self.options, &reference, decode)
    }

    pub(crate) fn plan(&self) -> Result<Plan> {
        self.options.dialect.validate()?;
        self.options.on_malformed.prepare(self.job)?;
        let files = self.read.inputs().expand()?;
        let config = self.job.config();
        let plan = self.read.split_options(self.job).plan(files);
        super::plan::exact(plan, &self.options.dialect, config.threads(), config.mmap())
    }

    /// The reference header of `files`, cached for the first file's path.
    fn reference(&self, files: &[InputFile]) -> Result<Arc<Reference>> {
        let mut cached = self.reference.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = cached.as_ref().filter(|r| r.first == files.first().map(|f| f.path.clone())) {
            return Ok(Arc::clone(r));
        }
        let r = Arc::new(first::reference(files, &self.options, self.max_record())?);
        *cached = Some(Arc::clone(&r));
        Ok(r)
    }

    /// Pushes the items of `split`, decoded by `decode`, into `consumer`.
    pub(crate) fn drive<D, C>(&self, plan: &Plan, split: &Split, decode: &D, consumer: &mut C) -> Result<()>
    where
        D: Decode,
        C: for<'a> Consumer<D::Item<'a>>,
    {
        let reference = self.reference(&plan.files)?;
        decode.check(reference.names(self.options.header), &reference.path)?;
        let mut state = SplitState::new(self.options.dialect);
        for part in &split.parts {
            let input = &plan.files[part.file];
            let outcome = self.drive_part(input, part, &reference, decode, &mut state, consumer);
            state.flush();
            outcome?;
        }
        Ok(())
    }

    #[inline(always)]
    fn drive_part<D, C>(
        &self,
        input: &InputFile,
        part: &Part,
        reference: &Reference,
        decode: &D,
        state: &mut SplitState,
        consumer: &mut C,
    ) -> Result<()>
    where
        D: Decode,
        C: for<'a> Consumer<D::Item<'a>>,
    {
        match input.kind {
            FileKind::Regular => self.drive_mapped(input, part, reference, decode, state, consumer),
            FileKind::Gzip | FileKind::Zstd | FileKind::Special | FileKind::Stdin => {
                let streams = &self.stream_header;
                super::stream::drive(
                    &self.options,
                    self.max_record(),
                    input,
                    reference,
                    streams,
                    decode,
                    state,
                    consumer,
                )
            }
        }
    }

    /// The record limit of this source (its own, else the job's).
    fn max_record(&self) -> u64 {
        self.read.max_record_size(self.job)
    }

    /// A part of a regular file: its planned byte range, mapped (or read)
    /// at once; its end is a record start, so every record in it is whole.
    #[inline(always)]
    fn drive_mapped<D, C>(
        &self,
        input: &InputFile,
        part: &Part,
        reference: &Reference,
        decode: &D,
        state: &mut SplitState,
        consumer: &mut C,
    ) -> Result<()>
    where
        D: Decode,
        C: for<'a> Consumer<D::Item<'a>>,
    {
        if part.start >= part.end {
            return Ok(());
        }
        let file = input.open()?;
        let bytes = FileRange::open(&file, &input.path, part.start, part.end, self.job.config().mmap())?;
        let region: &[u8] = &bytes;
        let at_eof = Some(part.end) == input.len;
        let lines = RegionLines::new(input.read_path(), region, part.start, &self.lines);
        let mut read = Locator::mapped(input, region, part.start, lines, &self.options.on_malformed);
        let mut pos = 0;
        // The file's own header (or first record), and how its records map
        // to the reference columns.
        let own = if part.start == 0 {
            pos = bom_len(region);
            match state.first_record(region, &mut pos, true, at_eof, self.options.header, self.options.trim.headers()) {
                First::Unterminated(span) => return Err(read.unterminated_header(span)),
                First::Record(rec, span) => {
                    let max = self.max_record();
                    if self.options.header == Header::FirstRow
                        && trim_terminator(&region[span.clone()]).len() as u64 > max
                    {
                        return Err(read.header_too_long(span, max));
                    }
                    rec
                }
                First::Empty | First::More { .. } => return Ok(()),
            }
        } else {
            match first::first_record(input, &self.options, self.max_record())? {
                Some((rec, span)) => {
                    // Blank lines may come before the header: a part that
                    // starts before the header's first byte holds it.
                    if self.options.header == Header::FirstRow && part.start <= span.start {
                        pos = usize::try_from(span.end - part.start).unwrap_or(usize::MAX).min(region.len());
                    }
                    rec
                }
                None => return Ok(()),
            }
        };
        let rules = Rules::new(decode, reference, &own, &self.options, input, self.max_record())?;
        rules.read_records(state, &mut pos, true, at_eof, &mut read, consumer).map(|_| ())
    }
}
