//! The options every file source shares (`shoal::plumbing::FileSource`):
//! the same methods, with the same meaning, on lines and on the connectors'
//! sources (tested there).

use crate::util::Dir;
use shoal::prelude::*;

#[test]
fn lines_take_include_exclude_and_split_size() {
    let dir = Dir::new();
    dir.write("a.log", "1\n2\n");
    dir.write("b.txt", "3\n");
    dir.write("sub/c.log", "4\n5\n6\n");
    dir.write("sub/d.txt", "7\n");
    let job = Job::builder().threads(2).build().unwrap();
    let all = job.lines(dir.path()).count().unwrap();
    assert_eq!(all, 7);
    let logs = job.lines(dir.path()).include("*.log").split_size(1).count().unwrap();
    assert_eq!(logs, 5, "a.log and sub/c.log");
    let no_txt = job.lines(dir.path()).exclude("*.txt").count().unwrap();
    assert_eq!(no_txt, 5);
    let plan = job.lines(dir.path()).include("*.log").split_size(1).explain().unwrap();
    assert_eq!(plan.files.len(), 2);
    assert!(plan.splits.len() >= 5, "a split size of one byte cuts every line apart: {plan}");
}

#[test]
fn lines_take_max_record_size() {
    let dir = Dir::new();
    let path = dir.write("long.txt", format!("ok\n{}\nok\n", "x".repeat(100)));
    let job = Job::builder().threads(1).build().unwrap();
    assert_eq!(job.lines(&path).count().unwrap(), 3);
    let err = job.lines(&path).max_record_size(50).count().unwrap_err();
    assert_eq!((err.line(), err.offset()), (Some(2), Some(3)), "{err}");
}
