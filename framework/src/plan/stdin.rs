//! Standard input, spooled once per process to a private temporary file,
//! or, with `--stdin stream` ([`StdinMode::Stream`]), parsed as it streams.
//!
//! Streamed, `-` is planned as one split of [`FileKind::Stdin`], read
//! through the same bounded read-ahead as a named pipe (no copy on disk,
//! a few MiB in memory whatever its size), by one action in one process:
//! a second plan of `-` is an error that says so, and a leader with worker
//! processes refuses it (a worker cannot read the leader's standard input).
//!
//! Spooled (the default):
//!
//! The first plan that names `-` copies standard input to a file made by
//! the `tempfile` crate (mode 0600, a random name after `shoal-stdin-<host>-<pid>-`)
//! and from then on `-` is planned like any regular file: cut into splits,
//! memory-mapped, its CSV header read. Every later plan in the process
//! reuses the same spool, so a second action over `-` sees the same records
//! as the first. Worker processes never read their own standard input: the
//! plan they receive carries the spool's path ([`InputFile::spool`]), which
//! they open like any input, on the same machine. A worker on another
//! machine cannot open it and fails with an error naming the file.
//!
//! The spool takes temporary disk space equal to the size of the input, in
//! the directory `TMPDIR` names (`/tmp` when unset). It is removed when the
//! process exits, also through `Ctrl-C`/`SIGTERM` (the interrupt watcher
//! exits through `std::process::exit`, which runs the removal registered
//! with `atexit`); one that a `SIGKILL` left behind is removed by the next
//! process of the same user and host that spools standard input (its name,
//! `shoal-stdin-<host>-<pid>-...`, says whose it is).
//!
//! Errors and rejected records still name the input `-`: the plan keeps
//! `-` as the file's [`InputFile::path`] and the spool apart.
//!
//! Copying stops with an error at a run of more than [`RUN_FACTOR`] times
//! the largest `--max-record-size` of the process's jobs without a line
//! break (`\n` or `\r`): such a run is one record far over the limit, and
//! an endless input without newlines (`/dev/zero`) must not fill the disk.
//! Shorter too-long records are left to the sources, which reject them
//! (or apply their malformed-record policy).

use super::{FileKind, InputFile};
use crate::error::{Error, ErrorKind, Result};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many times the record limit a run without a line break may reach
/// before copying stops.
pub(crate) const RUN_FACTOR: u64 = 4;

/// The largest `--max-record-size` of the jobs built in this process.
static RECORD_LIMIT: AtomicU64 = AtomicU64::new(crate::read::DEFAULT_MAX_RECORD);

/// Notes a job's record limit (the spool allows runs up to
/// [`RUN_FACTOR`] times the largest).
pub(crate) fn note_record_limit(max: u64) {
    RECORD_LIMIT.fetch_max(max, Ordering::Relaxed);
}

/// How standard input is read: the `--stdin` flag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StdinMode {
    /// Copied to a temporary file first, then planned like a file: any
    /// number of actions read it, on every thread and worker process.
    #[default]
    Spool,
    /// Parsed as it streams, with no copy: one action reads it, in one
    /// process.
    Stream,
}

/// Whether `-` is streamed ([`StdinMode::Stream`]) in this process.
static STREAM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether a plan took the stream already.
static STREAM_TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Notes how this process reads standard input (the last job built decides).
pub(crate) fn set_mode(mode: StdinMode) {
    STREAM.store(mode == StdinMode::Stream, Ordering::Relaxed);
}

/// The path and size of the spool, or why it could not be made.
static SPOOL: OnceLock<std::result::Result<(PathBuf, u64), String>> = OnceLock::new();

/// The spool's path as soon as it exists (before it is filled), for removal
/// at exit.
static SPOOL_PATH: OnceLock<PathBuf> = OnceLock::new();

/// The input file for `-`: standard input, spooled on first use.
///
/// # Errors
/// [`ErrorKind::Io`] when the spool cannot be created or written (no space
/// in `TMPDIR`, for instance) or standard input cannot be read; later calls
/// return the same error (standard input cannot be read twice).
pub(crate) fn input() -> Result<InputFile> {
    if STREAM.load(Ordering::Relaxed) {
        return streamed();
    }
    match SPOOL.get_or_init(|| spool().map_err(|e| e.to_string())) {
        Ok((spool, len)) => Ok(InputFile {
            path: PathBuf::from("-"),
            len: Some(*len),
            kind: FileKind::Regular,
            spool: Some(spool.clone()),
            modified: None,
        }),
        Err(why) => Err(Error::new(
            ErrorKind::Io,
            format!("cannot copy standard input to a temporary file (TMPDIR decides where): {why}"),
        )
        .with_path("-")),
    }
}

/// `-` as a stream, for the first plan only.
///
/// # Errors
/// A plan after the first: the stream is read once.
fn streamed() -> Result<InputFile> {
    if STREAM_TAKEN.swap(true, Ordering::Relaxed) {
        return Err(Error::new(
            ErrorKind::Config,
            "standard input is streamed (--stdin stream) and an earlier action (or headers()) read it: \
             --stdin spool (the default) keeps a copy that every action can read",
        )
        .with_path("-"));
    }
    Ok(InputFile { path: PathBuf::from("-"), len: None, kind: FileKind::Stdin, spool: None, modified: None })
}

fn spool() -> std::io::Result<(PathBuf, u64)> {
    // Named `shoal-stdin-<host>-<pid>-...`: the spools that killed
    // processes of this user on this host left are removed first.
    let host_prefix = format!("shoal-stdin-{}-", crate::signals::host());
    let pid_of = |name: &str| crate::signals::pid_after(name, &host_prefix).and_then(|pid| i32::try_from(pid).ok());
    for stale in crate::signals::dead_processes_entries(&std::env::temp_dir(), pid_of, crate::signals::Entry::File) {
        let _ = std::fs::remove_file(stale);
    }
    let prefix = format!("{host_prefix}{}-", std::process::id());
    let (mut file, path) = tempfile::Builder::new().prefix(&prefix).tempfile()?.keep().map_err(|e| e.error)?;
    if SPOOL_PATH.set(path.clone()).is_ok() {
        // SAFETY: `atexit` only stores the pointer to `remove_spool`, a
        // function with the C ABI that takes nothing, returns nothing and
        // cannot unwind (a panic in an `extern "C"` function aborts).
        unsafe {
            libc::atexit(remove_spool);
        }
    }
    let max_run = RECORD_LIMIT.load(Ordering::Relaxed).saturating_mul(RUN_FACTOR);
    let copied = copy_bounded(&mut std::io::stdin().lock(), &mut file, max_run);
    match copied {
        Ok(len) => Ok((path, len)),
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

/// Copies `from` into `to`, failing at a run of more than `max_run` bytes
/// without a line break.
fn copy_bounded(from: &mut dyn BufRead, to: &mut std::fs::File, max_run: u64) -> std::io::Result<u64> {
    let mut total = 0u64;
    // Where the current run without a line break starts.
    let mut run_start = 0u64;
    loop {
        let chunk = match from.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            to.flush()?;
            return Ok(total);
        }
        let n = chunk.len();
        if let Some(i) = memchr::memrchr2(b'\n', b'\r', chunk) {
            run_start = total + i as u64 + 1;
        }
        to.write_all(chunk)?;
        from.consume(n);
        total += n as u64;
        if total - run_start > max_run {
            return Err(std::io::Error::other(format!(
                "from byte {run_start} on, more than {max_run} bytes without a line break \
                 ({RUN_FACTOR} times --max-record-size): stopped copying"
            )));
        }
    }
}

/// Removes the spool at process exit (registered with `atexit`).
extern "C" fn remove_spool() {
    if let Some(path) = SPOOL_PATH.get() {
        let _ = std::fs::remove_file(path);
    }
}
