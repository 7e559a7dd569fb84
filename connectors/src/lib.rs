//! Formats for Shoal: CSV, log lines, JSON lines, compressed inputs and output sinks.
#![deny(missing_docs)]
