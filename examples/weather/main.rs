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

        // Once per distinct name: UTF-8 and no control bytes (a NUL in a
        // name, or a block of NULs fused with the next line, is rejected).
        let mut rows: Vec<Row<'_>> = Vec::with_capacity(stations.len());
        for (name, stats) in &stations {
            match parse::station_name(name) {
                Ok(text) => rows.push(Row { prefix: prefix(name), name: text, stats }),
                Err(_) => return Err(locate_bad_name(job, &cli.inputs, name)),
            }
        }
        // Every process checks the names (a bad one starts another action,
        // which all of them run), but only the leader prints: workers' output
        // is dropped, so they skip the sort. The leader may use every thread
        // of the job for it, as the workers have no more splits to run.
        if !job.is_leader() {
            return Ok(());
        }
        let out = sorted_report(job.config().total_threads(), &mut rows);
        let mut stdout = job.stdout();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
        Ok(())
    })
}

/// One output row, borrowed from the aggregated map: the name's first eight
/// bytes as a big-endian word (zero-padded) so that most comparisons of the
/// sort are one integer compare, with no read of the name's heap bytes.
struct Row<'a> {
    prefix: u64,
    name: &'a str,
    stats: &'a Stats<i64>,
}

/// The first eight bytes of `name` as a big-endian word, zero-padded: words
/// compare like the bytes they hold, and equal words leave the order to the
/// whole names.
fn prefix(name: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = name.len().min(8);
    word[..n].copy_from_slice(&name[..n]);
    u64::from_be_bytes(word)
}

/// Sorts the rows by name bytes and formats them, on `threads` threads
/// (rayon: a parallel sort, then chunks formatted in parallel and joined in
/// order). With many stations this is a large part of the run.
fn sorted_report(threads: usize, rows: &mut [Row<'_>]) -> String {
    use rayon::prelude::*;
    let format = |rows: &[Row<'_>]| {
        let mut out = String::with_capacity(rows.len() * 32);
        for row in rows {
            let s = row.stats;
            parse::write_row(&mut out, row.name, s.min, s.sum, s.count, s.max);
        }
        out
    };
    let by_name =
        |a: &Row<'_>, b: &Row<'_>| a.prefix.cmp(&b.prefix).then_with(|| a.name.as_bytes().cmp(b.name.as_bytes()));
    // A few hundred rows (the usual case) are not worth a pool.
    const PARALLEL_FROM: usize = 1 << 14;
    let pool = (threads > 1 && rows.len() >= PARALLEL_FROM)
        .then(|| rayon::ThreadPoolBuilder::new().num_threads(threads).build().ok())
        .flatten();
    match pool {
        None => {
            rows.sort_unstable_by(by_name);
            format(rows)
        }
        Some(pool) => pool.install(|| {
            rows.par_sort_unstable_by(by_name);
            let parts: Vec<String> = rows.par_chunks(PARALLEL_FROM).map(format).collect();
            parts.concat()
        }),
    }
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
