//! `shoal-datasets`: deterministic, seeded generators for Shoal's example and
//! benchmark inputs.
//!
//! ```text
//! cargo run --release -p shoal-datasets -- weather --rows 100M --out /tmp/weather.txt
//! cargo run --release -p shoal-datasets -- sales --rows 10M --out /tmp/sales.csv [--crlf]
//! cargo run --release -p shoal-datasets -- smallfiles --files 10k --out /tmp/small
//! cargo run --release -p shoal-datasets -- logs --files 30 --lines-per-file 100k --out /tmp/logs
//! cargo run --release -p shoal-datasets -- keys --rows 50M --keys 20M --out /tmp/keys.txt
//! ```
//!
//! The same arguments and `--seed` always produce byte-identical output,
//! whatever `--threads` is. See `datasets/README.md` for the formats.

#![forbid(unsafe_code)]
#![warn(clippy::missing_docs_in_private_items)]

mod common;
mod keys;
mod logs;
mod sales;
mod smallfiles;
mod stations;
mod text;
mod weather;

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Command-line interface.
#[derive(Debug, Parser)]
#[command(name = "shoal-datasets", version, about)]
struct Cli {
    /// Seed of all randomness; the same seed and arguments give the same bytes.
    #[arg(long, global = true, default_value_t = common::DEFAULT_SEED)]
    seed: u64,
    /// Worker threads [default: available parallelism]. Does not change the output.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// What to generate.
    #[command(subcommand)]
    command: Command,
}

/// The generators.
#[derive(Debug, Subcommand)]
enum Command {
    /// One Billion Row Challenge input: `Station name;-12.3` lines.
    Weather(weather::WeatherArgs),
    /// A CSV of orders with RFC 4180 quoting corner cases.
    Sales(sales::SalesArgs),
    /// Many small `sales` CSV files in nested `YYYY/MM[/DD]` folders.
    Smallfiles(smallfiles::SmallFilesArgs),
    /// Combined-format access logs, some gzip-compressed, with malformed lines.
    Logs(logs::LogsArgs),
    /// High-cardinality group-by input: `K<n>;-12.3` lines over `--keys` keys.
    Keys(keys::KeysArgs),
}

/// Parses the command line and runs the generator; errors are printed as one
/// `error: context: cause` line (no backtrace) with a failing exit status.
fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the selected generator and reports the time taken on stderr.
fn run(cli: Cli) -> Result<()> {
    let threads = cli.threads.unwrap_or_else(common::default_threads).max(1);
    let started = Instant::now();
    let what = match &cli.command {
        Command::Weather(args) => {
            weather::run(args, cli.seed, threads)?;
            format!("{} weather rows to {}", args.rows, args.out.display())
        }
        Command::Sales(args) => {
            sales::run(args, cli.seed, threads)?;
            format!("{} sales rows to {}", args.rows, args.out.display())
        }
        Command::Smallfiles(args) => {
            smallfiles::run(args, cli.seed, threads)?;
            format!("{} files to {}", args.files, args.out.display())
        }
        Command::Logs(args) => {
            logs::run(args, cli.seed, threads)?;
            format!("{} log files of {} lines to {}", args.files, args.lines_per_file, args.out.display())
        }
        Command::Keys(args) => {
            keys::run(args, cli.seed, threads)?;
            format!("{} rows over {} keys to {}", args.rows, args.keys, args.out.display())
        }
    };
    eprintln!("wrote {what} in {:.2?} (seed {}, {threads} threads)", started.elapsed(), cli.seed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn cli_parses_every_subcommand() {
        let cli = Cli::try_parse_from([
            "shoal-datasets",
            "weather",
            "--rows",
            "100M",
            "--out",
            "/tmp/w.txt",
            "--seed",
            "7",
            "--stations",
            "10",
        ])
        .unwrap();
        assert_eq!(cli.seed, 7);
        assert!(matches!(cli.command, Command::Weather(ref a) if a.rows == 100_000_000 && a.stations == Some(10)));
        let cli = Cli::try_parse_from(["x", "sales", "--rows", "10", "--out", "s.csv", "--crlf"]).unwrap();
        assert_eq!(cli.seed, common::DEFAULT_SEED);
        assert!(matches!(cli.command, Command::Sales(ref a) if a.crlf));
        let cli = Cli::try_parse_from(["x", "smallfiles", "--files", "3", "--out", "d"]).unwrap();
        assert!(matches!(cli.command, Command::Smallfiles(ref a) if a.rows_per_file == 50));
        let cli = Cli::try_parse_from([
            "x",
            "--threads",
            "1",
            "logs",
            "--files",
            "3",
            "--lines-per-file",
            "50",
            "--out",
            "d",
        ])
        .unwrap();
        assert_eq!(cli.threads, Some(1));
        assert!(matches!(cli.command, Command::Logs(ref a) if a.gzip_every == 10 && a.malformed_ppm == 1000));
    }
}
