//! Named pipes for tests: a writer thread that cannot hang the test.
//!
//! Shared with the examples' tests (`examples/tests/main.rs` includes this
//! file by path), hence no dependency on the other test modules.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A named pipe that `bytes` are written into once, by a thread, when a
/// reader opens it. The thread ends with an error, instead of waiting
/// forever, if no reader opens the pipe within [`FIFO_WAIT`] (a reader that
/// failed before opening it): joining it never hangs the test.
pub(crate) fn fifo(dir: &Path, name: &str, bytes: Vec<u8>) -> (PathBuf, std::thread::JoinHandle<std::io::Result<()>>) {
    let path = dir.join(name);
    let ok = Command::new("mkfifo").arg(&path).status().unwrap().success();
    assert!(ok, "mkfifo");
    let writer_path = path.clone();
    let writer = std::thread::spawn(move || {
        let mut f = open_fifo_writer(&writer_path)?;
        // The reader may stop early (the fail policy): a broken pipe is fine.
        let _ = f.write_all(&bytes);
        Ok(())
    });
    (path, writer)
}

/// How long a FIFO writer waits for a reader.
pub(crate) const FIFO_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Opens the FIFO `path` for writing once a reader has it open: a
/// non-blocking open fails (`ENXIO`) until then, and is retried until
/// [`FIFO_WAIT`] has passed; the file is then made blocking again.
pub(crate) fn open_fifo_writer(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    let deadline = std::time::Instant::now() + FIFO_WAIT;
    loop {
        match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(path) {
            Ok(f) => {
                // SAFETY: `f` is an open file descriptor for the call's duration.
                let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
                // SAFETY: as above; clearing O_NONBLOCK only.
                if flags < 0 || unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                return Ok(f);
            }
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
                return Err(std::io::Error::other(format!("no reader opened {} in {FIFO_WAIT:?}", path.display())));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Joins the writer of the FIFO `path` whether or not the job read it: a
/// reader end is opened (non-blocking, so it needs no writer) and held
/// while the writer finishes (its bytes fit in the pipe's buffer).
pub(crate) fn release(path: &Path, writer: std::thread::JoinHandle<std::io::Result<()>>) {
    use std::os::unix::fs::OpenOptionsExt;
    let _reader = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).unwrap();
    writer.join().unwrap().unwrap();
}
