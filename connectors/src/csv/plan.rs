//! Exact splits: nominal cuts moved to record starts.
//!
//! The framework's planner cuts a large file into equal byte ranges. For
//! CSV, each cut moves forward to the first record start at or after it
//! ([`super::scan::exact_starts`]); a range in which no record starts is
//! dropped and its bytes go to the range before. The resulting [`Plan`] holds
//! exact ranges, so a split reads `[start, end)` and nothing else, and a
//! worker process needs nothing but the plan to read its split.
//!
//! The file is mapped for the scan, and each scanned window's pages are
//! given back behind it; under `--no-mmap` it is read in pieces instead
//! ([`super::unmapped`]): either way the planner's memory is a few
//! windows, not the file.

use super::dialect::Dialect;
use super::scan::{exact_starts, scan_name};
use super::unmapped;
use shoal::Result;
use shoal::plumbing::{FileKind, Part, Plan, Split};
use shoal::plumbing::{FileRange, MmapChoice, SplitGuard};

/// Counter: files whose cuts were found by the sequential state machine
/// because quote parity was ambiguous for them.
pub const SEQUENTIAL_SCANS: &str = "csv.sequential_scans";

/// Moves every cut of `plan` to a record start. `threads` scan each file.
pub(crate) fn exact(mut plan: Plan, dialect: &Dialect, threads: usize, mmap: MmapChoice) -> Result<Plan> {
    let mut splits: Vec<Split> = Vec::with_capacity(plan.splits.len());
    let mut i = 0;
    let old = std::mem::take(&mut plan.splits);
    while i < old.len() {
        let split = &old[i];
        let cut_file = match split.parts.as_slice() {
            [p] if plan.files[p.file].kind == FileKind::Regular && p.start == 0 && p.end < len_of(&plan, p) => {
                Some(p.file)
            }
            _ => None,
        };
        let Some(file) = cut_file else {
            splits.push(split.clone());
            i += 1;
            continue;
        };
        // The consecutive single-part splits of this file.
        let mut j = i;
        while j < old.len() && matches!(old[j].parts.as_slice(), [p] if p.file == file) {
            j += 1;
        }
        let parts: Vec<Part> = old[i..j].iter().map(|s| s.parts[0]).collect();
        for part in exact_parts(&plan, file, &parts, dialect, threads, mmap)? {
            splits.push(Split { index: 0, parts: vec![part], cost: part.end - part.start });
        }
        i = j;
    }
    for (index, split) in splits.iter_mut().enumerate() {
        split.index = index;
    }
    plan.splits = splits;
    Ok(plan)
}

fn len_of(plan: &Plan, part: &Part) -> u64 {
    plan.files[part.file].len.unwrap_or(part.end)
}

/// The exact parts of one file cut into `parts` (nominal, contiguous from 0).
fn exact_parts(
    plan: &Plan,
    file: usize,
    parts: &[Part],
    dialect: &Dialect,
    threads: usize,
    mmap: MmapChoice,
) -> Result<Vec<Part>> {
    let input = &plan.files[file];
    let len = parts.last().map_or(0, |p| p.end);
    let handle = input.open()?;
    let cuts: Vec<usize> = parts[1..].iter().map(|p| p.start as usize).collect();
    if mmap == MmapChoice::Never {
        // Not mapped: read in pieces, never the whole file at once.
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let (starts, sequential) = unmapped::exact_starts(dialect, &handle, &input.path, len, &cuts, threads)?;
        return Ok(parts_at(file, starts, sequential, len as u64));
    }
    let bytes = FileRange::open(&handle, &input.path, 0, len, mmap)?;
    // A file truncated while mapped raises SIGBUS: name it for the message.
    let _guard = SplitGuard::new(scan_name(&input.path, None, 0, len));
    // The scan gives each window's pages back behind it: resident memory
    // stays at the windows in flight, whatever the file's size.
    let release = |range: std::ops::Range<usize>| bytes.release(range);
    let (starts, sequential) = exact_starts(dialect, &bytes, &cuts, threads, &input.path, &release);
    Ok(parts_at(file, starts, sequential, len))
}

/// The parts of `file` (`len` bytes) between the record starts found
/// (`None`: no start after that cut, the bytes go to the part before).
fn parts_at(file: usize, starts: Vec<Option<usize>>, sequential: bool, len: u64) -> Vec<Part> {
    if sequential {
        shoal::report::count(SEQUENTIAL_SCANS, 1);
    }
    let mut bounds = vec![0u64];
    bounds.extend(starts.into_iter().flatten().map(|s| s as u64));
    bounds.push(len);
    bounds.windows(2).filter(|w| w[0] < w[1]).map(|w| Part { file, start: w[0], end: w[1] }).collect()
}

#[cfg(test)]
mod tests {}
