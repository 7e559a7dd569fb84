//! Header rows: the first file's names, and how each file's columns map to them.

use super::options::{Columns, Header, Options};
use csv::ByteRecord;
use shoal::{Error, ErrorKind, Result};
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
