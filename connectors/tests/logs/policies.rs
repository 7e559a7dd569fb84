//! Malformed lines under every policy, through every configuration.

use crate::util::{ACCESS, Dir, SIZES, configs};
use shoal::prelude::*;
use shoal::{ErrorKind, OnMalformed};
use shoal_connectors::logs::{LogsExt, NOT_UTF8};

/// Good lines with a truncated line, a garbage line, invalid UTF-8 and a
/// blank line among them.
fn mixed() -> Vec<u8> {
    let mut text = Vec::new();
    let lines: Vec<&str> = ACCESS.lines().collect();
    text.extend_from_slice(lines[0].as_bytes());
    text.extend_from_slice(b"\n");
    text.extend_from_slice(&lines[1].as_bytes()[..40]); // truncated
    text.extend_from_slice(b"\r\n");
    text.extend_from_slice(lines[2].as_bytes());
    text.extend_from_slice(b"\n\x00\xff\xfe garbage \x80\n"); // binary
    text.extend_from_slice(&lines[3].as_bytes().iter().map(|&b| if b == b'Z' { 0xE9 } else { b }).collect::<Vec<u8>>()); // Latin-1
    text.extend_from_slice(b"\n\n");
    text.extend_from_slice(lines[1].as_bytes());
    text.extend_from_slice(b"\n");
    text
}

#[test]
fn skip_counts_and_samples_every_bad_line() {
    let dir = Dir::new();
    let path = dir.write("mixed.log", mixed());
    let gz = dir.write_gz("gz/mixed.log.gz", mixed());
    for input in [&path, &gz] {
        for (label, job) in configs(SIZES) {
            let statuses: Vec<u16> =
                job.access_log(input).on_malformed(OnMalformed::Skip).map(|r| r.status).collect().unwrap();
            assert_eq!(statuses, [200, 304, 201], "{label} {}", input.display());
            let report = job.report();
            assert_eq!(report.rejects.count, 4, "{label}");
            let reasons: Vec<&str> = report.rejects.samples.iter().map(|s| s.reason.as_str()).collect();
            assert_eq!(reasons[2], NOT_UTF8, "{label}");
            assert_eq!(reasons[3], "no host", "{label}: the blank line");
            let offsets: Vec<u64> = report.rejects.samples.iter().map(|s| s.offset).collect();
            let first = ACCESS.lines().next().unwrap().len() as u64 + 1;
            assert_eq!(offsets[0], first, "{label}");
            assert_eq!(report.rejects.samples[0].record.len(), 40, "{label}: CR not part of the record");
        }
    }
}

#[test]
fn fail_names_file_line_and_byte() {
    let dir = Dir::new();
    let path = dir.write("mixed.log", mixed());
    let gz = dir.write_gz("mixed.log.gz", mixed());
    for input in [&path, &gz] {
        for (label, job) in configs(SIZES) {
            let err = job.access_log(input).count().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{label}");
            assert_eq!(err.path(), Some(input.as_path()), "{label}");
            // Threads stop at the first failure they see, so with several the
            // error may be any bad line (2: truncated, 4: binary, 5: Latin-1, 6: blank).
            let line = err.line().unwrap();
            assert!([2, 4, 5, 6].contains(&line), "{label}: {err}");
            assert!(err.to_string().contains(&format!("line {line} (byte ")), "{label}: {err}");
            if job.config().threads() == 1 || input == &gz {
                assert_eq!(line, 2, "{label}: {err}");
            }
        }
    }
    // Invalid UTF-8 fails the same way, as a malformed line.
    let bad = dir.write("bad.log", b"\xff\n");
    let err = Job::builder().threads(1).build().unwrap().access_log(&bad).count().unwrap_err();
    assert!(err.to_string().contains(NOT_UTF8), "{err}");
}

#[test]
fn quarantine_writes_every_bad_line_once() {
    let dir = Dir::new();
    let path = dir.write("mixed.log", mixed());
    for (label, job) in configs(SIZES) {
        let q = dir.path().join(format!("q-{}.jsonl", label.replace([' ', '='], "_")));
        let n = job.access_log(&path).on_malformed(OnMalformed::Quarantine(q.clone())).count().unwrap();
        assert_eq!(n, 3, "{label}");
        let lines: Vec<serde_json::Value> =
            std::fs::read_to_string(&q).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 4, "{label}");
        assert_eq!(lines[1]["record"], "\u{0}\u{fffd}\u{fffd} garbage \u{fffd}", "{label}");
        assert!(lines.windows(2).all(|w| w[0]["offset"].as_u64() < w[1]["offset"].as_u64()), "{label}");
    }
}

#[test]
fn every_format_follows_the_policy() {
    use shoal_connectors::json::JsonExt;
    let dir = Dir::new();
    let logfmt = dir.write("a.logfmt", "a=1 b=2\nbad=\"unterminated\nc=3\n");
    let syslog = dir.write("syslog", "Oct  9 06:25:01 h app: ok\nnot syslog\n");
    let json = dir.write("a.jsonl", "{\"a\":1}\n{oops}\n[2]\n");
    for (label, job) in configs([1, 1 << 20]) {
        assert_eq!(job.logfmt(&logfmt).on_malformed(OnMalformed::Skip).count().unwrap(), 2, "{label}");
        assert_eq!(job.syslog(&syslog).on_malformed(OnMalformed::Skip).count().unwrap(), 1, "{label}");
        let typed = job.json_lines::<std::collections::BTreeMap<String, u8>>(&json).on_malformed(OnMalformed::Skip);
        assert_eq!(typed.count().unwrap(), 1, "{label}");
        let untyped = job.json_lines::<serde_json::Value>(&json).on_malformed(OnMalformed::Skip);
        assert_eq!(untyped.count().unwrap(), 2, "{label}");
        assert_eq!(job.report().rejects.count, 1 + 1 + 2 + 1, "{label}");
        assert!(job.json_lines::<serde_json::Value>(&json).count().unwrap_err().to_string().contains("bad JSON"));
    }
}

#[test]
fn a_stage_rejects_records_through_the_policy() {
    let dir = Dir::new();
    let path = dir.write("a.log", ACCESS);
    fn not_ok(r: shoal_connectors::logs::AccessRecord<'_>) -> Result<u16, shoal::Error> {
        if r.status == 404 { Err(shoal::Error::malformed("status 404 is not wanted here")) } else { Ok(r.status) }
    }
    for (label, job) in configs(SIZES) {
        let kept: Vec<u16> = job.access_log(&path).on_malformed(OnMalformed::Skip).try_map(not_ok).collect().unwrap();
        assert_eq!(kept, [200, 201, 304], "{label}");
        let report = job.report();
        assert_eq!(report.rejects.count, 1, "{label}");
        assert_eq!(report.rejects.samples[0].reason, "status 404 is not wanted here", "{label}");
        let err = job.access_log(&path).try_map(not_ok).count().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{label}");
        assert!(err.to_string().contains("a.log: line 4"), "{label}: {err}");
    }
}

/// Issue 14.4: under `skip`, a sink that cannot encode a row fails the job
/// instead of counting an input line as malformed.
#[test]
fn issue_14_4_a_sink_failure_fails_the_job_under_skip() {
    use shoal_connectors::sink::{Output, SinkExt};
    struct Unencodable(u16);
    impl serde::Serialize for Unencodable {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if self.0 == 404 {
                Err(serde::ser::Error::custom("404 cannot be encoded"))
            } else {
                s.serialize_u16(self.0)
            }
        }
    }
    let dir = Dir::new();
    let path = dir.write("a.log", ACCESS);
    for (i, (label, job)) in configs(SIZES).into_iter().enumerate() {
        let out = dir.path().join(format!("out-{i}.jsonl"));
        let written = job
            .access_log(&path)
            .on_malformed(OnMalformed::Skip)
            .map(|r| Unencodable(r.status))
            .write(Output::json_lines(&out));
        let err = written.unwrap_err();
        assert!(
            err.to_string().contains("a.log: line 4") && err.to_string().contains("404 cannot be encoded"),
            "{label}: {err}"
        );
        assert_eq!(job.report().rejects.count, 0, "{label}");
        assert!(!out.exists(), "{label}");
    }
}

/// Issue 18.15: a file in which every line is malformed (binary) fails the
/// job under `skip`, over every thread count, split size and reader, saying
/// how many of how many; a ceiling set higher lets it pass.
#[test]
fn issue_18_15_an_all_malformed_file_fails_over_the_ceiling() {
    use shoal::MaxMalformed;
    let dir = Dir::new();
    let binary: Vec<u8> = (0..300u32).flat_map(|i| [0u8, 0xff, b'a' + (i % 26) as u8, b'\n']).collect();
    let path = dir.write("binary.log", binary);
    for (label, job) in configs(SIZES) {
        let err = job.access_log(&path).on_malformed(OnMalformed::Skip).count().unwrap_err();
        assert!(
            err.to_string().starts_with("too many malformed records: 300 of 300 records read (100.0%)"),
            "{label}: {err}"
        );
        assert!(
            err.to_string().contains("\n  ") && err.to_string().contains("(byte 0): line is not valid UTF-8"),
            "{label}: {err}"
        );
        assert_eq!(job.report().rejects.count, 300, "{label}: the rejects are still reported");
    }
    for (ceiling, fails) in
        [(MaxMalformed::Count(300), false), (MaxMalformed::Count(299), true), (MaxMalformed::PerMillion(500_000), true)]
    {
        for threads in [1, 3] {
            let job = Job::builder().threads(threads).split_size(64).max_malformed(ceiling).build().unwrap();
            let counted = job.access_log(&path).on_malformed(OnMalformed::Skip).count();
            assert_eq!(counted.is_err(), fails, "{ceiling} threads={threads}: {counted:?}");
        }
    }
    // A mostly good file passes the default: 1 bad line in 4.
    let job = Job::builder().threads(2).build().unwrap();
    let mixed = dir.write("mixed.log", mixed());
    assert_eq!(job.access_log(&mixed).on_malformed(OnMalformed::Skip).count().unwrap(), 3);
}

/// Issue 18.4: a line over `max_record_size` is a malformed record: the
/// policy handles it, keeping only a bounded prefix, and reading goes on.
#[test]
fn issue_18_4_too_long_lines_follow_the_policy_with_a_bounded_prefix() {
    let dir = Dir::new();
    let lines: Vec<&str> = ACCESS.lines().collect();
    let mut text = format!("{}\n", lines[0]).into_bytes();
    let long_at = text.len() as u64;
    text.extend(vec![b'L'; 200_000]);
    text.extend(format!("\n{}\n{}\n", lines[1], lines[2]).into_bytes());
    let path = dir.write("long.log", &text);
    let gz = dir.write_gz("long.log.gz", &text);
    let max = 1000u64;
    for input in [&path, &gz] {
        for (label, job) in configs(SIZES) {
            let statuses: Vec<u16> = job
                .access_log(input)
                .max_record_size(max)
                .on_malformed(OnMalformed::Skip)
                .map(|r| r.status)
                .collect()
                .unwrap();
            assert_eq!(statuses, [200, 201, 304], "{label} {}", input.display());
            let report = job.report();
            assert_eq!(report.rejects.count, 1, "{label}");
            let sample = &report.rejects.samples[0];
            assert_eq!((sample.offset, sample.line.unwrap_or(2)), (long_at, 2), "{label}");
            assert!(sample.reason.contains("longer than the maximum record size of 1000 bytes"), "{label}");
            let err = job.access_log(input).max_record_size(max).count().unwrap_err();
            assert_eq!(
                (err.path(), err.line(), err.offset()),
                (Some(input.as_path()), Some(2), Some(long_at)),
                "{label}"
            );
        }
    }
    let q = dir.path().join("q.jsonl");
    let job = Job::builder().threads(2).split_size(64).build().unwrap();
    let n = job.access_log(&path).max_record_size(max).on_malformed(OnMalformed::Quarantine(q.clone())).count();
    assert_eq!(n.unwrap(), 3);
    let quarantined: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&q).unwrap().trim()).unwrap();
    assert_eq!(quarantined["record"], "L".repeat(max as usize), "only a bounded prefix is kept");
    assert_eq!(quarantined["offset"].as_u64(), Some(long_at));
}
