//! Output formats: how rows become bytes, and bytes become a file.

use serde::Serialize;
use shoal::action::{Chunk, Tagged};
use shoal::{Error, ErrorKind, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An output format. Rows are encoded in parallel, per split, into chunks of
/// bytes; the leader then writes each output file from its chunks in input
/// order.
pub trait Format: Sync {
    /// The per-split, per-partition encoder state.
    type Encoder: Send;

    /// The file extension, without the dot.
    fn extension(&self) -> &'static str;

    /// A fresh encoder.
    fn encoder(&self) -> Self::Encoder;

    /// Appends `row`. `header` is the file header when known; the first row
    /// seen sets it (CSV column names).
    ///
    /// # Errors
    /// A row the format cannot represent.
    fn encode<T: Serialize>(&self, enc: &mut Self::Encoder, header: &mut Option<Vec<u8>>, row: &T) -> Result<()>;

    /// About how many bytes `enc` holds: past the memory limit's budget for
    /// one piece, a split's rows are cut into several chunks, so a long
    /// split or a stream is written in bounded memory. The default, 0, is
    /// for formats that cannot tell (one chunk per split).
    fn encoded_len(&self, enc: &Self::Encoder) -> usize {
        let _ = enc;
        0
    }

    /// The bytes encoded since the encoder was made.
    ///
    /// # Errors
    /// An encoder that cannot flush.
    fn finish(&self, enc: Self::Encoder) -> Result<Vec<u8>>;

    /// Writes one output file at `path` from the header and the chunks.
    ///
    /// # Errors
    /// I/O errors naming `path`; data the format cannot store.
    fn write_file(&self, path: &Path, header: Option<&[u8]>, chunks: Chunks<'_>) -> Result<()>;

    /// Writes the files of a partitioned output, one per partition, each
    /// from its chunks. The default writes each with
    /// [`write_file`](Format::write_file); a format with a schema gives
    /// every partition the same one.
    ///
    /// # Errors
    /// As [`write_file`](Format::write_file).
    fn write_partitions(&self, header: Option<&[u8]>, files: &[(PathBuf, Chunks<'_>)]) -> Result<()> {
        files.iter().try_for_each(|(path, chunks)| self.write_file(path, header, *chunks))
    }
}

/// The encoded chunks of one output file, in input order (one per split
/// that had rows for it). Under `--memory-limit` the chunks that did not
/// fit are in the spill directory and are read back, one at a time, as
/// [`try_for_each`](Chunks::try_for_each) reaches them; it can be called
/// more than once.
#[derive(Debug, Clone, Copy)]
pub struct Chunks<'a> {
    runs: Option<&'a Tagged<Chunk>>,
}

impl<'a> Chunks<'a> {
    /// The chunks of `runs` (`None`: no chunk).
    pub fn new(runs: Option<&'a Tagged<Chunk>>) -> Self {
        Chunks { runs }
    }

    /// Calls `f` with every chunk, in input order.
    ///
    /// # Errors
    /// A spilled chunk that cannot be read back, or `f`'s first error.
    pub fn try_for_each(&self, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<()> {
        match self.runs {
            None => Ok(()),
            Some(runs) => runs.try_for_each(|chunk| f(&chunk.0)),
        }
    }
}

/// Writes `header` and `chunks` to a new file at `path`.
pub(crate) fn write_bytes(path: &Path, header: Option<&[u8]>, chunks: Chunks<'_>) -> Result<()> {
    let io = |e| Error::io(path, e).context("cannot write output");
    let file = std::fs::File::create(path).map_err(io)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    if let Some(h) = header {
        out.write_all(h).map_err(io)?;
    }
    chunks.try_for_each(|chunk| out.write_all(chunk).map_err(io))?;
    let file = out.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)
}

/// CSV with a header row of field names (from the first row's fields);
/// quoting as needed (RFC 4180), LF line ends.
///
/// Rows are structs, maps, tuples or single values; nested sequences and
/// maps cannot be written (an error naming the row).
#[derive(Debug, Clone, Copy, Default)]
pub struct Csv {
    _private: (),
}

impl Csv {
    fn writer(headers: bool) -> csv::Writer<Vec<u8>> {
        csv::WriterBuilder::new().has_headers(headers).buffer_capacity(1 << 16).from_writer(Vec::new())
    }
}

fn csv_error(e: csv::Error) -> Error {
    Error::new(ErrorKind::InvalidInput, "cannot write a row as CSV").with_source(e)
}

impl Format for Csv {
    type Encoder = csv::Writer<Vec<u8>>;

    fn extension(&self) -> &'static str {
        "csv"
    }

    fn encoder(&self) -> Self::Encoder {
        Csv::writer(false)
    }

    fn encode<T: Serialize>(&self, enc: &mut Self::Encoder, header: &mut Option<Vec<u8>>, row: &T) -> Result<()> {
        if header.is_none() {
            // The header is what a header-writing writer adds in front of the row.
            let mut with = Csv::writer(true);
            with.serialize(row).map_err(csv_error)?;
            let mut without = Csv::writer(false);
            without.serialize(row).map_err(csv_error)?;
            let with = with.into_inner().map_err(|e| csv_error(e.into_error().into()))?;
            let without = without.into_inner().map_err(|e| csv_error(e.into_error().into()))?;
            *header = Some(with[..with.len() - without.len()].to_vec());
        }
        enc.serialize(row).map_err(csv_error)
    }

    fn encoded_len(&self, enc: &Self::Encoder) -> usize {
        enc.get_ref().len()
    }

    fn finish(&self, enc: Self::Encoder) -> Result<Vec<u8>> {
        enc.into_inner().map_err(|e| csv_error(e.into_error().into()))
    }

    fn write_file(&self, path: &Path, header: Option<&[u8]>, chunks: Chunks<'_>) -> Result<()> {
        write_bytes(path, header, chunks)
    }
}

/// JSON lines: one `serde_json` value per line.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines {
    _private: (),
}

pub(crate) fn encode_json<T: Serialize>(buf: &mut Vec<u8>, row: &T) -> Result<()> {
    serde_json::to_writer(&mut *buf, row)
        .map_err(|e| Error::new(ErrorKind::InvalidInput, "cannot write a row as JSON").with_source(e))?;
    buf.push(b'\n');
    Ok(())
}

impl Format for JsonLines {
    type Encoder = Vec<u8>;

    fn extension(&self) -> &'static str {
        "jsonl"
    }

    fn encoder(&self) -> Vec<u8> {
        Vec::new()
    }

    #[inline]
    fn encode<T: Serialize>(&self, enc: &mut Vec<u8>, _header: &mut Option<Vec<u8>>, row: &T) -> Result<()> {
        encode_json(enc, row)
    }

    fn encoded_len(&self, enc: &Vec<u8>) -> usize {
        enc.len()
    }

    fn finish(&self, enc: Vec<u8>) -> Result<Vec<u8>> {
        Ok(enc)
    }

    fn write_file(&self, path: &Path, _header: Option<&[u8]>, chunks: Chunks<'_>) -> Result<()> {
        write_bytes(path, None, chunks)
    }
}
