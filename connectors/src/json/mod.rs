//! JSON lines: one JSON value per line, into typed records or untyped values.
//!
//! `job.json_lines::<T>(paths)` reads every line with `serde_json` into any
//! `T: DeserializeOwned`: your own `#[derive(Deserialize)]` struct for typed
//! records, or [`serde_json::Value`] for untyped ones. Blank lines are
//! skipped; a line that is not valid JSON for `T` (or not UTF-8) is malformed
//! and follows the source's [`OnMalformed`](shoal::OnMalformed) policy with
//! serde's message as the reason. Everything else (splits, `.gz`/`.zst`,
//! standard input, directory walking) is [`LogSource`]'s.
//!
//! # Examples
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use shoal::prelude::*;
//! use shoal_connectors::json::JsonExt;
//!
//! #[derive(serde::Deserialize)]
//! struct Event { user: String, ms: u64 }
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("events.jsonl");
//! std::fs::write(&path, "{\"user\":\"ann\",\"ms\":5}\n\n{\"user\":\"bob\",\"ms\":7}\n")?;
//! let job = Job::builder().threads(2).build()?;
//! let total: u64 = job.json_lines::<Event>(&path).map(|e| e.ms).sum()?;
//! assert_eq!(total, 12);
//! let users: Vec<String> = job
//!     .json_lines::<serde_json::Value>(&path)
//!     .filter_map(|v| v["user"].as_str().map(str::to_owned))
//!     .collect()?;
//! assert_eq!(users, ["ann", "bob"]);
//! # Ok(()) }
//! ```

use crate::logs::{LineParser, LogSource, Malformed};
use serde::de::DeserializeOwned;
use shoal::Job;
use shoal::plumbing::IntoInputs;
use std::fmt;
use std::marker::PhantomData;

/// Parses JSON lines into `T`; blank lines are skipped.
pub struct JsonLinesParser<T> {
    _record: PhantomData<fn() -> T>,
}

impl<T> JsonLinesParser<T> {
    /// A parser.
    pub fn new() -> Self {
        JsonLinesParser { _record: PhantomData }
    }
}

impl<T> Default for JsonLinesParser<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for JsonLinesParser<T> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for JsonLinesParser<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonLinesParser<{}>", std::any::type_name::<T>())
    }
}

impl<T: DeserializeOwned> LineParser for JsonLinesParser<T> {
    type Record<'a> = T;

    #[inline]
    fn parse(&self, line: &str) -> Result<Option<T>, Malformed> {
        if line.bytes().all(|b| b.is_ascii_whitespace()) {
            return Ok(None);
        }
        serde_json::from_str(line).map(Some).map_err(|e| Malformed::owned(format!("bad JSON: {e}")))
    }
}

/// The JSON-lines source on a [`Job`].
pub trait JsonExt {
    /// JSON lines into `T` (a typed struct, or [`serde_json::Value`]).
    fn json_lines<T: DeserializeOwned>(&self, inputs: impl IntoInputs) -> LogSource<'_, JsonLinesParser<T>>;
}

impl JsonExt for Job {
    fn json_lines<T: DeserializeOwned>(&self, inputs: impl IntoInputs) -> LogSource<'_, JsonLinesParser<T>> {
        LogSource::new(self, inputs.into_inputs(), JsonLinesParser::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_untyped_blank_and_bad() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct R {
            a: u8,
        }
        let typed = JsonLinesParser::<R>::new();
        assert_eq!(typed.parse(r#"{"a":1}"#).unwrap(), Some(R { a: 1 }));
        assert_eq!(typed.parse(" \t").unwrap(), None);
        assert!(typed.parse(r#"{"a":300}"#).unwrap_err().reason().starts_with("bad JSON"));
        assert!(typed.parse(r#"{"a":1"#).is_err());
        let untyped = JsonLinesParser::<serde_json::Value>::new();
        assert_eq!(untyped.parse("[1,2]").unwrap().unwrap()[1], 2);
    }
}
