//! Access-log summary on Shoal: status codes, the paths that sent the most
//! bytes, requests per hour, and malformed lines.
//!
//! Input: nginx/Apache combined-format logs: files, or directories walked
//! recursively for `*.log` and `*.log.gz` (plain and gzip mixed; a zero-byte
//! `.gz` is empty; LF or CRLF line ends). Output (stdout):
//!
//! ```text
//! status,CODE,COUNT             one per status code, by code
//! top_path_bytes,PATH,BYTES     ten, most bytes first, ties by path (`-` bytes count 0)
//! hour,YYYY-MM-DDTHH,COUNT      requests per UTC hour, by hour
//! malformed,COUNT               lines where a field of the combined format does not parse
//! ```
//!
//! With `--write DIR` it writes the records instead, as CSV partitioned by
//! status code, and prints `written,ROWS,FILES` and `malformed,COUNT`.
//!
//! Servers write control characters in requests escaped (`\x00`), so a line
//! holding a raw NUL or another control byte (tab aside) is malformed, like a
//! line that does not parse, and `--on-malformed fail` names its file, line
//! and byte offset.
//!
//! ```text
//! cargo run --release -p shoal-datasets -- logs --files 5 --lines-per-file 10000 --out /tmp/logs
//! cargo run --release --example access_logs -- /tmp/logs
//! ```

use clap::Parser;
use serde::{Deserialize, Serialize};
use shoal::plan::Inputs;
use shoal::plumbing::{Absorb, Action, Folding};
use shoal::prelude::*;
use shoal::{OnMalformed, Result};
use shoal_connectors::jiff::Timestamp;
use shoal_connectors::logs::{AccessFormat, AccessLogParser, AccessRecord, LineParser, LogSource, Malformed};
use shoal_connectors::sink::{Output, SinkExt};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Status codes, top paths by bytes, requests per hour and malformed lines
/// of combined-format access logs.
#[derive(Parser)]
struct Cli {
    /// What to do with malformed lines: skip (count them), fail, or
    /// quarantine=PATH (count them and write them to PATH as JSON lines).
    #[arg(long = "on-malformed", alias = "malformed", default_value = "skip", value_name = "POLICY")]
    malformed: OnMalformed,
    /// Instead of the summary, write every well-formed record to DIR as
    /// CSV, one Hive-style partition per status code
    /// (`DIR/status=404/part-00000.csv`), in input order, and print
    /// `written,ROWS,FILES` and `malformed,COUNT`. DIR is replaced whole,
    /// atomically: what it held before is gone. Under `--memory-limit`
    /// the encoded rows spill to disk until they are written.
    #[arg(long, value_name = "DIR")]
    write: Option<PathBuf>,
    /// Log files, or directories of `*.log` and `*.log.gz` files, or `-`.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

/// The combined format, with raw control bytes (tab aside) rejected.
struct NoControlBytes(AccessLogParser);

/// Whether `b` is a byte the combined format never holds raw: a C0 control
/// other than tab, or DEL.
#[inline(always)]
fn is_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') | (b == 0x7f)
}

impl LineParser for NoControlBytes {
    type Record<'a> = AccessRecord<'a>;

    #[inline]
    fn parse<'a>(&self, line: &'a str) -> Result<Option<AccessRecord<'a>>, Malformed> {
        // Without early exit, so the check compiles to a vector loop.
        if line.bytes().fold(false, |bad, b| bad | is_control(b)) {
            let b = line.bytes().find(|&b| is_control(b)).unwrap_or(0);
            return Err(Malformed::owned(format!("the line holds the control byte 0x{b:02x}")));
        }
        self.0.parse(line)
    }
}

/// How many top paths to print.
const TOP: usize = 10;

/// The per-thread partial: counts by status, bytes by path, requests by hour.
#[derive(Default, Serialize, Deserialize)]
struct Summary {
    /// Indexed by status code (three digits, so below 1000); grown on demand.
    status: Vec<u64>,
    path_bytes: HashMap<String, u64>,
    /// Keyed by hours since the Unix epoch (UTC).
    hours: HashMap<i64, u64>,
    /// The hour being counted and its count, not yet in `hours`: log lines
    /// come in time order, so this saves a hash lookup per line. Flushed at
    /// the end of each split (partials merge only between splits).
    #[serde(skip)]
    run: Option<(i64, u64)>,
}

impl Summary {
    fn flush_hour(&mut self) {
        if let Some((hour, n)) = self.run.take() {
            *self.hours.entry(hour).or_default() += n;
        }
    }
}

/// One pass over the records computes all three tables.
struct Summarize;

impl Action for Summarize {
    type Partial = Summary;
    type Output = Summary;

    fn identity(&self) -> Summary {
        Summary::default()
    }

    fn merge(&self, into: &mut Summary, other: Summary) {
        if into.status.len() < other.status.len() {
            into.status.resize(other.status.len(), 0);
        }
        for (i, n) in other.status.into_iter().enumerate() {
            into.status[i] += n;
        }
        for (path, bytes) in other.path_bytes {
            *into.path_bytes.entry(path).or_default() += bytes;
        }
        for (hour, n) in other.hours {
            *into.hours.entry(hour).or_default() += n;
        }
    }

    fn end_split(&self, acc: &mut Summary, _split: &shoal::plan::Split) {
        acc.flush_hour();
    }

    /// Sums merge in any order, so a gzipped log (one split) may be
    /// parsed in blocks on several threads; each block ends like a split
    /// (`end_block` calls `end_split`).
    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn finish(&self, partial: Summary) -> Result<Summary> {
        Ok(partial)
    }
}

impl<'a> Absorb<AccessRecord<'a>> for Summarize {
    #[inline]
    fn absorb(&self, acc: &mut Summary, r: AccessRecord<'a>) -> Result<()> {
        let code = usize::from(r.status);
        if code >= acc.status.len() {
            acc.status.resize(code + 1, 0);
        }
        acc.status[code] += 1;
        let bytes = r.bytes.unwrap_or(0);
        match acc.path_bytes.get_mut(r.path) {
            Some(total) => *total += bytes,
            None => {
                acc.path_bytes.insert(r.path.to_owned(), bytes);
            }
        }
        let hour = r.time.unix_seconds().div_euclid(3600);
        match &mut acc.run {
            Some((h, n)) if *h == hour => *n += 1,
            _ => {
                acc.flush_hour();
                acc.run = Some((hour, 1));
            }
        }
        Ok(())
    }
}

fn report(summary: Summary, malformed: u64) -> Result<String, Box<dyn std::error::Error + Send + Sync>> {
    let mut out = String::new();
    for (code, n) in summary.status.iter().enumerate().filter(|(_, n)| **n > 0) {
        writeln!(out, "status,{code},{n}")?;
    }
    let mut paths: Vec<(&String, &u64)> = summary.path_bytes.iter().collect();
    paths.sort_unstable_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.as_bytes().cmp(b.0.as_bytes())));
    for (path, bytes) in paths.into_iter().take(TOP) {
        writeln!(out, "top_path_bytes,{path},{bytes}")?;
    }
    let mut hours: Vec<(i64, u64)> = summary.hours.into_iter().collect();
    hours.sort_unstable();
    for (hour, n) in hours {
        let start = Timestamp::from_second(hour * 3600)?;
        writeln!(out, "hour,{},{n}", start.strftime("%Y-%m-%dT%H"))?;
    }
    writeln!(out, "malformed,{malformed}")?;
    Ok(out)
}

fn main() -> ExitCode {
    shoal::main(|job: &Job, cli: Cli| {
        let parser = NoControlBytes(AccessLogParser::new(AccessFormat::Combined));
        let source = LogSource::new(job, Inputs::new(&cli.inputs), parser)
            .include("*.log")
            .include("*.log.gz")
            .on_malformed(cli.malformed);
        let text = match &cli.write {
            Some(dir) => {
                let by_status = Output::csv(dir).partition_by("status", |r: &AccessRecord<'_>| r.status.to_string());
                let written = source.write(by_status)?;
                let malformed = job.report().rejects.count;
                format!("written,{},{}\nmalformed,{malformed}\n", written.rows, written.files.len())
            }
            None => report(source.run(&Summarize)?, job.report().rejects.count)?,
        };
        let mut stdout = job.stdout();
        stdout.write_all(text.as_bytes())?;
        stdout.flush()?;
        Ok(())
    })
}
