//! Log lines: access logs, syslog, logfmt and regular expressions.
//!
//! Every format is a [`LineParser`] run by one driver, [`LogSource`]: plain
//! files are memory-mapped and cut into splits, `.gz` and `.zst` files are
//! decompressed as streams (one split each), `-` reads standard input, and
//! directories are walked recursively with include/exclude globs. A line that
//! does not parse, or is not UTF-8, follows the source's
//! [`OnMalformed`](shoal::OnMalformed) policy: fail (the default), skip, or
//! quarantine; skipped lines are counted in [`shoal::Job::report`].
//!
//! | format | method of [`LogsExt`] | record |
//! |---|---|---|
//! | nginx/Apache combined or common | [`access_log`](LogsExt::access_log) | [`AccessRecord`] |
//! | syslog, RFC 3164 and RFC 5424 | [`syslog`](LogsExt::syslog) | [`SyslogRecord`] |
//! | logfmt (`key=value ...`) | [`logfmt`](LogsExt::logfmt) | [`LogfmtRecord`] |
//! | a regular expression with named groups | [`regex_log`](LogsExt::regex_log) | [`RegexRecord`] |
//! | JSON lines | [`json_lines`](crate::json::JsonExt::json_lines) | any `T: Deserialize` |
//!
//! Times are parsed into [`LogTime`]: a [`jiff::Timestamp`] plus the offset
//! the line was written with.
//!
//! # Examples
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use shoal::prelude::*;
//! use shoal_connectors::logs::LogsExt;
//!
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("access.log"), concat!(
//!     "1.2.3.4 - - [10/Oct/2025:13:55:36 +0200] \"GET / HTTP/1.1\" 200 512 \"-\" \"curl/8\"\n",
//!     "garbage\n",
//! ))?;
//! let job = Job::builder().threads(2).build()?;
//! let bytes: u64 = job
//!     .access_log(dir.path())
//!     .on_malformed(shoal::OnMalformed::Skip)
//!     .map(|r| r.bytes.unwrap_or(0))
//!     .sum()?;
//! assert_eq!(bytes, 512);
//! assert_eq!(job.report().rejects.count, 1);
//! # Ok(()) }
//! ```

mod access;
mod ext;
mod logfmt;
mod parser;
mod regex;
mod source;
mod syslog;
mod time;

pub use access::{AccessFormat, AccessLogParser, AccessRecord};
pub use ext::LogsExt;
pub use logfmt::{LogfmtParser, LogfmtRecord};
pub use parser::{LineParser, Malformed};
pub use regex::{RegexParser, RegexRecord, TimeFormat};
pub use source::{LogSource, NOT_UTF8};
pub use syslog::{Facility, Severity, SyslogFormat, SyslogParser, SyslogRecord};
pub use time::LogTime;
