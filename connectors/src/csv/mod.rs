//! CSV files as a Shoal source: exact parallel splitting, typed rows, and
//! malformed-record policies.
//!
//! ```no_run
//! use shoal::prelude::*;
//! use shoal_connectors::csv::CsvExt;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let job = Job::builder().build()?;
//! #[derive(serde::Deserialize)]
//! struct Sale {
//!     region: String,
//!     quantity: u64,
//! }
//! let total: u64 = job.csv("sales/").rows::<Sale>().map(|s: Sale| s.quantity).sum()?;
//! # Ok(()) }
//! ```
//!
//! The principal types:
//!
//! * [`Csv`]: the source builder (dialect, headers, trimming, field count,
//!   [`OnMalformed`](shoal::OnMalformed) policy), made by [`CsvExt::csv`].
//! * Its pipelines: [`Records`] (`&Record`, the fastest), [`ByteRecords`]
//!   (`&csv::ByteRecord`), [`StringRecords`]
//!   (`&csv::StringRecord`), [`Rows`] (owned `T: DeserializeOwned`) and
//!   [`BorrowedRows`] (rows with `&str` fields, see [`borrowed_row!`](crate::borrowed_row)).
//!
//! # Exact splitting
//! A large file is cut into byte ranges that start exactly at record
//! starts, even when quoted fields hold line breaks, so each thread parses
//! its own range and the records, in order, are those of a sequential
//! `csv::Reader`. The planner counts quote parity per range in parallel and
//! checks that every quote sits where parity can be trusted; files where it
//! cannot (a quote inside an unquoted field, escapes inside quotes, comment
//! lines) are scanned sequentially instead (`csv.sequential_scans` counter).
//! See `scan.rs` for the argument.
//!
//! # Malformed records
//! A record with the wrong field count, an unterminated quote (reported at
//! the record that opens it), invalid UTF-8 where text is needed, or a field
//! that does not deserialize is handed to the source's
//! [`OnMalformed`](shoal::OnMalformed) policy: fail (the default), skip, or
//! quarantine to a JSON-lines file. The [`ROWS`] counter counts every data
//! record and [`REJECTED`] the rejected ones, so good rows are
//! `ROWS - REJECTED` of the job's report. Every reject names its file, line
//! and byte offset, and a field's reason names its column by header name and
//! shows the value: `column "quantity" (field 5): invalid digit found in
//! string: "abc"`.
//!
//! # Typed rows
//! [`Csv::null_values`] lists the values that mean "missing" (`NA`, the
//! empty field): they read as `None` into `Option` fields, and make the
//! record malformed in any other field. Every field of a row struct must
//! name a column of the header; one that does not fails the job before any
//! split runs, naming the field and the columns (as does a header other
//! than [`Csv::expect_headers`]).

mod blocks;
mod cut;
mod decode;
mod dialect;
mod first;
mod header;
mod locator;
mod nulls;
mod options;
mod plan;
mod record;
mod rules;
mod scan;
mod schema;
mod source;
mod stream;
mod tokenize;
mod unmapped;

pub use decode::{BorrowedRows, ByteRecords, Records, Row, Rows, StringRecords};
pub use dialect::Dialect;
pub use options::{FieldCount, Trim};
pub use plan::SEQUENTIAL_SCANS;
pub use record::Record;
pub use rules::{REJECTED, ROWS};
pub use source::Csv;

/// The record types of the items, re-exported from the `csv` crate.
pub use ::csv::{ByteRecord, StringRecord};

use shoal::Job;
use shoal::plumbing::IntoInputs;

/// Starts CSV pipelines from a [`Job`].
pub trait CsvExt {
    /// A CSV source over files, directories (recursively) and globs.
    fn csv(&self, inputs: impl IntoInputs) -> Csv<'_>;
}

impl CsvExt for Job {
    fn csv(&self, inputs: impl IntoInputs) -> Csv<'_> {
        Csv::new(self, inputs.into_inputs())
    }
}
