//! Regression tests named after their issue.

use crate::util::{Dir, configs};
use shoal::prelude::*;
use shoal::{ErrorKind, OnMalformed};
use shoal_connectors::csv::CsvExt;

#[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
struct Sale {
    region: String,
    quantity: Option<i64>,
    note: Option<String>,
}

/// Issue 18.13: null markers read into `Option` fields as `None`; a null in
/// a non-`Option` field is a malformed record naming the column.
#[test]
fn issue_18_13_null_markers_read_as_none() {
    let dir = Dir::new();
    let path = dir
        .write("s.csv", "region,quantity,note,extra\nEU,2,hi,x\nUS,NA,,NA\n\"NA\",3,\"NA\",y\nAS,,NA,z\nEU,1,n,NA\n");
    for (label, job) in configs([1, 9, 1000]) {
        let rows: Vec<Sale> =
            job.csv(&path).null_values(["NA", ""]).on_malformed(OnMalformed::Skip).rows::<Sale>().collect().unwrap();
        let want = [
            Sale { region: "EU".into(), quantity: Some(2), note: Some("hi".into()) },
            Sale { region: "US".into(), quantity: None, note: None },
            Sale { region: "AS".into(), quantity: None, note: None },
            Sale { region: "EU".into(), quantity: Some(1), note: Some("n".into()) },
        ];
        assert_eq!(rows, want, "{label}: a null in a column no field reads is fine");
        let report = job.report();
        assert_eq!(report.rejects.count, 1, "{label}");
        let reject = &report.rejects.samples[0];
        assert_eq!((reject.line, reject.offset), (Some(4), 47), "{label}");
        assert_eq!(
            reject.reason, r#"column "region" (field 1): null value "NA" in a field that is not an Option"#,
            "{label}"
        );
        // Borrowed rows read nulls the same way.
        #[derive(serde::Deserialize)]
        struct Borrowed<'a> {
            region: &'a str,
            quantity: Option<i64>,
        }
        shoal_connectors::borrowed_row!(Borrowed);
        let total: i64 = job
            .csv(&path)
            .null_values(["NA", ""])
            .on_malformed(OnMalformed::Skip)
            .borrowed_rows::<Borrowed<'static>>()
            .map(|r: Borrowed<'_>| r.quantity.unwrap_or(0) * r.region.len() as i64)
            .sum()
            .unwrap();
        assert_eq!(total, 2 * 2 + 2, "{label}");
    }
    // Without markers, `NA` in an `Option<i64>` does not parse: malformed.
    let job = Job::builder().threads(1).build().unwrap();
    let err = job.csv(&path).rows::<Sale>().count().unwrap_err();
    assert!(err.to_string().contains(r#"column "quantity" (field 2): invalid digit found in string: "NA""#), "{err}");
}

/// Issue 18.13: a row field that names no column of the header is one error
/// before any split runs, naming the field and the header's columns.
#[test]
fn issue_18_13_a_field_naming_no_column_is_an_error_at_the_start() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Typo {
        region: String,
        quantiy: Option<i64>,
    }
    let dir = Dir::new();
    let path = dir.write("s.csv", "region,quantity\nEU,1\nUS,2\n");
    for (label, job) in configs([1, 5]) {
        let before = job.report();
        let err = job.csv(&path).on_malformed(OnMalformed::Skip).rows::<Typo>().count().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{label}");
        assert_eq!(err.path(), Some(path.as_path()), "{label}");
        assert!(
            err.to_string()
                .contains(r#"the row type's field "quantiy" names no column of the header ["region", "quantity"]"#),
            "{label}: {err}"
        );
        let after = job.report();
        assert_eq!(
            after.counter(shoal_connectors::csv::ROWS),
            before.counter(shoal_connectors::csv::ROWS),
            "{label}: no split ran"
        );
        // A `#[serde(default)]` field may name no column.
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Defaulted {
            region: String,
            #[serde(default)]
            discount: u32,
        }
        assert_eq!(job.csv(&path).rows::<Defaulted>().count().unwrap(), 2, "{label}");
    }
}

/// Issue 18.14: errors and rejects name the column by its header name and
/// show the value.
#[test]
fn issue_18_14_errors_name_the_column_and_show_the_value() {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Row {
        order_id: u64,
        quantity: u32,
    }
    let dir = Dir::new();
    let path = dir.write("q.csv", "order_id,date,region,quantity\n1,d,r,2\n2,d,r,abc\n");
    let headless = dir.write("h.csv", "1,2\n3,abc\n");
    for (label, job) in configs([1, 1000]) {
        let err = job.csv(&path).rows::<Row>().count().unwrap_err();
        let want = r#"column "quantity" (field 4): invalid digit found in string: "abc""#;
        assert!(err.to_string().contains(want), "{label}: {err}");
        assert_eq!((err.line(), err.offset()), (Some(3), Some(38)), "{label}");
        job.csv(&path).on_malformed(OnMalformed::Skip).rows::<Row>().count().unwrap();
        assert!(job.report().rejects.samples[0].reason.contains(want), "{label}");
        // Without headers there is no name: the position and the value.
        let err = job.csv(&headless).has_headers(false).rows::<(u8, u8)>().count().unwrap_err();
        assert!(err.to_string().contains(r#"field 2: invalid digit found in string: "abc""#), "{label}: {err}");
    }
}

/// Issue 18.2 (CSV): every reject, in every split of a mapped file, names
/// its line as well as its byte offset.
#[test]
fn issue_18_2_csv_rejects_name_their_line() {
    let dir = Dir::new();
    let mut text = String::from("a,b\n");
    let mut bad = Vec::new();
    for i in 0..300 {
        if i % 13 == 3 {
            bad.push(text.len());
            text.push_str("only-one-field\n");
        } else if i % 11 == 5 {
            text.push_str(&format!("\"two\nlines {i}\",{i}\n"));
        } else {
            text.push_str(&format!("{i},{i}\n"));
        }
    }
    // Lines count every line break before the record, quoted ones too.
    let want_lines: Vec<(u64, u64)> =
        bad.iter().map(|&at| (1 + text[..at].matches('\n').count() as u64, at as u64)).collect();
    let path = dir.write("r.csv", &text);
    for (label, job) in configs([64, 333, 1 << 20]) {
        let q = dir.path().join(format!("q-{}.jsonl", label.replace([' ', '='], "_")));
        job.csv(&path).on_malformed(OnMalformed::Quarantine(q.clone())).records().count().unwrap();
        let got: Vec<(u64, u64)> = std::fs::read_to_string(&q)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| (v["line"].as_u64().expect("a line number"), v["offset"].as_u64().unwrap()))
            .collect();
        assert_eq!(got, want_lines, "{label}");
    }
}

/// Issue 18.10 (library side): `expect_headers` fails the job at the start
/// when the header is not exactly the expected one, naming the file.
#[test]
fn issue_18_10_expect_headers_checks_the_header_before_reading() {
    let dir = Dir::new();
    let path = dir.write("s.csv", "id,qty\n1,2\n");
    for (label, job) in configs([1, 1000]) {
        assert_eq!(job.csv(&path).expect_headers(["id", "qty"]).records().count().unwrap(), 1, "{label}");
        let err = job.csv(&path).expect_headers(["id", "quantity"]).records().count().unwrap_err();
        assert_eq!((err.path(), err.line()), (Some(path.as_path()), Some(1)), "{label}");
        assert!(
            err.to_string().contains(r#"header ["id", "qty"] is not the expected ["id", "quantity"]"#),
            "{label}: {err}"
        );
    }
}

/// The `csv_plan_probe` example, built on first use (`cargo test --test csv`
/// alone does not build examples).
fn plan_probe() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let exe = std::env::current_exe().unwrap();
    // .../<target>/<profile>/deps/csv-<hash>
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = std::process::Command::new(cargo);
        build.args(["build", "--quiet", "--example", "csv_plan_probe", "--manifest-path"]);
        build.arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
        build.arg("--target-dir").arg(profile_dir.parent().unwrap());
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        let out = build.output().expect("cargo runs");
        assert!(out.status.success(), "cargo build --example failed: {}", String::from_utf8_lossy(&out.stderr));
    });
    profile_dir.join("examples").join("csv_plan_probe")
}

/// Issue 18.6: a file truncated while the CSV planner scans it for record
/// starts is a bus error naming the file and the split being scanned.
#[test]
fn issue_18_6_a_file_truncated_during_the_plan_scan_names_it() {
    let dir = Dir::new();
    let row = "12345,\"a, quoted\",field,9.99\n";
    let text = row.repeat((48 << 20) / row.len());
    let probe = plan_probe();
    // The probe truncates the file when it sees it mapped; the scan of 48 MiB
    // is nearly always still running then, so a few tries are plenty.
    let mut last = String::new();
    for attempt in 0..5 {
        let path = dir.write(&format!("big-{attempt}.csv"), &text);
        let out = std::process::Command::new(&probe)
            .args(["-t", "2", "--chunk-size", "1M"])
            .env("CSV_PROBE_INPUT", &path)
            .env("CSV_PROBE_TRUNCATE", "1")
            .output()
            .unwrap();
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() == Some(86) {
            let name = path.canonicalize().unwrap_or(path.clone());
            assert!(
                last.contains(&path.display().to_string()) || last.contains(&name.display().to_string()),
                "names the file: {last}"
            );
            assert!(last.contains("(planning: finding record starts)") && last.contains(" bytes "), "{last}");
            assert!(last.contains("truncated"), "says why: {last}");
            return;
        }
    }
    panic!("the scan never hit the truncation; last stderr: {last}");
}

/// Issue 14.5: the CSV source has the options every file source shares
/// (`shoal::plumbing::FileSource`): include/exclude when walking
/// directories, a split size and a maximum record size of its own.
#[test]
fn issue_14_5_csv_takes_the_shared_file_source_options() {
    let dir = Dir::new();
    dir.write("a.csv", "n\n1\n2\n");
    dir.write("notes.txt", "not,a,csv\n");
    dir.write("sub/b.csv", "n\n3\n");
    let job = Job::builder().threads(2).build().unwrap();
    let sum: u64 = job
        .csv(dir.path())
        .include("*.csv")
        .split_size(4)
        .string_records()
        .map(|r| r[0].parse::<u64>().unwrap())
        .sum()
        .unwrap();
    assert_eq!(sum, 6);
    let sum: u64 = job.csv(dir.path()).exclude("*.txt").records().map(|_| 1u64).sum().unwrap();
    assert_eq!(sum, 3);
    let long = dir.write("long/l.csv", format!("n\n1\n{}\n", "9".repeat(200)));
    let err = job.csv(&long).max_record_size(64).records().count().unwrap_err();
    assert_eq!((err.line(), err.offset()), (Some(3), Some(4)), "{err}");
}
