//! polars: Parquet files and `DataFrame` results (the `polars` feature).
//!
//! Rows reach polars as JSON lines (encoded in parallel, per split, with
//! `serde_json`), read by polars' JSON-lines reader with the schema inferred
//! from all rows.

use super::format::{Format, JsonLines, encode_json};
use super::output::{Output, SinkPartial};
use ::polars::prelude::{DataFrame, JsonFormat, JsonReader, ParquetWriter, SerReader};
use serde::Serialize;
use shoal::plumbing::Split;
use shoal::plumbing::{Absorb, Action};
use shoal::{Error, ErrorKind, Result};
use std::io::Cursor;
use std::path::{Path, PathBuf};

fn polars_error(what: &str, e: ::polars::prelude::PolarsError) -> Error {
    Error::new(ErrorKind::InvalidInput, what.to_string()).with_source(e)
}

/// Reads JSON lines into a `DataFrame` (no rows: an empty frame).
pub(crate) fn frame_from_json_lines(json: &[u8]) -> Result<DataFrame> {
    if json.is_empty() {
        return Ok(DataFrame::empty());
    }
    JsonReader::new(Cursor::new(json))
        .with_json_format(JsonFormat::JsonLines)
        .infer_schema_len(None)
        .finish()
        .map_err(|e| polars_error("polars cannot read the rows", e))
}

/// Parquet files written by polars (one row group per file part).
#[derive(Debug, Clone, Copy, Default)]
pub struct Parquet {
    _private: (),
}

impl Output<Parquet> {
    /// Parquet at `path` (the `polars` feature).
    pub fn parquet(path: impl Into<PathBuf>) -> Self {
        Output::new(path, Parquet::default())
    }
}

impl Format for Parquet {
    type Encoder = Vec<u8>;

    fn extension(&self) -> &'static str {
        "parquet"
    }

    fn encoder(&self) -> Vec<u8> {
        Vec::new()
    }

    #[inline]
    fn encode<T: Serialize>(&self, enc: &mut Vec<u8>, _header: &mut Option<Vec<u8>>, row: &T) -> Result<()> {
        encode_json(enc, row)
    }

    fn finish(&self, enc: Vec<u8>) -> Result<Vec<u8>> {
        Ok(enc)
    }

    fn write_file(&self, path: &Path, _header: Option<&[u8]>, chunks: &[&[u8]]) -> Result<()> {
        let mut frame = frame_from_json_lines(&chunks.concat())?;
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e).context("cannot write output"))?;
        ParquetWriter::new(&file).finish(&mut frame).map_err(|e| polars_error("cannot write Parquet", e))?;
        file.sync_all().map_err(|e| Error::io(path, e).context("cannot write output"))
    }
}

/// The action behind [`SinkExt::to_dataframe`](super::SinkExt::to_dataframe):
/// rows as JSON lines, in input order.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToDataFrame {
    format: JsonLines,
}

impl Action for ToDataFrame {
    type Partial = SinkPartial<JsonLines>;
    type Output = Vec<u8>;

    fn identity(&self) -> Self::Partial {
        SinkPartial::default()
    }

    fn merge(&self, into: &mut Self::Partial, other: Self::Partial) {
        into.merge(other);
    }

    fn end_split(&self, acc: &mut Self::Partial, split: &Split) {
        acc.end_split(&self.format, split);
    }

    fn finish(&self, partial: Self::Partial) -> Result<Vec<u8>> {
        let encoded = partial.into_encoded()?;
        Ok(encoded.parts.into_iter().flat_map(|(_, chunks)| chunks).flatten().collect())
    }
}

impl<T: Serialize> Absorb<T> for ToDataFrame {
    #[inline]
    fn absorb(&self, acc: &mut Self::Partial, row: T) -> Result<()> {
        acc.absorb(&self.format, None, &row)
    }
}
