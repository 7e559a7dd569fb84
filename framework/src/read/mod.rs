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
//!   standard input.

pub mod bounded;
pub mod lines;
pub mod mapped;
pub mod stream;

pub use bounded::DEFAULT_MAX_RECORD;
pub use mapped::{FileRange, MmapChoice};

use std::io::Read;
use std::path::Path;

/// The 1-based line number of byte `offset` of the file at `path`: one plus
/// the count of `\n` before it. Used on error paths only.
pub fn line_number_at(path: &Path, offset: u64) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file.take(offset));
    let mut buf = vec![0u8; 1 << 16];
    let mut lines = 1u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Some(lines),
            Ok(n) => lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}
