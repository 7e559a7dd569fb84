//! Header rows: the first file's names, and how each file's columns map to them.

use super::locator::{Locator, trim_terminator};
use super::options::{Columns, Header, Options};
use super::rules::SplitState;
use super::scan::{Dfa, bom_len};
use super::stream;
use super::tokenize::Tokenizer;
use csv::ByteRecord;
use shoal::plumbing::{FileKind, InputFile};
use shoal::plumbing::{FileRange, MmapChoice};
use shoal::{Error, ErrorKind, OnMalformed, Result};
use std::path::{Path, PathBuf};

/// The first record of the first file that has one: the header every other
/// file is checked against (or, without headers, the field count to match).
#[derive(Debug)]
pub(crate) struct Reference {
    /// The path of `files[0]`, the cache key.
    pub(crate) first: Option<PathBuf>,
    /// The file the record came from.
    pub(crate) path: PathBuf,
    /// The record, or `None` when every file is empty.
    pub(crate) header: Option<ByteRecord>,
}

impl Reference {
    /// The header names to deserialize with, if files have headers.
    pub(crate) fn names(&self, header: Header) -> Option<&ByteRecord> {
        match header {
            Header::FirstRow => self.header.as_ref(),
            Header::None => None,
        }
    }
}

/// The first record of the first readable file of `files` that has one.
/// Standard input and special files cannot be read twice and are skipped.
/// `max` is the record limit: a header over it is an error.
pub(crate) fn reference(files: &[InputFile], options: &Options, max: u64) -> Result<Reference> {
    let first = files.first().map(|f| f.path.clone());
    for input in files {
        if matches!(input.kind, FileKind::Stdin | FileKind::Special) || input.len == Some(0) {
            continue;
        }
        if let Some((header, _)) = first_record(input, options, max)? {
            return Ok(Reference { first, path: input.path.clone(), header: Some(header) });
        }
    }
    Ok(Reference { first, path: PathBuf::new(), header: None })
}

/// The first record of a file (after a byte order mark), trimmed if asked
/// for headers, and the absolute byte range it takes (`0..0` for streams).
///
/// A stream (a compressed file) is read through the stream driver's
/// window and first-record rules ([`stream::start`]), so in at most about
/// `max` bytes: a header over `max` is the driver's error; without
/// headers, a first record over `max` is dropped as it is read and stands
/// for its field count (the only use of a first record without headers).
///
/// # Errors
/// The file cannot be read, its header opens a quote and never closes it,
/// or (with headers) is longer than `max`: each with line and offset.
pub(crate) fn first_record(
    input: &InputFile,
    options: &Options,
    max: u64,
) -> Result<Option<(ByteRecord, std::ops::Range<u64>)>> {
    if input.len == Some(0) && input.kind == FileKind::Regular {
        return Ok(None);
    }
    if let (FileKind::Regular, Some(len)) = (input.kind, input.len) {
        return first_mapped(input, len, options, max);
    }
    let mut reader = shoal::plumbing::read::stream::open(input)?;
    let reader = &mut *reader;
    let mut w = stream::Window::new(max);
    let mut state = SplitState::new(options.dialect);
    let mut pos = 0;
    match stream::start(&mut w, reader, input, options, max, &mut state, &mut pos)? {
        stream::Start::Record(rec) => Ok(Some((rec, 0..0))),
        stream::Start::Empty => Ok(None),
        stream::Start::TooLong => {
            let (_, fields) = stream::skip_record(&mut w, 0, &Dfa::new(options.dialect), reader, input)?;
            Ok(Some((std::iter::repeat_n(&b""[..], fields).collect(), 0..0)))
        }
    }
}

/// [`first_record`] of a regular file: reads a growing prefix until the
/// first record is complete, or is longer than `max`: then, with headers,
/// an error; without, it stands for its field count, counted by reading
/// past it in pieces (as a stream does). The prefix read never goes past
/// the record's start plus `max + 3` bytes.
fn first_mapped(
    input: &InputFile,
    len: u64,
    options: &Options,
    max: u64,
) -> Result<Option<(ByteRecord, std::ops::Range<u64>)>> {
    let file = input.open()?;
    let mut window = 64u64 << 10;
    let mut tok = Tokenizer::new(options.dialect);
    let mut rec = super::record::Record::new();
    let headers = options.header == Header::FirstRow;
    let fail = OnMalformed::Fail;
    loop {
        let end = window.min(len);
        let bytes = FileRange::open(&file, &input.path, 0, end, MmapChoice::Never)?;
        let mut pos = bom_len(&bytes);
        let at_eof = end == len;
        let Some(span) = tok.next(&bytes, &mut pos, &mut rec, at_eof) else {
            if at_eof {
                return Ok(None);
            }
            window = window.saturating_mul(4);
            continue;
        };
        let too_long = trim_terminator(&bytes[span.raw.clone()]).len() as u64 > max;
        if headers && too_long {
            // Over the limit whether or not it goes on past the window.
            return Err(Locator::counted(input, &bytes, 0, 1, &fail).header_too_long(span.raw, max));
        }
        if span.raw.end == bytes.len() && !at_eof {
            if too_long {
                // A data record over the limit: only its width is wanted.
                let line = 1 + memchr::memchr_iter(b'\n', &bytes[..span.raw.start]).count() as u64;
                let fields = width_past(input, &file, span.raw.start as u64, line, max, options)?;
                let at = span.raw.start as u64;
                return Ok(Some((std::iter::repeat_n(&b""[..], fields).collect(), at..at)));
            }
            // The record may go on past the window: read on, up to what
            // tells it is too long.
            let enough = (span.raw.start as u64).saturating_add(max).saturating_add(3);
            window = window.saturating_mul(4).min(enough).max(window + 1);
            continue;
        }
        if span.unterminated {
            return Err(Locator::counted(input, &bytes, 0, 1, &fail).unterminated_header(span.raw));
        }
        let mut rec = rec.to_byte_record();
        if options.trim.headers() {
            rec.trim();
        }
        return Ok(Some((rec, span.raw.start as u64..span.raw.end as u64)));
    }
}

/// The field count of the record at byte `start` (on line `line`) of the
/// regular file `file`, read past in pieces by csv-core's state machine
/// ([`stream::skip_record`]), never held whole.
fn width_past(
    input: &InputFile,
    file: &std::fs::File,
    start: u64,
    line: u64,
    max: u64,
    options: &Options,
) -> Result<usize> {
    use std::io::{Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(start)).map_err(|e| Error::io(&input.path, e).context("cannot read the first record"))?;
    let mut reader = std::io::BufReader::with_capacity(64 << 10, f);
    let mut w = stream::Window::starting_at(max, start, line);
    let (_, fields) = stream::skip_record(&mut w, 0, &Dfa::new(options.dialect), &mut reader, input)?;
    Ok(fields)
}

/// One file's header against the reference.
#[derive(Debug)]
pub(crate) struct FileHeader {
    /// The field count records of this file must have (when strict).
    pub(crate) width: usize,
    /// For each reference column, the file's column (by-name matching only,
    /// and only when it is not the identity).
    pub(crate) order: Option<Vec<usize>>,
}

impl FileHeader {
    /// Checks `own` (the file's first record) against the reference.
    ///
    /// # Errors
    /// A header that differs from the reference (or, by name, lacks one of
    /// its columns), naming the file and both headers.
    pub(crate) fn new(own: &ByteRecord, reference: &Reference, options: &Options, path: &Path) -> Result<FileHeader> {
        let width = own.len();
        let (Header::FirstRow, Some(want)) = (options.header, &reference.header) else {
            // Without headers, records match the first file's first record.
            let width = reference.header.as_ref().map_or(width, ByteRecord::len);
            return Ok(FileHeader { width, order: None });
        };
        if own == want {
            return Ok(FileHeader { width, order: None });
        }
        match options.columns {
            Columns::SameOrder => Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "header {} differs from {} in {} (use match_columns_by_name to match columns by name)",
                    show(own),
                    show(want),
                    reference.path.display()
                ),
            )
            .with_path(path)
            .with_line(1)),
            Columns::ByName => {
                let mut order = Vec::with_capacity(want.len());
                for name in want {
                    match own.iter().position(|n| n == name) {
                        Some(i) => order.push(i),
                        None => {
                            return Err(Error::new(
                                ErrorKind::InvalidInput,
                                format!(
                                    "header {} has no column {:?} of {}",
                                    show(own),
                                    String::from_utf8_lossy(name),
                                    reference.path.display()
                                ),
                            )
                            .with_path(path)
                            .with_line(1));
                        }
                    }
                }
                let identity = order.len() == width && order.iter().enumerate().all(|(i, &j)| i == j);
                Ok(FileHeader { width, order: (!identity).then_some(order) })
            }
        }
    }
}

/// `[a, b, c]` for messages.
pub(crate) fn show(rec: &ByteRecord) -> String {
    let names: Vec<String> = rec.iter().map(|n| format!("{:?}", String::from_utf8_lossy(n))).collect();
    format!("[{}]", names.join(", "))
}
