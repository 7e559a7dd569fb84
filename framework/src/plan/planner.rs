//! Cutting a file list into splits.
//!
//! Polars-style: a large file of length `len` becomes `n = ceil(len / target)`
//! ranges of equal size, so no split is a sliver. With the automatic target,
//! the last of those ranges is cut in [`TAIL_PIECES`]: executors run the
//! biggest splits first, so these small ones come last and the threads finish
//! within a small split of each other instead of one idling for most of a
//! large one. Files no larger than the
//! target are packed, in input order, into splits of up to `target` bytes, so
//! twenty thousand small files do not cost twenty thousand scheduling rounds.
//! Streams (compressed files, pipes, standard input) are one split each, and
//! get a higher cost so the scheduler starts them first: one big `.gz` should
//! not be the last thing running while other threads idle. A gzip file costs
//! its recorded decompressed size times [`DECOMPRESS_COST`] (its trailer
//! says how big it is); other streams are estimated.

use super::{FileKind, InputFile, Part, Plan, Split, Unit};

/// How to size splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitOptions {
    /// The target split size in bytes; `None` picks one from the input size.
    pub split_size: Option<u64>,
    /// The threads (over all processes) the plan should keep busy.
    pub threads: usize,
}

/// Smallest automatic target: below this, scheduling costs more than it gains.
pub const MIN_AUTO_TARGET: u64 = 1 << 20;
/// Largest automatic target: bounds the memory one split keeps mapped.
pub const MAX_AUTO_TARGET: u64 = 32 << 20;
/// How many splits per thread the automatic target aims for, for balance.
pub const SPLITS_PER_THREAD: u64 = 8;
/// Into how many pieces the automatic target cuts the last range of a large file.
pub const TAIL_PIECES: u64 = 4;
/// Assumed expansion of compressed input, for scheduling only.
pub const COMPRESSION_RATIO: u64 = 5;

/// How many plain bytes one decompressed byte costs to read, for scheduling:
/// inflating costs about as much as parsing the text it gives.
pub const DECOMPRESS_COST: u64 = 2;

/// The decompressed size a compressed file records, when it does: gzip's
/// trailer holds the length of the last member modulo 2^32 (`ISIZE`), exact
/// for the usual single-member file under 4 GiB. Values smaller than the
/// file itself (a larger or multi-member file) are not believed.
fn recorded_len(input: &InputFile) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let len = input.len?;
    if input.kind != FileKind::Gzip || len < 18 {
        return None;
    }
    let mut trailer = [0u8; 4];
    let file = std::fs::File::open(input.read_path()).ok()?;
    file.read_exact_at(&mut trailer, len - 4).ok()?;
    let isize = u64::from(u32::from_le_bytes(trailer));
    (isize >= len).then_some(isize)
}

impl SplitOptions {
    /// The target used for `total` input bytes.
    pub fn split_size_for(&self, total: u64) -> u64 {
        match self.split_size {
            Some(t) => t.max(1),
            None => {
                let threads = self.threads.max(1) as u64;
                (total / (threads * SPLITS_PER_THREAD)).clamp(MIN_AUTO_TARGET, MAX_AUTO_TARGET)
            }
        }
    }

    /// Plans `files` (already sorted) into splits.
    pub fn plan(&self, files: Vec<InputFile>) -> Plan {
        let total: u64 = files.iter().filter_map(|f| f.len).sum();
        let target = self.split_size_for(total);
        let mut splits: Vec<Split> = Vec::new();
        let mut pack: Vec<Part> = Vec::new();
        let mut pack_bytes = 0u64;

        fn flush(splits: &mut Vec<Split>, pack: &mut Vec<Part>, pack_bytes: &mut u64) {
            if !pack.is_empty() {
                let parts = std::mem::take(pack);
                splits.push(Split { index: splits.len(), parts, cost: *pack_bytes });
                *pack_bytes = 0;
            }
        }

        for (file, input) in files.iter().enumerate() {
            let len = input.len.unwrap_or(0);
            match input.kind {
                FileKind::Regular if len > target => {
                    flush(&mut splits, &mut pack, &mut pack_bytes);
                    let n = len.div_ceil(target);
                    let piece = len.div_ceil(n);
                    // Where the tail pieces start: the last range, when the
                    // target is automatic.
                    let tail = if self.split_size.is_none() { (piece * (n - 1)).min(len) } else { len };
                    let tail_piece = (len - tail).div_ceil(TAIL_PIECES).max(1);
                    let mut start = 0;
                    while start < len {
                        let step = if start < tail { piece.min(tail - start) } else { tail_piece };
                        let end = (start + step).min(len);
                        splits.push(Split {
                            index: splits.len(),
                            parts: vec![Part { file, start, end }],
                            cost: end - start,
                        });
                        start = end;
                    }
                }
                FileKind::Regular => {
                    if pack_bytes + len > target {
                        flush(&mut splits, &mut pack, &mut pack_bytes);
                    }
                    pack.push(Part { file, start: 0, end: len });
                    pack_bytes += len;
                }
                FileKind::Gzip | FileKind::Zstd | FileKind::Special | FileKind::Stdin => {
                    flush(&mut splits, &mut pack, &mut pack_bytes);
                    let cost = match input.len {
                        None => u64::MAX / 2,
                        Some(_) => match recorded_len(input) {
                            Some(n) => n.saturating_mul(DECOMPRESS_COST),
                            None => len.saturating_mul(COMPRESSION_RATIO),
                        },
                    };
                    splits.push(Split { index: splits.len(), parts: vec![Part { file, start: 0, end: len }], cost });
                }
            }
        }
        flush(&mut splits, &mut pack, &mut pack_bytes);
        Plan { files, splits, unit: Unit::Bytes, split_size: target, threads: self.threads }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn file(name: &str, len: u64, kind: FileKind) -> InputFile {
        InputFile { path: PathBuf::from(name), len: Some(len), kind, spool: None, modified: None }
    }

    #[test]
    fn large_files_cut_evenly_and_small_files_pack() {
        let files = vec![
            file("a", 10, FileKind::Regular),
            file("b", 3, FileKind::Regular),
            file("c", 4, FileKind::Regular),
            file("d", 4, FileKind::Regular),
            file("e.gz", 2, FileKind::Gzip),
            file("f", 0, FileKind::Regular),
        ];
        let plan = SplitOptions { split_size: Some(4), threads: 2 }.plan(files);
        let shape: Vec<Vec<(usize, u64, u64)>> =
            plan.splits.iter().map(|s| s.parts.iter().map(|p| (p.file, p.start, p.end)).collect()).collect();
        assert_eq!(
            shape,
            vec![
                vec![(0, 0, 4)],
                vec![(0, 4, 8)],
                vec![(0, 8, 10)],
                vec![(1, 0, 3)],
                vec![(2, 0, 4)],
                vec![(3, 0, 4)],
                vec![(4, 0, 2)],
                vec![(5, 0, 0)],
            ]
        );
        assert!(plan.splits.iter().enumerate().all(|(i, s)| s.index == i));
        assert_eq!(plan.splits[6].cost, 2 * COMPRESSION_RATIO);
    }

    #[test]
    fn gzip_files_cost_their_recorded_size() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log.gz");
        let text = b"GET /index.html 200\n".repeat(5000);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&text).unwrap();
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        let plain = file("b.log", text.len() as u64, FileKind::Regular);
        let plan = SplitOptions { split_size: Some(1 << 20), threads: 2 }
            .plan(vec![InputFile { path, len: Some(len), kind: FileKind::Gzip, spool: None, modified: None }, plain]);
        assert_eq!(plan.splits[0].cost, text.len() as u64 * DECOMPRESS_COST);
        assert!(plan.splits[0].cost > plan.splits[1].cost, "the stream is started first");
    }

    #[test]
    fn automatic_target_cuts_the_last_range_finer() {
        let len = 100 * MIN_AUTO_TARGET + 12_345;
        let plan = SplitOptions { split_size: None, threads: 2 }.plan(vec![file("a", len, FileKind::Regular)]);
        let target = plan.split_size;
        let n = len.div_ceil(target) as usize;
        let sizes: Vec<u64> = plan.splits.iter().map(|s| s.cost).collect();
        assert_eq!(sizes.len(), n - 1 + TAIL_PIECES as usize, "{sizes:?}");
        assert!(sizes[..n - 1].iter().all(|&s| s == sizes[0]));
        assert!(sizes[n - 1..].iter().all(|&s| s * (TAIL_PIECES - 1) <= sizes[0]), "{sizes:?}");
        // Contiguous and complete.
        let parts: Vec<(u64, u64)> = plan.splits.iter().map(|s| (s.parts[0].start, s.parts[0].end)).collect();
        assert_eq!(parts[0].0, 0);
        assert_eq!(parts.last().map(|p| p.1), Some(len));
        assert!(parts.windows(2).all(|w| w[0].1 == w[1].0));
    }

    #[test]
    fn automatic_target_is_clamped() {
        let opts = SplitOptions { split_size: None, threads: 2 };
        assert_eq!(opts.split_size_for(10), MIN_AUTO_TARGET);
        assert_eq!(opts.split_size_for(1 << 40), MAX_AUTO_TARGET);
        assert_eq!(opts.split_size_for(160 << 20), 10 << 20);
    }
}
