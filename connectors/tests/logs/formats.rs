//! Each log format on real-looking samples, read through its source.

use crate::util::{ACCESS, Dir, SIZES, configs};
use shoal::prelude::*;
use shoal_connectors::jiff::tz::Offset;
use shoal_connectors::logs::{AccessFormat, LogsExt, RegexParser, Severity, SyslogFormat, SyslogParser, TimeFormat};
use shoal_connectors::prelude::*;

#[test]
fn access_log_records_through_every_config() {
    let dir = Dir::new();
    let path = dir.write("access.log", ACCESS);
    for (label, job) in configs(SIZES) {
        let rows: Vec<(String, String, u16, Option<u64>, i64, i32)> = job
            .access_log(&path)
            .map(|r| {
                (
                    r.host.to_string(),
                    r.path.to_string(),
                    r.status,
                    r.bytes,
                    r.time.unix_seconds(),
                    r.time.offset().seconds(),
                )
            })
            .collect()
            .unwrap();
        assert_eq!(rows.len(), 4, "{label}");
        assert_eq!(rows[1], ("2001:db8:6d2f:1a::3".into(), "/api/v1/cart".into(), 201, Some(512), 1_760_200_531, 7200));
        assert_eq!(rows[2].3, None, "{label}");
        assert_eq!(rows[3].1, "/wiki/Z\\xC3\\xBCrich", "{label}");
        let users: Vec<Option<String>> = job.access_log(&path).map(|r| r.user.map(str::to_string)).collect().unwrap();
        assert_eq!(users, [None, Some("alice".into()), None, None]);
    }
}

#[test]
fn common_format_lines() {
    let dir = Dir::new();
    let path = dir.write(
        "common.log",
        "127.0.0.1 user-identifier frank [10/Oct/2000:13:55:36 -0700] \"GET /apache_pb.gif HTTP/1.0\" 200 2326\n",
    );
    let job = Job::builder().threads(2).build().unwrap();
    let r: Vec<(Option<String>, u64, String)> = job
        .access_log_as(AccessFormat::Common, &path)
        .map(|r| (r.ident.map(str::to_string), r.bytes.unwrap(), r.time.timestamp().to_string()))
        .collect()
        .unwrap();
    assert_eq!(r, [(Some("user-identifier".into()), 2326, "2000-10-10T20:55:36Z".into())]);
}

#[test]
fn syslog_files_of_both_formats() {
    let dir = Dir::new();
    let path = dir.write(
        "syslog",
        concat!(
            "Oct  9 06:25:01 web-1 CRON[41822]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)\n",
            "Oct  9 06:25:03 web-1 sshd[41830]: Accepted publickey for deploy from 203.0.113.5 port 51514 ssh2\n",
            "<86>Oct  9 06:25:04 web-1 sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/systemctl restart nginx\n",
            "<165>1 2025-10-09T06:25:05.120+02:00 web-1 nginx 731 ACCESS [meta sequenceId=\"29\"] upstream timed out\n",
            "Oct  9 06:25:06 web-1 kernel: [12345.678901] EXT4-fs (sda1): re-mounted. Opts: (null)\n",
        ),
    );
    for (label, job) in configs(SIZES) {
        let parser = SyslogParser::new(SyslogFormat::Auto).year(2025).offset(Offset::from_hours(2).unwrap());
        let rows: Vec<(String, Option<String>, Option<Severity>, String)> = job
            .syslog_with(parser, &path)
            .map(|r| (r.time.unwrap().to_string(), r.app_name.map(str::to_string), r.severity, r.message.to_string()))
            .collect()
            .unwrap();
        assert_eq!(rows.len(), 5, "{label}");
        assert_eq!(rows[0].0, "2025-10-09T06:25:01+02:00");
        assert_eq!(rows[1].1.as_deref(), Some("sshd"));
        assert_eq!(rows[2].2, Some(Severity::Informational));
        assert_eq!(
            rows[2].3,
            "  deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/bin/systemctl restart nginx"
        );
        assert_eq!(
            rows[3],
            (
                "2025-10-09T06:25:05.12+02:00".into(),
                Some("nginx".into()),
                Some(Severity::Notice),
                "upstream timed out".into()
            )
        );
        assert_eq!(rows[4].1.as_deref(), Some("kernel"));
    }
}

#[test]
fn logfmt_application_logs() {
    let dir = Dir::new();
    let path = dir.write(
        "app.log",
        concat!(
            "ts=2025-10-09T06:25:01.002Z level=info msg=\"request served\" method=GET path=/api/v1/cart status=200 dur_ms=12\n",
            "ts=2025-10-09T06:25:01.513Z level=warn msg=\"slow query\" sql=\"SELECT * FROM t WHERE a = \\\"x\\\"\" dur_ms=812\n",
            "\n",
            "ts=2025-10-09T06:25:02Z level=error msg=\"upstream unavailable\" err=\"dial tcp 10.0.0.9:5432: connect: connection refused\"\n",
        ),
    );
    for (label, job) in configs(SIZES) {
        let slow: Vec<(String, String)> = job
            .logfmt(&path)
            .filter(|r| r.get("level") != Some("info"))
            .map(|r| (r.get("level").unwrap().to_string(), r.get("msg").unwrap().to_string()))
            .collect()
            .unwrap();
        assert_eq!(
            slow,
            [("warn".into(), "slow query".into()), ("error".into(), "upstream unavailable".into())],
            "{label}"
        );
        let ms: u64 =
            job.logfmt(&path).filter_map(|r| r.get("dur_ms").and_then(|v| v.parse::<u64>().ok())).sum().unwrap();
        assert_eq!(ms, 824);
        let sql: Vec<String> = job.logfmt(&path).filter_map(|r| r.get("sql").map(str::to_string)).collect().unwrap();
        assert_eq!(sql, ["SELECT * FROM t WHERE a = \"x\""]);
        let first = job.logfmt(&path).filter_map(|r| r.time().map(|t| t.unix_seconds())).min().unwrap();
        assert_eq!(first, Some(1_759_991_101));
    }
}

#[test]
fn regex_with_named_groups_and_a_time() {
    let dir = Dir::new();
    let path = dir.write(
        "app.log",
        "2025-10-09 06:25:01,002 INFO  [main] o.e.Server - started in 812 ms\n2025-10-09 06:25:02,113 ERROR [pool-1] o.e.Db - connection refused\n",
    );
    let pattern = r"^(?<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),\d{3} (?<level>[A-Z]+) +\[(?<thread>[^\]]+)\] (?<logger>\S+) - (?<msg>.*)$";
    for (label, job) in configs(SIZES) {
        let parser =
            RegexParser::new(pattern).unwrap().time("time", TimeFormat::Strftime("%Y-%m-%d %H:%M:%S".into())).unwrap();
        let rows: Vec<(String, String, i64)> = job
            .parsed_lines(parser, &path)
            .map(|r| {
                (
                    r.get("level").unwrap().to_string(),
                    r.get("thread").unwrap().to_string(),
                    r.time().unwrap().unix_seconds(),
                )
            })
            .collect()
            .unwrap();
        assert_eq!(
            rows,
            [("INFO".into(), "main".into(), 1_759_991_101), ("ERROR".into(), "pool-1".into(), 1_759_991_102)],
            "{label}"
        );
        let n = job.regex_log(pattern, &path).unwrap().count().unwrap();
        assert_eq!(n, 2);
    }
}

#[test]
fn json_lines_typed_and_untyped() {
    #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
    struct Event {
        user: String,
        ms: u64,
        tags: Vec<String>,
    }
    let dir = Dir::new();
    let path = dir.write(
        "events.jsonl",
        "{\"user\":\"ann\",\"ms\":5,\"tags\":[\"a\"]}\r\n\n{\"user\":\"bob\",\"ms\":7,\"tags\":[],\"extra\":{\"x\":1}}\n  \n{\"user\":\"Zoë\",\"ms\":1,\"tags\":[\"b\",\"c\"]}",
    );
    for (label, job) in configs(SIZES) {
        let events: Vec<Event> = job.json_lines::<Event>(&path).collect().unwrap();
        assert_eq!(events.len(), 3, "{label}");
        assert_eq!(events[2], Event { user: "Zoë".into(), ms: 1, tags: vec!["b".into(), "c".into()] });
        let extra: Vec<serde_json::Value> =
            job.json_lines::<serde_json::Value>(&path).filter_map(|v| v.get("extra").cloned()).collect().unwrap();
        assert_eq!(extra, [serde_json::json!({"x": 1})], "{label}");
    }
}
