//! A test helper for `connectors/tests/sink` (shard mode, issue 17.4):
//! writes every line of its inputs as a CSV row `line,length` to `--csv`,
//! and partitioned by the line's first letter below `--partitioned`, then
//! prints the rows and files written.
//!
//! ```text
//! cargo run -p shoal-connectors --example sink_probe -- --csv out.csv --partitioned out/ data/
//! ```

use clap::Parser;
use shoal::prelude::*;
use shoal_connectors::sink::{Output, SinkExt};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
struct Cli {
    /// The CSV file to write.
    #[arg(long)]
    csv: PathBuf,
    /// The folder of partitions to write.
    #[arg(long)]
    partitioned: PathBuf,
    inputs: Vec<PathBuf>,
}

#[derive(serde::Serialize)]
struct Row {
    line: String,
    length: usize,
}

fn row(line: &str) -> Row {
    Row { line: line.to_string(), length: line.len() }
}

fn main() -> ExitCode {
    shoal::main(|job: &Job, cli: Cli| {
        let flat = job.lines(&cli.inputs).map(row).write(Output::csv(&cli.csv))?;
        let first = |r: &Row| r.line.chars().next().map_or_else(String::new, String::from);
        let parts =
            job.lines(&cli.inputs).map(row).write(Output::csv(&cli.partitioned).partition_by("first", first))?;
        let mut out = job.stdout();
        writeln!(out, "rows,{},{}", flat.rows, parts.rows)?;
        writeln!(out, "files,{}", parts.files.len())?;
        Ok(())
    })
}
