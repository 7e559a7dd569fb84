//! A test helper for `connectors/tests/csv` (issue 18.6): counts the records
//! of the CSV file `$CSV_PROBE_INPUT`. With `CSV_PROBE_TRUNCATE` set, a thread
//! truncates the file as soon as it appears in this process's memory maps,
//! which is the planner's scan for record starts (headers are read without
//! mapping), so the scan hits a bus error.
//!
//! ```text
//! CSV_PROBE_INPUT=/tmp/big.csv CSV_PROBE_TRUNCATE=1 cargo run -p shoal-connectors --example csv_plan_probe -- -t 2
//! ```

use shoal::prelude::*;
use shoal_connectors::csv::CsvExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    shoal::main(|job: &Job, _flags: Flags| {
        let path = PathBuf::from(std::env::var_os("CSV_PROBE_INPUT").ok_or("set CSV_PROBE_INPUT")?);
        if std::env::var_os("CSV_PROBE_TRUNCATE").is_some() {
            let watched = path.canonicalize()?;
            std::thread::spawn(move || truncate_when_mapped(&watched));
        }
        let n = job.csv(&path).records().count()?;
        writeln!(job.stdout(), "{n}")?;
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    })
}

/// Truncates `path` to nothing once this process maps it.
fn truncate_when_mapped(path: &Path) {
    let name = path.to_string_lossy().into_owned();
    loop {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        if maps.lines().any(|l| l.ends_with(name.as_str())) {
            if let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) {
                let _ = file.set_len(0);
            }
            return;
        }
        std::thread::yield_now();
    }
}
