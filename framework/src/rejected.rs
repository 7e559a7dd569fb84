//! [`Rejected`]: one record a malformed-record policy turned away, as
//! reports, errors and quarantine files carry it.

use crate::error::{Error, ErrorKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// How much of a rejected record a sample keeps.
pub const SAMPLE_BYTES: usize = 200;

/// One record that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// The file it came from.
    pub path: PathBuf,
    /// Its 1-based line number, when known.
    pub line: Option<u64>,
    /// The absolute byte offset of its first byte.
    pub offset: u64,
    /// Why it was rejected.
    pub reason: String,
    /// The record's text (lossy UTF-8), cut to [`SAMPLE_BYTES`] in samples.
    pub record: String,
}

impl Rejected {
    /// A rejected record; `record` is kept whole (for quarantine files).
    pub fn new(
        path: impl Into<PathBuf>,
        line: Option<u64>,
        offset: u64,
        reason: impl Into<String>,
        record: &[u8],
    ) -> Self {
        Rejected {
            path: path.into(),
            line,
            offset,
            reason: reason.into(),
            record: String::from_utf8_lossy(record).into_owned(),
        }
    }

    pub(crate) fn sample(&self) -> Rejected {
        let mut s = self.clone();
        if s.record.len() > SAMPLE_BYTES {
            let mut cut = SAMPLE_BYTES;
            while !s.record.is_char_boundary(cut) {
                cut -= 1;
            }
            s.record.truncate(cut);
            s.record.push('…');
        }
        s
    }

    pub(crate) fn key(&self) -> (&PathBuf, u64) {
        (&self.path, self.offset)
    }

    /// The error this record is under [`OnMalformed::Fail`](crate::OnMalformed::Fail).
    pub fn into_error(self) -> Error {
        let start: String = self.record.chars().take(60).collect();
        let mut err = Error::new(ErrorKind::InvalidInput, format!("{} (record starts: {start:?})", self.reason))
            .with_path(&self.path)
            .with_offset(self.offset);
        if let Some(line) = self.line {
            err = err.with_line(line);
        }
        err
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, " (byte {}): {}: {:?}", self.offset, self.reason, self.record)
    }
}
