//! Issue 18.4: a maximum record length for line sources, in bounded memory
//! for mapped files, streams, pipes and endless special files.

use crate::util::{Dir, configs};
use shoal::prelude::*;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn probe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples/probe")
}

#[test]
fn issue_18_4_a_line_over_the_limit_in_a_mapped_file_is_an_error_naming_it() {
    let dir = Dir::new();
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!("line {i}\n"));
    }
    let offset = text.len() as u64;
    text.push_str(&"x".repeat(300_000));
    text.push_str("\nafter\n");
    let path = dir.write("long.txt", &text);
    for (name, job) in configs([64, 4096, 1 << 20]) {
        let err = job.lines(&path).max_record_size(1000).count().unwrap_err();
        assert_eq!(err.path(), Some(path.as_path()), "{name}: {err}");
        assert_eq!((err.line(), err.offset()), (Some(201), Some(offset)), "{name}: {err}");
        assert!(err.to_string().contains("maximum record size of 1000 bytes"), "{name}: {err}");
        // Within the limit, every line is read.
        assert_eq!(job.lines(&path).max_record_size(300_000).count().unwrap(), 202, "{name}");
    }
    // The job's limit (--max-record-size) applies when the source sets none.
    let job = Job::builder().threads(2).max_record_size(1000).build().unwrap();
    let err = job.byte_lines(&path).count().unwrap_err();
    assert_eq!((err.line(), err.offset()), (Some(201), Some(offset)), "{err}");
}

#[test]
fn issue_18_4_a_line_over_the_limit_in_a_pipe_is_an_error_naming_it() {
    let mut child = Command::new(probe())
        .args(["-t", "2", "--max-record-size", "1K", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(b"one\ntwo\n");
        let _ = stdin.write_all(&vec![b'p'; 1 << 20]);
        let _ = stdin.write_all(b"\nthree\n");
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("error: /dev/stdin: line 3 (byte 8): record is longer than the maximum record size of 1024 bytes"),
        "{err}"
    );
}

#[test]
fn issue_18_4_dev_zero_with_a_small_limit_ends_with_the_error_quickly() {
    let start = Instant::now();
    let out = Command::new(probe()).args(["--max-record-size", "64K", "/dev/zero"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("error: /dev/zero: line 1 (byte 0): record is longer than the maximum"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
}
