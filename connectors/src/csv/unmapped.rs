//! Exact record starts of a file that is not mapped (`--no-mmap`): the
//! scans of [`super::scan`] over pieces read with `pread`, never the whole
//! file at once.
//!
//! * Quote parity: each window between nominal cuts is read on its own
//!   (with the byte before it, its neighbour), scanned on the job's pool,
//!   and dropped, so at most `threads` windows (split-sized) are in memory.
//! * The record start after each cut: read forward from the cut in growing
//!   pieces until a start is found or the window ends.
//! * A file ambiguous for parity: csv-core's state machine ([`Dfa`]) run
//!   over the file in pieces of [`PIECE`] bytes, one after the other.
//!
//! The answers are those of [`super::scan::exact_starts`] over the whole
//! file (tested against it): the scans are given each piece's place in the
//! file (`first`: where the file's bytes start after a byte order mark).

use super::dialect::Dialect;
use super::scan::{Dfa, State, bom_len, find_start_at, scan_chunk_at, scan_name};
use shoal::Result;
use shoal::plumbing::{FileRange, MmapChoice, SplitGuard, map_indices};
use std::fs::File;
use std::path::Path;

/// How many bytes the sequential state machine reads at a time.
pub(crate) const PIECE: usize = 8 << 20;

/// The first piece a search for a record start reads.
const FIRST_SEARCH: usize = 64 << 10;

/// Bytes `[from, to)` of `file`, read.
fn read(file: &File, path: &Path, from: usize, to: usize) -> Result<FileRange> {
    FileRange::open(file, path, from as u64, to as u64, MmapChoice::Never)
}

/// [`super::scan::exact_starts`] of the first `len` bytes of `file`, read
/// in pieces: `(starts, used_dfa)`.
///
/// # Errors
/// A read that fails (or a file that shrank).
pub(crate) fn exact_starts(
    d: &Dialect,
    file: &File,
    path: &Path,
    len: usize,
    cuts: &[usize],
    threads: usize,
) -> Result<(Vec<Option<usize>>, bool)> {
    debug_assert!(cuts.windows(2).all(|w| w[0] < w[1]) && cuts.first().is_none_or(|&c| c > 0 && c < len.max(1)));
    if cuts.is_empty() {
        return Ok((Vec::new(), false));
    }
    let head = read(file, path, 0, len.min(3))?;
    let bom = bom_len(&head);
    let mut bounds = Vec::with_capacity(cuts.len() + 2);
    bounds.push(0);
    bounds.extend_from_slice(cuts);
    bounds.push(len);
    let windows: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    let scan = |k: usize| {
        let (s, e) = windows[k];
        // The byte before the window is its first byte's neighbour.
        let lo = s.saturating_sub(1);
        let bytes = read(file, path, lo, e)?;
        let first = if s == 0 { bom } else { 0 };
        Ok(scan_chunk_at(d, &bytes, s - lo, e - lo, first))
    };
    let threads = threads.clamp(1, windows.len());
    let scans: Vec<Result<_>> = if threads == 1 {
        (0..windows.len()).map(scan).collect()
    } else {
        map_indices(threads, windows.len(), |k| {
            let (s, e) = windows[k];
            let _guard = SplitGuard::new(scan_name(path, Some(k), s as u64, e as u64));
            scan(k)
        })?
    };
    let mut inside = false;
    let mut entered = Vec::with_capacity(windows.len());
    for scan in scans {
        let scan = scan?;
        if scan.ambiguous[usize::from(inside)] {
            return Ok((dfa_starts(&Dfa::new(*d), file, path, len, bom, cuts)?, true));
        }
        entered.push(inside);
        inside ^= scan.odd;
    }
    let mut starts = Vec::with_capacity(cuts.len());
    for (&(from, to), &inside) in windows[1..].iter().zip(&entered[1..]) {
        starts.push(search(d, file, path, from, to, inside)?);
    }
    Ok((starts, false))
}

/// The first record start in `[from, to)` (`from > 0`), entered inside
/// quotes iff `inside`: [`find_start_at`] over growing pieces read from
/// the byte before `from`.
fn search(d: &Dialect, file: &File, path: &Path, from: usize, to: usize, inside: bool) -> Result<Option<usize>> {
    let lo = from - 1;
    let mut want = FIRST_SEARCH;
    loop {
        let hi = from.saturating_add(want).min(to);
        let bytes = read(file, path, lo, hi)?;
        // The search goes from `from` on, so a piece shorter than the
        // window only misses starts at or after its end: then a piece four
        // times as long is read (from `from` again: the quotes are counted
        // from there; rare, a record longer than the first piece).
        if let Some(p) = find_start_at(d, &bytes, from - lo, hi - lo, inside, 0) {
            return Ok(Some(lo + p));
        }
        if hi == to {
            return Ok(None);
        }
        want = want.saturating_mul(4);
    }
}

/// [`Dfa::starts`] over `file` read in pieces of [`PIECE`] bytes.
fn dfa_starts(
    dfa: &Dfa,
    file: &File,
    path: &Path,
    len: usize,
    bom: usize,
    cuts: &[usize],
) -> Result<Vec<Option<usize>>> {
    let mut out = Vec::with_capacity(cuts.len());
    let mut s = State::Record;
    let mut pos = bom;
    // The byte before `pos` (a cut is never 0, so it is read before it is needed).
    let mut prev = 0u8;
    for (k, &cut) in cuts.iter().enumerate() {
        let end = cuts.get(k + 1).copied().unwrap_or(len);
        while pos < cut {
            let bytes = read(file, path, pos, cut.min(pos + PIECE))?;
            s = dfa.run(s, &bytes);
            prev = bytes.last().copied().unwrap_or(prev);
            pos += bytes.len();
        }
        let mut found = None;
        'search: while pos < end {
            let bytes = read(file, path, pos, end.min(pos + PIECE))?;
            for (i, &b) in bytes.iter().enumerate() {
                if s == State::Record && matches!(prev, b'\n' | b'\r') && !(prev == b'\r' && b == b'\n') {
                    found = Some(pos + i);
                    pos += i;
                    break 'search;
                }
                s = dfa.step(s, b);
                prev = b;
            }
            pos += bytes.len();
        }
        out.push(found);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Random CSV-like bytes: quoted fields with line breaks, doubled and
    /// stray quotes, CRLF, sometimes a byte order mark.
    fn document(next: &mut impl FnMut(usize) -> usize) -> Vec<u8> {
        let mut text = if next(5) == 0 { super::super::scan::BOM.to_vec() } else { Vec::new() };
        // Now and then a stray quote in an unquoted field (parity is then ambiguous).
        let stray = next(4) == 0;
        for _ in 0..next(400) {
            let quoted = next(3) == 0;
            if quoted {
                text.push(b'"');
                for _ in 0..next(20) {
                    text.extend_from_slice([&b"a"[..], b",", b"\n", b"\r", b"\"\""][next(5)]);
                }
                text.push(b'"');
            } else {
                for _ in 0..next(20) {
                    text.push([b'a', b'b', b' '][next(3)]);
                }
                if stray && next(50) == 0 {
                    text.push(b'"');
                }
            }
            text.extend_from_slice([&b","[..], b"\n", b"\r\n"][next(3)]);
        }
        text
    }

    /// Piece by piece, the starts are those of the scan over the whole
    /// file, for every dialect path (parity, the state machine), cut
    /// counts and thread counts.
    #[test]
    fn agrees_with_the_whole_file_scan() {
        let mut seed = 0xF11E_u64;
        let mut next = move |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n.max(1)
        };
        let dialects = [Dialect::default(), Dialect { comment: Some(b'#'), escape: Some(b'\\'), ..Dialect::default() }];
        let release = &|_: std::ops::Range<usize>| {};
        let mut used = [0, 0];
        for round in 0..300 {
            let text = document(&mut next);
            if text.len() < 4 {
                continue;
            }
            let mut f = tempfile::NamedTempFile::new().unwrap();
            f.write_all(&text).unwrap();
            let file = File::open(f.path()).unwrap();
            let d = dialects[round % 2];
            let mut cuts: Vec<usize> = (0..1 + next(6)).map(|_| 1 + next(text.len() - 1)).collect();
            cuts.sort_unstable();
            cuts.dedup();
            let threads = 1 + next(3);
            let want = super::super::scan::exact_starts(&d, &text, &cuts, threads, f.path(), release);
            let got = exact_starts(&d, &file, f.path(), text.len(), &cuts, threads).unwrap();
            assert_eq!(got, want, "cuts {cuts:?} of {:?} in {d:?}", String::from_utf8_lossy(&text));
            used[usize::from(got.1)] += 1;
        }
        assert!(used.iter().all(|&n| n > 20), "both the parity scan and the state machine ran: {used:?}");
    }
}
