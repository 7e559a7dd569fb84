//! polars: Parquet files and `DataFrame` results (the `polars` feature).
//!
//! Rows are serialized straight into typed columns (see [`columns`](super::columns)), per
//! split and in parallel; a split's columns cross the process protocol as
//! postcard bytes, and the leader appends them in input order into one
//! `DataFrame`, which polars writes as Parquet.

use super::columns::{frame, serialize, values::Values};
use super::format::{Chunks, Format};
use super::output::{Output, SinkPartial};
use ::polars::prelude::{DataFrame, ParquetWriter, PolarsError};
use serde::{Deserialize, Serialize};
use shoal::plumbing::Split;
use shoal::plumbing::{Absorb, Action, Folding};
use shoal::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

fn polars_error(what: &str, e: PolarsError) -> Error {
    Error::new(ErrorKind::InvalidInput, what.to_string()).with_source(e)
}

/// Parquet files written by polars, with the columns of the row type (see
/// [`columns`](super::columns)).
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

/// Rows as typed columns, not yet a `DataFrame`: a split's rows while they
/// are encoded, and the result of [`ToDataFrame`], made a frame by
/// [`Table::into_data_frame`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Table(Values);

impl Default for Table {
    fn default() -> Self {
        Table(Values::Null(0))
    }
}

impl Table {
    /// The rows as a `DataFrame` (no rows: an empty frame).
    ///
    /// # Errors
    /// Columns polars refuses.
    pub fn into_data_frame(self) -> Result<DataFrame> {
        frame::data_frame(self.0).map_err(|e| polars_error("polars cannot hold the columns", e))
    }

    /// No rows, with this table's columns and types.
    fn schema(&self) -> Table {
        Table(self.0.empty_like())
    }

    /// Appends `other`'s rows (its columns matched by name).
    fn append_table(&mut self, other: Table) -> Result<()> {
        self.0.append(other.0).map_err(|e| Error::new(ErrorKind::InvalidInput, e))
    }

    /// Appends the rows of encoded chunks, in order.
    fn append_chunks(&mut self, chunks: Chunks<'_>) -> Result<()> {
        chunks.try_for_each(|chunk| {
            let values: Values = postcard::from_bytes(chunk)
                .map_err(|e| Error::new(ErrorKind::Transport, "a corrupt column chunk").with_source(e))?;
            self.append_table(Table(values))
        })
    }
}

impl Format for Parquet {
    type Encoder = Table;

    fn extension(&self) -> &'static str {
        "parquet"
    }

    fn encoder(&self) -> Table {
        Table::default()
    }

    #[inline]
    fn encode<T: Serialize>(&self, enc: &mut Table, _header: &mut Option<Vec<u8>>, row: &T) -> Result<()> {
        serialize::push_row(&mut enc.0, row)
            .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("cannot write a row as columns: {e}")))
    }

    fn finish(&self, enc: Table) -> Result<Vec<u8>> {
        postcard::to_stdvec(&enc.0)
            .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode a column chunk").with_source(e))
    }

    fn write_file(&self, path: &Path, _header: Option<&[u8]>, chunks: Chunks<'_>) -> Result<()> {
        let mut table = Table::default();
        table.append_chunks(chunks)?;
        write_parquet(path, table)
    }

    /// Every partition gets the schema of all of them: a column that is
    /// null (or a list that is empty) throughout one partition still has the
    /// type the others give it. Two passes over the chunks, so that only one
    /// partition's rows are decoded at a time.
    fn write_partitions(&self, _header: Option<&[u8]>, files: &[(PathBuf, Chunks<'_>)]) -> Result<()> {
        let mut schema = Table::default();
        for (_, chunks) in files {
            let mut table = Table::default();
            table.append_chunks(*chunks)?;
            schema.append_table(table.schema())?;
        }
        for (path, chunks) in files {
            let mut table = schema.schema();
            table.append_chunks(*chunks)?;
            write_parquet(path, table)?;
        }
        Ok(())
    }
}

fn write_parquet(path: &Path, table: Table) -> Result<()> {
    let mut frame = table.into_data_frame()?;
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e).context("cannot write output"))?;
    ParquetWriter::new(&file).finish(&mut frame).map_err(|e| polars_error("cannot write Parquet", e))?;
    file.sync_all().map_err(|e| Error::io(path, e).context("cannot write output"))
}

/// The action behind [`SinkExt::to_dataframe`](super::SinkExt::to_dataframe):
/// rows as typed columns, in input order.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToDataFrame {
    format: Parquet,
}

impl Action for ToDataFrame {
    type Partial = SinkPartial<Parquet>;
    type Output = Table;

    fn identity(&self) -> Self::Partial {
        SinkPartial::default()
    }

    fn merge(&self, into: &mut Self::Partial, other: Self::Partial) {
        into.merge(other);
    }

    fn end_split(&self, acc: &mut Self::Partial, split: &Split) {
        acc.end_block(&self.format, split, 0);
    }

    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn end_block(&self, acc: &mut Self::Partial, split: &Split, block: u32) {
        acc.end_block(&self.format, split, block);
    }

    fn rebase(&self, partial: &mut Self::Partial, from: u64, to: u64) {
        partial.rebase(from, to);
    }

    fn finish(&self, partial: Self::Partial) -> Result<Table> {
        let encoded = partial.into_encoded()?;
        let mut table = Table::default();
        for (_, chunks) in &encoded.parts {
            table.append_chunks(Chunks::new(Some(chunks)))?;
        }
        Ok(table)
    }
}

impl<T: Serialize> Absorb<T> for ToDataFrame {
    #[inline]
    fn absorb(&self, acc: &mut Self::Partial, row: T) -> Result<()> {
        acc.absorb(&self.format, None, &row)
    }
}
