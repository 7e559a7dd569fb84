//! Issue 18.12: CSV on standard input honours its header, like a file.
//!
//! Standard input is per process, so the reading half runs in a child: this
//! test binary re-run with the ignored test below selected and the CSV on
//! its standard input.

use serde::Deserialize;
use shoal::{Job, Pipeline};
use shoal_connectors::prelude::*;
use std::io::Write;
use std::process::{Command, Stdio};

/// Fields in another order than the columns `year,month,day,dep_delay`.
#[derive(Debug, Deserialize)]
struct Flight {
    month: u32,
    dep_delay: i32,
    year: u32,
}

/// `-` read as CSV flights, one `year-month:delay` per row, in input order.
fn flight_rows(job: &Job) -> Vec<String> {
    job.csv("-")
        .rows::<Flight>()
        .map(|f: Flight| format!("{}-{:02}:{}", f.year, f.month, f.dep_delay))
        .collect()
        .unwrap()
}

/// The child half: reads `-` as CSV and prints one line per row, in input
/// order, `year-month:delay`, once per thread count.
#[test]
#[ignore = "run by issue_18_12_csv_on_stdin_matches_columns_by_header with its input on stdin"]
fn csv_stdin_child() {
    for threads in [1, 2] {
        let job = Job::builder().threads(threads).split_size(64).build().unwrap();
        let rows = flight_rows(&job);
        println!("threads={threads} {}", rows.join(" "));
    }
}

/// The child half with `--stdin stream`: one job, one read of `-`.
#[test]
#[ignore = "run by issue_15_1_streamed_csv_on_stdin_matches_columns_by_header with its input on stdin"]
fn csv_stdin_stream_child() {
    let job = Job::builder().threads(2).split_size(64).stdin(shoal::plan::StdinMode::Stream).build().unwrap();
    if std::env::var_os("SHOAL_TEST_HEADERS_FIRST").is_some() {
        println!("headers: {}", job.csv("-").headers().unwrap_err());
        return;
    }
    let rows = flight_rows(&job);
    println!("streamed {}", rows.join(" "));
    let again = job.csv("-").rows::<Flight>().count().unwrap_err().to_string();
    println!("again: {again}");
}

/// The flights CSV and the rows it should give, as the child prints them.
fn flights() -> (String, Vec<String>) {
    let mut csv = String::from("year,month,day,dep_delay\n");
    let mut want = Vec::new();
    for i in 0..40i32 {
        let (year, month, delay) = (2013 + i % 3, 1 + i % 12, i - 7);
        csv.push_str(&format!("{year},{month},{},{delay}\n", 1 + i % 28));
        want.push(format!("{year}-{month:02}:{delay}"));
    }
    (csv, want)
}

/// Runs the ignored test `child` of this binary with `input` on its
/// standard input; its standard output.
fn run_child(child: &str, input: &str, env: &[(&str, &str)]) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", child, "--nocapture", "--test-threads", "1"])
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Issue 15.1: streamed (`--stdin stream`), CSV on standard input is
/// parsed as it arrives, with its header naming the columns, in input
/// order; a second read, or `headers()` before the records, is an error
/// that names `--stdin spool`.
#[test]
fn issue_15_1_streamed_csv_on_stdin_matches_columns_by_header() {
    let (csv, want) = flights();
    let stdout = run_child("stdin::csv_stdin_stream_child", &csv, &[]);
    let line = format!("streamed {}", want.join(" "));
    assert!(stdout.lines().any(|l| l.ends_with(&line)), "want {line}\nin\n{stdout}");
    assert!(stdout.contains("again: ") && stdout.contains("--stdin spool"), "{stdout}");
    // `headers()` cannot read the header ahead of a stream's records.
    let stdout = run_child("stdin::csv_stdin_stream_child", &csv, &[("SHOAL_TEST_HEADERS_FIRST", "1")]);
    assert!(stdout.contains("headers: -: headers() cannot read a streamed standard input"), "{stdout}");
}

#[test]
fn issue_18_12_csv_on_stdin_matches_columns_by_header() {
    let (csv, want) = flights();
    let stdout = run_child("stdin::csv_stdin_child", &csv, &[]);
    for threads in [1, 2] {
        let line = format!("threads={threads} {}", want.join(" "));
        assert!(stdout.lines().any(|l| l.ends_with(&line)), "want {line}\nin\n{stdout}");
    }
}
