//! Getting bytes and records out of files.
//!
//! * [`mapped`] gives a split the bytes of its byte range: memory-mapped, or
//!   read into memory for small ranges and when mapping is off (the
//!   `unsafe` of mapping).
//! * [`bounded`] hands out the lines a part owns with a maximum line
//!   length: runs of lines, and each too-long line on its own, in bounded
//!   memory.
//! * [`lines`] finds the records a split owns (the Hadoop rule) and frames
//!   lines, LF or CRLF.
//! * [`stream`] reads what cannot be split or mapped: compressed files, pipes,
//!   standard input, read ahead on a thread of its own by [`prefetch`].

pub mod blocks;
pub mod bounded;
pub mod lines;
pub mod mapped;
pub mod prefetch;
pub mod stream;

pub use bounded::DEFAULT_MAX_RECORD;
pub use mapped::{FileRange, MmapChoice};

use crate::error::{Error, ErrorKind};
use crate::plan::{FileKind, InputFile};
use std::io::{Read, Seek};
use std::path::Path;

/// The 1-based line number of byte `offset` of the file at `path`: one plus
/// the count of `\n` before it. Used on error paths only.
pub fn line_number_at(path: &Path, offset: u64) -> Option<u64> {
    newlines_between(path, 0, offset).map(|n| n + 1)
}

/// The number of `\n` bytes in bytes `[from, to)` of the file at `path`
/// (`None` when it cannot be read). Used on error and reject paths only.
pub fn newlines_between(path: &Path, from: u64, to: u64) -> Option<u64> {
    let mut file = std::fs::File::open(path).ok()?;
    file.seek(std::io::SeekFrom::Start(from)).ok()?;
    let mut rest = file.take(to.saturating_sub(from));
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 0u64;
    loop {
        match rest.read(&mut buf) {
            Ok(0) => return Some(lines),
            Ok(n) => lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// The error for a read of `input` that failed at byte `offset` of the
/// (decompressed) stream: "cannot decompress input" for compressed files,
/// naming the input, the offset and the source error.
pub fn read_error(input: &InputFile, source: std::io::Error, offset: u64) -> Error {
    let what = match input.kind {
        FileKind::Gzip | FileKind::Zstd => "cannot decompress input (truncated or corrupt?)",
        _ => "cannot read input",
    };
    Error::new(ErrorKind::InvalidInput, what).with_source(source).with_path(&input.path).with_offset(offset)
}
