//! The rendezvous file: how rank 0 tells the other ranks where it listens
//! and the job's secret, through a folder every rank sees.
//!
//! `DIR/KEY.rendezvous`, where `DIR` is `SHOAL_RENDEZVOUS_DIR` (default
//! `~/.shoal/rendezvous`, made with mode 0700) and `KEY` names the launch
//! (`slurm-JOB.STEP`, `ompi-NAMESPACE`, ...). Lines `address
//! tcp:IP:PORT`, `leader HOST PID` and, when rank 0 made the secret,
//! `secret HEX`. Written whole and renamed into place with mode 0600, so a
//! reader never sees half a file; read only if owned by this user and
//! unreadable by anyone else. Rank 0 removes it when it ends; the file of a
//! rank 0 that was killed is removed by the next rank 0 to publish one on
//! the same host (files of other hosts are never touched).

use crate::error::{Error, ErrorKind, Result};
use crate::transport::Address;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// What a rendezvous file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) address: Address,
    pub(crate) secret: Option<String>,
}

/// A rendezvous file this process wrote; removed when dropped.
#[derive(Debug)]
pub(crate) struct Rendezvous {
    path: PathBuf,
}

/// The folder of rendezvous files.
fn folder() -> PathBuf {
    if let Some(dir) = std::env::var_os("SHOAL_RENDEZVOUS_DIR").filter(|d| !d.is_empty()) {
        return dir.into();
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".shoal").join("rendezvous")
}

fn path_of(key: &str) -> PathBuf {
    folder().join(format!("{key}.rendezvous"))
}

impl Rendezvous {
    /// Writes the file of launch `key`.
    ///
    /// # Errors
    /// The folder cannot be made or the file written.
    pub(crate) fn publish(key: &str, address: &Address, secret: Option<&str>) -> Result<Rendezvous> {
        let dir = folder();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::io(&dir, e).context("cannot make the rendezvous folder (SHOAL_RENDEZVOUS_DIR)"))?;
        remove_dead_leaders(&dir);
        let path = path_of(key);
        let host = crate::exec::process::worker::host_name();
        let mut text = format!("address {address}\nleader {host} {}\n", std::process::id());
        if let Some(secret) = secret {
            text.push_str(&format!("secret {secret}\n"));
        }
        crate::commit::write_file_whole(&path, &[text.as_bytes()], 0o600, "cannot write the rendezvous file")?;
        Ok(Rendezvous { path })
    }

    /// Reads the file of launch `key`: `None` while it does not exist.
    ///
    /// # Errors
    /// A file another user owns or others may read, or one that does not
    /// parse.
    pub(crate) fn read(key: &str) -> Result<Option<Found>> {
        let path = path_of(key);
        if !path.exists() {
            return Ok(None);
        }
        let text = match read_private(&path) {
            Ok(text) => text,
            // Removed between the two looks: rank 0 has ended.
            Err(_) if !path.exists() => return Ok(None),
            Err(e) => return Err(e),
        };
        let bad = |why: &str| Error::new(ErrorKind::InvalidInput, format!("rendezvous file: {why}")).with_path(&path);
        let (mut address, mut secret) = (None, None);
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("address", a)) => address = Some(a.parse::<Address>().map_err(|e| bad(&e))?),
                Some(("secret", s)) => secret = Some(s.trim().to_string()),
                _ => {}
            }
        }
        // Written whole and renamed: a file without an address is not ours.
        let address = address.ok_or_else(|| bad("no address line"))?;
        Ok(Some(Found { address, secret }))
    }
}

/// Removes the rendezvous files in `dir` of rank 0 processes of this host
/// that no longer run (killed before they could remove their own).
fn remove_dead_leaders(dir: &Path) {
    let Ok(listing) = std::fs::read_dir(dir) else { return };
    let host = crate::exec::process::worker::host_name();
    for path in listing.flatten().map(|e| e.path()) {
        if path.extension().is_none_or(|x| x != "rendezvous") {
            continue;
        }
        let Ok(text) = read_private(&path) else { continue };
        let dead = text.lines().filter_map(|l| l.strip_prefix("leader ")).any(|rest| {
            let (their_host, pid) = rest.rsplit_once(' ').unwrap_or_default();
            let pid = pid.trim().parse::<i32>().ok().filter(|&p| p > 0);
            their_host == host && pid.is_some_and(|p| !crate::signals::process_exists(p))
        });
        if dead {
            let _ = std::fs::remove_file(&path);
        }
    }
}

impl Drop for Rendezvous {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads a file holding a secret: refused unless this user owns it and no
/// one else may read or write it.
///
/// # Errors
/// The file cannot be read, or is open to others (`chmod 600` fixes it).
pub(crate) fn read_private(path: &Path) -> Result<String> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e).context("cannot read the secret file"))?;
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(Error::new(ErrorKind::Config, format!("refusing a secret file owned by user {}", meta.uid()))
            .with_path(path));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(Error::new(
            ErrorKind::Config,
            format!("refusing a secret file others may read (mode {:o}; chmod 600 it)", meta.mode() & 0o777),
        )
        .with_path(path));
    }
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e).context("cannot read the secret file"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_dead_leader_s_file_is_removed_by_the_next_one_of_its_host() {
        let dir = tempfile::tempdir().unwrap();
        let host = crate::exec::process::worker::host_name();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            crate::commit::write_file_whole(&path, &[text.as_bytes()], 0o600, "test").unwrap();
            path
        };
        let dead = write("dead.rendezvous", format!("address tcp:127.0.0.1:1\nleader {host} {}\n", child.id()));
        let alive =
            write("alive.rendezvous", format!("address tcp:127.0.0.1:2\nleader {host} {}\n", std::process::id()));
        let elsewhere =
            write("other.rendezvous", format!("address tcp:10.0.0.1:3\nleader not-{host} {}\n", child.id()));
        remove_dead_leaders(dir.path());
        assert!(!dead.exists());
        assert!(alive.exists() && elsewhere.exists());
    }

    #[test]
    fn a_secret_file_must_be_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        std::fs::write(&path, "abc\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_private(&path).unwrap_err().to_string();
        assert!(err.contains("others may read") && err.contains("644"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_private(&path).unwrap(), "abc\n");
    }
}
