//! What every program gets from `shoal::main`: the standard flags on a
//! parser that does not declare them, `--explain`, and diagnostics that
//! never panic.

use crate::util::Dir;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The probe program, built by `cargo test` next to this test binary. Its
/// parser declares only its own flags: `shoal::main` adds the standard ones.
fn probe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples/probe")
}

#[test]
fn standard_flags_are_added_to_a_parser_without_them() {
    let out = Command::new(probe()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{help}");
    for flag in ["--threads", "--processes", "--split-size", "--explain", "Shoal options", "--sleep-ms"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    let bad = Command::new(probe()).args(["--threads", "zero"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "a usage error exits 2");
}

#[test]
fn explain_shows_the_plan_the_stages_and_the_action() {
    let dir = Dir::new();
    let path = dir.write("a.txt", "x1\ny2\nx3\n");
    let out = Command::new(probe()).args(["--explain", "-t", "1", path.to_str().unwrap()]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("plan: 1 file, "), "{err}");
    assert!(err.contains(&format!("pipeline: lines({}) -> inspect -> try_map", path.display())), "{err}");
    assert!(err.contains("action: AggregateByKey<String, (u64, u64)>"), "{err}");
}

/// Stderr that cannot be written: a full disk, or a pipe nobody reads.
/// (A closed fd 2 is reopened on /dev/null by Rust's runtime at start, so
/// these are the cases that made `eprintln!` panic with exit 101.)
fn broken_stderrs() -> Vec<(&'static str, Stdio)> {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    vec![("/dev/full", Stdio::from(full)), ("a closed pipe", Stdio::from(writer))]
}

#[test]
fn an_unwritable_stderr_never_panics() {
    let dir = Dir::new();
    let path = dir.write("a.txt", "x1\n");
    let missing = dir.path().join("missing.txt");
    // Success with --explain (which writes to stderr), a usage error and a
    // failed job (an `error:` line): the exit status is the job's, never a
    // panic's 101.
    let cases: [(&[&str], &std::path::Path, i32); 3] =
        [(&["--explain"], &path, 0), (&["--threads", "0"], &path, 2), (&[], &missing, 1)];
    for (args, input, code) in cases {
        for (what, stderr) in broken_stderrs() {
            let status =
                Command::new(probe()).args(args).arg(input).stdout(Stdio::null()).stderr(stderr).status().unwrap();
            assert_eq!(status.code(), Some(code), "{args:?} with stderr on {what}");
        }
    }
}
