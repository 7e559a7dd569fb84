//! Malformed records under every policy: fail, skip, quarantine.

use crate::util::{Dir, configs};
use shoal::prelude::*;
use shoal::{ErrorKind, OnMalformed};
use shoal_connectors::csv::{CsvExt, REJECTED, ROWS};

/// Runs `count` of string records under `policy` and returns the good rows
/// and the job's counters.
fn run(job: &Job, path: &std::path::Path, policy: OnMalformed) -> shoal::Result<(u64, u64, u64)> {
    let before = job.report();
    let good = job.csv(path).on_malformed(policy).string_records().count()?;
    let after = job.report();
    let rows = after.counter(ROWS) - before.counter(ROWS);
    let rejected = after.counter(REJECTED) - before.counter(REJECTED);
    Ok((good, rows, rejected))
}

struct Case {
    name: &'static str,
    text: &'static [u8],
    /// Line and byte offset of the first bad record.
    first_bad: (u64, u64),
    /// Line and byte offset of every bad record (`fail` may stop at any).
    bad: &'static [(u64, u64)],
    reason: &'static str,
    good: u64,
    rejected: u64,
}

const CASES: &[Case] = &[
    Case {
        name: "ragged",
        text: b"a,b\n1,2\n3\n4,5,6\n\"7\n\",8\n",
        first_bad: (3, 8),
        bad: &[(3, 8), (4, 10)],
        reason: "fields, expected 2",
        good: 2,
        rejected: 2,
    },
    Case {
        name: "unterminated",
        text: b"a,b\n1,2\n\"3,4\n5,6\n",
        first_bad: (3, 8),
        bad: &[(3, 8)],
        reason: "unterminated quoted field",
        good: 1,
        rejected: 1,
    },
    Case {
        name: "utf8",
        text: b"a,b\n1,2\nbad\xff,3\n4,\"x\ny\"\n",
        first_bad: (3, 8),
        bad: &[(3, 8)],
        reason: "column \"a\" (field 1) is not valid UTF-8 (at byte 3 of the field): \"bad\u{fffd}\"",
        good: 2,
        rejected: 1,
    },
];

#[test]
fn fail_names_file_line_offset_and_record() {
    let dir = Dir::new();
    for case in CASES {
        let path = dir.write(&format!("{}.csv", case.name), case.text);
        for (label, job) in configs([1, 4, 9, 1000]) {
            let err = run(&job, &path, OnMalformed::Fail).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{} {label}: {err}", case.name);
            assert_eq!(err.path(), Some(path.as_path()), "{} {label}", case.name);
            let at = (err.line().unwrap(), err.offset().unwrap());
            assert!(case.bad.contains(&at), "{} {label}: {err}", case.name);
            assert!(err.to_string().contains(case.reason), "{} {label}: {err}", case.name);
            assert!(err.to_string().contains("record starts"), "{} {label}: {err}", case.name);
        }
    }
}

#[test]
fn skip_counts_and_samples() {
    let dir = Dir::new();
    for case in CASES {
        let path = dir.write(&format!("{}.csv", case.name), case.text);
        for (label, job) in configs([1, 4, 9, 1000]) {
            let (good, rows, rejected) = run(&job, &path, OnMalformed::Skip).unwrap();
            assert_eq!((good, rejected), (case.good, case.rejected), "{} {label}", case.name);
            assert_eq!(good + rejected, rows, "{} {label}: nothing is lost", case.name);
            let report = job.report();
            let first = &report.rejects.samples[0];
            assert_eq!((first.line, first.offset), (Some(case.first_bad.0), case.first_bad.1), "{} {label}", case.name);
            assert!(first.reason.contains(case.reason), "{} {label}: {}", case.name, first.reason);
        }
    }
}

#[test]
fn quarantine_writes_every_rejected_record() {
    let dir = Dir::new();
    for case in CASES {
        let path = dir.write(&format!("{}.csv", case.name), case.text);
        for (i, (label, job)) in configs([1, 4, 1000]).into_iter().enumerate() {
            let out = dir.path().join(format!("rejects/{}-{i}.jsonl", case.name));
            let (good, rows, rejected) = run(&job, &path, OnMalformed::Quarantine(out.clone())).unwrap();
            assert_eq!(good + rejected, rows, "{} {label}", case.name);
            let text = std::fs::read_to_string(&out).unwrap();
            let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            assert_eq!(lines.len() as u64, case.rejected, "{} {label}: {text}", case.name);
            assert_eq!(lines[0]["line"], case.first_bad.0, "{} {label}", case.name);
            assert_eq!(lines[0]["offset"], case.first_bad.1, "{} {label}", case.name);
            assert_eq!(lines[0]["file"], path.display().to_string(), "{} {label}", case.name);
            assert!(lines[0]["reason"].as_str().unwrap().contains(case.reason), "{} {label}", case.name);
        }
    }
}

#[test]
fn typed_rows_reject_fields_that_do_not_deserialize() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Row {
        a: String,
        b: u32,
    }
    let dir = Dir::new();
    let path = dir.write("t.csv", b"a,b\nx,1\ny,zz\nq\xff,3\nw,4\n");
    for (label, job) in configs([1, 6, 1000]) {
        let good = job.csv(&path).on_malformed(OnMalformed::Skip).rows::<Row>().count().unwrap();
        assert_eq!(good, 2, "{label}");
        let err = job.csv(&path).rows::<Row>().count().unwrap_err();
        // `fail` stops at whichever bad record a thread meets first.
        match (err.line(), err.offset()) {
            (Some(3), Some(8)) => {
                let want = r#"column "b" (field 2): invalid digit found in string: "zz""#;
                assert!(err.to_string().contains(want), "{label}: {err}")
            }
            (Some(4), Some(13)) => {
                assert!(err.to_string().contains(r#"column "a" (field 1): invalid utf-8"#), "{label}: {err}")
            }
            _ => panic!("{label}: {err}"),
        }
        // Raw records take any bytes.
        assert_eq!(job.csv(&path).records().count().unwrap(), 4, "{label}");
    }
}
