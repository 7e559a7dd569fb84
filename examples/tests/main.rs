//! End-to-end tests of the example programs, run as a user would run them.

// The weather example's parser, here so its unit tests run with `cargo test`.
#[allow(dead_code)]
#[path = "../weather/parse.rs"]
mod parse;

// Named pipes whose writer cannot hang a test (the CSV tests' helpers).
#[allow(dead_code)]
#[path = "../../connectors/tests/csv/fifo.rs"]
mod fifo;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An example binary, next to this test binary. `cargo test` builds the
/// examples too, but `cargo test --test examples` alone does not, so the
/// first call builds them (a no-op when they are fresh): a stale or missing
/// binary would test old code or fail to start.
fn example(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let exe = std::env::current_exe().unwrap();
    // .../<target>/<profile>/deps/examples-<hash>
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "--examples", "--manifest-path"]);
        build.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"));
        build.arg("--target-dir").arg(profile_dir.parent().unwrap());
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        let out = build.output().expect("cargo runs");
        assert!(out.status.success(), "cargo build --examples failed: {}", String::from_utf8_lossy(&out.stderr));
    });
    profile_dir.join("examples").join(name)
}

fn run(name: &str, args: &[&str]) -> Output {
    Command::new(example(name)).args(args).output().expect("example runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The last line of a run's stderr.
fn last_line(out: &Output) -> String {
    text(&out.stderr).lines().last().unwrap_or_default().to_owned()
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn weather_prints_exact_rows() {
    let dir = tempfile::tempdir().unwrap();
    // Rounding half away from zero from exact tenths, never -0.0, CSV quoting,
    // UTF-8 byte order, CRLF, a last line without newline, a second file in a folder.
    write(
        dir.path(),
        "a/1.txt",
        "Zürich;-0.1\r\nAbha;1.5\nAbha;1.6\nWashington, D.C.;-1.5\nSay \"Hi\";0.0\n".as_bytes(),
    );
    write(dir.path(), "a/sub/2.txt", "Zürich;0.0\nZürich;0.0\nWashington, D.C.;-1.6\nÅre;99.9\nabc;-99.9".as_bytes());
    let want = "Abha,1.5,1.6,1.6\n\"Say \"\"Hi\"\"\",0.0,0.0,0.0\n\"Washington, D.C.\",-1.6,-1.6,-1.5\nZürich,-0.1,0.0,0.0\nabc,-99.9,-99.9,-99.9\nÅre,99.9,99.9,99.9\n";
    let input = dir.path().join("a");
    for args in
        [vec!["-t", "1"], vec!["-t", "3", "--chunk-size", "7"], vec!["-p", "2", "-t", "1", "--chunk-size", "16"]]
    {
        let mut all = args.clone();
        all.push(input.to_str().unwrap());
        let out = run("weather", &all);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), want, "{args:?}");
    }
}

/// Issue 15.4: many stations (past the example's parallel sort threshold),
/// whose names share their first eight bytes or are prefixes of each other,
/// or differ only in a byte past the eighth: sorted by bytes and formatted
/// exactly as a plain `BTreeMap` reference, for threads and processes.
#[test]
fn issue_15_4_weather_sorts_many_stations_by_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut input = String::new();
    let mut reference: std::collections::BTreeMap<Vec<u8>, (i64, i64, u64, i64)> = Default::default();
    for i in 0..40_000u64 {
        let name = match i % 4 {
            0 => format!("Station-{i}"),
            1 => format!("Stat{}", i % 977),
            2 => format!("Ståtion-{:09}", i * 7919 % 100_003),
            _ => format!("S{}", i % 13),
        };
        let tenths = (i * 37 % 1999) as i64 - 999;
        input.push_str(&format!(
            "{name};{}{}.{}\n",
            if tenths < 0 { "-" } else { "" },
            tenths.abs() / 10,
            tenths.abs() % 10
        ));
        let e = reference.entry(name.into_bytes()).or_insert((i64::MAX, 0, 0, i64::MIN));
        e.0 = e.0.min(tenths);
        e.1 += tenths;
        e.2 += 1;
        e.3 = e.3.max(tenths);
    }
    let path = write(dir.path(), "many.txt", input.as_bytes());
    let mut want = String::new();
    for (name, (min, sum, count, max)) in &reference {
        parse::write_row(&mut want, std::str::from_utf8(name).unwrap(), *min, *sum, *count, *max);
    }
    for args in
        [vec!["-t", "1"], vec!["-t", "2", "--chunk-size", "4096"], vec!["-p", "2", "-t", "1", "--chunk-size", "65536"]]
    {
        let mut all = args.clone();
        all.push(path.to_str().unwrap());
        let out = run("weather", &all);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout) == want, "{args:?}: output differs from the reference");
    }
}

#[test]
fn weather_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        ("nosep.txt", b"a;1.0\nb;2.0\nno separator here\n", "line 3"),
        ("badtemp.txt", b"a;1.0\nb;2.x\n", "line 2"),
        ("utf8.txt", b"a;1.0\nb\xff;2.0\nc;1.0\n", "line 2"),
    ];
    for (name, contents, line) in cases {
        let path = write(dir.path(), name, contents);
        let out = run("weather", &["--chunk-size", "5", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = text(&out.stderr);
        assert!(err.contains(name) && err.contains(line), "{name}: {err}");
    }
    let out = run("weather", &[dir.path().join("missing").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("does not exist"), "{}", text(&out.stderr));
}

/// Issue 18.4: NUL and other control bytes in a station name are rejected
/// with file, line and byte offset, also a 4 KiB NUL block that fuses with
/// the next line; tab is allowed.
#[test]
fn issue_18_4_weather_rejects_control_bytes_in_station_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut block = b"a;1.0\nb;2.0\n".to_vec();
    block.extend([0u8; 4096]);
    block.extend(b"Zurich;12.3\nc;1.0\n");
    let cases: [(&str, &[u8], &str); 3] = [
        ("nul.txt", b"a;1.0\nNu\0l;2.0\nc;1.0\n", "line 2 (byte 6)"),
        ("esc.txt", b"a;1.0\nb;2.0\nx\x1b[31m;3.0\n", "line 3 (byte 12)"),
        ("block.txt", &block, "line 3 (byte 12)"),
    ];
    for (name, contents, at) in cases {
        let path = write(dir.path(), name, contents);
        // With worker processes too: every process checks the names, so all
        // of them run the action that locates the bad one.
        for shape in [&["-t", "1"][..], &["-t", "2"], &["-p", "2", "-t", "1"]] {
            let mut args = shape.to_vec();
            args.extend(["--chunk-size", "64", path.to_str().unwrap()]);
            let out = run("weather", &args);
            assert_eq!(out.status.code(), Some(1), "{name} {shape:?}: {}", text(&out.stdout));
            let err = text(&out.stderr);
            assert!(err.contains(name) && err.contains(at) && err.contains("control byte"), "{name}: {err}");
            assert!(out.stdout.is_empty(), "{name}: nothing printed raw");
        }
    }
    let tab = write(dir.path(), "tab.txt", b"Tab\tbed;1.0\n");
    let out = run("weather", &[tab.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Tab\tbed,1.0,1.0,1.0\n");
}

#[test]
fn wordcount_ranks_words() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "t/a.txt", b"The cat and the dog.\nTHE END\n");
    write(dir.path(), "t/b/c.md", b"a dog's life, and a cat\n");
    let out = run("wordcount", &["--top", "4", "-t", "2", "--chunk-size", "3", dir.path().join("t").to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "the,3\na,2\nand,2\ncat,2\n");
}

const SALES_HEADER: &str = "order_id,date,region,product,quantity,unit_price,note\n";

/// Row `i` of a generated sales file (valid for the sales example), with
/// `note` as its last field.
fn sales_row(i: u32, note: &str) -> String {
    format!(
        "{i},2025-0{}-1{},Region {},Item {},{},{}.{:02},{note}\n",
        1 + i % 9,
        i % 10,
        i % 7,
        i % 13,
        1 + i % 5,
        i % 300,
        i % 100
    )
}

#[test]
fn sales_sums_exact_money_over_quoted_csv() {
    let dir = tempfile::tempdir().unwrap();
    let main = format!(
        "{SALES_HEADER}1,2025-01-02,Europe,Widget,2,10.005,\"note, with comma\"\n2,2025-03-04,Europe,Widget,1,0.10,\n\
         3,2024-12-31,Europe,Widget,5,1.00,old\n4,2025-05-06,\"North, America\",\"Gadget \"\"X\"\"\",3,2.50,\"two\r\nlines\"\n\
         6,2025-07-09,Asia,Thing,1,1.001,\"\"\n7,2025-08-01,Asia,Thing,1,0.004,last"
    );
    write(dir.path(), "s/a.csv", main.as_bytes());
    write(dir.path(), "s/b/empty.csv", b"");
    write(dir.path(), "s/b/header-only.csv", SALES_HEADER.as_bytes());
    write(dir.path(), "s/b/ignored.txt", b"not,a,csv\n");
    // Half away from zero: 1.001 + 0.004 = 1.005 -> 1.01; 2 x 10.005 + 0.10 = 20.11.
    let want = "Asia,Thing,2,1.01\nEurope,Widget,3,20.11\n\"North, America\",\"Gadget \"\"X\"\"\",3,7.50\nrows,6\n";
    let input = dir.path().join("s");
    for args in
        [vec!["-t", "1"], vec!["-t", "2", "--chunk-size", "20"], vec!["-p", "2", "-t", "1", "--chunk-size", "30"]]
    {
        let mut all = args.clone();
        all.push(input.to_str().unwrap());
        let out = run("sales", &all);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), want, "{args:?}");
    }
}

/// Issue 18.12: CSV on standard input gives every shape, worker processes
/// included, the records of the same file, and errors name it `-`.
#[test]
fn issue_18_12_sales_over_standard_input_matches_the_file() {
    use std::io::Write as _;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let csv = format!(
        "{SALES_HEADER}1,2025-01-02,Europe,Widget,2,10.005,\"note, with comma\"\n2,2025-03-04,Europe,Widget,1,0.10,\n\
         4,2025-05-06,\"North, America\",\"Gadget \"\"X\"\"\",3,2.50,\"two\r\nlines\"\n6,2025-07-09,Asia,Thing,1,1.001,\n"
    );
    let path = write(dir.path(), "s.csv", csv.as_bytes());
    let want = text(&run("sales", &["-t", "1", path.to_str().unwrap()]).stdout);
    assert!(want.ends_with("rows,4\n"), "{want}");
    let with_stdin = |args: &[&str], input: &[u8]| {
        let mut child = Command::new(example("sales"))
            .args(args)
            .env("TMPDIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    for args in [&["-t", "2", "--chunk-size", "20", "-"][..], &["-p", "2", "-t", "1", "--chunk-size", "30", "-"]] {
        let out = with_stdin(args, csv.as_bytes());
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), want, "{args:?}");
    }
    let bad = format!("{SALES_HEADER}1,2025-01-02,Europe,Widget,2,1.00,\n2,2025-01-03,Europe,Widget,x,1.00,\n");
    let out = with_stdin(&["-p", "2", "-t", "1", "-"], bad.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("error: -: line 3 (byte ") && err.contains("bad quantity"), "{err}");
}

/// Issue 15.1: a gzipped CSV and a named pipe, parsed as they stream,
/// give the file's result in every shape (worker processes included, and
/// cut into small blocks for several threads), and a bad value is located
/// in the decompressed bytes as in the file.
#[test]
fn issue_15_1_sales_over_gzip_and_a_pipe_matches_the_file() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = SALES_HEADER.to_owned();
    for i in 0..60_000u32 {
        let note = if i % 101 == 0 { "\"two\r\nlines, \"\"quoted\"\"\"" } else { "" };
        csv.push_str(&sales_row(i, note));
    }
    let plain = write(dir.path(), "s.csv", csv.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(csv.as_bytes()).unwrap();
    let gz = write(dir.path(), "s.csv.gz", &gz.finish().unwrap());
    let want = text(&run("sales", &["-t", "1", plain.to_str().unwrap()]).stdout);
    assert!(want.ends_with("rows,60000\n"), "{want}");
    for args in [&["-t", "2"][..], &["-p", "2", "-t", "1"]] {
        let mut all = args.to_vec();
        all.push(gz.to_str().unwrap());
        let out = run("sales", &all);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout) == want, "{args:?}");
    }
    // Cut into blocks of 2 KiB that two and three threads parse.
    for threads in ["2", "3"] {
        let out = Command::new(example("sales"))
            .args(["-t", threads, gz.to_str().unwrap()])
            .env("SHOAL_STREAM_BLOCK", "2K")
            .output()
            .unwrap();
        assert!(out.status.success(), "-t {threads} in blocks: {}", text(&out.stderr));
        assert!(text(&out.stdout) == want, "-t {threads} in blocks");
    }
    // The writer gives up (and the test fails) if `sales` fails before
    // opening the pipe, rather than waiting in `open` forever.
    let (pipe, writer) = fifo::fifo(dir.path(), "pipe.csv", csv.clone().into_bytes());
    let out = run("sales", &["-t", "2", pipe.to_str().unwrap()]);
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout) == want, "pipe");
    let bad = csv.replacen(
        "\n5000,2025-06-10,Region 2,Item 8,1,200.00,\n",
        "\n5000,2025-06-10,Region 2,Item 8,x,200.00,\n",
        1,
    );
    assert_ne!(bad, csv, "the row to spoil is there");
    let at = bad.find("\n5000,").unwrap() + 1;
    let line = 1 + bad[..at].matches('\n').count();
    let mut gz_bad = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz_bad.write_all(bad.as_bytes()).unwrap();
    let gz_bad = write(dir.path(), "bad.csv.gz", &gz_bad.finish().unwrap());
    for block in ["4M", "2K"] {
        let out = Command::new(example("sales"))
            .args(["-t", "2", gz_bad.to_str().unwrap()])
            .env("SHOAL_STREAM_BLOCK", block)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        let at = format!("bad.csv.gz: line {line} (byte {at})");
        assert!(err.contains(&at) && err.contains("bad quantity"), "{block} blocks: {err}");
    }
}

#[test]
fn sales_bad_values_follow_the_malformed_policy() {
    let dir = tempfile::tempdir().unwrap();
    let csv = format!(
        "{SALES_HEADER}1,2025-01-02,Europe,Widget,2,1.00,\n2,2025-01-03,Europe,Widget,x,1.00,\n3,2025-01-04,Europe,Widget,1,2.00,\n"
    );
    let path = write(dir.path(), "bad.csv", csv.as_bytes());
    let out = run("sales", &[path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("bad.csv") && err.contains("line 3") && err.contains("bad quantity"), "{err}");
    let out = run("sales", &["--on-malformed", "skip", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Europe,Widget,3,4.00\nrows,3\n");
    assert!(text(&out.stderr).contains("1 malformed"), "{}", text(&out.stderr));
    assert_eq!(last_line(&out), "shoal: finished with 1 record skipped");
    let rejects = dir.path().join("rejects.jsonl");
    let policy = format!("quarantine={}", rejects.display());
    for _ in 0..2 {
        // A second run replaces the file: it holds this run's rejects only.
        let out = run("sales", &["--on-malformed", &policy, path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
        assert_eq!(
            last_line(&out),
            format!("shoal: finished with 1 record skipped (1 quarantined to {})", rejects.display())
        );
    }
    let quarantined = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(quarantined.lines().count(), 1, "{quarantined}");
    assert!(quarantined.contains("\"line\":3") && quarantined.contains("bad quantity"), "{quarantined}");
}

#[test]
fn access_logs_report_status_paths_hours_and_malformed() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let plain = "1.2.3.4 - - [10/Oct/2025:13:55:36 +0000] \"GET /a HTTP/1.1\" 200 100 \"-\" \"curl/8\"\n\
                 1.2.3.4 - - [10/Oct/2025:14:05:00 +0200] \"GET /b HTTP/1.1\" 404 50 \"-\" \"curl/8\"\r\n\
                 garbage line\n";
    write(dir.path(), "logs/a.log", plain.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"5.6.7.8 - bob [10/Oct/2025:13:59:59 +0000] \"POST /a HTTP/1.1\" 500 25 \"http://x/\" \"Mozilla\"\n")
        .unwrap();
    write(dir.path(), "logs/sub/b.log.gz", &gz.finish().unwrap());
    write(dir.path(), "logs/sub/c.log.gz", b"");
    let want = "status,200,1\nstatus,404,1\nstatus,500,1\ntop_path_bytes,/a,125\ntop_path_bytes,/b,50\n\
                hour,2025-10-10T12,1\nhour,2025-10-10T13,2\nmalformed,1\n";
    let input = dir.path().join("logs");
    for args in [vec!["-t", "1"], vec!["-t", "2", "--chunk-size", "40"], vec!["-p", "2", "-t", "1"]] {
        let mut all = args.clone();
        all.push(input.to_str().unwrap());
        let out = run("access_logs", &all);
        // The garbage line was skipped: finished, but not whole (issue 18.8).
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out.stderr));
        assert_eq!(last_line(&out), "shoal: finished with 1 record skipped", "{args:?}");
        assert_eq!(text(&out.stdout), want, "{args:?}");
    }
}

/// Issue 15.1: a gzipped log is one split, cut into blocks (1 KiB here)
/// that two threads parse: the same tables, malformed count and first
/// malformed line (file, line, byte offset) as the plain file on one.
#[test]
fn issue_15_1_a_gzipped_log_parsed_in_blocks_matches_the_plain_file() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for i in 0..3000u32 {
        if i % 450 == 7 {
            log.push_str("garbage line\n");
        }
        let (status, end) = if i % 3 == 0 { (404, "\r\n") } else { (200, "\n") };
        log.push_str(&format!(
            "1.2.3.{} - - [10/Oct/2025:{:02}:{:02}:00 +0000] \"GET /p{} HTTP/1.1\" {status} {} \"-\" \"curl/8\"{end}",
            i % 7,
            i / 60 % 24,
            i % 60,
            i % 11,
            i * 3
        ));
    }
    let plain = write(dir.path(), "plain/a.log", log.as_bytes());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(log.as_bytes()).unwrap();
    let gz = write(dir.path(), "gz/a.log.gz", &gz.finish().unwrap());
    let want = run("access_logs", &["-t", "1", plain.to_str().unwrap()]);
    assert_eq!(want.status.code(), Some(3), "{}", text_of(&want));
    let got = Command::new(example("access_logs"))
        .args(["-t", "2", gz.to_str().unwrap()])
        .env("SHOAL_STREAM_BLOCK", "1K")
        .output()
        .unwrap();
    assert_eq!(got.status.code(), Some(3), "{}", text_of(&got));
    assert_eq!(text(&got.stdout), text(&want.stdout));
    assert!(text(&want.stdout).contains("malformed,7\n"), "{}", text(&want.stdout));
    let fail = |path: &Path, threads: &str| {
        let out = Command::new(example("access_logs"))
            .args(["-t", threads, "--on-malformed", "fail", path.to_str().unwrap()])
            .env("SHOAL_STREAM_BLOCK", "1K")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text_of(&out));
        let err = text(&out.stderr);
        // From the file name to the split's (which names the file).
        let at = err.find("a.log").map(|i| err[i..].split(" (in split").next().unwrap_or_default().to_owned());
        at.unwrap_or(err)
    };
    let first = fail(&plain, "1");
    assert!(first.contains("line 8 (byte "), "{first}");
    assert_eq!(fail(&gz, "2").replacen("a.log.gz", "a.log", 1), first);
}

fn text_of(out: &Output) -> String {
    text(&out.stderr)
}

/// Issue 18.4: raw NUL and other control bytes in an access-log line make it
/// malformed (counted, or an error naming file, line and byte offset).
#[test]
fn issue_18_4_access_logs_reject_control_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let good = "1.2.3.4 - - [10/Oct/2025:13:55:36 +0000] \"GET /a HTTP/1.1\" 200 100 \"-\" \"curl/8\"\n";
    let nul = "1.2.3.4 - - [10/Oct/2025:13:55:37 +0000] \"GET /b\0 HTTP/1.1\" 200 7 \"-\" \"curl/8\"\n";
    let esc = "1.2.3.4 - - [10/Oct/2025:13:55:38 +0000] \"GET /c HTTP/1.1\" 200 9 \"-\" \"\x1b[31mx\"\n";
    let tab = "1.2.3.4 - - [10/Oct/2025:13:55:39 +0000] \"GET /d HTTP/1.1\" 200 1 \"-\" \"a\tb\"\n";
    let path = write(dir.path(), "x.log", format!("{good}{nul}{esc}{tab}").as_bytes());
    let out = run("access_logs", &["-t", "2", "--chunk-size", "64", path.to_str().unwrap()]);
    // Finished, but two records were skipped (issue 18.8).
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("status,200,2\n") && stdout.ends_with("malformed,2\n"), "{stdout}");
    assert!(!stdout.contains("/b"), "a path with a NUL is never printed: {stdout}");
    let out = run("access_logs", &["-t", "1", "--on-malformed", "fail", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let at = format!("x.log: line 2 (byte {})", good.len());
    assert!(err.contains(&at) && err.contains("control byte 0x00"), "{err}");
}

#[test]
fn sales_rounds_negative_and_tiny_amounts() {
    let dir = tempfile::tempdir().unwrap();
    // -0.004 rounds to 0.00 (never -0.00); -0.005 to -0.01; 19 digits of quantity x price stay exact.
    let csv = format!(
        "{SALES_HEADER}1,2025-01-01,R,a,1,-0.004,\n2,2025-01-01,R,b,1,-0.005,\n3,2025-01-01,R,c,999999999999999999,99999.999999999,\n"
    );
    let path = write(dir.path(), "n.csv", csv.as_bytes());
    let out = run("sales", &[path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "R,a,1,0.00\nR,b,1,-0.01\nR,c,999999999999999999,99999999999998999900000.00\nrows,3\n"
    );
}

const LOG_LINE: &str = "1.2.3.4 - - [10/Oct/2025:13:55:36 +0000] \"GET /a HTTP/1.1\" 200 100 \"-\" \"curl/8\"\n";

/// Issue 18.1: a run with no rejects still writes its quarantine file,
/// empty, replacing the previous run's whole; exit 0.
#[test]
fn issue_18_1_a_clean_run_replaces_the_quarantine_file_with_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.log", LOG_LINE.repeat(50).as_bytes());
    let bad = write(dir.path(), "bad.log", format!("{LOG_LINE}garbage\n{LOG_LINE}").as_bytes());
    let q = dir.path().join("q.jsonl");
    let policy = format!("quarantine={}", q.display());
    for args in [vec!["-t", "2"], vec!["-p", "2", "-t", "1"]] {
        let mut all = args.clone();
        all.extend(["--on-malformed", &policy, bad.to_str().unwrap()]);
        let out = run("access_logs", &all);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out.stderr));
        let lines: Vec<serde_json::Value> =
            std::fs::read_to_string(&q).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 1, "{args:?}");
        assert_eq!(lines[0]["record"], "garbage", "{args:?}");
        all.pop();
        all.push(good.to_str().unwrap());
        let out = run("access_logs", &all);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        assert_eq!(std::fs::read_to_string(&q).unwrap(), "", "{args:?}: this run's file, empty");
    }
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, [".q.jsonl.shoal-lock", "bad.log", "good.log", "q.jsonl"], "no staging files left");
}

/// Issue 18.1: a second run on a quarantine file in use fails at once with
/// status 4, before reading anything, and leaves the file alone.
#[test]
fn issue_18_1_a_second_run_on_a_locked_quarantine_file_fails_with_status_4() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.log", format!("{LOG_LINE}garbage\n").as_bytes());
    let q = dir.path().join("q.jsonl");
    std::fs::write(&q, "the first run's records\n").unwrap();
    // The first run: a job of this process holding the file.
    let first = shoal::Job::builder().threads(1).build().unwrap();
    shoal::OnMalformed::Quarantine(q.clone()).prepare(&first).unwrap();
    let policy = format!("quarantine={}", q.display());
    let out = run("access_logs", &["--on-malformed", &policy, bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("another run is writing this quarantine file") && err.contains("q.jsonl"), "{err}");
    assert_eq!(text(&out.stdout), "", "nothing was read");
    assert_eq!(std::fs::read_to_string(&q).unwrap(), "the first run's records\n");
    drop(first);
    let out = run("access_logs", &["--on-malformed", &policy, bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

/// Issue 18.1: a quarantine path whose folder is missing is a usage error
/// naming the folder, before the job reads anything; the folder is not
/// created. (Policies built in code get the same check when the source plans:
/// `quarantine::tests::bad_paths_are_refused_and_nothing_is_created`.)
#[test]
fn issue_18_1_a_missing_quarantine_folder_fails_before_the_job_runs() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.log", format!("{LOG_LINE}garbage\n").as_bytes());
    let missing = dir.path().join("no-such-dir");
    let policy = format!("quarantine={}", missing.join("q.jsonl").display());
    for args in [vec!["-t", "1"], vec!["-p", "2", "-t", "1"]] {
        let mut all = args.clone();
        all.extend(["--on-malformed", &policy, bad.to_str().unwrap()]);
        let out = run("access_logs", &all);
        // A usage error, from the flag's check.
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        let want = format!("{}: the folder of the quarantine file q.jsonl does not exist", missing.display());
        assert!(err.contains(&want), "{err}");
        assert_eq!(text(&out.stdout), "", "{args:?}: nothing was read");
        assert!(!missing.exists(), "{args:?}");
    }
    let folder = format!("quarantine={}", dir.path().display());
    let out = run("access_logs", &["--on-malformed", &folder, bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("the quarantine path is a folder"), "{}", text(&out.stderr));
}

/// Issue 18.15: a binary file given to `access_logs` (every line malformed)
/// fails over the default ceiling, in threads and in processes.
#[test]
fn issue_18_15_a_binary_file_fails_access_logs() {
    let dir = tempfile::tempdir().unwrap();
    let binary: Vec<u8> = (0..5000u32).map(|i| if i % 20 == 19 { b'\n' } else { (i * 7 % 251) as u8 | 0x80 }).collect();
    let path = write(dir.path(), "blob.bin", &binary);
    for args in [vec!["-t", "2", "--chunk-size", "1K"], vec!["-p", "2", "-t", "1", "--chunk-size", "1K"]] {
        let mut all = args.clone();
        all.push(path.to_str().unwrap());
        let out = run("access_logs", &all);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("too many malformed records: 250 of 250 records read (100.0%)"), "{args:?}: {err}");
        assert!(err.contains("blob.bin"), "{args:?}: {err}");
        all.splice(0..0, ["--max-malformed", "none"]);
        let out = run("access_logs", &all);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out.stderr));
        assert_eq!(last_line(&out), "shoal: finished with 250 records skipped", "{args:?}");
    }
}

/// Issue 18.8: `--help` lists the exit statuses.
#[test]
fn issue_18_8_help_lists_the_exit_statuses() {
    let out = run("access_logs", &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for status in [
        "0        success",
        "1        the job failed",
        "2        usage error",
        "3        finished, but",
        "4        another run holds a lock",
        "130/143  interrupted",
    ] {
        assert!(help.contains(status), "{status}: {help}");
    }
}

/// Issue 18.1: a run killed with SIGKILL at any moment leaves the quarantine
/// file whole (the previous run's, or its own), never a torn prefix; the
/// next run cleans up what the killed one staged.
#[test]
fn issue_18_1_a_killed_run_never_leaves_a_partial_quarantine_file() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for i in 0..50_000 {
        if i % 5 == 0 {
            log.push_str(&format!("garbage {i}\n"));
        } else {
            log.push_str(LOG_LINE);
        }
    }
    let path = write(dir.path(), "big.log", log.as_bytes());
    let q = dir.path().join("q.jsonl");
    let policy = format!("quarantine={}", q.display());
    let args = ["-t", "2", "--max-malformed", "none", "--on-malformed", &policy, path.to_str().unwrap()];
    let whole = |label: &str| {
        let text = std::fs::read_to_string(&q).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 10_000, "{label}: a whole file");
        assert!(
            text.ends_with("}\n") && lines.iter().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
            "{label}"
        );
    };
    let started = Instant::now();
    let out = run("access_logs", &args);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let full = started.elapsed();
    whole("first run");
    // Most kills land while the run reads; the later ones near its end,
    // where the records are written.
    for step in 4..=9u32 {
        let mut child = Command::new(example("access_logs"))
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full * step / 10);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(20));
        whole(&format!("killed at {step}/10 of a run"));
    }
    let out = run("access_logs", &args);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    whole("last run");
    let mut left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, [".q.jsonl.shoal-lock", "big.log", "q.jsonl"], "stale staging folders are removed");
}

/// Issue 18.10: every row is checked, whatever its date, and so is the
/// header; prices are what the docs say.
#[test]
fn issue_18_10_sales_checks_every_row_and_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let csv = format!(
        "{SALES_HEADER}1,2025-01-02,EU,W,2,7,\n2,2023-05-06,EU,W,abc,1.00,\n3,2025-01-03,EU,W,1,19.995,\n\
         4,2024-13-01,EU,W,1,1.00,\n5,2022-01-01,EU,W,1,7.,\n6,2022-02-02,EU,W,1,1.00,ok\n"
    );
    let path = write(dir.path(), "s.csv", csv.as_bytes());
    let out = run("sales", &["-t", "1", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("s.csv") && err.contains("line 3") && err.contains("bad quantity \"abc\""), "{err}");
    let out = run("sales", &["--on-malformed", "skip", "--chunk-size", "40", path.to_str().unwrap()]);
    // Finished, with records skipped (issue 18.8).
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    // 2 x 7 + 19.995 = 33.995 -> 34.00.
    assert_eq!(text(&out.stdout), "EU,W,3,34.00\nrows,6\n");
    let err = text(&out.stderr);
    assert!(err.contains("6 rows = 3 good + 3 malformed"), "{err}");
    assert!(err.contains("bad date \"2024-13-01\"") && err.contains("bad unit_price \"7.\""), "{err}");

    // Another header is an error before anything is read.
    let renamed =
        write(dir.path(), "h/r.csv", b"order_id,date,region,product,qty,unit_price,note\n1,2025-01-01,EU,W,1,1.00,\n");
    let out = run("sales", &[renamed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("r.csv") && err.contains("is not the expected") && err.contains("\"qty\""), "{err}");

    // Null values: allowed in `note`, malformed elsewhere.
    let nulls = write(
        dir.path(),
        "n.csv",
        format!("{SALES_HEADER}1,2025-01-02,EU,W,2,1.00,NA\n2,2025-01-02,EU,W,NA,1.00,\n3,2025-01-02,EU,W,1,1.00,\n")
            .as_bytes(),
    );
    let out = run("sales", &["--null-values", "NA,", "--on-malformed", "skip", nulls.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "EU,W,3,3.00\nrows,3\n");
    assert!(text(&out.stderr).contains("missing quantity (\"NA\" is a null value)"), "{}", text(&out.stderr));
    let out = run("sales", &[nulls.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "without --null-values, NA is a bad quantity");
    assert!(text(&out.stderr).contains("bad quantity \"NA\""), "{}", text(&out.stderr));
}

/// Runs `sales` with `args` and returns its exit code, its stderr and its
/// peak resident set in bytes (`ru_maxrss` of this one child, from
/// `wait4`, so other tests' children do not count).
fn sales_peak(args: &[&str]) -> (Option<i32>, String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let stderr = std::fs::File::create(dir.path().join("stderr")).unwrap();
    // Reaped by wait4 below, which std's `wait` cannot stand in for (it
    // gives no rusage).
    #[allow(clippy::zombie_processes)]
    let child = Command::new(example("sales"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("sales runs");
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet waited for; both pointers are valid.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    let err = std::fs::read_to_string(dir.path().join("stderr")).unwrap();
    // Linux counts ru_maxrss in KiB.
    (code, err, u64::try_from(usage.ru_maxrss).unwrap() * 1024)
}

/// Issue 15.1, measured: `sales` over a gzipped CSV of about 400 MB (and a
/// .gz whose first line alone is 200 MiB, under a 1 MiB record limit)
/// peaks under 200 MiB, whatever the size of the stream. Slow (it writes
/// and compresses the files) and only meaningful in release builds; run it
/// alone:
///
/// ```text
/// cargo test --release -p shoal-examples --test examples -- --ignored --exact streamed_gzip_peak_memory_is_bounded
/// ```
#[test]
#[ignore = "slow: run in release with --ignored (see its doc comment)"]
fn streamed_gzip_peak_memory_is_bounded() {
    use std::io::Write as _;
    const LIMIT: u64 = 200 << 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv.gz");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    gz.write_all(SALES_HEADER.as_bytes()).unwrap();
    let rows = 8_000_000u32;
    let mut chunk = String::new();
    for i in 0..rows {
        chunk.push_str(&sales_row(i, &format!("note {}", i % 1000)));
        if chunk.len() > 1 << 20 {
            gz.write_all(chunk.as_bytes()).unwrap();
            chunk.clear();
        }
    }
    gz.write_all(chunk.as_bytes()).unwrap();
    gz.finish().unwrap().flush().unwrap();
    let (code, err, peak) = sales_peak(&["-t", "2", path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    eprintln!("sales over the gzipped CSV: peak {} MiB", peak >> 20);
    assert!(peak < LIMIT, "sales over a gzipped CSV peaked at {} MiB", peak >> 20);

    // A first line of 200 MiB: the header read at plan time is bounded too.
    let long = dir.path().join("long-header.csv.gz");
    let file = std::io::BufWriter::new(std::fs::File::create(&long).unwrap());
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let run = vec![b'h'; 1 << 20];
    for _ in 0..200 {
        gz.write_all(&run).unwrap();
    }
    gz.write_all(b"\n1,2\n").unwrap();
    gz.finish().unwrap().flush().unwrap();
    let (code, err, peak) = sales_peak(&["--max-record-size", "1048576", long.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("header record is longer than the maximum record size"), "{err}");
    eprintln!("sales over a 200 MiB header: peak {} MiB", peak >> 20);
    assert!(peak < LIMIT, "a 200 MiB header peaked at {} MiB", peak >> 20);
}

/// Issue 16.3: a rerun with `--state` reads only new and changed files and
/// prints exactly what a full run prints, byte for byte, for every example
/// (aggregations with floating-point means, top-k, counts, exact money,
/// malformed records), after files are added, changed and removed; a run
/// with nothing changed reuses everything; the state holds one partial per
/// live file and action.
#[test]
fn issue_16_3_reruns_with_state_print_what_a_full_run_prints() {
    use std::io::Write as _;
    type Files = Vec<(&'static str, Vec<u8>)>;
    let weather = |seed: u64| -> Vec<u8> {
        (0..400u64)
            .map(|i| {
                let x = (i * 7919 + seed * 104_729) % 1999;
                format!("Station {};{}.{}\n", x % 37, x as i64 / 10 - 99, x % 10)
            })
            .collect::<String>()
            .into_bytes()
    };
    let sales = |seed: u32| -> Vec<u8> {
        let rows: String = (0..300).map(|i| sales_row(i * 3 + seed, "n")).collect();
        format!("{SALES_HEADER}{rows}").into_bytes()
    };
    let words = |seed: usize| -> Vec<u8> {
        let w = ["the", "cat", "dog", "and", "a", "life", "end", "big"];
        (0..500).map(|i| w[(i * 7 + seed) % w.len()]).collect::<Vec<_>>().join(" ").into_bytes()
    };
    let logs = |seed: u32| -> Vec<u8> {
        let mut out = String::new();
        for i in 0..200u32 {
            let status = [200, 404, 500, 301][((i + seed) % 4) as usize];
            out.push_str(&format!(
                "10.0.0.{} - - [10/Oct/2025:1{}:{:02}:00 +0000] \"GET /p{} HTTP/1.1\" {status} {} \"-\" \"curl\"\n",
                i % 9,
                (i + seed) % 10,
                i % 60,
                (i * 3 + seed) % 17,
                i * 11 + seed
            ));
            if i % 50 == 7 {
                out.push_str("garbage\n");
            }
        }
        out.into_bytes()
    };
    let gz = |bytes: Vec<u8>| -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&bytes).unwrap();
        e.finish().unwrap()
    };
    let cases: Vec<(&str, Vec<&str>, Files, Files)> = vec![
        (
            "weather",
            vec![],
            vec![("a.txt", weather(1)), ("b.txt", weather(2)), ("sub/c.txt", weather(3))],
            vec![("b.txt", weather(4)), ("d.txt", weather(5))],
        ),
        (
            "sales",
            vec![],
            vec![("a.csv", sales(1)), ("b.csv", sales(2)), ("sub/c.csv", sales(3))],
            vec![("b.csv", sales(5)), ("d.csv", sales(7))],
        ),
        (
            "wordcount",
            vec!["--top", "5"],
            vec![("a.txt", words(1)), ("b.txt", words(2)), ("sub/c.txt", words(3))],
            vec![("b.txt", words(5)), ("d.txt", words(6))],
        ),
        (
            "access_logs",
            vec!["--on-malformed", "skip"],
            vec![("a.log", logs(1)), ("b.log", logs(2)), ("sub/c.log.gz", gz(logs(3)))],
            vec![("b.log", logs(5)), ("d.log.gz", gz(logs(6)))],
        ),
    ];
    for (name, extra, first, changes) in cases {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        for (file, bytes) in &first {
            write(&data, file, bytes);
        }
        let state = dir.path().join("state");
        let run_with = |state: Option<&Path>, shape: &[&str]| -> Output {
            let mut args: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
            args.extend(extra.iter().map(|s| s.to_string()));
            if let Some(s) = state {
                args.extend(["--state".to_string(), s.to_str().unwrap().to_string(), "--explain".to_string()]);
            }
            args.extend(["--split-size".to_string(), "2K".to_string(), data.to_str().unwrap().to_string()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(name, &args)
        };
        let full = run_with(None, &["-t", "2"]);
        let first_state = run_with(Some(&state), &["-t", "2"]);
        assert_eq!(
            text(&first_state.stdout),
            text(&full.stdout),
            "{name}: a first run with --state prints the full run's"
        );
        assert_eq!(first_state.status.code(), full.status.code(), "{name}");

        // A file changes, one comes, one goes.
        for (file, bytes) in &changes {
            write(&data, file, bytes);
        }
        std::fs::remove_file(data.join(first[0].0)).unwrap();
        for shape in [&["-t", "1"][..], &["-p", "2", "-t", "1"]] {
            let rerun = run_with(Some(&state), shape);
            let explained = text(&rerun.stderr);
            let fresh = run_with(Some(&dir.path().join(format!("fresh-{}", shape.len()))), &["-t", "2"]);
            let plain = run_with(None, &["-t", "3"]);
            assert_eq!(text(&rerun.stdout), text(&fresh.stdout), "{name} {shape:?}: the rerun equals a full run");
            assert_eq!(text(&rerun.stdout), text(&plain.stdout), "{name} {shape:?}: and a run without state");
            assert_eq!(rerun.status.code(), plain.status.code(), "{name} {shape:?}: {explained}");
            let summary = |out: &Output| {
                text(&out.stderr).lines().filter(|l| l.starts_with("shoal: finished")).collect::<Vec<_>>().join("\n")
            };
            assert_eq!(summary(&rerun), summary(&plain), "{name} {shape:?}: the same summary");
            if shape.len() == 2 {
                assert!(
                    explained.contains("state: action 0: 1 reused, 1 new, 1 changed, 1 removed"),
                    "{name}: {explained}"
                );
            } else {
                assert!(
                    explained.contains("state: action 0: 3 reused, 0 new, 0 changed, 0 removed"),
                    "{name}: {explained}"
                );
            }
        }
        let parts = std::fs::read_dir(&state)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension() == Some("part".as_ref()))
            .count();
        let actions = text(&run_with(Some(&state), &["-t", "1"]).stderr).matches(" reused, ").count();
        assert_eq!(parts, 3 * actions, "{name}: one kept partial per live file and action");
    }
}

/// Issue 17.4: three shards of `sales` (CSV, a malformed row quarantined)
/// and their merge step print what one process prints, and the merge step
/// (not the shards) writes the quarantine file and says what it left out.
#[test]
fn issue_17_4_sales_as_three_shards_and_a_merge_matches_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for (name, seed) in [("a.csv", 1), ("b.csv", 2), ("c.csv", 3)] {
        let mut rows: String = (0..400).map(|i| sales_row(i * 3 + seed, "n")).collect();
        if seed == 2 {
            rows.push_str("9999,2025-01-01,Europe,Widget,lots,1.00,\n");
        }
        write(&data, name, format!("{SALES_HEADER}{rows}").as_bytes());
    }
    let rejects = dir.path().join("rejects.jsonl");
    let policy = format!("quarantine={}", rejects.display());
    let common = ["--split-size", "4K", "--on-malformed", &policy];
    let single = run("sales", &[&common[..], &[data.to_str().unwrap()]].concat());
    assert_eq!(single.status.code(), Some(3), "{}", text(&single.stderr));
    let single_rejects = std::fs::read_to_string(&rejects).unwrap();
    std::fs::remove_file(&rejects).unwrap();
    let shards = dir.path().join("shards");
    for i in 0..3 {
        let id = format!("{i}/3");
        let args = [&common[..], &["--shard", &id, "--shard-dir", shards.to_str().unwrap(), data.to_str().unwrap()]];
        let out = run("sales", &args.concat());
        assert_eq!(
            out.status.code(),
            Some(0),
            "a shard leaves the left-out status to the merge: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        assert!(!rejects.exists(), "a shard writes no quarantine file");
    }
    let merged = run("sales", &[&common[..], &["--merge", shards.to_str().unwrap(), data.to_str().unwrap()]].concat());
    assert_eq!(merged.status.code(), Some(3), "{}", text(&merged.stderr));
    assert_eq!(text(&merged.stdout), text(&single.stdout));
    assert_eq!(last_line(&merged), last_line(&single));
    assert_eq!(std::fs::read_to_string(&rejects).unwrap(), single_rejects);
}
