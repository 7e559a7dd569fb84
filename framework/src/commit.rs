//! Atomic commits: output appears complete or not at all.
//!
//! Everything is written into a staging folder beside the target,
//! `.NAME.shoal-tmp-PID-N`, on the same file system, synced, and then swapped
//! in with one `rename`:
//!
//! * a file target is replaced by `rename(2)`, atomic on POSIX;
//! * a folder target that does not exist yet is created by `rename(2)`;
//! * a folder target that exists is swapped with the staging folder by
//!   `renameat2(RENAME_EXCHANGE)` on Linux (one atomic step; the old output
//!   then sits in the staging folder and is deleted). Elsewhere the old
//!   folder is first renamed aside, leaving a short window without output,
//!   but never a mix of old and new.
//!
//! On any error the staging folder is deleted and the target is untouched.
//! A process killed mid-write leaves its staging folder behind; the next
//! commit to the same target deletes staging folders whose process is gone,
//! so no stray temporary files accumulate.
//!
//! The sinks of `shoal-connectors` and the quarantine files
//! ([`crate::report`]) commit through this module.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use shoal::commit::{Parent, Staging};
//! let dir = tempfile::tempdir()?;
//! let target = dir.path().join("out.txt");
//! let staging = Staging::begin(&target, Parent::MustExist)?;
//! std::fs::write(staging.dir().join("out.txt"), "all or nothing\n")?;
//! staging.commit_file("out.txt")?;
//! assert_eq!(std::fs::read_to_string(&target)?, "all or nothing\n");
//! # Ok(()) }
//! ```

use crate::error::{Error, ErrorKind, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The marker in staging folder names.
const TMP_MARK: &str = ".shoal-tmp-";

/// Whether [`Staging::begin`] may create the target's missing parent folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// Create missing parent folders (the sinks: an output folder tree).
    Create,
    /// The parent folder must exist already; a missing one is an error naming it.
    MustExist,
}

/// A staging folder that is deleted when dropped, unless committed.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    dir: PathBuf,
}

fn io(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    let what = what.to_string();
    move |e| Error::io(&path, e).context(what)
}

/// The target's parent (`.` for a bare name) and file name.
pub(crate) fn split_target(target: &Path) -> Result<(PathBuf, String)> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::new(ErrorKind::Config, "output path has no usable file name").with_path(target))?;
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name.to_string()))
}

impl Staging {
    /// Creates the staging folder for `target` (and, with [`Parent::Create`],
    /// the target's parent folders), after deleting stale staging folders of
    /// dead processes.
    ///
    /// # Errors
    /// A target without a file name; a missing parent under
    /// [`Parent::MustExist`]; I/O errors naming the folder.
    pub fn begin(target: &Path, parent_policy: Parent) -> Result<Staging> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let (parent, name) = split_target(target)?;
        match parent_policy {
            Parent::Create => {
                fs::create_dir_all(&parent).map_err(io(&parent, "cannot create the output's folder"))?;
            }
            Parent::MustExist => check_parent(&parent)?,
        }
        remove_stale(&parent, &name);
        let pid = std::process::id();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!(".{name}{TMP_MARK}{pid}-{n}"));
        fs::create_dir(&dir).map_err(io(&dir, "cannot create a staging folder"))?;
        Ok(Staging { target: target.to_path_buf(), dir })
    }

    /// The staging folder, to write into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The target this staging folder commits to.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Replaces the target file by the staged file `name`.
    ///
    /// # Errors
    /// The target is a folder; I/O errors naming the target.
    pub fn commit_file(self, name: &str) -> Result<()> {
        self.publish(&self.dir.join(name))
        // Dropping `self` deletes the (now empty) staging folder.
    }

    /// Replaces the target file by a synced copy of the staged file `name`,
    /// which stays in the staging folder (to be extended and committed
    /// again: each commit is whole).
    ///
    /// # Errors
    /// The target is a folder; I/O errors naming the file.
    pub fn commit_copy(&self, name: &str) -> Result<()> {
        let staged = self.dir.join(name);
        let copy = self.dir.join(format!("{name}.commit"));
        fs::copy(&staged, &copy).map_err(io(&copy, "cannot copy the staged file"))?;
        sync_file(&copy)?;
        self.publish(&copy)
    }

    /// Renames a synced staged file onto the target.
    fn publish(&self, staged: &Path) -> Result<()> {
        if self.target.is_dir() {
            return Err(Error::new(ErrorKind::Config, "output file exists and is a folder").with_path(&self.target));
        }
        fs::rename(staged, &self.target).map_err(io(&self.target, "cannot move the output into place"))?;
        sync_parent(&self.target);
        Ok(())
    }

    /// Replaces the target folder by the staging folder.
    ///
    /// # Errors
    /// The target exists and is not a folder; I/O errors naming it.
    pub fn commit_dir(self) -> Result<()> {
        sync_dir(&self.dir);
        match fs::symlink_metadata(&self.target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::rename(&self.dir, &self.target).map_err(io(&self.target, "cannot move the output into place"))?;
            }
            Err(e) => return Err(io(&self.target, "cannot inspect the output folder")(e)),
            Ok(meta) if !meta.is_dir() => {
                return Err(
                    Error::new(ErrorKind::Config, "output folder exists and is not a folder").with_path(&self.target)
                );
            }
            Ok(_) => exchange(&self.dir, &self.target)?,
        }
        sync_parent(&self.target);
        Ok(())
        // Dropping `self` deletes the staging folder, which now holds the old output.
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Best effort: the folder is gone already after a first-time commit.
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Swaps two folders atomically.
#[cfg(target_os = "linux")]
fn exchange(staged: &Path, target: &Path) -> Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, staged, CWD, target, RenameFlags::EXCHANGE)
        .map_err(|e| io(target, "cannot swap the new output in")(e.into()))
}

/// Renames the old folder aside, the new one in, and leaves the old one in
/// the staging folder's place for deletion.
#[cfg(not(target_os = "linux"))]
fn exchange(staged: &Path, target: &Path) -> Result<()> {
    let aside = staged.with_extension("old");
    fs::rename(target, &aside).map_err(io(target, "cannot move the old output aside"))?;
    if let Err(e) = fs::rename(staged, target) {
        let _ = fs::rename(&aside, target);
        return Err(io(target, "cannot move the output into place")(e));
    }
    fs::rename(&aside, staged).map_err(io(staged, "cannot clean up the old output"))
}

/// Deletes staging folders of `name` in `parent` whose process is gone.
fn remove_stale(parent: &Path, name: &str) {
    let prefix = format!(".{name}{TMP_MARK}");
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether a process with this id exists (`/proc` on Linux; elsewhere
/// assume it does, so nothing of a live writer is deleted).
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() { proc.join(pid.to_string()).exists() } else { true }
}

/// The target's parent folder exists and is a folder.
fn check_parent(parent: &Path) -> Result<()> {
    match fs::metadata(parent) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Error::new(ErrorKind::Config, "not a folder").with_path(parent)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(Error::new(ErrorKind::Config, "folder does not exist (it is not created)").with_path(parent))
        }
        Err(e) => Err(io(parent, "cannot inspect the folder")(e)),
    }
}

/// Writes one small file whole or not at all: `pieces`, in order, to a
/// temporary file beside `path` (created with `mode`), synced, then renamed
/// over `path`. What run reports and `--state` files are written with.
///
/// # Errors
/// I/O errors naming `path`, with `what` as context.
pub(crate) fn write_file_whole(path: &Path, pieces: &[&[u8]], mode: u32, what: &str) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |e| Error::io(path, e).context(what.to_string());
    let mut tmp = tempfile::Builder::new().prefix(".tmp").tempfile_in(dir).map_err(fail)?;
    for piece in pieces {
        std::io::Write::write_all(&mut tmp, piece).map_err(fail)?;
    }
    let perms: fs::Permissions = std::os::unix::fs::PermissionsExt::from_mode(mode);
    tmp.as_file().set_permissions(perms).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Flushes a file to disk.
///
/// # Errors
/// I/O errors naming the file.
pub fn sync_file(path: &Path) -> Result<()> {
    fs::File::open(path).and_then(|f| f.sync_all()).map_err(io(path, "cannot sync output file"))
}

/// Flushes a folder's entries to disk (best effort: not every file system can).
fn sync_dir(dir: &Path) {
    if let Ok(f) = fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

fn sync_parent(path: &Path) {
    if let Ok((parent, _)) = split_target(path) {
        sync_dir(&parent);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn folders_are_created_then_swapped() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        for round in ["one", "two"] {
            let staging = Staging::begin(&out, Parent::Create).unwrap();
            fs::write(staging.dir().join(round), round).unwrap();
            staging.commit_dir().unwrap();
            assert_eq!(names(&out), [round]);
        }
        assert_eq!(names(tmp.path()), ["out"]);
    }

    #[test]
    fn files_are_replaced_and_failures_leave_no_trace() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("r.csv");
        fs::write(&out, "old").unwrap();
        let staging = Staging::begin(&out, Parent::Create).unwrap();
        fs::write(staging.dir().join("r.csv"), "half").unwrap();
        drop(staging); // an error before the commit
        assert_eq!(fs::read_to_string(&out).unwrap(), "old");
        assert_eq!(names(tmp.path()), ["r.csv"]);
        let staging = Staging::begin(&out, Parent::Create).unwrap();
        fs::write(staging.dir().join("r.csv"), "new").unwrap();
        staging.commit_file("r.csv").unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "new");
        assert_eq!(names(tmp.path()), ["r.csv"]);
    }

    #[test]
    fn stale_staging_of_dead_processes_is_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        // Above the kernel's pid_max: no such process.
        let stale = tmp.path().join(format!(".out{TMP_MARK}4294967290-0"));
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join("part-00000.csv"), "x").unwrap();
        let other = tmp.path().join(format!(".other{TMP_MARK}4294967290-0"));
        fs::create_dir(&other).unwrap();
        let staging = Staging::begin(&out, Parent::Create).unwrap();
        staging.commit_dir().unwrap();
        assert_eq!(names(tmp.path()), [format!(".other{TMP_MARK}4294967290-0"), "out".to_string()]);
    }

    #[test]
    fn copies_commit_whole_and_the_staged_file_grows_on() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("q.jsonl");
        let staging = Staging::begin(&out, Parent::MustExist).unwrap();
        fs::write(staging.dir().join("records"), "a\n").unwrap();
        staging.commit_copy("records").unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "a\n");
        fs::write(staging.dir().join("records"), "a\nb\n").unwrap();
        staging.commit_copy("records").unwrap();
        assert_eq!(fs::read_to_string(&out).unwrap(), "a\nb\n");
        drop(staging);
        assert_eq!(names(tmp.path()), ["q.jsonl"]);
    }

    #[test]
    fn a_missing_parent_is_named_and_not_created() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("no/such/q.jsonl");
        let err = Staging::begin(&out, Parent::MustExist).unwrap_err();
        assert_eq!(err.path(), Some(tmp.path().join("no/such").as_path()));
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(!tmp.path().join("no").exists());
    }

    #[test]
    fn a_file_is_not_replaced_by_a_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        fs::write(&out, "precious").unwrap();
        let staging = Staging::begin(&out, Parent::Create).unwrap();
        assert_eq!(staging.commit_dir().unwrap_err().kind(), ErrorKind::Config);
        assert_eq!(fs::read_to_string(&out).unwrap(), "precious");
        assert_eq!(names(tmp.path()), ["out"]);
    }
}
