//! Atomic commits: a failed or interrupted write leaves the old output.

use crate::util::{Row, names, rows, tree};
use shoal::prelude::*;
use shoal_connectors::sink::{Output, SinkExt};

#[test]
fn a_commit_interrupted_part_way_leaves_the_old_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let job = Job::builder().threads(2).split_size(3).build().unwrap();
    job.iter(rows())
        .map(|r: &Row| r.clone())
        .write(Output::csv(&out).partition_by("key", |r: &Row| r.key.clone()))
        .unwrap();
    let before = tree(&out);
    // The second run fails while writing its partitions: the folder of the
    // last key (in sorted order) has a name longer than the file system
    // allows, so some partitions are already written when it fails.
    let long = "z".repeat(300);
    let err = job
        .iter(rows())
        .map(|r: &Row| Row { key: if r.id == 7 { long.clone() } else { format!("new-{}", r.id % 3) }, ..r.clone() })
        .write(Output::csv(&out).partition_by("key", |r: &Row| r.key.clone()))
        .unwrap_err();
    assert!(err.to_string().contains("cannot create partition folder"), "{err}");
    assert_eq!(err.path().map(|p| p.starts_with(dir.path())), Some(true), "{err}");
    assert_eq!(tree(&out), before, "old output untouched");
    assert_eq!(names(dir.path()), ["out"], "no staging folder left behind");
    // A successful run replaces the old output whole.
    job.iter(rows())
        .map(|r: &Row| Row { key: "one".into(), ..r.clone() })
        .write(Output::csv(&out).partition_by("key", |r: &Row| r.key.clone()))
        .unwrap();
    assert_eq!(names(&out), ["key=one"]);
    assert_eq!(names(dir.path()), ["out"]);
}

#[test]
fn a_failing_pipeline_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.jsonl");
    std::fs::write(&out, "old\n").unwrap();
    let job = Job::builder().threads(2).split_size(3).build().unwrap();
    let err = job
        .range(0..100u64)
        .try_map(|n| if n == 77 { Err("row 77 is cursed") } else { Ok(n) })
        .write(Output::json_lines(&out))
        .unwrap_err();
    assert!(err.to_string().contains("cursed"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
    assert_eq!(names(dir.path()), ["r.jsonl"]);
}

#[test]
fn a_killed_writer_leaves_nothing_after_the_next_run() {
    // What a process killed between staging and commit leaves behind: a
    // staging folder named after a process that no longer exists.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let stale = dir.path().join(".out.csv.shoal-tmp-4294967290-0");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("out.csv"), "half").unwrap();
    let job = Job::builder().threads(2).build().unwrap();
    job.range(0..3u64).write(Output::csv(&out)).unwrap();
    assert_eq!(names(dir.path()), ["out.csv"]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "0\n1\n2\n");
}
