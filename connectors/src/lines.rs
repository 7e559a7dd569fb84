//! Line numbers for rejected records of memory-mapped splits, found only
//! when a record is rejected.
//!
//! A split in the middle of a file does not know how many lines come before
//! it, and counting them for every split would slow every good record. So
//! nothing is counted until a split rejects a record: then the line of the
//! split's first byte is found once (by reading the file before it, from the
//! nearest offset whose line another split of the same source already found,
//! see [`LineStarts`]), and each later reject of the split counts newlines
//! forward from the previous one ([`RegionLines`]).

use shoal::plumbing::newlines_between;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Line numbers of offsets found so far, per source and shared by its
/// threads: `(path, offset, line)` where `offset` starts line `line`.
#[derive(Debug, Default)]
pub(crate) struct LineStarts {
    known: Mutex<Vec<(PathBuf, u64, u64)>>,
}

impl LineStarts {
    /// The 1-based line holding absolute byte `offset` of `path` (the line
    /// number of a record starting there), or `None` if the file cannot be
    /// read.
    pub(crate) fn line_of(&self, path: &Path, offset: u64) -> Option<u64> {
        if offset == 0 {
            return Some(1);
        }
        let (from, line) = {
            let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
            known
                .iter()
                .filter(|(p, at, _)| p == path && *at <= offset)
                .map(|&(_, at, line)| (at, line))
                .max()
                .unwrap_or((0, 1))
        };
        let line = line + newlines_between(path, from, offset)?;
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if !known.iter().any(|(p, at, _)| p == path && *at == offset) {
            known.push((path.to_path_buf(), offset, line));
        }
        Some(line)
    }
}

/// Line numbers inside one region of a file (`region[0]` is byte `base`),
/// counted on demand and forward from the last position asked.
#[derive(Debug)]
pub(crate) struct RegionLines<'r> {
    path: &'r Path,
    region: &'r [u8],
    base: u64,
    starts: &'r LineStarts,
    /// `(position in region, its line)` of the last answer.
    at: Option<(usize, u64)>,
    /// The line of the current record when the reader knows it (streams).
    known: Option<u64>,
}

impl<'r> RegionLines<'r> {
    /// Lines of `region`, the bytes of `path` from absolute offset `base`.
    pub(crate) fn new(path: &'r Path, region: &'r [u8], base: u64, starts: &'r LineStarts) -> Self {
        RegionLines { path, region, base, starts, at: None, known: None }
    }

    /// Sets the line of the current record, for readers that count lines
    /// (streams): [`line_of_offset`](Self::line_of_offset) answers it.
    #[inline]
    pub(crate) fn set_known(&mut self, line: u64) {
        self.known = Some(line);
    }

    /// The line set by [`set_known`](Self::set_known), if any.
    #[inline]
    pub(crate) fn known(&self) -> Option<u64> {
        self.known
    }

    /// The line of region position `rel` (clamped to the region), or `None`
    /// when the file before the region cannot be read.
    #[cold]
    pub(crate) fn line_at(&mut self, rel: usize) -> Option<u64> {
        let rel = rel.min(self.region.len());
        let (from, line) = match self.at {
            Some((p, l)) if p <= rel => (p, l),
            _ => (0, self.starts.line_of(self.path, self.base)?),
        };
        let line = line + memchr::memchr_iter(b'\n', &self.region[from..rel]).count() as u64;
        self.at = Some((rel, line));
        Some(line)
    }

    /// The line of the record at absolute `offset`: the known one, or
    /// [`line_at`](Self::line_at) in the region.
    #[cold]
    pub(crate) fn line_of_offset(&mut self, offset: u64) -> Option<u64> {
        if self.known.is_some() {
            return self.known;
        }
        let rel = usize::try_from(offset.checked_sub(self.base)?).ok()?;
        self.line_at(rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_from_any_split_and_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        let text = b"a\nbb\n\nccc\nd\n";
        std::fs::write(&path, text).unwrap();
        let starts = LineStarts::default();
        // Offsets 5 (line 3), 6 (line 4), 10 (line 5), asked from a region at 5.
        let mut lines = RegionLines::new(&path, &text[5..], 5, &starts);
        assert_eq!(lines.line_at(5), Some(5));
        assert_eq!(lines.line_at(1), Some(4), "backwards starts over");
        assert_eq!(lines.line_of_offset(5), Some(3));
        assert_eq!(lines.line_of_offset(4), None, "before the region");
        // A later split starts from the line found for this one.
        assert_eq!(starts.line_of(&path, 10), Some(5));
        assert_eq!(starts.line_of(&path, 0), Some(1));
        assert_eq!(starts.line_of(&dir.path().join("missing"), 3), None);
        // A stream's known line wins.
        let mut stream = RegionLines::new(&path, &[], 0, &starts);
        stream.set_known(42);
        assert_eq!((stream.line_of_offset(7), stream.known()), (Some(42), Some(42)));
    }
}
