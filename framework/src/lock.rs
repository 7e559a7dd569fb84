//! `--lock FILE`: no two runs of a job at once.
//!
//! The lock is an `flock` on the file, held for as long as the process
//! lives: the kernel drops it when the holder exits or is killed, so a
//! killed run never blocks the next. The holder writes its pid into the
//! file, for the message of a run that finds it taken. A second run fails
//! at once with [`ErrorKind::Locked`] (exit status 4), or first waits up to
//! `--lock-wait` seconds.

use crate::error::{Error, ErrorKind, Result};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a run waits for a lock another run holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LockWait {
    /// Fail at once (exit status 4).
    #[default]
    No,
    /// Wait up to this long, then fail.
    For(Duration),
}

/// How often a waiting run tries the lock again.
const RETRY: Duration = Duration::from_millis(50);

/// A held run lock; dropping it (or the process ending) releases it.
#[derive(Debug)]
pub(crate) struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock at `path` (created if missing; its folder must exist),
    /// waiting as `wait` says.
    ///
    /// # Errors
    /// [`ErrorKind::Locked`] naming the holder's pid when another run holds
    /// it past the wait; I/O errors naming the file.
    pub(crate) fn acquire(path: &Path, wait: LockWait) -> Result<RunLock> {
        let deadline = match wait {
            LockWait::No => None,
            LockWait::For(d) => Some(Instant::now() + d),
        };
        loop {
            if let Some(mut file) = try_lock(path).map_err(|e| e.context("cannot take the run lock"))? {
                // The pid is for other runs' messages only; failing to write it
                // does not matter.
                let _ = file.set_len(0).and_then(|()| write!(file, "{}", std::process::id()));
                return Ok(RunLock { _file: file });
            }
            if deadline.is_none_or(|d| Instant::now() >= d) {
                let waited = match wait {
                    LockWait::No => String::new(),
                    LockWait::For(d) => format!(" after waiting {:.1} s", d.as_secs_f64()),
                };
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!("another run of this job holds the lock{waited} (pid {})", holder(path)),
                )
                .with_path(path));
            }
            std::thread::sleep(RETRY);
        }
    }
}

/// Locks `path` exclusively without waiting: `None` when another process
/// holds it. Shared with the quarantine files' locks.
pub(crate) fn try_lock(path: &Path) -> Result<Option<File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e).context("cannot open the lock file"))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(file)),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(None),
        Err(e) => Err(Error::io(path, e.into()).context("cannot lock the file")),
    }
}

/// The pid the holder wrote, or `unknown`.
fn holder(path: &Path) -> String {
    let mut text = String::new();
    let read = File::open(path).and_then(|mut f| {
        f.rewind()?;
        f.read_to_string(&mut text)
    });
    match read {
        Ok(_) if text.trim().parse::<u32>().is_ok() => text.trim().to_string(),
        _ => "unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_at_once_or_after_its_wait_and_a_dropped_lock_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.lock");
        let held = RunLock::acquire(&path, LockWait::No).unwrap();
        // flock locks belong to the open file description: a second open in
        // this process conflicts like another process would.
        let err = RunLock::acquire(&path, LockWait::No).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Locked);
        assert!(err.to_string().contains(&format!("(pid {})", std::process::id())), "{err}");
        let started = Instant::now();
        let err = RunLock::acquire(&path, LockWait::For(Duration::from_millis(200))).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(200));
        assert!(err.to_string().contains("after waiting 0.2 s"), "{err}");
        drop(held);
        RunLock::acquire(&path, LockWait::No).unwrap();
    }

    #[test]
    fn a_waiting_run_gets_the_lock_when_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.lock");
        let held = RunLock::acquire(&path, LockWait::No).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(held);
        });
        RunLock::acquire(&path, LockWait::For(Duration::from_secs(10))).unwrap();
        releaser.join().unwrap();
    }
}
