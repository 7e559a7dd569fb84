//! From paths to splits.
//!
//! [`inputs`] expands paths, directories and globs into one sorted file list;
//! [`planner`] cuts that list into [`Split`]s of a target size: a large file
//! into byte ranges, many small files into one pack. A [`Plan`] is the result,
//! printable with `--explain`.
//!
//! A split's byte ranges are *nominal*: readers apply the record rule of their
//! format at the edges (for lines, the Hadoop rule: a split owns the records
//! that *start* inside its range), so every record is read exactly once.

pub mod inputs;
pub mod planner;
pub(crate) mod stdin;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

pub use inputs::{FileKind, InputFile, Inputs, IntoInputs, WalkOptions};
pub use planner::SplitOptions;
pub use stdin::StdinMode;

/// A piece of one split: a byte range of one file, or a range of item indices
/// for in-memory sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Index into [`Plan::files`]; unused for in-memory sources.
    pub file: usize,
    /// First byte (or item) of the nominal range.
    pub start: u64,
    /// One past the last byte (or item) of the nominal range.
    pub end: u64,
}

/// One unit of scheduling: the records of one or more [`Part`]s.
///
/// # Invariants
/// `index` is the split's position in [`Plan::splits`], and splits are in
/// input order: every record of split `i` comes before every record of split
/// `i + 1` in the sorted file list. Parts never overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Position in the plan, and so in the input.
    pub index: usize,
    /// The ranges read by this split, in input order.
    pub parts: Vec<Part>,
    /// Relative cost used to schedule big work first (bytes, or items).
    pub cost: u64,
}

/// What the numbers in a plan count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Byte ranges of files.
    Bytes,
    /// Index ranges of an in-memory collection or a numeric range.
    Items,
}

/// The files and splits of one action.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The input files, sorted by path, each listed once.
    pub files: Vec<InputFile>,
    /// The splits, in input order.
    pub splits: Vec<Split>,
    /// Whether ranges count bytes or items.
    pub unit: Unit,
    /// The split size aimed at (bytes, or items for in-memory sources).
    pub split_size: u64,
    /// The thread count the plan was made for.
    pub threads: usize,
}

impl Plan {
    /// A plan over items `0..len` cut into chunks of `chunk` items.
    pub fn items(len: u64, chunk: u64, threads: usize) -> Plan {
        let chunk = chunk.max(1);
        let splits = (0..len.div_ceil(chunk))
            .map(|i| {
                let start = i * chunk;
                let end = (start + chunk).min(len);
                Split { index: i as usize, parts: vec![Part { file: 0, start, end }], cost: end - start }
            })
            .collect();
        Plan { files: Vec::new(), splits, unit: Unit::Items, split_size: chunk, threads }
    }

    /// Total bytes (or items) over all splits.
    pub fn total(&self) -> u64 {
        self.splits.iter().flat_map(|s| &s.parts).map(|p| p.end - p.start).sum()
    }

    /// A short human name for a split: `file[start..end]`, or a file count for packs.
    pub fn describe(&self, split: &Split) -> String {
        match (self.unit, split.parts.as_slice()) {
            (Unit::Items, parts) => {
                let start = parts.first().map_or(0, |p| p.start);
                let end = parts.last().map_or(0, |p| p.end);
                format!("#{} items {start}..{end}", split.index)
            }
            // A pipe or standard input has no size: its split is all of it.
            (Unit::Bytes, [one]) if self.files[one.file].len.is_none() => {
                format!("#{} {} (the whole stream)", split.index, self.files[one.file].path.display())
            }
            (Unit::Bytes, [one]) => {
                format!("#{} {} bytes {}..{}", split.index, self.files[one.file].path.display(), one.start, one.end)
            }
            (Unit::Bytes, parts) => {
                let first = parts.first().map(|p| self.files[p.file].path.display().to_string());
                format!("#{} {} files from {}", split.index, parts.len(), first.unwrap_or_default())
            }
        }
    }

    /// The path of a file of the plan.
    pub fn path(&self, part: &Part) -> &PathBuf {
        &self.files[part.file].path
    }
}

/// `--explain` output: files, splits, sizes and threads.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.unit {
            Unit::Bytes => "bytes",
            Unit::Items => "items",
        };
        let plural = |n: usize, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
        // Pipes and standard input have no size until they are read.
        let streams = self.files.iter().filter(|f| f.len.is_none()).count();
        let unsized_note = match streams {
            0 => String::new(),
            n => format!(" + {} of unknown size", plural(n, "stream")),
        };
        writeln!(
            f,
            "plan: {}, {} {unit} ({}){unsized_note}, {} (split size {}), {} in this process",
            plural(self.files.len(), "file"),
            self.total(),
            human_bytes(self.total(), self.unit),
            plural(self.splits.len(), "split"),
            human_bytes(self.split_size, self.unit),
            plural(self.threads, "thread")
        )?;
        const SHOWN: usize = 20;
        for file in self.files.iter().take(SHOWN) {
            let len = file.len.map_or_else(|| "stream".to_string(), |l| human_bytes(l, Unit::Bytes));
            writeln!(f, "  file {} ({len})", file.path.display())?;
        }
        if self.files.len() > SHOWN {
            writeln!(f, "  ... {} more files", self.files.len() - SHOWN)?;
        }
        for split in self.splits.iter().take(SHOWN) {
            writeln!(f, "  split {}", self.describe(split))?;
        }
        if self.splits.len() > SHOWN {
            writeln!(f, "  ... {} more splits", self.splits.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// `1.4 GiB`-style sizes for bytes; plain numbers for items.
pub(crate) fn human_bytes(n: u64, unit: Unit) -> String {
    if unit == Unit::Items {
        return format!("{n} items");
    }
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut i = 0;
    while value >= 1024.0 && i + 1 < UNITS.len() {
        value /= 1024.0;
        i += 1;
    }
    if i == 0 { format!("{n} B") } else { format!("{value:.1} {}", UNITS[i]) }
}

/// Parses sizes like `64M`, `1MiB`, `512k`, `1000`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let num: f64 = num.parse().map_err(|_| format!("`{text}` is not a size like 64M or 1GiB"))?;
    let mult: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!("unknown size unit `{other}` in `{text}` (use K, M, G)"));
        }
    };
    let bytes = (num * mult as f64).round();
    if bytes < 1.0 {
        return Err(format!("size `{text}` must be at least 1 byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("7"), Ok(7));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
    }

    #[test]
    fn item_plans_cover_the_range() {
        let plan = Plan::items(10, 3, 2);
        let ranges: Vec<_> = plan.splits.iter().map(|s| (s.parts[0].start, s.parts[0].end)).collect();
        assert_eq!(ranges, vec![(0, 3), (3, 6), (6, 9), (9, 10)]);
        assert_eq!(Plan::items(0, 3, 2).splits.len(), 0);
    }
}
