//! Inputs: compressed and plain files mixed, directory walking options,
//! truncated compressed files, and standard input.

use crate::util::{ACCESS, Dir, SIZES, configs};
use shoal::prelude::*;
use shoal::{ErrorKind, OnMalformed};
use shoal_connectors::logs::LogsExt;

/// The paths of the access records of `inputs` (walked), in input order.
fn paths(
    job: &Job,
    source: shoal_connectors::logs::LogSource<'_, shoal_connectors::logs::AccessLogParser>,
) -> Vec<String> {
    let _ = job;
    source.map(|r| r.path.to_string()).collect().unwrap()
}

#[test]
fn plain_gzip_and_zstd_files_mix_in_one_directory() {
    let dir = Dir::new();
    let crlf = ACCESS.replace('\n', "\r\n");
    dir.write("a/0.log", ACCESS);
    dir.write_gz("a/1.log.gz", &crlf);
    dir.write_zst("b/2.log.zst", ACCESS);
    dir.write("b/3.log.gz", ""); // zero bytes: empty, not an error
    dir.write_gz("b/4.log.gz", ""); // an empty gzip stream
    dir.write("c/5.log", &crlf[..crlf.len() - 2]); // no final line end
    let want: Vec<String> = (0..4)
        .flat_map(|_| ACCESS.lines().map(|l| l.split('"').nth(1).unwrap().split(' ').nth(1).unwrap().to_string()))
        .collect();
    for (label, job) in configs(SIZES) {
        let got = paths(&job, job.access_log(dir.path()));
        assert_eq!(got, want, "{label}");
    }
}

#[test]
fn a_truncated_gzip_file_is_an_error_naming_it() {
    let dir = Dir::new();
    dir.write("ok.log", ACCESS);
    let whole = dir.write_gz("cut.log.gz", ACCESS.repeat(200));
    let bytes = std::fs::read(&whole).unwrap();
    std::fs::write(&whole, &bytes[..bytes.len() / 2]).unwrap();
    for (label, job) in configs([64, 1 << 20]) {
        // Not a malformed line: skipping cannot make a broken file whole.
        let err = job.access_log(dir.path()).on_malformed(OnMalformed::Skip).count().unwrap_err();
        assert_eq!(err.path(), Some(whole.as_path()), "{label}: {err}");
        assert!(err.to_string().contains("decompress"), "{label}: {err}");
    }
}

#[test]
fn include_exclude_hidden_and_symlinks() {
    let dir = Dir::new();
    dir.write("logs/a.log", ACCESS);
    dir.write_gz("logs/old/b.log.gz", ACCESS);
    dir.write("logs/notes.txt", "not a log\n");
    dir.write("logs/.cache/c.log", ACCESS);
    dir.write("elsewhere/d.log", ACCESS);
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), dir.path().join("logs/linked")).unwrap();
    let job = Job::builder().threads(2).build().unwrap();
    let count =
        |source: shoal_connectors::logs::LogSource<'_, _>| source.on_malformed(OnMalformed::Skip).count().unwrap();
    let logs = dir.path().join("logs");
    // Default: no hidden entries, no links; notes.txt is malformed.
    assert_eq!(count(job.access_log(&logs)), 8);
    assert_eq!(job.report().rejects.count, 1);
    assert_eq!(count(job.access_log(&logs).include("*.log")), 4);
    assert_eq!(count(job.access_log(&logs).include("*.log").include("*.log.gz")), 8);
    assert_eq!(count(job.access_log(&logs).exclude("old/**").exclude("*.txt")), 4);
    assert_eq!(count(job.access_log(&logs).include("*.log").hidden(true)), 8);
    assert_eq!(count(job.access_log(&logs).include("*.log").follow_links(true)), 8);
    assert_eq!(count(job.access_log(&logs).include("*.log").hidden(true).follow_links(true)), 12);
    // A glob that matches nothing is an error, not an empty result.
    let err = job.access_log(&logs).include("*.csv").count().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoInput);
}

/// Runs in a child process (see `standard_input_is_a_source`): counts the
/// records on standard input.
#[test]
#[ignore = "run by standard_input_is_a_source in a child process"]
fn stdin_child() {
    if std::env::var_os("SHOAL_TEST_STDIN_CHILD").is_none() {
        return;
    }
    let job = Job::builder().threads(2).build().unwrap();
    let bytes: u64 = job.access_log("-").on_malformed(OnMalformed::Skip).map(|r| r.bytes.unwrap_or(0)).sum().unwrap();
    println!("STDIN-RESULT bytes={bytes} rejects={}", job.report().rejects.count);
}

#[test]
fn standard_input_is_a_source() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "inputs::stdin_child", "--include-ignored", "--nocapture", "--test-threads", "1"])
        .env("SHOAL_TEST_STDIN_CHILD", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{ACCESS}not a log line\r\n{ACCESS}").as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("STDIN-RESULT bytes=75306 rejects=1"), "{text}");
}
