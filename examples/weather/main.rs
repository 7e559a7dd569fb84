//! The One Billion Row Challenge on Shoal.
//!
//! Input: lines `Station name;-12.3` in files or directories (recursively).
//! Output: one line per station, `STATION,MIN,MEAN,MAX`, sorted by the
//! station's UTF-8 bytes, one decimal each; the mean is the exact sum of
//! tenths divided by the count, rounded half away from zero. A station name
//! must be UTF-8 without control bytes (tab aside); a bad one is an error
//! naming its first line.
//!
//! ```text
//! cargo run --release -p shoal-datasets -- weather --rows 1000000 --out /tmp/w.txt
//! cargo run --release --example weather -- /tmp/w.txt
//! ```

mod parse;

use clap::Parser;
use shoal::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;

/// Per-station min, mean and max temperature (the One Billion Row Challenge).
#[derive(Parser)]
struct Cli {
    /// Files or directories of `Station;-12.3` lines.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

fn main() -> ExitCode {
    shoal::main(|job: &Job, cli: Cli| {
        // The groups in name order, streamed from sorted partitions: with
        // millions of stations no map of them all is built and sorted, and
        // under --memory-limit the sorted partitions that do not fit are
        // read back from disk as they are printed.
        let stations = job
            .byte_lines(&cli.inputs)
            .try_key_by(|line: &[u8]| parse::parse_line(line).map(|(station, tenths)| (station, Stats::of(tenths))))
            .aggregate_by_key_sorted()?;

        let mut stdout = job.stdout();
        let mut out = String::with_capacity(FLUSH_AT + 256);
        for group in stations {
            let (name, stats) = group?;
            // Once per distinct name: UTF-8 and no control bytes (a NUL in a
            // name, or a block of NULs fused with the next line, is
            // rejected). A bad name stops the report with an error naming
            // its first line; the lines before it may have been printed.
            let Ok(text) = parse::station_name(&name) else {
                return Err(locate_bad_name(job, &cli.inputs, &name));
            };
            parse::write_row(&mut out, text, stats.min, stats.sum, stats.count, stats.max);
            if out.len() >= FLUSH_AT {
                stdout.write_all(out.as_bytes())?;
                out.clear();
            }
        }
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
        Ok(())
    })
}

/// Formatted rows are written in pieces of about this many bytes.
const FLUSH_AT: usize = 1 << 20;

/// Station names are checked once per distinct name, after aggregation. For a
/// bad name (not UTF-8, or with a control byte), read again to name the first
/// line that has it: file, line and byte offset.
fn locate_bad_name(job: &Job, inputs: &[PathBuf], bad: &[u8]) -> Box<dyn std::error::Error + Send + Sync> {
    let found = job
        .byte_lines(inputs)
        .try_map(|line: &[u8]| match parse::parse_line(line) {
            Ok((station, _)) if station == bad => parse::station_name(station).map(|_| ()),
            _ => Ok(()),
        })
        .count();
    match found {
        Err(err) => err.into(),
        Ok(_) => parse::station_name(bad).err().unwrap_or(parse::LineError::InvalidUtf8).into(),
    }
}
