//! `smallfiles`: many small CSV files of the `sales` schema in nested folders.
//!
//! File `i` of `N` belongs to month `i * 60 / N` of 2022-01..=2026-12 (files
//! are in time order) and is written to
//!
//! * `DIR/YYYY/MM/DD/part-iiiii.csv` when `i % 4 == 3` (three folder levels;
//!   every row is dated `YYYY-MM-DD`), otherwise
//! * `DIR/YYYY/MM/part-iiiii.csv` (two levels; rows dated within the month).
//!
//! Each file has the `sales` header and `R/2 ..= R/2 + R` rows (mean `R`),
//! except that files with `i % 37 == 5` are completely empty (0 bytes) and
//! files with `i % 23 == 11` (and not empty) hold only the header.
//! `order_id` runs 1, 2, 3, … across all files in file order. Records end
//! with LF. Existing files at those paths are overwritten; nothing is deleted.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::common::{self, Rng, stream};
use crate::sales::{DayRange, Tables};
use crate::text::{days_from_civil, days_in_month};

/// First year of the covered range.
const FIRST_YEAR: i64 = 2022;

/// Number of months covered (2022-01 ..= 2026-12).
const MONTHS: u64 = 60;

/// Arguments of the `smallfiles` subcommand.
#[derive(Debug, clap::Args)]
pub(crate) struct SmallFilesArgs {
    /// Number of files (accepts `10k` etc.).
    #[arg(long, value_parser = common::parse_count)]
    pub(crate) files: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Mean number of rows per file; each file gets R/2 ..= R/2 + R.
    #[arg(long, default_value_t = 50, value_name = "R")]
    pub(crate) rows_per_file: u64,
}

/// What a file contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contents {
    /// A 0-byte file.
    Empty,
    /// The header and this many rows (possibly zero).
    Rows(u64),
}

/// Everything needed to write one file, decided up front.
#[derive(Debug)]
struct Plan {
    /// Path relative to the output directory.
    relative: PathBuf,
    /// What the file contains.
    contents: Contents,
    /// `order_id` of the first row.
    first_order_id: u64,
    /// The dates rows may take.
    days: DayRange,
}

/// Runs the `smallfiles` subcommand.
pub(crate) fn run(args: &SmallFilesArgs, seed: u64, threads: usize) -> Result<()> {
    write(&args.out, args.files, args.rows_per_file, seed, threads)
}

/// Writes `files` files under `dir`.
pub(crate) fn write(dir: &Path, files: u64, rows_per_file: u64, seed: u64, threads: usize) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
    let plans = plan_files(files, rows_per_file, seed);
    let tables = Tables::new();
    common::for_each_parallel(files, threads, |index| {
        let plan = &plans[index as usize];
        let path = dir.join(&plan.relative);
        let mut out = common::create_file(&path)?;
        if let Contents::Rows(rows) = plan.contents {
            let mut rng = Rng::for_unit(seed, stream::SMALLFILES_ROWS, index);
            let mut buf = Vec::with_capacity(64 * (rows as usize + 1));
            tables.push_header(&mut buf, b"\n");
            for row in 0..rows {
                tables.push_row(&mut buf, &mut rng, plan.first_order_id + row, plan.days, b"\n");
            }
            out.write_all(&buf).with_context(|| format!("cannot write {}", path.display()))?;
        }
        common::finish_file(out, &path)
    })
}

/// Decides the path, size and date range of every file.
fn plan_files(files: u64, rows_per_file: u64, seed: u64) -> Vec<Plan> {
    let mut next_order_id = 1;
    (0..files)
        .map(|index| {
            let mut rng = Rng::for_unit(seed, stream::SMALLFILES_LAYOUT, index);
            let month_index = index * MONTHS / files;
            let year = FIRST_YEAR + (month_index / 12) as i64;
            let month = (month_index % 12) as u32 + 1;
            let mut relative = PathBuf::from(format!("{year:04}"));
            relative.push(format!("{month:02}"));
            let month_len = days_in_month(year, month);
            let days = if index % 4 == 3 {
                let day = 1 + rng.below(u64::from(month_len)) as u32;
                relative.push(format!("{day:02}"));
                DayRange { first: days_from_civil(year, month, day), len: 1 }
            } else {
                DayRange { first: days_from_civil(year, month, 1), len: u64::from(month_len) }
            };
            relative.push(format!("part-{index:05}.csv"));
            let contents = if index % 37 == 5 {
                Contents::Empty
            } else if index % 23 == 11 {
                Contents::Rows(0)
            } else {
                Contents::Rows(rows_per_file / 2 + rng.below(rows_per_file + 1))
            };
            let first_order_id = next_order_id;
            if let Contents::Rows(rows) = contents {
                next_order_id += rows;
            }
            Plan { relative, contents, first_order_id, days }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::{TempDir, read_tree};
    use crate::sales::{HEADER, parse_csv};

    #[test]
    fn files_are_valid_nested_and_deterministic() {
        let tmp = TempDir::new("smallfiles");
        let (a, b, c) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("c"));
        write(&a, 120, 20, 9, 1).unwrap();
        write(&b, 120, 20, 9, 2).unwrap();
        write(&c, 120, 20, 10, 3).unwrap();
        let tree = read_tree(&a);
        assert_eq!(tree, read_tree(&b));
        assert_ne!(tree, read_tree(&c));
        assert_eq!(tree.len(), 120);

        let mut empty = 0;
        let mut header_only = 0;
        let mut ids = Vec::new();
        for (path, bytes) in &tree {
            let depth = path.components().count();
            assert!(depth == 3 || depth == 4, "{}", path.display());
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(name.starts_with("part-") && name.ends_with(".csv"));
            if bytes.is_empty() {
                empty += 1;
                continue;
            }
            let records = parse_csv(bytes).unwrap();
            assert_eq!(records[0].len(), 7);
            assert_eq!(records[0].join(&b","[..]), HEADER.as_bytes());
            if records.len() == 1 {
                header_only += 1;
            }
            let folders: Vec<String> =
                path.parent().unwrap().components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            let prefix = folders.join("-");
            for record in &records[1..] {
                assert_eq!(record.len(), 7);
                ids.push(std::str::from_utf8(&record[0]).unwrap().parse::<u64>().unwrap());
                let date = std::str::from_utf8(&record[1]).unwrap();
                assert!(date.starts_with(&prefix), "{date} in {}", path.display());
            }
        }
        assert_eq!(empty, 4, "files 5, 42, 79, 116");
        assert!(header_only >= 4, "{header_only}");
        ids.sort_unstable();
        assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    }

    #[test]
    fn plans_are_in_time_order() {
        let plans = plan_files(1000, 50, 1);
        assert!(plans.windows(2).all(|w| w[0].days.first <= w[1].days.first + 31));
        assert!(plans[0].relative.starts_with("2022/01"));
        assert!(plans[999].relative.starts_with("2026/12"));
        let rows: u64 = plans
            .iter()
            .map(|p| match p.contents {
                Contents::Rows(r) => r,
                Contents::Empty => 0,
            })
            .sum();
        assert!((45_000..=52_000).contains(&rows), "{rows}");
    }
}
