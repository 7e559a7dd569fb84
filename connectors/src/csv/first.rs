//! Reading a file's first record at plan time: the header every file is
//! checked against (or, without headers, the field count to match), from a
//! mapped prefix of a regular file or through the stream driver's bounded
//! window for a compressed file or pipe.

use super::header::Reference;
use super::locator::{Locator, trim_terminator};
use super::options::{Header, Options};
use super::rules::SplitState;
use super::scan::{Dfa, bom_len};
use super::stream;
use super::tokenize::Tokenizer;
use csv::ByteRecord;
use shoal::plumbing::{FileKind, InputFile};
use shoal::plumbing::{FileRange, MmapChoice};
use shoal::{Error, OnMalformed, Result};
use std::path::PathBuf;

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
