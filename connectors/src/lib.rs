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
//! Connectors are written against [`shoal::plumbing`] (sources, actions,
//! plan types and readers) and the public API only.
//!
//! # Where the `unsafe` is
//! Every block carries a `// SAFETY:` note (`clippy::undocumented_unsafe_blocks`
//! is denied): `csv/blocks.rs` (SSE2 compares and movemasks classifying
//! 64-byte blocks, and an AVX2 + PCLMULQDQ quote scan chosen at run time),
//! `csv/scan.rs` (the call into that path after detecting the CPU features)
//! and `csv/record.rs` (field bounds written with one capacity check per
//! block).
//!
//! `use shoal_connectors::prelude::*` brings the extension traits that add
//! these sources to [`shoal::Job`] and these sinks to every
//! [`shoal::Pipeline`].
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

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
