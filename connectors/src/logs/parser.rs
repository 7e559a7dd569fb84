//! The [`LineParser`] trait: one line in, one record (or a reason) out.

use std::borrow::Cow;
use std::fmt;

/// Parses one line of text into a record borrowed from it.
///
/// Every line format of this crate (access logs, syslog, logfmt, regular
/// expressions, JSON lines) is a `LineParser`, and [`super::LogSource`] is the
/// one driver that plans, reads, frames and decodes lines for all of them.
/// Implement it to read a format of your own with the same machinery
/// (splits, compressed files, malformed-line policies).
///
/// # Contract
/// `parse` gets one line without its terminator (LF or CRLF), already
/// checked to be UTF-8. It returns `Ok(Some(record))`, `Ok(None)` to skip the
/// line silently (a blank line in JSON lines), or `Err` with the reason the
/// line is malformed; the source then applies its
/// [`OnMalformed`](shoal::OnMalformed) policy. It must not panic on any
/// input.
///
/// # Examples
/// ```
/// use shoal_connectors::logs::{LineParser, Malformed};
///
/// /// `key:value` lines.
/// struct Colon;
///
/// impl LineParser for Colon {
///     type Record<'a> = (&'a str, &'a str);
///     fn parse<'a>(&self, line: &'a str) -> Result<Option<(&'a str, &'a str)>, Malformed> {
///         line.split_once(':').map(Some).ok_or(Malformed::new("no `:`"))
///     }
/// }
/// assert_eq!(Colon.parse("a:b").unwrap(), Some(("a", "b")));
/// assert!(Colon.parse("ab").is_err());
/// ```
pub trait LineParser: Sync {
    /// The record, borrowing from the line.
    type Record<'a>;

    /// Parses one line.
    ///
    /// # Errors
    /// [`Malformed`] with the reason when the line is not a record.
    fn parse<'a>(&self, line: &'a str) -> Result<Option<Self::Record<'a>>, Malformed>;
}

/// Why a line is not a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    reason: Cow<'static, str>,
}

impl Malformed {
    /// A reason known at compile time (no allocation).
    pub const fn new(reason: &'static str) -> Self {
        Malformed { reason: Cow::Borrowed(reason) }
    }

    /// A reason built at run time.
    pub fn owned(reason: String) -> Self {
        Malformed { reason: Cow::Owned(reason) }
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Malformed {}
