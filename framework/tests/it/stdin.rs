//! Issue 18.12: standard input gives every action and every executor shape
//! exactly the records a file gives (it is spooled once per process to a
//! temporary file), and the spool is removed at exit; issue 15.1: with
//! `--stdin stream`, one action parses it as it arrives, with no copy.

use crate::util::Dir;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The probe program (see `processes.rs`).
fn probe() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples/probe")
}

/// Starts the probe with `args`, its temporary files under `tmp`.
fn spawn(args: &[&str], tmp: &Path) -> Child {
    spawn_env(args, tmp, &[])
}

/// [`spawn`] with more environment variables.
fn spawn_env(args: &[&str], tmp: &Path, env: &[(&str, &str)]) -> Child {
    Command::new(probe())
        .args(args)
        .env("TMPDIR", tmp)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("probe starts")
}

/// Runs the probe with `input` on its standard input.
fn run_with_stdin(args: &[&str], input: &[u8], tmp: &Path) -> Output {
    run_with_stdin_env(args, input, tmp, &[])
}

/// [`run_with_stdin`] with more environment variables.
fn run_with_stdin_env(args: &[&str], input: &[u8], tmp: &Path, env: &[(&str, &str)]) -> Output {
    let mut child = spawn_env(args, tmp, env);
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // A writer thread: the probe may not read before it has parsed its flags.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("probe ends");
    writer.join().unwrap();
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Lines with a spread of first letters, some empty, CRLF on some.
fn sample(lines: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..lines {
        let first = (b'a' + (i * 7 % 26) as u8) as char;
        let end = if i % 5 == 0 { "\r\n" } else { "\n" };
        out.extend(format!("{first}line {i} {}{end}", "y".repeat(i % 17)).into_bytes());
    }
    out
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

/// A temporary folder for the probe (`TMPDIR`), 30,000 sample lines, the
/// same lines in a file, and the probe's output for the file on one thread.
fn sample_and_reference(dir: &Dir) -> (PathBuf, Vec<u8>, PathBuf, String) {
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let data = sample(30_000);
    let file = dir.write("in.txt", &data);
    let reference = Command::new(probe()).args(["-t", "1", file.to_str().unwrap()]).output().unwrap();
    assert!(reference.status.success(), "{}", text(&reference.stderr));
    (tmp, data, file, text(&reference.stdout))
}

/// Starts the probe on standard input held at the line `stop here` and
/// waits until its spool exists (at most 20 s), and a little more for the
/// reading thread to reach that line.
fn spawn_held(tmp: &Path) -> Child {
    let mut child = spawn(&["-t", "1", "--hang-on", "stop here", "-"], tmp);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"one\nstop here\ntwo\n").unwrap();
    drop(stdin);
    let start = Instant::now();
    while entries(tmp).is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let spooled = entries(tmp);
    assert!(spooled.len() == 1 && spooled[0].starts_with("shoal-stdin-"), "{spooled:?}");
    std::thread::sleep(Duration::from_millis(300));
    child
}

#[test]
fn issue_18_12_stdin_gives_every_shape_and_action_the_file_records() {
    let dir = Dir::new();
    let (tmp, data, _, want) = sample_and_reference(&dir);
    assert!(want.starts_with("lines,30000\n"), "{want}");
    for shape in [&["-t", "1"][..], &["-t", "2"], &["-p", "2", "-t", "1"], &["-p", "2", "-t", "2"]] {
        let mut args = shape.to_vec();
        args.extend(["--chunk-size", "16K", "--twice", "-"]);
        let out = run_with_stdin(&args, &data, &tmp);
        assert!(out.status.success(), "{shape:?}: {}", text(&out.stderr));
        let got = text(&out.stdout);
        // The first action gives the file's exact result, the second the same count.
        let (first, again) = got.split_once("again,lines,").unwrap_or_else(|| panic!("{shape:?}: {got}"));
        let counters = want.find("counter,").unwrap();
        assert_eq!(first, &want[..counters], "{shape:?}");
        assert!(again.starts_with("30000\n"), "{shape:?}: the second action over - sees every line: {got}");
        assert!(entries(&tmp).is_empty(), "{shape:?}: the spool is removed at exit: {:?}", entries(&tmp));
    }
}

/// Issue 15.1: with `--stdin stream`, standard input is parsed as it
/// arrives, with no copy on disk: the file's exact result on one thread
/// and two; its errors name `-`, the line and the byte offset; a second
/// action over it, and worker processes, are errors that say what to use.
#[test]
fn issue_15_1_streamed_stdin_gives_the_file_records_with_no_copy() {
    let dir = Dir::new();
    let (tmp, data, file, want) = sample_and_reference(&dir);
    let want = &want[..want.find("counter,").unwrap()];
    for threads in ["1", "2"] {
        let out = run_with_stdin(&["-t", threads, "--stdin", "stream", "-"], &data, &tmp);
        assert!(out.status.success(), "-t {threads}: {}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with(want), "-t {threads}: {}", text(&out.stdout));
        assert!(entries(&tmp).is_empty(), "-t {threads}: a copy was made: {:?}", entries(&tmp));
    }
    let bad = run_with_stdin(&["--stdin", "stream", "-"], b"a\nbb\n\xff\xfe\nc\n", &tmp);
    let err = text(&bad.stderr);
    assert!(err.contains("error: -: line 3 (byte 5): line is not valid UTF-8"), "{err}");
    assert!(err.contains("(in split #0 - (the whole stream))"), "{err}");
    let explained = run_with_stdin(&["--stdin", "stream", "--explain", "-"], b"a\n", &tmp);
    assert!(
        text(&explained.stderr).contains("0 B) + 1 stream of unknown size, 1 split"),
        "{}",
        text(&explained.stderr)
    );
    let twice = run_with_stdin(&["--stdin", "stream", "--twice", "-"], &data, &tmp);
    assert_eq!(twice.status.code(), Some(1), "{}", text(&twice.stderr));
    assert!(
        text(&twice.stderr).contains("an earlier action (or headers()) read it: --stdin spool"),
        "{}",
        text(&twice.stderr)
    );
    let workers = run_with_stdin(&["--stdin", "stream", "-p", "2", "-"], &data, &tmp);
    assert!(!workers.status.success(), "{}", text(&workers.stderr));
    assert!(text(&workers.stderr).contains("drop --processes, or use --stdin spool"), "{}", text(&workers.stderr));
    // Other inputs run with workers as ever, and `-` named twice is one input.
    let file_with_workers = run_with_stdin(&["--stdin", "stream", "-p", "2", file.to_str().unwrap()], b"", &tmp);
    assert!(file_with_workers.status.success(), "{}", text(&file_with_workers.stderr));
    let dash_twice = run_with_stdin(&["--stdin", "stream", "-", "-"], &data, &tmp);
    assert!(text(&dash_twice.stdout).starts_with(want), "{}", text(&dash_twice.stderr));
}

/// Issue 15.1: one stream is parsed on several threads, cut into blocks of
/// whole lines (4 KiB here, so the 30,000 lines make about 200): standard
/// input and a gzip file give every action the file's exact result, in
/// input order for `collect`, and an error in a late block names the line
/// and byte offset the sequential reader names, the first bad line of the
/// stream even when a later block fails too.
#[test]
fn issue_15_1_one_stream_parsed_in_blocks_on_several_threads_gives_the_file_result() {
    let dir = Dir::new();
    let (tmp, data, file, plain) = sample_and_reference(&dir);
    let first = &plain[..plain.find("counter,").unwrap()];
    let actions = ["--collect", "--distinct"];
    let reference = Command::new(probe()).args(["-t", "1"]).args(actions).arg(&file).output().unwrap();
    assert!(reference.status.success(), "{}", text(&reference.stderr));
    let want = text(&reference.stdout);
    let want = &want[..want.find("counter,").unwrap_or(want.len())];
    assert!(want.contains("collect,30000,"), "{want}");
    let gz = dir.path().join("in.txt.gz");
    let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::fast());
    enc.write_all(&data).unwrap();
    enc.finish().unwrap();
    let small = [("SHOAL_STREAM_BLOCK", "4K")];
    // Standard input streamed serves one action: the probe's first.
    for threads in ["2", "3"] {
        let out = run_with_stdin_env(&["-t", threads, "--stdin", "stream", "-"], &data, &tmp, &small);
        assert!(out.status.success(), "-t {threads}: {}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with(first), "-t {threads}, stdin: {}", text(&out.stdout));
        let mut args = vec!["-t", threads];
        args.extend(actions);
        args.push(gz.to_str().unwrap());
        let out = run_with_stdin_env(&args, b"", &tmp, &small);
        assert!(out.status.success(), "-t {threads}: {}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with(want), "-t {threads}, gzip: {}", text(&out.stdout));
    }
    // Bad lines far into the stream: the first one is named, as on one thread.
    let mut bad = data.clone();
    let first_bad = bad.len() / 2;
    let at = first_bad + memchr::memchr(b'\n', &bad[first_bad..]).unwrap() + 1;
    bad.insert(at, 0xff);
    let later = bad.len() - 100;
    let later = later + memchr::memchr(b'\n', &bad[later..]).unwrap() + 1;
    bad.insert(later, 0xfe);
    let line = 1 + bad[..at].iter().filter(|&&b| b == b'\n').count();
    let named = format!("error: -: line {line} (byte {at}): line is not valid UTF-8");
    for threads in ["1", "2", "3"] {
        let out = run_with_stdin_env(&["-t", threads, "--stdin", "stream", "-"], &bad, &tmp, &small);
        assert!(!out.status.success(), "-t {threads}");
        assert!(text(&out.stderr).contains(&named), "-t {threads}: want {named}: {}", text(&out.stderr));
    }
}

#[test]
fn issue_18_12_stdin_errors_name_the_input_dash_with_line_and_offset() {
    let dir = Dir::new();
    let out = run_with_stdin(&["-p", "2", "-t", "1", "-"], b"a\nbb\n\xff\xfe\nc\n", dir.path());
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("error: -: line 3 (byte 5): line is not valid UTF-8"), "{err}");
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

#[test]
fn issue_18_12_the_spool_is_removed_on_interrupt() {
    let dir = Dir::new();
    let child = spawn_held(dir.path());
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

/// Issue 18.4 through standard input: endless input without newlines stops
/// the copy at a bounded size with an error naming `-`.
#[test]
fn issue_18_4_endless_stdin_without_newlines_stops_the_spool() {
    let dir = Dir::new();
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let start = Instant::now();
    let out = Command::new(probe())
        .args(["--max-record-size", "64K", "-"])
        .env("TMPDIR", dir.path())
        .stdin(zero)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("error: -: cannot copy standard input") && err.contains("without a line break"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
}

/// A spool that a `SIGKILL` left behind (no exit handler ran) is removed
/// by the next run of the same user that spools standard input; a spool
/// of a live process, or of another host, is left alone.
#[test]
fn a_killed_runs_spool_is_removed_by_the_next_run() {
    let dir = Dir::new();
    let mut child = spawn_held(dir.path());
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let left = entries(dir.path());
    assert!(left.len() == 1 && left[0].starts_with("shoal-stdin-"), "{left:?}");
    let elsewhere = dir.path().join("shoal-stdin-otherhost-999999999-abc");
    std::fs::write(&elsewhere, "not ours").unwrap();
    let out = run_with_stdin(&["-t", "1", "-"], b"a\nb\n", dir.path());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(entries(dir.path()), ["shoal-stdin-otherhost-999999999-abc"], "the killed run's spool is still there");
}

/// Issue 15.1, through the library: a gzip file of about 12 MiB is three
/// 4 MiB blocks on three threads; `collect` gets its lines in input order,
/// and a bad line in the last block fails the action with the line and
/// byte offset of the first bad line (not an assertion of the merge).
#[test]
fn issue_15_1_collect_over_a_gzip_in_blocks_keeps_order_and_fails_cleanly() {
    use shoal::prelude::*;
    let dir = Dir::new();
    let lines: Vec<String> = (0..600_000).map(|i| format!("line {i} {}", "x".repeat(i % 13))).collect();
    let write_gz = |name: &str, text: &[u8]| {
        let path = dir.path().join(name);
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
        enc.write_all(text).unwrap();
        enc.finish().unwrap();
        path
    };
    let mut text = lines.join("\n").into_bytes();
    text.push(b'\n');
    assert!(text.len() > 9 << 20, "{} bytes", text.len());
    let good = write_gz("good.txt.gz", &text);
    let job = Job::builder().threads(3).build().unwrap();
    let got: Vec<String> = job.lines(&good).map(str::to_owned).collect().unwrap();
    assert!(got == lines, "{} lines, in order: {}", got.len(), got == lines);
    let at = text.len() - 1000;
    let at = at + memchr::memchr(b'\n', &text[at..]).unwrap() + 1;
    text.insert(at, 0xff);
    let line = 1 + text[..at].iter().filter(|&&b| b == b'\n').count();
    let bad = write_gz("bad.txt.gz", &text);
    let err = job.lines(&bad).map(str::to_owned).collect().unwrap_err();
    assert_eq!((err.line(), err.offset()), (Some(line as u64), Some(at as u64)), "{err}");
    assert!(err.to_string().contains("not valid UTF-8"), "{err}");
}

/// Issue 15.1: lines of a pipe are parsed as they arrive, not when a block
/// fills or the pipe ends: a bad first line fails the run while the pipe
/// is still open and trickles on, on one thread and with blocks handed to
/// two.
#[test]
fn issue_15_1_a_slow_pipe_is_parsed_as_it_arrives() {
    let dir = Dir::new();
    for threads in ["1", "2"] {
        let mut child = spawn(&["-t", threads, "--stdin", "stream", "-"], dir.path());
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"\xff bad\n").unwrap();
        stdin.flush().unwrap();
        // Then a line every 5 ms, so the pipe is never quiet for long.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let trickle = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if stdin.write_all(b"good line\n").and_then(|()| stdin.flush()).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if start.elapsed() > Duration::from_secs(20) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        trickle.join().unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(status.is_some(), "-t {threads}: still waiting for the pipe to end");
        assert!(
            text(&out.stderr).contains("error: -: line 1 (byte 0): line is not valid UTF-8"),
            "-t {threads}: {}",
            text(&out.stderr)
        );
    }
}

/// `--progress` counts the records of a stream parsed in blocks as the
/// blocks end, not only when the stream ends: a line written while the
/// pipe is still open shows every record sent so far.
#[test]
fn progress_counts_a_streams_records_while_it_is_read() {
    use std::io::BufRead;
    let dir = Dir::new();
    let args = ["-t", "2", "--stdin", "stream", "--progress", "always", "-"];
    let mut child = spawn_env(&args, dir.path(), &[("SHOAL_STREAM_BLOCK", "1K")]);
    let mut stdin = child.stdin.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, seen) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(|l| l.ok()) {
            let _ = lines.send(line);
        }
    });
    let data = sample(3000);
    stdin.write_all(&data).unwrap();
    stdin.flush().unwrap();
    // A line every 5 s: the second comes while the pipe is open.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut progress = Vec::new();
    while Instant::now() < deadline {
        match seen.recv_timeout(Duration::from_millis(100)) {
            Ok(line) if line.starts_with("shoal: action 0") => {
                let done = line.contains(" 3000 records");
                progress.push(line);
                if done {
                    break;
                }
            }
            _ => {}
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    reader.join().unwrap();
    assert!(out.status.success(), "{progress:?}");
    assert!(progress.last().is_some_and(|l| l.contains(" 3000 records")), "while the pipe was open: {progress:?}");
    // The last line, at the end, still counts what the stream read.
    let last = seen.try_iter().filter(|l| l.starts_with("shoal: action 0")).last();
    let last = last.expect("a line at the end");
    assert!(last.contains(" 3000 records") && !last.contains(" 0.0 B read"), "{last}");
}
