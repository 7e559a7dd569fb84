//! Formats for Shoal: CSV, log lines, JSON lines, compressed inputs and output sinks.
//!
//! * [`logs`]: access logs, syslog, logfmt and regular-expression lines, all
//!   run by one line driver ([`logs::LogSource`]) over files, directories,
//!   compressed files and standard input.
//! * [`csv`]: CSV files split exactly across threads, as raw, string or
//!   typed records, with malformed-record policies.
//! * [`json`]: JSON lines into typed records or untyped values.
//! * [`sink`]: writing results as CSV, JSON lines or (with the `polars`
//!   feature) Parquet, optionally partitioned Hive-style, committed
//!   atomically; and polars `DataFrame` results.
//!
//! `use shoal_connectors::prelude::*` brings the extension traits that add
//! these sources to [`shoal::Job`] and these sinks to every
//! [`shoal::Pipeline`].
#![deny(missing_docs)]

pub mod csv;
pub mod json;
mod lines;
pub mod logs;
pub mod sink;

/// The extension traits: sources on [`shoal::Job`], sinks on pipelines.
pub mod prelude {
    pub use crate::csv::CsvExt as _;
    pub use crate::json::JsonExt as _;
    pub use crate::logs::LogsExt as _;
    pub use crate::sink::SinkExt as _;
}

/// The date-time library of [`logs::LogTime`], re-exported so programs use
/// the same version.
pub use jiff;
