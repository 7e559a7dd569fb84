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
    // Quarantine does not create missing folders.
    std::fs::create_dir(dir.path().join("rejects")).unwrap();
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

/// A row that the JSON-lines sink cannot encode when `n == 2`.
struct Unencodable(u64);

impl serde::Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 2 { Err(serde::ser::Error::custom("row 2 cannot be encoded")) } else { s.serialize_u64(self.0) }
    }
}

/// Issue 14.4: a sink's encoding failure is not a malformed input record,
/// so `skip` does not count it as one: the job fails, naming the record.
#[test]
fn issue_14_4_a_sink_failure_fails_the_job_under_skip() {
    use shoal_connectors::sink::{Output, SinkExt};
    let dir = Dir::new();
    let path = dir.write("n.csv", "n\n1\n2\n3\n");
    for (i, (label, job)) in configs([1, 4, 1000]).into_iter().enumerate() {
        let out = dir.path().join(format!("out-{i}.jsonl"));
        let err = job
            .csv(&path)
            .on_malformed(OnMalformed::Skip)
            .string_records()
            .map(|r| Unencodable(r[0].parse().unwrap_or(0)))
            .write(Output::json_lines(&out))
            .unwrap_err();
        assert_ne!(err.kind(), ErrorKind::Malformed, "{label}: {err}");
        assert!(err.to_string().contains("row 2 cannot be encoded"), "{label}: {err}");
        assert!(err.to_string().contains("n.csv: line 3 (byte 4)"), "{label}: {err}");
        assert_eq!(job.report().rejects.count, 0, "{label}: nothing counted as rejected");
        assert!(!out.exists(), "{label}: no output");
    }
}

/// Issue 14.4: a stage's `Error::malformed` is still a rejected record, with
/// file, line and offset, under every policy.
#[test]
fn issue_14_4_a_stage_malformed_is_rejected_with_file_line_and_offset() {
    let dir = Dir::new();
    let path = dir.write("v.csv", "v\n1\nx\n3\n");
    let parse = |r: &csv::StringRecord| r[0].parse::<u64>().map_err(|_| shoal::Error::malformed("not a number"));
    for (label, job) in configs([1, 4, 1000]) {
        let sum = job.csv(&path).on_malformed(OnMalformed::Skip).string_records().try_map(parse).sum().unwrap();
        assert_eq!(sum, 4, "{label}");
        let report = job.report();
        assert_eq!(report.rejects.count, 1, "{label}");
        let sample = &report.rejects.samples[0];
        assert_eq!((sample.path.as_path(), sample.line, sample.offset), (path.as_path(), Some(3), 4), "{label}");
        assert_eq!((sample.reason.as_str(), sample.record.as_str()), ("not a number", "x"), "{label}");
        let err = job.csv(&path).string_records().try_map(parse).sum().unwrap_err();
        assert_eq!((err.path(), err.line(), err.offset()), (Some(path.as_path()), Some(3), Some(4)), "{label}");
        assert!(err.to_string().contains("not a number"), "{label}: {err}");
    }
}

/// Issue 18.15: the CSV source counts the records it reads, so the default
/// ceiling fails a file of ragged rows, with the counts, in every config.
#[test]
fn issue_18_15_a_file_of_ragged_rows_fails_over_the_ceiling() {
    let dir = Dir::new();
    let mut text = String::from("a,b\n1,2\n");
    for i in 0..200 {
        text.push_str(&format!("{i}\n"));
    }
    let path = dir.write("ragged.csv", text);
    for (label, job) in configs([1, 64, 1000]) {
        let err = run(&job, &path, OnMalformed::Skip).unwrap_err();
        assert!(
            err.to_string().starts_with("too many malformed records: 200 of 201 records read (99.5%)"),
            "{label}: {err}"
        );
        assert!(err.to_string().contains("ragged.csv:3 (byte 8): 1 fields, expected 2"), "{label}: {err}");
    }
}

/// Issue 18.4: a record over the job's `--max-record-size` (here one with
/// quoted line breaks) is malformed: the policy handles it and only a
/// bounded prefix is kept; a gzip stream without line breaks does not fill
/// memory: its record is rejected as soon as it passes the limit.
#[test]
fn issue_18_4_records_over_the_maximum_size_follow_the_policy() {
    let dir = Dir::new();
    let mut text = b"a,b\n1,2\n".to_vec();
    let long_at = text.len() as u64;
    text.extend(b"\"");
    for _ in 0..300 {
        text.extend(b"0123456789\n");
    }
    text.extend(b"\",3\n4,5\n");
    let path = dir.write("long.csv", &text);
    let max = 1000u64;
    for split in [64, 4096, 1 << 20] {
        for threads in [1, 2] {
            let job = Job::builder().threads(threads).split_size(split).max_record_size(max).build().unwrap();
            let label = format!("split={split} threads={threads}");
            let (good, rows, rejected) = run(&job, &path, OnMalformed::Skip).unwrap();
            assert_eq!((good, rows, rejected), (2, 3, 1), "{label}");
            let sample = &job.report().rejects.samples[0];
            assert_eq!((sample.line, sample.offset), (Some(3), long_at), "{label}");
            assert!(sample.reason.contains("maximum record size of 1000 bytes"), "{label}: {}", sample.reason);
            let err = run(&job, &path, OnMalformed::Fail).unwrap_err();
            assert_eq!((err.line(), err.offset()), (Some(3), Some(long_at)), "{label}: {err}");
            let q = dir.path().join(format!("q-{split}-{threads}.jsonl"));
            run(&job, &path, OnMalformed::Quarantine(q.clone())).unwrap();
            let line: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&q).unwrap().trim()).unwrap();
            assert_eq!(line["record"].as_str().map(str::len), Some(max as usize), "{label}: a bounded prefix");
        }
    }
    // Within the limit the record is data.
    let job = Job::builder().threads(2).split_size(64).build().unwrap();
    assert_eq!(run(&job, &path, OnMalformed::Fail).unwrap(), (3, 3, 0));
    // A stream that never breaks a line fails at the limit.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, b"a,b\n").unwrap();
    std::io::Write::write_all(&mut enc, &vec![b'z'; 4 << 20]).unwrap();
    let gz = dir.write("endless.csv.gz", enc.finish().unwrap());
    let job = Job::builder().threads(1).max_record_size(64 << 10).build().unwrap();
    let err = run(&job, &gz, OnMalformed::Fail).unwrap_err();
    assert_eq!((err.path(), err.line(), err.offset()), (Some(gz.as_path()), Some(2), Some(4)), "{err}");
    // Issue 15.1: streamed, such a record follows the policy like a mapped
    // one (it is read past without being held).
    assert_eq!(run(&job, &gz, OnMalformed::Skip).unwrap(), (0, 1, 1));
    let sample = &job.report().rejects.samples[0];
    assert_eq!((sample.line, sample.offset), (Some(2), 4));
}
