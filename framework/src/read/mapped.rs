//! The bytes of a file's byte range, memory-mapped or read.
//!
//! This module holds the `unsafe` of mapping a file (the crate's other
//! `unsafe` is listed in the crate docs and in ARCHITECTURE.md). A mapping is only
//! sound while nobody truncates or rewrites the file; Shoal's inputs are batch
//! inputs that must stay put while a job reads them, and the two ways that can
//! fail are handled:
//!
//! * a file already shorter than planned is caught by an `fstat` before mapping
//!   and reported as an error naming the file;
//! * a file truncated *while* mapped makes the kernel raise `SIGBUS` on the next
//!   touch of a missing page. The `SIGBUS` handler in `signals.rs` turns that into a message
//!   naming the split, and the process executor reruns or fails the split.
//!
//! Users who cannot promise stable inputs pass `--no-mmap`
//! ([`MmapChoice::Never`]) and every split is read with `pread` instead.

use crate::error::{Error, ErrorKind, Result};
use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};
use std::fs::File;
use std::ops::Deref;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Whether to memory-map input files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MmapChoice {
    /// Map ranges of at least [`MMAP_MIN`] bytes; read smaller ones.
    #[default]
    Auto,
    /// Never map: read every range into memory.
    Never,
    /// Map every non-empty range, however small (for tests of the mapped path).
    Always,
}

/// Ranges smaller than this are read, not mapped: for small reads, `pread`
/// into a buffer is cheaper than setting up and tearing down a mapping.
pub const MMAP_MIN: u64 = 64 << 10;

enum Bytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

/// The bytes `[start, start + len)` of a file.
pub struct FileRange {
    bytes: Bytes,
    start: u64,
}

impl std::fmt::Debug for FileRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = match self.bytes {
            Bytes::Mapped(_) => "mapped",
            Bytes::Owned(_) => "read",
        };
        f.debug_struct("FileRange").field("start", &self.start).field("len", &self.len()).field("how", &how).finish()
    }
}

impl FileRange {
    /// Gets the bytes `[start, end)` of `file` (at `path`, for errors).
    ///
    /// # Errors
    /// An I/O error, or [`ErrorKind::InvalidInput`] if the file is now shorter
    /// than `end` (it was truncated since planning).
    pub fn open(file: &File, path: &Path, start: u64, end: u64, choice: MmapChoice) -> Result<FileRange> {
        debug_assert!(start <= end);
        let now = file.metadata().map_err(|e| Error::io(path, e))?.len();
        if now < end {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("file shrank while the job ran: it has {now} bytes, bytes {start}..{end} were planned"),
            )
            .with_path(path));
        }
        let len = end - start;
        let wanted = match choice {
            MmapChoice::Auto => len >= MMAP_MIN,
            MmapChoice::Always => len > 0,
            MmapChoice::Never => false,
        };
        if wanted {
            match Self::map(file, start, len) {
                Ok(map) => {
                    return Ok(FileRange { bytes: Bytes::Mapped(map), start });
                }
                Err(_) => { /* fall back to reading: e.g. a file system without mmap */ }
            }
        }
        let mut buf = vec![0u8; usize::try_from(len).map_err(|_| Error::new(ErrorKind::Io, "range too large"))?];
        file.read_exact_at(&mut buf, start).map_err(|e| Error::io(path, e).context("cannot read input"))?;
        Ok(FileRange { bytes: Bytes::Owned(buf), start })
    }

    fn map(file: &File, start: u64, len: u64) -> std::io::Result<Mmap> {
        let len = usize::try_from(len).map_err(|_| std::io::Error::other("range too large"))?;
        // SAFETY: the mapping is read-only and private to this `FileRange`; the
        // slices handed out borrow from it and die with it. The file was just
        // checked to be at least `start + len` bytes long. If another process
        // truncates it while mapped, touching a lost page raises SIGBUS (never
        // silent wrong data): `crate::signals` reports the split and exits, and
        // the process executor treats that like any other worker death. Inputs
        // rewritten in place while a job runs are outside the contract
        // (documented on `MmapChoice`; `--no-mmap` reads instead).
        let map = unsafe { MmapOptions::new().offset(start).len(len).map(file)? };
        // Advice is a hint; failure to apply it changes nothing.
        let _ = map.advise(Advice::Sequential);
        Ok(map)
    }

    /// Gives the memory of the bytes `range` (relative to this range's
    /// start) back to the system: the whole pages inside it leave this
    /// process's resident set, and the bytes stay readable (a later read
    /// faults them in again from the file). A reader that walks a large
    /// mapping once calls this behind itself, so the mapping costs the pages
    /// in flight, not the file's size, in resident memory. Does nothing for
    /// bytes that were read rather than mapped, nor for a range smaller than
    /// a page; a failure of the advice changes nothing but memory use.
    pub fn release(&self, range: std::ops::Range<usize>) {
        let Bytes::Mapped(map) = &self.bytes else { return };
        let page = page_size();
        // The mapping starts at `start`, which need not be page-aligned;
        // the kernel wants page-aligned addresses, so round inward.
        let base = map.as_ptr() as usize;
        let end = range.end.min(map.len());
        let first = (base + range.start.min(end)).next_multiple_of(page) - base;
        let last = (base + end) / page * page;
        if last <= base + first {
            return;
        }
        let len = last - base - first;
        // SAFETY: the mapping is read-only and never written (neither by this
        // process: `Mmap` hands out only `&[u8]`, nor through it), so
        // `MADV_DONTNEED` only drops the page table entries of a clean
        // file-backed range; the next read of those bytes, through any slice
        // borrowed from the mapping on any thread, faults the same file bytes
        // in again. The bytes seen never change (with the same contract as the
        // mapping itself: inputs are not rewritten while a job reads them), so
        // no borrow observes a change. `first..first + len` lies inside the
        // mapping (`first >= range.start`, `base + first + len <= base + end`,
        // `end <= map.len()`).
        let _ = unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, first, len) };
    }

    /// The absolute offset of the first byte.
    pub fn start(&self) -> u64 {
        self.start
    }
}

/// The system's page size (4 KiB when it cannot be asked).
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: `sysconf` reads a configuration value; it has no preconditions.
    *PAGE.get_or_init(|| usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096).max(1))
}

impl Deref for FileRange {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn mapped_and_read_ranges_agree() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let file = File::open(f.path()).unwrap();
        for (s, e) in [(0, 0), (0, 10), (4097, 200_000), (100, 300_000)] {
            let a = FileRange::open(&file, f.path(), s, e, MmapChoice::Always).unwrap();
            let b = FileRange::open(&file, f.path(), s, e, MmapChoice::Never).unwrap();
            assert_eq!(&*a, &data[s as usize..e as usize]);
            assert_eq!(&*a, &*b);
        }
    }

    #[test]
    fn released_bytes_leave_memory_and_stay_readable() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..(8u32 << 20)).map(|i| (i % 253) as u8).collect();
        f.write_all(&data).unwrap();
        let file = File::open(f.path()).unwrap();
        let range = FileRange::open(&file, f.path(), 100, data.len() as u64, MmapChoice::Always).unwrap();
        let resident = || {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("RssFile:"))
                .and_then(|v| v.trim().strip_suffix("kB"))
                .map(|v| v.trim().parse::<u64>().unwrap())
        };
        let sum = |bytes: &[u8]| bytes.iter().map(|&b| u64::from(b)).sum::<u64>();
        let want = sum(&data[100..]);
        assert_eq!(sum(&range), want);
        let before = resident();
        range.release(0..range.len());
        if let (Some(before), Some(after)) = (before, resident()) {
            assert!(before >= after + 6 * 1024, "RssFile {before} kB -> {after} kB");
        }
        assert_eq!(sum(&range), want, "released bytes read the same");
        // Ranges smaller than a page, empty or past the end are no-ops.
        range.release(5..6);
        range.release(10..10);
        range.release(0..usize::MAX);
        range.release(usize::MAX..usize::MAX);
        let read = FileRange::open(&file, f.path(), 0, 10, MmapChoice::Never).unwrap();
        read.release(0..10);
        assert_eq!(&*read, &data[..10]);
    }

    #[test]
    fn a_shrunk_file_is_an_error_naming_it() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"hello").unwrap();
        let file = File::open(f.path()).unwrap();
        let err = FileRange::open(&file, f.path(), 0, 10, MmapChoice::Auto).unwrap_err();
        assert!(err.to_string().contains("shrank"), "{err}");
        assert_eq!(err.path(), Some(f.path()));
    }
}
