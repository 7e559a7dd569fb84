//! Bad input gives clear errors: what, where, and which split.

use crate::util::{Dir, job};
use shoal::prelude::*;
use shoal::read::MmapChoice;
use shoal::{ErrorKind, Job};

fn one() -> Job {
    job(2, 8, MmapChoice::Auto)
}

#[test]
fn missing_paths_empty_directories_and_unmatched_globs_are_errors() {
    let dir = Dir::new();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    let job = one();
    let missing = job.lines(dir.path().join("nope.txt")).count().unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("nope.txt"), "{missing}");
    let empty = job.lines(dir.path().join("empty")).count().unwrap_err();
    assert_eq!(empty.kind(), ErrorKind::NoInput);
    let glob = job.lines(format!("{}/*.csv", dir.path().display())).count().unwrap_err();
    assert_eq!(glob.kind(), ErrorKind::NoInput);
    #[cfg(unix)]
    {
        let link = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("gone"), &link).unwrap();
        let err = job.lines(&link).count().unwrap_err();
        assert!(err.to_string().contains("dangling"), "{err}");
    }
}

#[test]
fn an_unreadable_file_is_an_error() {
    // Root reads everything, so only check where permissions bite.
    if unsafe_free_is_root() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = Dir::new();
    let path = dir.write("secret.txt", "x\n");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let err = one().lines(&path).count().unwrap_err();
    assert!(err.to_string().contains("secret.txt"), "{err}");
}

fn unsafe_free_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

#[test]
fn a_bad_record_names_file_line_and_offset() {
    let dir = Dir::new();
    let path = dir.write("w.txt", "a;1\nb;2\nc;x\nd;4\n");
    for (label, job) in crate::util::configs([1, 3, 100]) {
        let err = job
            .lines(&path)
            .try_map(|line: &str| line.split_once(';').unwrap().1.parse::<i64>())
            .sum::<i64>()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::User, "{label}");
        assert_eq!(err.path(), Some(path.as_path()), "{label}");
        assert_eq!(err.line(), Some(3), "{label}");
        assert_eq!(err.offset(), Some(8), "{label}");
        assert!(err.to_string().contains("line 3 (byte 8)"), "{label}: {err}");
    }
}

#[test]
fn invalid_utf8_names_the_line() {
    let dir = Dir::new();
    let path = dir.write("bin.txt", b"ok\nfine\nbad \xff here\n");
    let err = one().lines(&path).count().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!((err.line(), err.offset()), (Some(3), Some(8)), "{err}");
    // Byte lines do not validate.
    assert_eq!(one().byte_lines(&path).count().unwrap(), 3);
}

#[test]
fn a_panic_in_user_code_names_the_split() {
    let dir = Dir::new();
    let path = dir.write("p.txt", "1\n2\n3\nboom\n5\n");
    let err = one()
        .lines(&path)
        .map(|l: &str| if l == "boom" { panic!("cannot parse {l}") } else { l.len() })
        .count()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panic);
    let text = err.to_string();
    assert!(text.contains("cannot parse boom"), "{text}");
    assert!(text.contains("p.txt bytes"), "{text}");
}

#[test]
fn bad_configuration_is_rejected() {
    assert_eq!(Job::builder().threads(0).build().unwrap_err().kind(), ErrorKind::Config);
    assert_eq!(Job::builder().split_size(0).build().unwrap_err().kind(), ErrorKind::Config);
}

#[test]
fn a_panicking_split_still_ends_its_report() {
    // One thread: the split runs on this thread, so a report left open by
    // the panic would swallow what this thread counts afterwards.
    let job = job(1, 4, MmapChoice::Auto);
    let err = job
        .range(0..10u32)
        .inspect(|&i| {
            shoal::report::count("seen", 1);
            assert!(i != 5, "boom at five");
        })
        .count()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Panic);
    shoal::report::count("after", 1);
    assert_eq!(job.range(0..3u32).count().unwrap(), 3);
    assert_eq!(job.report().counters.get("after"), Some(&1), "{:?}", job.report().counters);
}
