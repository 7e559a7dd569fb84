//! The run of a program as a scheduled job sees it (issue 16): `--report`
//! files and `--lock`.

use crate::util::Dir;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The probe program, built by `cargo test` next to this test binary.
fn probe() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples/probe")
}

fn lines_file(dir: &Dir, lines: usize) -> std::path::PathBuf {
    let text: String = (0..lines).map(|i| format!("{}line {i}\n", (b'a' + (i % 26) as u8) as char)).collect();
    dir.write("in.txt", text)
}

fn run(args: &[&str]) -> Output {
    Command::new(probe()).args(args).stdin(Stdio::null()).output().unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The report's split attempts of action 0.
fn attempts(report: &Value) -> Vec<&Value> {
    report["splits"].as_array().unwrap().iter().filter(|s| s["action"] == 0).collect()
}

#[test]
fn the_json_report_has_the_counters_and_one_entry_per_split_for_every_executor_shape() {
    let dir = Dir::new();
    let input = lines_file(&dir, 20_000);
    let input = input.to_str().unwrap();
    for shape in [&["-t", "1"][..], &["-t", "2"], &["-p", "2", "-t", "1"]] {
        let report = dir.path().join("run.json");
        let trace = dir.path().join("run.trace.json");
        let mut args = shape.to_vec();
        args.extend(["--split-size", "16K", "--report", report.to_str().unwrap(), "--report", trace.to_str().unwrap()]);
        args.push(input);
        let out = run(&args);
        assert!(out.status.success(), "{shape:?}: {}", String::from_utf8_lossy(&out.stderr));
        let r = json(&report);
        assert_eq!(r["outcome"], "success", "{shape:?}");
        assert_eq!(r["exit_code"], 0);
        assert_eq!(r["arguments"].as_array().unwrap().len(), args.len());
        let action = &r["actions"][0];
        assert!(action["action"].as_str().unwrap().starts_with("AggregateByKey<"), "{shape:?}: {}", action["action"]);
        assert_eq!(action["records_out"], 20_000, "{shape:?}: every line reached the action");
        let size = std::fs::metadata(input).unwrap().len();
        assert_eq!(action["bytes"], size);
        let splits = action["splits"].as_u64().unwrap() as usize;
        assert!(splits > 5, "{shape:?}: {splits} splits");
        let runs = attempts(&r);
        assert_eq!(runs.len(), splits, "{shape:?}: one attempt per split");
        for (i, s) in runs.iter().enumerate() {
            assert_eq!(s["split"], i, "{shape:?}: sorted by split");
            assert_eq!(s["outcome"], "ok");
            assert_eq!(s["attempt"], 1);
            assert!(s["end_us"].as_u64() >= s["start_us"].as_u64());
            assert_eq!(s["file"].as_str().unwrap(), input);
        }
        let covered: u64 = runs.iter().map(|s| s["bytes"].as_u64().unwrap()).sum();
        assert_eq!(covered, size, "{shape:?}: the splits cover the file");
        let records: u64 = runs.iter().map(|s| s["records"].as_u64().unwrap()).sum();
        assert_eq!(records, 20_000);
        assert_eq!(r["counters"]["records_out"], 20_000);
        assert_eq!(r["counters"]["records_read"], 20_000, "{shape:?}: lines read, from every process");
        assert_eq!(r["user_counters"]["probe.lines"], 20_000, "{shape:?}: user counters from every process");
        let leader = r["pid"].as_u64().unwrap();
        let processes: std::collections::BTreeSet<u64> = runs.iter().map(|s| s["process"].as_u64().unwrap()).collect();
        if shape.contains(&"-p") {
            assert!(!processes.contains(&leader), "{shape:?}: workers ran the splits");
        } else {
            assert_eq!(processes, [leader].into(), "{shape:?}");
        }
        let t = json(&trace);
        let bars: Vec<&Value> = t["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "X").collect();
        assert_eq!(bars.len(), r["splits"].as_array().unwrap().len(), "{shape:?}: one bar per attempt");
        assert!(t["traceEvents"].as_array().unwrap().iter().any(|e| e["name"] == "thread_name"));
    }
}

#[test]
fn lost_attempts_and_failures_are_in_the_report() {
    let dir = Dir::new();
    let input = lines_file(&dir, 3_000);
    let report = dir.path().join("run.json");
    let out = run(&[
        "-p",
        "2",
        "-t",
        "1",
        "--split-size",
        "4K",
        "--abort-on",
        "bline 1",
        "--on-failed-split",
        "skip",
        "--report",
        report.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let r = json(&report);
    assert_eq!((r["outcome"].as_str(), r["exit_code"].as_u64()), (Some("incomplete"), Some(3)));
    // Split 0 kills its worker each time; splits queued on a dying worker
    // are lost with it and run again elsewhere.
    let runs = attempts(&r);
    let of = |split: u64| runs.iter().filter(move |s| s["split"] == split);
    let lost: Vec<&&Value> = of(0).collect();
    assert_eq!(lost.len(), 3, "the default of three worker deaths: {lost:?}");
    assert!(lost.iter().all(|s| s["outcome"] == "lost"));
    assert_eq!(lost.iter().map(|s| s["attempt"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    let splits = r["actions"][0]["splits"].as_u64().unwrap();
    for split in 1..splits {
        let tries: Vec<&&Value> = of(split).collect();
        let last = tries.last().unwrap();
        assert_eq!(last["outcome"], "ok", "split {split} ends merged: {tries:?}");
        assert_eq!(last["attempt"].as_u64().unwrap() as usize, tries.len(), "split {split}: attempts counted");
    }
    let retries = runs.iter().filter(|s| s["outcome"] == "lost").count() as u64 - 1;
    assert_eq!(r["counters"]["split_retries"], retries, "every lost attempt but the last of split 0 was retried");
    assert_eq!(r["counters"]["splits_skipped"], 1);
    assert!(r["counters"]["worker_restarts"].as_u64().unwrap() >= 3);

    let failed =
        run(&["-t", "2", "--fail-on", "cline 2", "--report", report.to_str().unwrap(), input.to_str().unwrap()]);
    assert_eq!(failed.status.code(), Some(1));
    let r = json(&report);
    assert_eq!((r["outcome"].as_str(), r["exit_code"].as_u64()), (Some("failed"), Some(1)));
    assert!(r["error"].as_str().unwrap().contains("probe rejects \"cline 2\""), "{}", r["error"]);
    assert!(attempts(&r).iter().any(|s| s["outcome"] == "failed"));
}

#[test]
fn a_report_folder_that_does_not_exist_is_a_usage_error_before_the_run() {
    let dir = Dir::new();
    let input = lines_file(&dir, 10);
    let report = dir.path().join("missing/run.json");
    let out = run(&["--report", report.to_str().unwrap(), input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "a usage error: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the report's folder does not exist"));
    assert!(out.stdout.is_empty(), "nothing ran");
    let out = run(&["--report", "run.txt", input.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ends in .json, .trace.json or .html"));
}

#[test]
fn a_second_run_on_the_lock_exits_with_4_or_waits_and_a_killed_holders_lock_is_free() {
    let dir = Dir::new();
    let input = lines_file(&dir, 200);
    let lock = dir.path().join("job.lock");
    let (input, lock) = (input.to_str().unwrap(), lock.to_str().unwrap());
    let slow = |extra: &[&str]| {
        let mut args = vec!["-t", "1", "--sleep-ms", "20", "--sleep-every", "1", "--lock", lock];
        args.extend_from_slice(extra);
        args.push(input);
        Command::new(probe()).args(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
    };
    let wait_for_holder = || {
        let started = Instant::now();
        while std::fs::read_to_string(lock).map_or(true, |t| t.is_empty()) {
            assert!(started.elapsed() < Duration::from_secs(20), "the first run never took the lock");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let mut holder = slow(&[]);
    wait_for_holder();
    let second = run(&["--lock", lock, input]);
    assert_eq!(second.status.code(), Some(4));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains(&format!("another run of this job holds the lock (pid {})", holder.id())), "{err}");
    assert!(second.stdout.is_empty());
    let waited = run(&["--lock", lock, "--lock-wait", "60", input]);
    assert!(waited.status.success(), "{}", String::from_utf8_lossy(&waited.stderr));
    assert!(holder.wait().unwrap().success(), "the waiting run went after the holder ended");

    let mut killed = slow(&[]);
    std::fs::write(lock, "").unwrap();
    wait_for_holder();
    killed.kill().unwrap();
    killed.wait().unwrap();
    let after = run(&["--lock", lock, input]);
    assert!(after.status.success(), "{}", String::from_utf8_lossy(&after.stderr));
}

/// The headless browser for the HTML report's test: Debian's `chromium`.
/// `.ci/run` installs it and sets `SHOAL_REQUIRE_BROWSER=1`, so there a
/// missing browser fails the test; elsewhere the test says it skipped.
fn browser() -> Option<std::path::PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("SHOAL_REQUIRE_BROWSER").is_none(),
            "SHOAL_REQUIRE_BROWSER is set but chromium is missing"
        );
        eprintln!("skipped: no chromium (apt-get install chromium)");
    }
    found
}

#[test]
fn the_html_report_renders_in_a_browser_with_one_bar_per_split() {
    let Some(chromium) = browser() else { return };
    let dir = Dir::new();
    let input = lines_file(&dir, 20_000);
    let page = dir.path().join("run.html");
    let json_report = dir.path().join("run.json");
    let out = run(&[
        "-p",
        "2",
        "-t",
        "1",
        "--split-size",
        "16K",
        "--report",
        page.to_str().unwrap(),
        "--report",
        json_report.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let splits = json(&json_report)["actions"][0]["splits"].as_u64().unwrap() as usize;
    let profile = dir.path().join("profile");
    let rendered = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&rendered.stdout);
    let log = String::from_utf8_lossy(&rendered.stderr);
    assert!(dom.contains("data-ready=\"1\""), "the page's script ran to its end: {log}");
    assert!(!log.contains("Uncaught"), "no script errors: {log}");
    assert_eq!(dom.matches("<rect class=\"bar\"").count(), splits, "one bar per split");
    assert!(dom.contains("id=\"utilisation\"") && dom.contains("id=\"straggler\""));
}

#[test]
fn progress_lines_reach_every_record_in_every_shape_and_are_off_with_never() {
    let dir = Dir::new();
    let input = lines_file(&dir, 20_000);
    let input = input.to_str().unwrap();
    for shape in [&["-t", "2"][..], &["-p", "2", "-t", "1"]] {
        let mut args = shape.to_vec();
        args.extend(["--split-size", "16K", "--progress", "always", input]);
        let out = run(&args);
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("shoal: action 0 AggregateByKey: ")).collect();
        assert!(lines.len() >= 2, "{shape:?}: a line at the start and one at the end: {err}");
        let last = lines.last().unwrap();
        assert!(last.contains("(100%)") && last.contains(" 20000 records"), "{shape:?}: {last}");
        let at = args.len() - 2;
        args[at] = "never";
        let quiet = run(&args);
        assert!(!String::from_utf8_lossy(&quiet.stderr).contains("shoal: action"), "{shape:?}");
    }
    let short = run(&["-t", "2", input]);
    assert!(
        !String::from_utf8_lossy(&short.stderr).contains("shoal: action"),
        "auto: a short action without a terminal says nothing"
    );
}

/// Starts the probe on a schedule, with stderr piped.
fn scheduled(args: &[&str]) -> std::process::Child {
    Command::new(probe()).args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// The probe on `pattern`, each run sleeping `sleep_ms` per line.
fn slow_schedule(pattern: &str, sleep_ms: &str, input: &Path) -> std::process::Child {
    let input = input.to_str().unwrap();
    scheduled(&["--schedule", pattern, "--sleep-ms", sleep_ms, "--sleep-every", "1", "-t", "1", input])
}

fn terminate(child: &std::process::Child) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGTERM);
}

#[test]
fn a_schedule_runs_the_job_once_per_slot_and_sigterm_between_runs_exits_at_once() {
    let dir = Dir::new();
    let input = lines_file(&dir, 100);
    let report = dir.path().join("run.json");
    let child =
        scheduled(&["--schedule", "* * * * * *", "--report", report.to_str().unwrap(), input.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(3500));
    terminate(&child);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(3), "between runs SIGTERM ends it at once");
    assert_eq!(out.status.code(), Some(143));
    let err = String::from_utf8_lossy(&out.stderr);
    let runs = err.lines().filter(|l| l.contains("ended: success (exit status 0)")).count();
    assert!((2..=5).contains(&runs), "one run per second: {err}");
    let results = String::from_utf8_lossy(&out.stdout).lines().filter(|l| *l == "lines,100").count();
    assert_eq!(results, runs, "each run printed its result: {err}");
    assert_eq!(json(&report)["outcome"], "success", "the last run wrote its report");
}

#[test]
fn sigterm_during_a_scheduled_run_stops_the_run_cleanly_and_the_scheduler_with_it() {
    let dir = Dir::new();
    let input = lines_file(&dir, 100);
    let child = slow_schedule("* * * * * *", "200", &input);
    std::thread::sleep(Duration::from_millis(2500));
    terminate(&child);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "the run stopped");
    assert_eq!(out.status.code(), Some(143), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ended: interrupted (exit status 143)"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("lines,"), "the run printed no result");
}

#[test]
fn a_run_that_overruns_its_slot_is_followed_by_one_catch_up_run() {
    let dir = Dir::new();
    let input = lines_file(&dir, 30);
    // Each run takes about 2.4 s; the schedule fires every 2 s.
    let child = slow_schedule("*/2 * * * * *", "80", &input);
    std::thread::sleep(Duration::from_millis(6500));
    terminate(&child);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("catching up once"), "{err}");
    let starts = err.lines().filter(|l| l.contains("ended:")).count();
    assert!(starts <= 3, "runs never overlap and missed slots are not all replayed: {err}");
}

#[test]
fn a_bad_schedule_is_a_usage_error() {
    let out = run(&["--schedule", "every hour", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a cron schedule"));
}

/// A folder of line files for the state tests.
fn folder(dir: &Dir, files: &[(&str, usize)]) -> std::path::PathBuf {
    for (name, lines) in files {
        let text: String = (0..*lines).map(|i| format!("{}{name} {i}\n", (b'a' + (i % 26) as u8) as char)).collect();
        dir.write(&format!("data/{name}"), text);
    }
    dir.path().join("data")
}

/// Runs the probe with `args` on `data` and `state`, and kills it after `ms`.
fn killed_after(args: &[&str], state: &Path, data: &Path, ms: u64) {
    let mut child = Command::new(probe())
        .args(args)
        .arg("--state")
        .arg(state)
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    child.kill().unwrap();
    child.wait().unwrap();
}

fn with_state(state: &Path, extra: &[&str], data: &Path) -> Output {
    let mut args = vec!["--collect", "--twice", "--split-size", "1K", "--state", state.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(data.to_str().unwrap());
    run(&args)
}

#[test]
fn state_reruns_equal_full_runs_for_ordered_results_and_survive_corruption_and_kills() {
    let dir = Dir::new();
    let data = folder(&dir, &[("a.txt", 300), ("b.txt", 500), ("c.txt", 40)]);
    let state = dir.path().join("state");
    let full = |extra: &[&str]| {
        let mut args = vec!["--collect", "--twice", "--split-size", "1K"];
        args.extend_from_slice(extra);
        args.push(data.to_str().unwrap());
        String::from_utf8_lossy(&run(&args).stdout).into_owned()
    };
    let first = with_state(&state, &["-t", "2"], &data);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(String::from_utf8_lossy(&first.stdout), full(&[]));
    // A new file sorts first: kept files move back in the input order.
    dir.write("data/0.txt", "zzz first\n".repeat(10));
    dir.write("data/b.txt", "b changed\n".repeat(7));
    let rerun = with_state(&state, &["-p", "2", "-t", "1", "--explain"], &data);
    let err = String::from_utf8_lossy(&rerun.stderr);
    assert!(err.contains("state: action 0: 2 reused, 1 new, 1 changed, 0 removed"), "{err}");
    assert!(err.contains("new: ") && err.contains("0.txt"), "--explain names the files: {err}");
    assert_eq!(String::from_utf8_lossy(&rerun.stdout), full(&[]), "collect keeps the input order");

    // A corrupt kept partial is reported and its file read again.
    let part = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension() == Some("part".as_ref()))
        .unwrap();
    let mut bytes = std::fs::read(&part).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&part, bytes).unwrap();
    let healed = with_state(&state, &["-t", "2"], &data);
    assert!(String::from_utf8_lossy(&healed.stderr).contains("is missing or corrupt: reading the file again"));
    assert_eq!(String::from_utf8_lossy(&healed.stdout), full(&[]));
    // So is a corrupt manifest.
    std::fs::write(state.join("manifest"), b"SHOALST1 garbage").unwrap();
    let rebuilt = with_state(&state, &["-t", "2"], &data);
    assert!(
        String::from_utf8_lossy(&rebuilt.stderr).contains("rebuilding the state"),
        "{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&rebuilt.stdout), full(&[]));
    // Other arguments invalidate it, and say so.
    let other = with_state(&state, &["-t", "2", "--fail-on", "no such line"], &data);
    assert!(String::from_utf8_lossy(&other.stderr).contains("other arguments: starting over"));

    // A run killed mid-way leaves a state the next run uses.
    for i in 0..30 {
        dir.write(&format!("data/more-{i:02}.txt"), format!("m{i}\n").repeat(200));
    }
    killed_after(
        &["--collect", "--twice", "--split-size", "1K", "--sleep-ms", "3", "--sleep-every", "20", "-t", "2"],
        &state,
        &data,
        400,
    );
    let after = with_state(&state, &["-t", "2"], &data);
    assert!(after.status.success(), "{}", String::from_utf8_lossy(&after.stderr));
    assert_eq!(String::from_utf8_lossy(&after.stdout), full(&[]));
    let parts = std::fs::read_dir(&state)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("part".as_ref()))
        .count();
    assert_eq!(parts, 34 * 3, "one part per live file and action, nothing left from the killed run");
}

#[test]
fn a_file_that_changes_while_it_is_read_is_reported_not_half_counted() {
    let dir = Dir::new();
    let data = folder(&dir, &[("a.txt", 200)]);
    let state = dir.path().join("state");
    let mut child = Command::new(probe())
        .args(["--sleep-ms", "10", "--sleep-every", "2", "-t", "1", "--split-size", "1K", "--explain", "--state"])
        .arg(&state)
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the run has planned (and looked at its state), the file grows.
    let mut err = String::new();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    for line in lines.by_ref() {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if line.contains("state: action 0") {
            break;
        }
    }
    let mut file = std::fs::OpenOptions::new().append(true).open(data.join("a.txt")).unwrap();
    std::io::Write::write_all(&mut file, b"zlate line\n").unwrap();
    drop(file);
    for line in lines {
        err.push_str(&line.unwrap());
        err.push('\n');
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the file changed while it was read"), "{err}");
    assert!(err.contains("a.txt"), "{err}");
    assert!(out.stdout.is_empty(), "no result was printed");
}

#[test]
fn a_second_run_on_a_state_in_use_exits_with_4() {
    let dir = Dir::new();
    let data = folder(&dir, &[("a.txt", 100)]);
    let state = dir.path().join("state");
    let mut holder = Command::new(probe())
        .args(["--sleep-ms", "20", "--sleep-every", "1", "-t", "1", "--state"])
        .arg(&state)
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !state.join("lock").exists() || std::fs::read_to_string(state.join("lock")).unwrap_or_default().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = with_state(&state, &[], &data);
    assert_eq!(second.status.code(), Some(4), "{}", String::from_utf8_lossy(&second.stderr));
    holder.kill().unwrap();
    holder.wait().unwrap();
}

#[test]
fn a_run_stopped_by_a_signal_still_writes_its_report() {
    let dir = Dir::new();
    let data = folder(&dir, &[("a.txt", 2000), ("b.txt", 2000)]);
    let report = dir.path().join("run.json");
    let child = Command::new(probe())
        .args(["--sleep-ms", "5", "--sleep-every", "1", "-t", "1", "--split-size", "4K", "--twice", "--report"])
        .arg(&report)
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    terminate(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    let r = json(&report);
    assert_eq!((r["outcome"].as_str(), r["exit_code"].as_u64()), (Some("interrupted"), Some(143)), "{r}");
    assert_eq!(r["error"], "interrupted by SIGTERM");
}

#[test]
fn with_a_state_a_file_is_cut_the_same_whatever_else_the_input_holds() {
    let dir = Dir::new();
    let data = folder(&dir, &[("a.txt", 100)]);
    let state = dir.path().join("state");
    let explain = |data: &Path| {
        let out = run(&["--explain", "--state", state.to_str().unwrap(), data.to_str().unwrap()]);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(explain(&data).contains("(split size 8.0 MiB)"), "{}", explain(&data));
    dir.write("data/big.txt", "x".repeat(30 << 20));
    let err = explain(&data);
    assert!(err.contains("(split size 8.0 MiB)"), "{err}");
    assert!(err.contains("reused: ") && err.contains("a.txt"), "--explain names the reused files too: {err}");
}

#[test]
fn a_run_with_other_arguments_that_dies_leaves_the_previous_state_intact() {
    let dir = Dir::new();
    let data = folder(&dir, &[("a.txt", 3000), ("b.txt", 3000), ("c.txt", 3000)]);
    dir.write("data/empty.txt", "");
    let state = dir.path().join("state");
    let first = with_state(&state, &["-t", "2"], &data);
    assert!(first.status.success());
    // Other arguments start the state over; this run stores a part or two,
    // then dies before its manifest.
    let args = ["--collect", "--twice", "--split-size", "1K", "--fail-on", "no such line", "-t", "1"];
    killed_after(&[&args[..], &["--sleep-ms", "2", "--sleep-every", "1"]].concat(), &state, &data, 1500);
    let again = with_state(&state, &["-t", "2", "--explain"], &data);
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("state: action 0: 4 reused, 0 new, 0 changed, 0 removed"), "the empty file too: {err}");
    assert_eq!(again.stdout, first.stdout, "the kept partials are the first run's");
}
