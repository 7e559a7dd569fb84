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
        let stations: HashMap<Vec<u8>, Stats<i64>> = job
            .byte_lines(&cli.inputs)
            .try_key_by(|line: &[u8]| parse::parse_line(line).map(|(station, tenths)| (station, Stats::of(tenths))))
            .aggregate_by_key()?;

        let mut rows: Vec<(String, Stats<i64>)> = Vec::with_capacity(stations.len());
        for (name, stats) in stations {
            // Once per distinct name: UTF-8 and no control bytes (a NUL in a
            // name, or a block of NULs fused with the next line, is rejected).
            if parse::station_name(&name).is_err() {
                return Err(locate_bad_name(job, &cli.inputs, &name));
            }
            match String::from_utf8(name) {
                Ok(name) => rows.push((name, stats)),
                Err(bad) => return Err(locate_bad_name(job, &cli.inputs, bad.as_bytes())),
            }
        }
        rows.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut out = String::with_capacity(rows.len() * 32);
        for (station, s) in &rows {
            parse::write_row(&mut out, station, s.min, s.sum, s.count, s.max);
        }
        let mut stdout = job.stdout();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
        Ok(())
    })
}

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
