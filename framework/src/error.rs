//! The one error type of the library.
//!
//! An [`Error`] is a kind plus context: the file, byte offset and line where
//! input was bad, the split that was running, and the underlying cause. Context
//! is added where it is known (a reader knows the offset, the executor knows the
//! split), so a message reads like
//! `data/w.txt: line 18 (byte 503): weather line: no ';'`.

use std::fmt;
use std::path::{Path, PathBuf};

/// A specialized `Result` for Shoal.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed error from user code or a dependency.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, broadly. Match on this to react to a class of failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An input path does not exist.
    NotFound,
    /// A directory held no input file, or a glob matched nothing.
    NoInput,
    /// Reading or writing failed at the operating-system level.
    Io,
    /// A record could not be read or parsed (bad bytes, bad syntax).
    InvalidInput,
    /// A user closure returned an error.
    User,
    /// A user closure panicked.
    Panic,
    /// The job was configured wrongly (flags, options).
    Config,
    /// A worker process died or hung while running a split, too many times.
    WorkerLost,
    /// Communication with another process of the job failed.
    Transport,
    /// The job was interrupted by a signal.
    Interrupted,
    /// A stage rejected one record ([`Error::malformed`]). Sources with a
    /// malformed-record policy apply the policy to errors of this kind, and
    /// only to them: any other error from downstream (a sink that cannot
    /// encode a row, say) fails the job.
    Malformed,
    /// Another run holds a lock this run needs (a quarantine file in use).
    Locked,
}

/// The library's error: a kind, a message and where it happened.
///
/// Cheap to move (one pointer). Build one with [`Error::new`] and add context
/// with the `with_*` methods; the executor adds the split by itself.
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    line: Option<u64>,
    offset: Option<u64>,
    split: Option<String>,
    source: Option<BoxError>,
}

impl Error {
    /// A new error of `kind` with a human message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            path: None,
            line: None,
            offset: None,
            split: None,
            source: None,
        }))
    }

    /// An error returned by user code; `source` is kept as the cause.
    pub fn user(source: impl Into<BoxError>) -> Self {
        let source = source.into();
        // A shoal error passed back through user code keeps its own kind and context.
        match source.downcast::<Error>() {
            Ok(err) => *err,
            Err(source) => Error::new(ErrorKind::User, "").with_source(source),
        }
    }

    /// A record that cannot be used: return it from a stage (`try_map`,
    /// `try_key_by`) to reject the record. Sources with a malformed-record
    /// policy (`fail`, `skip`, `quarantine`) apply it to such errors, with the
    /// record's file, line and offset; other sources stop with the error.
    pub fn malformed(reason: impl Into<String>) -> Self {
        Error::new(ErrorKind::Malformed, reason)
    }

    /// Whether this error rejects one record ([`ErrorKind::Malformed`], as
    /// made by [`Error::malformed`]): what sources with a malformed-record
    /// policy check before applying the policy.
    pub fn is_malformed(&self) -> bool {
        self.0.kind == ErrorKind::Malformed
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        let kind = match source.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::Interrupted => ErrorKind::Interrupted,
            _ => ErrorKind::Io,
        };
        Error::new(kind, "").with_path(path).with_source(source)
    }

    /// Sets the underlying cause.
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.0.source = Some(source.into());
        self
    }

    /// Sets the file the error is about, unless one is set already.
    pub fn with_path(mut self, path: impl AsRef<Path>) -> Self {
        if self.0.path.is_none() {
            self.0.path = Some(path.as_ref().to_path_buf());
        }
        self
    }

    /// Sets the absolute byte offset in the file, unless one is set already.
    pub fn with_offset(mut self, offset: u64) -> Self {
        if self.0.offset.is_none() {
            self.0.offset = Some(offset);
        }
        self
    }

    /// Sets the 1-based line number, unless one is set already.
    pub fn with_line(mut self, line: u64) -> Self {
        if self.0.line.is_none() {
            self.0.line = Some(line);
        }
        self
    }

    /// Names the split that was running (file and byte range), unless named already.
    pub fn with_split(mut self, split: impl Into<String>) -> Self {
        if self.0.split.is_none() {
            self.0.split = Some(split.into());
        }
        self
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.0.message =
            if self.0.message.is_empty() { what.to_string() } else { format!("{what}: {}", self.0.message) };
        self
    }

    /// The broad class of the error.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The file the error is about, if any.
    pub fn path(&self) -> Option<&Path> {
        self.0.path.as_deref()
    }

    /// The 1-based line number in [`path`](Self::path), if known.
    pub fn line(&self) -> Option<u64> {
        self.0.line
    }

    /// The absolute byte offset in [`path`](Self::path), if known.
    pub fn offset(&self) -> Option<u64> {
        self.0.offset
    }

    /// The split that was running, if the error came from one.
    pub fn split(&self) -> Option<&str> {
        self.0.split.as_deref()
    }

    /// The message without context, as given when the error was made.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Whether the error already says where in a file it happened.
    pub fn has_location(&self) -> bool {
        self.0.offset.is_some() || self.0.line.is_some()
    }
}

/// An error as it crosses between processes: every field, the cause as text.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct WireError {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    line: Option<u64>,
    offset: Option<u64>,
    split: Option<String>,
    source: Option<String>,
}

impl Error {
    /// The error in a form that can be sent to another process.
    pub(crate) fn to_wire(&self) -> WireError {
        let i = &*self.0;
        WireError {
            kind: i.kind,
            message: i.message.clone(),
            path: i.path.clone(),
            line: i.line,
            offset: i.offset,
            split: i.split.clone(),
            source: i.source.as_ref().map(|s| s.to_string()),
        }
    }

    /// Rebuilds an error sent by another process.
    pub(crate) fn from_wire(w: WireError) -> Error {
        Error(Box::new(Inner {
            kind: w.kind,
            message: w.message,
            path: w.path,
            line: w.line,
            offset: w.offset,
            split: w.split,
            source: w.source.map(BoxError::from),
        }))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.0;
        let mut sep = "";
        if let Some(path) = &inner.path {
            write!(f, "{}", path.display())?;
            match (inner.line, inner.offset) {
                (Some(line), Some(offset)) => write!(f, ": line {line} (byte {offset})")?,
                (Some(line), None) => write!(f, ": line {line}")?,
                (None, Some(offset)) => write!(f, ": byte {offset}")?,
                (None, None) => {}
            }
            sep = ": ";
        } else if let Some(offset) = inner.offset {
            write!(f, "byte {offset}")?;
            sep = ": ";
        }
        if !inner.message.is_empty() {
            write!(f, "{sep}{}", inner.message)?;
            sep = ": ";
        }
        if let Some(source) = &inner.source {
            write!(f, "{sep}{source}")?;
            sep = ": ";
        }
        if sep.is_empty() {
            write!(f, "{:?}", inner.kind)?;
        }
        if let Some(split) = &inner.split {
            write!(f, " (in split {split})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.0;
        f.debug_struct("Error")
            .field("kind", &inner.kind)
            .field("message", &inner.message)
            .field("path", &inner.path)
            .field("line", &inner.line)
            .field("offset", &inner.offset)
            .field("split", &inner.split)
            .field("source", &inner.source)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source.as_deref().map(|e| e as _)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Io,
        };
        Error::new(kind, "").with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_and_offset() {
        let err = Error::new(ErrorKind::InvalidInput, "no ';'")
            .with_path("w.txt")
            .with_line(3)
            .with_offset(40)
            .with_split("w.txt[0..100]");
        assert_eq!(err.to_string(), "w.txt: line 3 (byte 40): no ';' (in split w.txt[0..100])");
    }

    #[test]
    fn context_is_kept_once() {
        let err = Error::new(ErrorKind::Io, "x").with_path("a").with_path("b").with_offset(1).with_offset(2);
        assert_eq!(err.path(), Some(Path::new("a")));
        assert_eq!(err.offset(), Some(1));
    }

    #[test]
    fn user_errors_keep_shoal_errors_whole() {
        let inner = Error::new(ErrorKind::NoInput, "nothing").with_path("d");
        let back = Error::user(inner);
        assert_eq!(back.kind(), ErrorKind::NoInput);
        let other = Error::user("plain");
        assert_eq!(other.kind(), ErrorKind::User);
        assert_eq!(other.to_string(), "plain");
    }
}
