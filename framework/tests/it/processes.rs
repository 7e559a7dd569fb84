//! The process executor with real processes: the `probe` example program is
//! run as leader and workers, killed, interrupted and starved on purpose.

use crate::util::Dir;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The probe program, built by `cargo test` next to this test binary.
pub(crate) fn probe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples/probe")
}

pub(crate) fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(probe());
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

pub(crate) fn run(args: &[&str]) -> Output {
    command(args).output().expect("probe runs")
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Line `i` of [`text_file`].
fn line_of(i: usize) -> String {
    let first = (b'a' + (i * 7 % 26) as u8) as char;
    format!("{first}line {i} {}", "x".repeat(i % 13))
}

/// A text file of `lines` lines with a spread of first letters.
pub(crate) fn text_file(dir: &Dir, name: &str, lines: usize) -> PathBuf {
    let mut text = String::with_capacity(lines * 24);
    for i in 0..lines {
        text.push_str(&line_of(i));
        text.push('\n');
    }
    dir.write(name, text)
}

/// The pids whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        // Fields after the `(comm)`: state, ppid, ...
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let mut fields = rest.split_whitespace();
        let (state, ppid) = (fields.next(), fields.next());
        if ppid == Some(&pid.to_string()) && state != Some("Z") {
            out.push(child);
        }
    }
    out
}

/// Whether `pid` is a live (non-zombie) process.
pub(crate) fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, r)| !r.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

pub(crate) fn wait_for(mut cond: impl FnMut() -> bool, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

pub(crate) fn wait_with_output(child: Child) -> Output {
    child.wait_with_output().expect("probe ends")
}

pub(crate) fn reference(path: &Path) -> String {
    let out = run(&["-t", "1", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn every_shape_gives_the_same_result() {
    let dir = Dir::new();
    let path = text_file(&dir, "a.txt", 40_000);
    let want = reference(&path);
    assert!(want.contains("lines,40000"), "{want}");
    assert!(want.contains("counter,probe.lines,40000"), "counters are summed: {want}");
    for shape in [["-p", "2", "-t", "1"], ["-p", "3", "-t", "1"], ["-p", "2", "-t", "2"], ["-p", "1", "-t", "3"]] {
        let mut args: Vec<&str> = shape.to_vec();
        args.extend(["--chunk-size", "16K", path.to_str().unwrap()]);
        let out = run(&args);
        assert!(out.status.success(), "{shape:?}: {}", stderr(&out));
        assert_eq!(stdout(&out), want, "{shape:?}");
    }
}

/// Issue 18.9: keyed actions over thousands of distinct keys (past the
/// point where the partials' slots retire), with workers reusing their
/// partials split after split and the leader merging serialized partials
/// straight into its result: every shape and split size gives the counts a
/// plain map gives.
#[test]
fn issue_18_9_many_distinct_keys_agree_with_a_plain_count() {
    let dir = Dir::new();
    let mut text = String::new();
    let mut want = std::collections::BTreeMap::<String, u64>::new();
    for i in 0..30_000usize {
        let line = format!("key {} {}", i * 7919 % 6007, "y".repeat(i % 5));
        *want.entry(line.clone()).or_default() += 1;
        text.push_str(&line);
        text.push('\n');
    }
    let path = dir.write("keys.txt", text);
    let want: String =
        want.iter().map(|(line, n)| format!("distinct,{line},{n},{},{n}\n", n * line.len() as u64)).collect();
    for shape in [&["-t", "1"][..], &["-t", "2"], &["-p", "2", "-t", "1"], &["-p", "2", "-t", "2"]] {
        for chunk in ["8K", "64K", "1M"] {
            let mut args: Vec<&str> = shape.to_vec();
            args.extend(["--distinct", "--chunk-size", chunk, path.to_str().unwrap()]);
            let out = run(&args);
            assert!(out.status.success(), "{shape:?} {chunk}: {}", stderr(&out));
            let got: String =
                stdout(&out).lines().filter(|l| l.starts_with("distinct,")).map(|l| format!("{l}\n")).collect();
            assert!(got == want, "{shape:?} {chunk}: the distinct counts differ from the reference");
        }
    }
}

/// 120,000 lines over 100,003 distinct keys (enough to spill under a
/// memory limit of a few MiB) and an empty spill directory, in `dir`.
fn spilling_input(dir: &Dir) -> (PathBuf, PathBuf) {
    let mut text = String::new();
    for i in 0..120_000usize {
        text.push_str(&format!("a key long enough to fill the partitions {}\n", i * 7919 % 100_003));
    }
    let path = dir.write("keys.txt", text);
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    (path, spill)
}

/// Issue 15.3: under a memory limit small enough for several spill rounds
/// (in the threads, in the workers and in the leader's merge), every
/// keyed action and `collect_iter` give the unbounded run's result, the
/// report counts the spilled bytes, and the spill directory is left empty.
#[test]
fn issue_15_3_spilled_keyed_actions_equal_the_unbounded_run() {
    let dir = Dir::new();
    let (path, spill) = spilling_input(&dir);
    let results = |out: &Output| -> String {
        stdout(out)
            .lines()
            .filter(|l| l.starts_with("distinct,") || l.starts_with("collect,"))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let unbounded = run(&["-t", "2", "--distinct", "--collect", path.to_str().unwrap()]);
    assert!(unbounded.status.success(), "{}", stderr(&unbounded));
    let want = results(&unbounded);
    assert_eq!(want.lines().count(), 100_004);
    assert!(want.contains("collect,120000,"), "{want:.200}");
    for shape in [&["-t", "1"][..], &["-t", "2"], &["-p", "2", "-t", "1"]] {
        let mut args: Vec<&str> = shape.to_vec();
        args.extend(["--distinct", "--collect", "--streamed", "--memory-limit", "3M", "--chunk-size", "2M"]);
        args.extend(["--spill-dir", spill.to_str().unwrap(), path.to_str().unwrap()]);
        let out = run(&args);
        assert!(out.status.success(), "{shape:?}: {}", stderr(&out));
        assert!(results(&out) == want, "{shape:?}: spilled results differ from the unbounded run");
        let rounds: u64 = stdout(&out)
            .lines()
            .find_map(|l| l.strip_prefix("counter,spill rounds,"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(rounds >= 3, "{shape:?}: {rounds} spill rounds\n{}", stdout(&out));
        assert!(stdout(&out).contains("counter,spilled bytes,"), "{shape:?}");
        assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0, "{shape:?}: the spill directory is not empty");
    }
}

/// Issue 15.3: a result that must be whole in memory (a `HashMap`, a
/// `Vec`) and would not fit in `--memory-limit` is a clear error naming
/// the form that streams, in one process and with workers, not an
/// out-of-memory kill; the spill directory is left empty.
#[test]
fn issue_15_3_a_whole_result_past_the_limit_is_a_clear_error() {
    let dir = Dir::new();
    let (path, spill) = spilling_input(&dir);
    for (what, names) in [("--distinct", "count_by_value_sorted"), ("--collect", "collect_iter")] {
        for shape in [&["-t", "2"][..], &["-p", "2", "-t", "1"]] {
            let mut args: Vec<&str> = shape.to_vec();
            args.extend([what, "--memory-limit", "3M", "--chunk-size", "2M", "--spill-dir"]);
            args.extend([spill.to_str().unwrap(), path.to_str().unwrap()]);
            let out = run(&args);
            assert_eq!(out.status.code(), Some(1), "{what} {shape:?}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(
                err.contains("--memory-limit 3 MiB") && err.contains(names) && !err.contains("panick"),
                "{what} {shape:?}: {err}"
            );
            assert_eq!(
                std::fs::read_dir(&spill).unwrap().count(),
                0,
                "{what} {shape:?}: the spill directory is not empty"
            );
        }
    }
}

/// Issue 15.3: an interrupt (SIGINT to the leader, which kills its
/// workers) while the leader and its workers spill leaves no spill
/// directory behind, neither the leader's nor its killed workers'.
#[test]
fn issue_15_3_an_interrupt_leaves_no_spill_directory() {
    let dir = Dir::new();
    let (path, spill) = spilling_input(&dir);
    let args = [
        "-p",
        "2",
        "-t",
        "1",
        "--distinct",
        "--streamed",
        "--memory-limit",
        "3M",
        "--chunk-size",
        "2M",
        "--sleep-ms",
        "20",
        "--sleep-every",
        "500",
        "--spill-dir",
        spill.to_str().unwrap(),
        path.to_str().unwrap(),
    ];
    let mut child = command(&args).spawn().unwrap();
    let spilling = wait_for(|| std::fs::read_dir(&spill).is_ok_and(|d| d.count() > 0), Duration::from_secs(60));
    assert!(spilling, "no spill directory appeared");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    let gone = wait_for(|| std::fs::read_dir(&spill).is_ok_and(|d| d.count() == 0), Duration::from_secs(5));
    let left: Vec<_> = std::fs::read_dir(&spill).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(gone, "spill directories left after the interrupt: {left:?}");
}

#[test]
fn killing_random_workers_never_changes_the_result() {
    let dir = Dir::new();
    let path = text_file(&dir, "k.txt", 60_000);
    let want = reference(&path);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..4 {
        let child = command(&[
            "-p",
            "3",
            "-t",
            "1",
            "--chunk-size",
            "8K",
            "--sleep-ms",
            "4",
            "--sleep-every",
            "150",
            path.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
        let leader = child.id();
        assert!(wait_for(|| children(leader).len() == 3, Duration::from_secs(20)), "workers start");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(200 + seed % 400));
        let workers = children(leader);
        if let Some(&victim) = workers.get((seed % 3) as usize) {
            let _ = kill(Pid::from_raw(victim as i32), Signal::SIGKILL);
        }
        let out = wait_with_output(child);
        assert!(out.status.success(), "round {round}: {}", stderr(&out));
        assert_eq!(stdout(&out), want, "round {round}");
    }
}

#[test]
fn a_panic_names_the_split() {
    let dir = Dir::new();
    let path = text_file(&dir, "p.txt", 5_000);
    for procs in ["1", "2"] {
        let bad = line_of(777);
        let out = run(&["-p", procs, "-t", "1", "--chunk-size", "8K", "--panic-on", &bad, path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("probe panics on {bad:?}")), "{err}");
        assert!(err.contains("p.txt bytes"), "names the split: {err}");
    }
}

#[test]
fn a_split_that_keeps_crashing_workers_fails_or_is_skipped() {
    let dir = Dir::new();
    let path = text_file(&dir, "c.txt", 5_000);
    let bad = &line_of(777);
    let out = run(&["-p", "2", "-t", "1", "--chunk-size", "8K", "--abort-on", bad, path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("brought down 3 worker processes"), "{err}");
    assert!(err.contains("c.txt bytes"), "{err}");
    let out = run(&[
        "-p",
        "2",
        "-t",
        "1",
        "--chunk-size",
        "8K",
        "--abort-on",
        bad,
        "--on-failed-split",
        "skip",
        path.to_str().unwrap(),
    ]);
    // Issue 18.8: an answer with a split left out is not a success.
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().last(), Some("shoal: finished with 1 split left out"), "{err}");
    let text = stdout(&out);
    assert!(text.contains("counter,shoal.splits_skipped,1"), "{text}");
    assert!(!text.contains("lines,5000"), "the split's lines are left out: {text}");
}

#[test]
fn a_hung_split_times_out() {
    let dir = Dir::new();
    let path = text_file(&dir, "h.txt", 3_000);
    let out = run(&[
        "-p",
        "2",
        "-t",
        "1",
        "--chunk-size",
        "8K",
        "--hang-on",
        &line_of(777),
        "--split-timeout",
        "1",
        "--max-split-failures",
        "2",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("split timeout"), "{err}");
    assert!(err.contains("h.txt bytes"), "{err}");
}

#[test]
fn a_stopped_worker_is_replaced_after_its_heartbeats_stop() {
    let dir = Dir::new();
    let path = text_file(&dir, "s.txt", 30_000);
    let want = reference(&path);
    let child = command(&[
        "-p",
        "2",
        "-t",
        "1",
        "--chunk-size",
        "8K",
        "--sleep-ms",
        "5",
        "--sleep-every",
        "100",
        "--heartbeat-timeout",
        "1",
        path.to_str().unwrap(),
    ])
    .spawn()
    .unwrap();
    let leader = child.id();
    assert!(wait_for(|| children(leader).len() == 2, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
    let victim = children(leader)[0];
    let _ = kill(Pid::from_raw(victim as i32), Signal::SIGSTOP);
    let out = wait_with_output(child);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), want);
    assert!(stderr(&out).contains("heartbeat"), "{}", stderr(&out));
    assert!(wait_for(|| !alive(victim), Duration::from_secs(5)), "the stopped worker was killed");
}

#[test]
fn a_file_truncated_while_read_is_a_clear_error() {
    let dir = Dir::new();
    for procs in ["1", "2"] {
        let path = text_file(&dir, &format!("t{procs}.txt"), 200_000);
        let child = command(&[
            "-p",
            procs,
            "-t",
            "1",
            "--chunk-size",
            "256K",
            "--sleep-ms",
            "100",
            "--sleep-every",
            "3000",
            path.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
        std::thread::sleep(Duration::from_millis(700));
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(100_000).unwrap();
        let start = Instant::now();
        let out = wait_with_output(child);
        assert!(start.elapsed() < Duration::from_secs(30), "no hang");
        assert!(!out.status.success(), "procs {procs}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains(&format!("t{procs}.txt")), "names the file: {err}");
        assert!(err.contains("truncated") || err.contains("shrank"), "says why: {err}");
    }
}

/// A slow two-worker job over `path`, once both workers are up: the leader's
/// child handle and pid, and the workers' pids.
fn slow_job(path: &Path) -> (Child, u32, Vec<u32>) {
    let child = command(&["-p", "2", "-t", "1", "--chunk-size", "8K", "--sleep-ms", "50", "--sleep-every", "50"])
        .arg(path)
        .spawn()
        .unwrap();
    let leader = child.id();
    assert!(wait_for(|| children(leader).len() == 2, Duration::from_secs(20)), "workers start");
    (child, leader, children(leader))
}

#[test]
fn interrupt_stops_every_process() {
    let dir = Dir::new();
    let path = text_file(&dir, "i.txt", 50_000);
    for (signal, code) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        let (mut child, leader, workers) = slow_job(&path);
        std::thread::sleep(Duration::from_millis(200));
        let sent = Instant::now();
        kill(Pid::from_raw(leader as i32), signal).unwrap();
        let status = child.wait().unwrap();
        assert!(sent.elapsed() < Duration::from_secs(2), "exits within 2 s, took {:?}", sent.elapsed());
        assert_eq!(status.code(), Some(code));
        for w in workers {
            assert!(wait_for(|| !alive(w), Duration::from_secs(2)), "worker {w} left behind");
        }
    }
}

#[test]
fn workers_exit_when_the_leader_is_killed() {
    let dir = Dir::new();
    let path = text_file(&dir, "l.txt", 50_000);
    let (mut child, leader, workers) = slow_job(&path);
    kill(Pid::from_raw(leader as i32), Signal::SIGKILL).unwrap();
    let _ = child.wait();
    for w in workers {
        assert!(wait_for(|| !alive(w), Duration::from_secs(2)), "worker {w} orphaned");
    }
}

#[test]
fn worker_output_goes_to_stderr_with_its_id() {
    let dir = Dir::new();
    let path = text_file(&dir, "o.txt", 1_000);
    // Enough splits and time that both workers are needed: a worker the job
    // does not need may be stopped before it connects (and so before it
    // prints), since a leader no longer waits for idle workers.
    let out = run(&[
        "-p",
        "2",
        "-t",
        "1",
        "--hello",
        "--chunk-size",
        "1K",
        "--sleep-ms",
        "20",
        "--sleep-every",
        "100",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(text.starts_with("hello from the leader\nlines,1000\n"), "{text}");
    assert!(!text.contains("worker"), "{text}");
    assert!(err.contains("[worker 1] hello from worker 1") && err.contains("[worker 2] hello from worker 2"), "{err}");
}

#[test]
fn a_limit_holds_across_processes() {
    let dir = Dir::new();
    let path = text_file(&dir, "m.txt", 100);
    for shape in [["-p", "1", "-t", "4"], ["-p", "2", "-t", "3"]] {
        let mut args = shape.to_vec();
        args.extend(["--limit", "2", path.to_str().unwrap()]);
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("limit,40\n"), "{text}");
        let most: usize = text.lines().find_map(|l| l.strip_prefix("limit_max_holders,")).unwrap().parse().unwrap();
        assert!((1..=2).contains(&most), "{shape:?}: {most} holders at once");
    }
}

#[test]
fn bad_process_flags_are_usage_errors() {
    let out = run(&["-p", "0", "x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn peers_join_over_tcp_only_with_the_secret() {
    use std::io::BufRead;
    let dir = Dir::new();
    let path = text_file(&dir, "j.txt", 30_000);
    let want = reference(&path);
    let secret = "0123456789abcdef0123456789abcdef";
    let mut leader = command(&[
        "-p",
        "1",
        "-t",
        "1",
        "--chunk-size",
        "8K",
        "--sleep-ms",
        "5",
        "--sleep-every",
        "100",
        "--listen",
        "tcp:127.0.0.1:0",
        path.to_str().unwrap(),
    ])
    .env("SHOAL_SECRET", secret)
    .spawn()
    .unwrap();
    // The leader prints where it accepts workers; keep draining its stderr.
    let leader_err = leader.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(leader_err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let address = loop {
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("the leader announces its address");
        if let Some(addr) = line.strip_prefix("shoal: leader accepting workers at ") {
            break addr.to_string();
        }
    };
    let joiner = |secret: &str| {
        Command::new(probe())
            .args(["-t", "1", path.to_str().unwrap()])
            .env("SHOAL_LEADER", &address)
            .env("SHOAL_SECRET", secret)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let intruder = wait_with_output(joiner("not-the-secret-not-the-secret!!"));
    assert!(!intruder.status.success());
    assert!(stderr(&intruder).contains("refused"), "{}", stderr(&intruder));
    let friend = joiner(secret);
    let out = wait_with_output(leader);
    let _ = wait_with_output(friend);
    assert!(out.status.success());
    assert_eq!(stdout(&out), want);
    let said: Vec<String> = rx.try_iter().collect();
    assert!(said.iter().any(|l| l.contains("wrong job secret")), "{said:?}");
}

#[test]
fn the_first_bad_record_in_input_order_is_reported_by_every_shape() {
    let dir = Dir::new();
    // `a.txt` holds the first 100 lines of `b.txt`, so line 51 is bad in
    // both; `a.txt` comes first in input order but, being small, its split
    // is scheduled last (biggest first): its bad record must still win.
    let small = text_file(&dir, "a.txt", 100);
    let large = text_file(&dir, "b.txt", 5_000);
    let bad = [line_of(50), line_of(1200), line_of(4000)];
    let mut errors = Vec::new();
    for shape in [&["-t", "1"][..], &["-t", "3"], &["-p", "2", "-t", "1"], &["-p", "2", "-t", "2"]] {
        let mut args: Vec<&str> = shape.to_vec();
        args.extend(["--chunk-size", "8K"]);
        for line in &bad {
            args.extend(["--fail-on", line]);
        }
        args.extend([small.to_str().unwrap(), large.to_str().unwrap()]);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{shape:?}: {}", stderr(&out));
        let err = stderr(&out);
        let line = err.lines().find(|l| l.starts_with("error:")).unwrap_or_default().to_string();
        assert!(line.contains("a.txt: line 51 (byte "), "{shape:?}: {err}");
        errors.push(line);
    }
    assert!(errors.windows(2).all(|w| w[0] == w[1]), "{errors:#?}");
}

/// The entries of `dir` that a leader's socket directory would be.
fn socket_dirs(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("shoal-"))
        .collect()
}

#[test]
fn a_killed_leader_leaves_nothing_in_the_temporary_directory() {
    let dir = Dir::new();
    let tmp = Dir::new();
    let path = text_file(&dir, "s.txt", 50_000);
    let child = command(&["-p", "2", "-t", "1", "--chunk-size", "8K", "--sleep-ms", "50", "--sleep-every", "50"])
        .arg(&path)
        .env("TMPDIR", tmp.path())
        .spawn()
        .unwrap();
    let leader = child.id();
    assert!(wait_for(|| children(leader).len() == 2, Duration::from_secs(20)), "workers start");
    let workers = children(leader);
    // Nothing is there even while the job runs, so no way of dying (a bus
    // error, an allocation abort, SIGKILL) can leave anything behind.
    assert_eq!(socket_dirs(tmp.path()), Vec::<String>::new());
    kill(Pid::from_raw(leader as i32), Signal::SIGKILL).unwrap();
    let _ = wait_with_output(child);
    for w in workers {
        assert!(wait_for(|| !alive(w), Duration::from_secs(2)), "worker {w} orphaned");
    }
    assert_eq!(socket_dirs(tmp.path()), Vec::<String>::new());
}

#[test]
fn a_leader_removes_the_socket_directories_of_dead_leaders() {
    let dir = Dir::new();
    let tmp = Dir::new();
    let path = text_file(&dir, "d.txt", 1_000);
    let mut gone = Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let stale = tmp.path().join(format!("shoal-{}-0123abcd", gone.id()));
    std::fs::create_dir(&stale).unwrap();
    drop(std::os::unix::net::UnixListener::bind(stale.join("leader.sock")).unwrap());
    let alive_dir = tmp.path().join(format!("shoal-{}-0123abcd", std::process::id()));
    std::fs::create_dir(&alive_dir).unwrap();
    let out = command(&["-p", "2", "-t", "1", path.to_str().unwrap()]).env("TMPDIR", tmp.path()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stale.exists(), "the dead leader's directory is removed");
    assert!(alive_dir.exists(), "a live process's directory is kept");
}

#[test]
fn a_process_group_sigterm_stops_the_job_quietly_and_cleanly() {
    use std::os::unix::process::CommandExt;
    let dir = Dir::new();
    let tmp = Dir::new();
    let path = text_file(&dir, "g.txt", 50_000);
    // A signal to the whole group reaches the workers and the leader in any
    // order: rounds 1.. let the workers die of it a little before the leader
    // hears it, the case where a loss was once taken for a crash.
    for round in 0..6u64 {
        let child = command(&["-p", "2", "-t", "1", "--chunk-size", "8K", "--sleep-ms", "20", "--sleep-every", "50"])
            .arg(&path)
            .env("TMPDIR", tmp.path())
            .process_group(0)
            .spawn()
            .unwrap();
        let leader = child.id();
        assert!(wait_for(|| children(leader).len() == 2, Duration::from_secs(20)), "workers start");
        std::thread::sleep(Duration::from_millis(100 + 37 * round));
        if round == 0 {
            kill(Pid::from_raw(-(leader as i32)), Signal::SIGTERM).unwrap();
        } else {
            for w in children(leader) {
                let _ = kill(Pid::from_raw(w as i32), Signal::SIGTERM);
            }
            std::thread::sleep(Duration::from_millis(10 * round));
            kill(Pid::from_raw(leader as i32), Signal::SIGTERM).unwrap();
        }
        let out = wait_with_output(child);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(143), "round {round}: {err}");
        assert!(!err.contains("rerunning"), "round {round}: a stopping job reruns nothing: {err}");
        assert_eq!(socket_dirs(tmp.path()), Vec::<String>::new(), "round {round}");
    }
}

#[test]
fn a_job_with_missing_or_empty_input_ends_at_once() {
    let dir = Dir::new();
    let empty = dir.write("empty.txt", "");
    let missing = dir.path().join("missing.txt");
    // A missing input fails before any worker is needed: none is started.
    let started = Instant::now();
    let out = run(&["-p", "2", "-t", "1", "--hello", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("missing.txt"), "{err}");
    assert!(!err.contains("[worker"), "no worker was started: {err}");
    assert!(started.elapsed() < Duration::from_millis(1500), "took {:?}", started.elapsed());
    // An empty input does not wait for workers to leave.
    let started = Instant::now();
    let out = run(&["-p", "2", "-t", "1", empty.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("lines,0\n"), "{}", stdout(&out));
    assert!(started.elapsed() < Duration::from_millis(1500), "took {:?}", started.elapsed());
}
