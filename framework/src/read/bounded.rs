//! The lines a part of a regular file owns, with a maximum line length.
//!
//! [`for_each_piece`] applies the Hadoop rule of [`super::lines`] and hands
//! out the owned lines as [`Piece`]s: runs of whole lines, none longer than
//! the limit, and each line longer than the limit on its own, as a bounded
//! prefix. It never maps or reads more than the limit (plus the split and a
//! lookahead) to finish a line, so a file without newlines costs bounded
//! memory, with or without `mmap`.
//!
//! Lines longer than the limit *inside* a run are found without looking at
//! every line: a line of more than `max` bytes holds a whole aligned block of
//! `max / 2` bytes, so one `memchr` per such block (which stops at the first
//! `\n`, a few bytes in for ordinary text) finds every candidate.

use super::lines::{LOOKAHEAD, Owned, owned_lines};
use super::{FileRange, MmapChoice};
use crate::error::{Error, Result};
use crate::plan::{InputFile, Part};
use std::os::unix::fs::FileExt;

/// The default maximum record length: 16 MiB.
pub const DEFAULT_MAX_RECORD: u64 = 16 << 20;

/// How many bytes of a too-long record are kept (for rejects and quarantine).
pub const TOO_LONG_PREFIX: usize = 4 << 10;

/// A line longer than the limit: where it starts and its first bytes.
#[derive(Debug, Clone, Copy)]
pub struct TooLong<'a> {
    /// The absolute offset of its first byte.
    pub offset: u64,
    /// Its 1-based line number, when known without reading the file again.
    pub line: Option<u64>,
    /// Its first bytes, at most [`TOO_LONG_PREFIX`] (and at most the limit).
    pub prefix: &'a [u8],
    /// The limit it broke, in bytes.
    pub max: u64,
}

impl TooLong<'_> {
    /// Why such a record is malformed.
    pub fn reason(&self) -> String {
        format!("record is longer than the maximum record size of {} bytes (--max-record-size)", self.max)
    }

    /// The error for this record: the reason, the file, offset and line
    /// (counted by reading `input` up to the offset when not known).
    pub fn into_error(self, input: &InputFile) -> Error {
        let line = self.line.or_else(|| super::line_number_at(input.read_path(), self.offset));
        let err = Error::new(crate::error::ErrorKind::InvalidInput, self.reason())
            .with_path(&input.path)
            .with_offset(self.offset);
        match line {
            Some(line) => err.with_line(line),
            None => err,
        }
    }
}

/// What [`for_each_piece`] hands out, in file order.
#[derive(Debug)]
pub enum Piece<'a> {
    /// Whole lines, none longer than the limit: `region` starts at a line
    /// start and its first byte is at absolute offset `base`.
    Lines {
        /// The bytes of the lines.
        region: &'a [u8],
        /// The absolute offset of `region[0]`.
        base: u64,
    },
    /// One line longer than the limit.
    TooLong(TooLong<'a>),
}

/// Calls `f` for the pieces of the lines the nominal range `part` of the
/// regular file `input` owns, no line longer than `max` bytes (terminator
/// excluded) inside a [`Piece::Lines`]. An error from `f` stops the walk
/// (after a [`Piece::TooLong`], at once, without looking for its end).
///
/// # Errors
/// Opening, mapping or reading the file; errors from `f`.
pub fn for_each_piece(
    input: &InputFile,
    part: &Part,
    mmap: MmapChoice,
    max: u64,
    mut f: impl FnMut(Piece<'_>) -> Result<()>,
) -> Result<()> {
    let max = max.max(1);
    let file_len = input.len.unwrap_or(part.end);
    let file = input.open()?;
    // Where the owned lines not yet handed out begin (nominally).
    let mut start = part.start;
    'parts: while start < part.end {
        let window_start = start.saturating_sub(1);
        let mut lookahead = LOOKAHEAD;
        loop {
            let window_end = part.end.saturating_add(lookahead).min(file_len);
            let bytes = FileRange::open(&file, &input.path, window_start, window_end, mmap)?;
            let rel_start = (start - window_start) as usize;
            let rel_end = (part.end - window_start) as usize;
            match owned_lines(&bytes, window_start, start, part.end, window_end == file_len) {
                Owned::Empty => return Ok(()),
                Owned::Lines(region) => {
                    return split_long(&bytes[region.clone()], window_start + region.start as u64, max, &mut f);
                }
                Owned::NeedMore => {
                    // The last owned line starts after the last `\n` before
                    // the part's end, and has no `\n` up to the window's end.
                    let last = memchr::memrchr(b'\n', &bytes[..rel_end]).map_or(rel_start, |i| i + 1).max(rel_start);
                    let last_abs = window_start + last as u64;
                    if window_end - last_abs < max + 2 {
                        // Not yet provably too long: map more, up to just past the limit.
                        lookahead = lookahead.saturating_mul(4).min(last_abs + max + 2 - part.end);
                        continue;
                    }
                    let first = first_owned(&bytes, rel_start, start);
                    split_long(&bytes[first..last], window_start + first as u64, max, &mut f)?;
                    let prefix = &bytes[last..(last + TOO_LONG_PREFIX.min(max as usize)).min(bytes.len())];
                    f(Piece::TooLong(TooLong { offset: last_abs, line: None, prefix, max }))?;
                    match next_newline(&file, input, window_end, file_len)? {
                        Some(nl) => {
                            start = nl + 1;
                            continue 'parts;
                        }
                        None => return Ok(()),
                    }
                }
            }
        }
    }
    Ok(())
}

/// The first owned byte of a window whose split starts at `start`
/// (`rel_start` in the window): there, or past the first `\n` (the window
/// is known to hold one, as `owned_lines` did not say `Empty`).
fn first_owned(bytes: &[u8], rel_start: usize, start: u64) -> usize {
    if start == 0 || bytes[rel_start - 1] == b'\n' {
        rel_start
    } else {
        memchr::memchr(b'\n', &bytes[rel_start..]).map_or(bytes.len(), |i| rel_start + i + 1)
    }
}

/// The absolute offset of the first `\n` at or after `from`, read in
/// bounded chunks; `None` at the end of the file.
fn next_newline(file: &std::fs::File, input: &InputFile, mut from: u64, file_len: u64) -> Result<Option<u64>> {
    let mut buf = vec![0u8; 1 << 20];
    while from < file_len {
        let n = ((file_len - from) as usize).min(buf.len());
        file.read_exact_at(&mut buf[..n], from).map_err(|e| Error::io(&input.path, e).context("cannot read input"))?;
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(Some(from + i as u64));
        }
        from += n as u64;
    }
    Ok(None)
}

/// Hands out `region` (whole lines from absolute offset `base`) as runs of
/// lines no longer than `max`, and each longer line on its own.
fn split_long(region: &[u8], base: u64, max: u64, f: &mut impl FnMut(Piece<'_>) -> Result<()>) -> Result<()> {
    let mut done = 0usize;
    for long in long_lines(region, max) {
        if long.start > done {
            f(Piece::Lines { region: &region[done..long.start], base: base + done as u64 })?;
        }
        let prefix = &region[long.start..long.end.min(long.start + TOO_LONG_PREFIX.min(max as usize))];
        f(Piece::TooLong(TooLong { offset: base + long.start as u64, line: None, prefix, max }))?;
        // Past the line's terminator.
        done = (long.end + 1).min(region.len());
    }
    if done < region.len() {
        f(Piece::Lines { region: &region[done..], base: base + done as u64 })?;
    }
    Ok(())
}

/// The lines of `region` longer than `max` bytes (terminator excluded), as
/// ranges from their first byte to their `\n` (or the region's end).
fn long_lines(region: &[u8], max: u64) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    if region.len() as u64 <= max {
        return out;
    }
    // A line of more than `max` bytes holds a whole aligned block of `step`.
    let step = usize::try_from(max / 2).unwrap_or(usize::MAX).max(1);
    let mut q = 0usize;
    while q + step <= region.len() {
        if memchr::memchr(b'\n', &region[q..q + step]).is_some() {
            q += step;
            continue;
        }
        let start = memchr::memrchr(b'\n', &region[..q]).map_or(0, |i| i + 1);
        let end = memchr::memchr(b'\n', &region[q + step..]).map_or(region.len(), |i| q + step + i);
        let cr = end < region.len() && end > start && region[end - 1] == b'\r';
        if (end - start - usize::from(cr)) as u64 > max {
            out.push(start..end);
        }
        // The next candidate block starts after this line.
        q = (end + 1).div_ceil(step) * step;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::lines::for_each_line;
    use std::io::Write;

    /// Every line as `Ok(text)`, or `Err(offset)` for a too-long one.
    fn pieces(text: &[u8], part: Part, max: u64, mmap: MmapChoice) -> Vec<std::result::Result<String, u64>> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text).unwrap();
        let input = InputFile {
            path: file.path().to_path_buf(),
            len: Some(text.len() as u64),
            kind: crate::plan::FileKind::Regular,
            spool: None,
            modified: None,
        };
        let mut out = Vec::new();
        for_each_piece(&input, &part, mmap, max, |piece| {
            match piece {
                Piece::Lines { region, .. } => for_each_line::<()>(region, |_, l| {
                    assert!(l.len() as u64 <= max, "{l:?}");
                    out.push(Ok(String::from_utf8_lossy(l).into_owned()));
                    Ok(())
                })
                .unwrap(),
                Piece::TooLong(t) => {
                    assert!(t.prefix.len() as u64 <= max && !t.prefix.is_empty());
                    out.push(Err(t.offset));
                }
            }
            Ok(())
        })
        .unwrap();
        out
    }

    /// The expectation: `str::lines`, lines over `max` as their offsets.
    fn want(text: &[u8], max: u64) -> Vec<std::result::Result<String, u64>> {
        let mut out = Vec::new();
        let mut offset = 0u64;
        for raw in text.split_inclusive(|&b| b == b'\n') {
            let line = raw.strip_suffix(b"\n").map_or(raw, |l| l.strip_suffix(b"\r").unwrap_or(l));
            out.push(if line.len() as u64 > max {
                Err(offset)
            } else {
                Ok(String::from_utf8_lossy(line).into_owned())
            });
            offset += raw.len() as u64;
        }
        out
    }

    #[test]
    fn long_lines_anywhere_are_handed_out_alone_for_every_cut() {
        let text = b"ab\nabcdefgh\r\nx\n0123456789012\n\nabcdefg\nlast line too long";
        for max in [1, 3, 7, 8, 100] {
            for cut in 0..=text.len() as u64 {
                let len = text.len() as u64;
                let mut got = pieces(text, Part { file: 0, start: 0, end: cut }, max, MmapChoice::Never);
                got.extend(pieces(text, Part { file: 0, start: cut, end: len }, max, MmapChoice::Always));
                assert_eq!(got, want(text, max), "max {max} cut {cut}");
            }
        }
    }

    #[test]
    fn a_file_without_newlines_is_one_too_long_line_read_in_bounded_windows() {
        // Three times the lookahead: the window must stop growing at the limit.
        let text = vec![b'z'; 3 * LOOKAHEAD as usize];
        let got = pieces(&text, Part { file: 0, start: 0, end: 10 }, 1000, MmapChoice::Never);
        assert_eq!(got, vec![Err(0)]);
        let mut text = text;
        text.extend(b"\nok\n");
        let got = pieces(&text, Part { file: 0, start: 0, end: text.len() as u64 }, 1000, MmapChoice::Never);
        assert_eq!(got, vec![Err(0), Ok("ok".into())]);
    }
}
