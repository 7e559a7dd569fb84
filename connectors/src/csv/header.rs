//! Header rows: the first file's names, and how each file's columns map to them.

use super::dialect::Dialect;
use super::options::{Columns, Header, Options};
use super::scan::{BOM, bom_len};
use super::tokenize::Tokenizer;
use csv::ByteRecord;
use shoal::plumbing::{FileKind, InputFile};
use shoal::plumbing::{FileRange, MmapChoice};
use shoal::{Error, ErrorKind, Rejected, Result};
use std::io::BufRead;
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
pub(crate) fn reference(files: &[InputFile], dialect: &Dialect, trim: bool) -> Result<Reference> {
    let first = files.first().map(|f| f.path.clone());
    for input in files {
        if matches!(input.kind, FileKind::Stdin | FileKind::Special) || input.len == Some(0) {
            continue;
        }
        if let Some((header, _)) = first_record(input, dialect, trim)? {
            return Ok(Reference { first, path: input.path.clone(), header: Some(header) });
        }
    }
    Ok(Reference { first, path: PathBuf::new(), header: None })
}

/// The first record of a file (after a byte order mark), trimmed if asked,
/// and the absolute byte range it takes (`0..0` for streams).
pub(crate) fn first_record(
    input: &InputFile,
    dialect: &Dialect,
    trim: bool,
) -> Result<Option<(ByteRecord, std::ops::Range<u64>)>> {
    if input.len == Some(0) && input.kind == FileKind::Regular {
        return Ok(None);
    }
    if let (FileKind::Regular, Some(len)) = (input.kind, input.len) {
        return first_mapped(input, len, dialect, trim);
    }
    let mut reader = shoal::plumbing::read::stream::open(input)?;
    let io = |e: std::io::Error| Error::new(ErrorKind::InvalidInput, "cannot read header").with_source(e);
    let head = reader.fill_buf().map_err(|e| io(e).with_path(&input.path))?;
    if head.starts_with(BOM) {
        reader.consume(BOM.len());
    }
    let mut rdr = dialect.reference_builder().from_reader(reader);
    let mut rec = ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => {
            if trim {
                rec.trim();
            }
            Ok(Some((rec, 0..0)))
        }
        Ok(false) => Ok(None),
        Err(e) => Err(Error::new(ErrorKind::InvalidInput, "cannot read header").with_source(e).with_path(&input.path)),
    }
}

/// [`first_record`] of a regular file: reads a growing prefix until the
/// first record is complete.
fn first_mapped(
    input: &InputFile,
    len: u64,
    dialect: &Dialect,
    trim: bool,
) -> Result<Option<(ByteRecord, std::ops::Range<u64>)>> {
    let file = input.open()?;
    let mut window = 64u64 << 10;
    let mut tok = Tokenizer::new(*dialect);
    let mut rec = super::record::Record::new();
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
        if span.raw.end == bytes.len() && !at_eof {
            // The record may go on past the window.
            window = window.saturating_mul(4);
            continue;
        }
        if span.unterminated {
            let reason = "unterminated quoted field in the first record (the quote opens here and is never closed)";
            let text = &bytes[span.raw.clone()];
            return Err(Rejected::new(&input.path, Some(1), span.raw.start as u64, reason, text).into_error());
        }
        let mut rec = rec.to_byte_record();
        if trim {
            rec.trim();
        }
        return Ok(Some((rec, span.raw.start as u64..span.raw.end as u64)));
    }
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
