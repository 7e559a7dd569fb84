//! Formats for Shoal: CSV, log lines, JSON lines, compressed inputs and output sinks.
//!
//! * [`csv`]: CSV files split exactly across threads, as raw, string or
//!   typed records, with malformed-record policies.
#![deny(missing_docs)]

pub mod csv;
