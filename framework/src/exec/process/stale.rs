//! Removing socket directories that dead leaders left in the temporary
//! directory.
//!
//! Leaders of earlier Shoal versions listened on `leader.sock` inside a
//! private directory `shoal-<pid>-<8 hex digits>` of the temporary
//! directory, which stayed behind when the leader was killed. A leader now
//! needs no such directory (see [`super::spawn`]); at start it removes the
//! ones whose leader is dead. A directory is removed only if its name has
//! that exact shape, it is a real directory (not a symbolic link) owned by
//! this user, no process has its pid, and it holds nothing but a socket
//! named `leader.sock`.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

/// Removes the stale socket directories of dead leaders under `tmp`;
/// returns how many were removed. Errors only skip a directory.
pub(crate) fn remove_stale_socket_dirs(tmp: &Path) -> usize {
    let mut removed = 0;
    for path in crate::signals::dead_processes_entries(tmp, leader_pid, crate::signals::Entry::Dir) {
        if only_a_leader_socket(&path) {
            let _ = std::fs::remove_file(path.join("leader.sock"));
            if std::fs::remove_dir(&path).is_ok() {
                removed += 1;
            }
        }
    }
    removed
}

/// The pid in a socket directory's name, `shoal-<pid>-<8 hex digits>`.
fn leader_pid(name: &str) -> Option<i32> {
    let (pid, tag) = name.strip_prefix("shoal-")?.split_once('-')?;
    let hex = tag.len() == 8 && tag.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    (hex && digits).then(|| pid.parse().ok()).flatten().filter(|&p| p > 0)
}

/// Whether `dir` is empty or holds only a socket named `leader.sock`.
fn only_a_leader_socket(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else { return false };
    entries
        .into_iter()
        .all(|entry| entry.is_ok_and(|e| e.file_name() == "leader.sock" && e.file_type().is_ok_and(|t| t.is_socket())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pid of a process that has exited.
    fn dead_pid() -> i32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        child.id() as i32
    }

    fn socket_dir(tmp: &Path, name: &str) -> std::path::PathBuf {
        let dir = tmp.join(name);
        std::fs::create_dir(&dir).unwrap();
        drop(std::os::unix::net::UnixListener::bind(dir.join("leader.sock")).unwrap());
        dir
    }

    #[test]
    fn only_dead_leaders_socket_dirs_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dead = dead_pid();
        let stale = socket_dir(tmp.path(), &format!("shoal-{dead}-0123abcd"));
        let empty = tmp.path().join(format!("shoal-{dead}-fedc4321"));
        std::fs::create_dir(&empty).unwrap();
        let live = socket_dir(tmp.path(), &format!("shoal-{}-0123abcd", std::process::id()));
        let foreign = socket_dir(tmp.path(), &format!("shoal-{dead}-00000000"));
        std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
        let odd = socket_dir(tmp.path(), &format!("shoal-{dead}-xyz"));
        assert_eq!(remove_stale_socket_dirs(tmp.path()), 2);
        assert!(!stale.exists() && !empty.exists());
        assert!(live.exists(), "its leader is alive");
        assert!(foreign.exists(), "it holds something else");
        assert!(odd.exists(), "not a leader's name");
    }

    #[test]
    fn names_are_read_strictly() {
        assert_eq!(leader_pid("shoal-123-0a1b2c3d"), Some(123));
        for bad in
            ["shoal-123-0a1b2c3", "shoal--0a1b2c3d", "shoal-12a-0a1b2c3d", "shoal-0-0a1b2c3d", "other-1-0a1b2c3d"]
        {
            assert_eq!(leader_pid(bad), None, "{bad}");
        }
    }
}
