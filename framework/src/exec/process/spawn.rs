//! Starting a worker process, copying its output to the leader's stderr,
//! and telling how it ended.
//!
//! A spawned worker reaches its leader over its end of a Unix socket pair,
//! inherited as file descriptor [`INHERITED_FD`] (`SHOAL_LEADER=fd:3`): no
//! socket file and no directory exist, so nothing is left behind in the
//! temporary directory however the leader ends (`SIGKILL`, a bus error, an
//! allocation abort), and no other process can reach the socket. Workers
//! started elsewhere join over TCP (`--listen`).

use super::{ENV_LEADER, ENV_LEADER_PID, ENV_SECRET, ENV_WORKER};
use crate::error::{Error, ErrorKind, Result};
use crate::signals;
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The descriptor a spawned worker finds its leader's socket on.
pub(crate) const INHERITED_FD: i32 = 3;
/// `SHOAL_LEADER` of a spawned worker: the socket is [`INHERITED_FD`].
pub(crate) const INHERITED_ADDRESS: &str = "fd:3";

/// Starts worker `id` as `exe args`, with its end of a fresh socket pair on
/// [`INHERITED_FD`]; returns the child and the leader's end.
pub(crate) fn spawn_worker(exe: &Path, args: &[OsString], secret: &str, id: usize) -> Result<(Child, UnixStream)> {
    let (ours, theirs) = UnixStream::pair()
        .map_err(|e| Error::new(ErrorKind::Io, "cannot make a socket for a worker").with_source(e))?;
    let theirs_fd = theirs.as_raw_fd();
    let mut command = Command::new(exe);
    command
        .args(args)
        .env(ENV_LEADER, INHERITED_ADDRESS)
        .env(ENV_SECRET, secret)
        .env(ENV_WORKER, id.to_string())
        .env(ENV_LEADER_PID, std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only `dup2` and `fcntl`, which are async-signal-safe; it allocates
    // nothing and touches no lock. `theirs_fd` stays open in the parent
    // until `spawn` returns (`theirs` is dropped after it).
    unsafe {
        command.pre_exec(move || {
            if theirs_fd == INHERITED_FD {
                // `dup2` onto itself keeps close-on-exec: clear it instead.
                if libc::fcntl(INHERITED_FD, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(theirs_fd, INHERITED_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child =
        command.spawn().map_err(|e| Error::new(ErrorKind::Io, "cannot start a worker process").with_source(e))?;
    drop(theirs);
    if let Some(out) = child.stdout.take() {
        forward(out, id);
    }
    if let Some(err) = child.stderr.take() {
        forward(err, id);
    }
    Ok((child, ours))
}

/// In a spawned worker: the socket to the leader, inherited on
/// [`INHERITED_FD`]. Taken at most once; an error if that descriptor is not
/// an open socket (the environment says `fd:3` but nothing was inherited).
pub(crate) fn take_inherited() -> std::io::Result<UnixStream> {
    static TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let not_inherited = || std::io::Error::other(format!("no socket inherited on descriptor {INHERITED_FD}"));
    if TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return Err(not_inherited());
    }
    // SAFETY: `fstat` writes into the zeroed `stat` we own and fails
    // cleanly (EBADF) if the descriptor is not open.
    let is_socket = unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        libc::fstat(INHERITED_FD, &mut stat) == 0 && stat.st_mode & libc::S_IFMT == libc::S_IFSOCK
    };
    if !is_socket {
        return Err(not_inherited());
    }
    // SAFETY: setting close-on-exec on an open descriptor (checked above)
    // touches no memory; the worker's own children must not inherit it.
    if unsafe { libc::fcntl(INHERITED_FD, libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the leader placed this process's end of the socket pair on
    // this descriptor for this process alone (it is a socket, checked
    // above), and `TAKEN` makes this the only owner.
    let owned = unsafe { OwnedFd::from_raw_fd(INHERITED_FD) };
    Ok(UnixStream::from(owned))
}

/// The child's exit status if it exits within `limit`.
pub(crate) fn exit_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(2)),
            _ => return None,
        }
    }
}

/// `exited with status 1`, `was killed by SIGKILL`, ...
pub(crate) fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        let name = nix::sys::signal::Signal::try_from(sig).map_or_else(|_| format!("signal {sig}"), |s| s.to_string());
        return format!("was killed by {name}");
    }
    match status.code() {
        Some(signals::EXIT_BUS) => "hit a bus error: an input was truncated while memory-mapped".to_string(),
        Some(code) => format!("exited with status {code}"),
        None => "ended".to_string(),
    }
}

/// Copies a worker's stdout or stderr to the leader's stderr, each line
/// prefixed with the worker's id, so it never mixes into the leader's stdout.
fn forward(pipe: impl std::io::Read + Send + 'static, id: usize) {
    let _ = std::thread::Builder::new().name(format!("shoal-fwd-{id}")).spawn(move || {
        let reader = std::io::BufReader::new(pipe);
        for line in reader.split(b'\n') {
            let Ok(line) = line else { break };
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "[worker {id}] ");
            let _ = err.write_all(&line);
            let _ = err.write_all(b"\n");
        }
    });
}
