//! Quarantine files: the rejected records of one run, written by the leader.
//!
//! A quarantine file is opened when a source with the policy
//! [`OnMalformed::Quarantine`](crate::OnMalformed::Quarantine) plans its first
//! action ([`OnMalformed::prepare`](crate::OnMalformed::prepare)), before any
//! record is read:
//!
//! 1. the path is checked: its parent folder must exist (it is not created)
//!    and the path must not be a folder;
//! 2. a lock file beside it, `.NAME.shoal-lock`, is locked with `flock`
//!    (exclusive, without waiting): a second run on the same path fails at
//!    once with [`ErrorKind::Locked`] (exit status 4) instead of mixing its
//!    records into the first run's file. The lock is held until the job ends;
//!    the (empty) lock file stays, as deleting it would race with a new run;
//! 3. a staging folder beside it ([`crate::commit`]) receives the records.
//!
//! At the end of every action that used the file, its full content so far
//! (every record this run rejected into it, sorted by file and offset within
//! each action) is committed with one `rename`: the file on disk is always
//! whole, holds only this run's records, and exists even when no record was
//! rejected (an empty file). A run killed before its first commit leaves the
//! previous file untouched, like the sinks; a run killed between two actions
//! leaves the records of the actions it finished. Workers never write here:
//! their rejected records travel to the leader with their split reports.

use crate::commit::{Parent, Staging, split_target};
use crate::error::{Error, ErrorKind, Result};
use crate::rejected::Rejected;
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The staged file's name in the staging folder.
const STAGED: &str = "records.jsonl";

/// The quarantine files a job has open, by canonical path.
#[derive(Debug, Default)]
pub(crate) struct Quarantine {
    files: BTreeMap<PathBuf, QuarantineFile>,
}

/// One open quarantine file.
#[derive(Debug)]
struct QuarantineFile {
    /// The path as the policy names it (for messages).
    shown: PathBuf,
    /// Holds the `flock` for as long as the job runs.
    _lock: File,
    staging: Staging,
    out: BufWriter<File>,
    /// Records written so far by this run.
    written: u64,
    /// Whether this action touched the file: it is committed at the action's end.
    touched: bool,
}

impl Quarantine {
    /// Opens `path` for this run (checks, lock, staging), or marks it as used
    /// by the current action if it is open already.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a missing parent or a folder;
    /// [`ErrorKind::Locked`] when another run holds the file; I/O errors.
    pub(crate) fn open(&mut self, path: &Path) -> Result<()> {
        let key = canonical(path)?;
        if let Some(file) = self.files.get_mut(&key) {
            file.touched = true;
            return Ok(());
        }
        check(path)?;
        let lock = lock(&key, path)?;
        let staging = Staging::begin(&key, Parent::MustExist).map_err(|e| e.context("quarantine"))?;
        let staged = staging.dir().join(STAGED);
        let file = fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&staged)
            .map_err(|e| Error::io(&staged, e).context("cannot stage the quarantine file"))?;
        let file = QuarantineFile {
            shown: path.to_path_buf(),
            _lock: lock,
            staging,
            out: BufWriter::new(file),
            written: 0,
            touched: true,
        };
        self.files.insert(key, file);
        Ok(())
    }

    /// Stages `records` for `path` (opening it if no source did), sorted by
    /// file and offset.
    ///
    /// # Errors
    /// As [`Quarantine::open`]; I/O errors naming the staged file.
    pub(crate) fn append(&mut self, path: &Path, mut records: Vec<Rejected>) -> Result<()> {
        self.open(path)?;
        let file = self.files.get_mut(&canonical(path)?).ok_or_else(|| {
            Error::new(ErrorKind::Config, "quarantine file not open after opening it").with_path(path)
        })?;
        records.sort_by(|a, b| (&a.path, a.offset).cmp(&(&b.path, b.offset)));
        for r in &records {
            file.out.write_all(json_line(r).as_bytes()).map_err(|e| Error::io(file.staging.dir(), e))?;
        }
        file.written += records.len() as u64;
        Ok(())
    }

    /// Commits every file the action touched with its full content so far.
    ///
    /// # Errors
    /// I/O errors naming the file.
    pub(crate) fn commit(&mut self) -> Result<()> {
        for file in self.files.values_mut().filter(|f| f.touched) {
            file.out.flush().map_err(|e| Error::io(&file.shown, e).context("cannot write the quarantine file"))?;
            file.staging.commit_copy(STAGED).map_err(|e| e.context("cannot commit the quarantine file"))?;
            file.touched = false;
        }
        Ok(())
    }

    /// The files and how many records this run wrote to each, by path as given.
    pub(crate) fn written(&self) -> Vec<(PathBuf, u64)> {
        self.files.values().map(|f| (f.shown.clone(), f.written)).collect()
    }
}

/// Checks a quarantine path without touching it: its folder exists and is
/// writable, and the path is not a folder. (Also run when the flag is
/// parsed, so a bad path is a usage error before the job starts.)
///
/// # Errors
/// [`ErrorKind::Config`] naming the path or its folder.
pub(crate) fn check(path: &Path) -> Result<()> {
    let key = canonical(path)?;
    if key.is_dir() {
        return Err(Error::new(ErrorKind::Config, "the quarantine path is a folder").with_path(path));
    }
    let (parent, _) = split_target(&key)?;
    if rustix::fs::access(&parent, rustix::fs::Access::WRITE_OK).is_err() {
        return Err(Error::new(ErrorKind::Config, "the quarantine file's folder is not writable").with_path(parent));
    }
    Ok(())
}

/// The path with its parent folder resolved, so two spellings of one file
/// are one file. The parent must exist.
fn canonical(path: &Path) -> Result<PathBuf> {
    let (parent, name) = split_target(path)?;
    match fs::canonicalize(&parent) {
        Ok(dir) if dir.is_dir() => Ok(dir.join(name)),
        Ok(_) => Err(Error::new(ErrorKind::Config, "the quarantine file's parent is not a folder").with_path(parent)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::new(
            ErrorKind::Config,
            format!("the folder of the quarantine file {name} does not exist (it is not created)"),
        )
        .with_path(parent)),
        Err(e) => Err(Error::io(&parent, e).context("cannot inspect the quarantine file's folder")),
    }
}

/// Takes the lock beside `key`, without waiting.
fn lock(key: &Path, shown: &Path) -> Result<File> {
    let (parent, name) = split_target(key)?;
    let lock_path = parent.join(format!(".{name}.shoal-lock"));
    match crate::lock::try_lock(&lock_path).map_err(|e| e.context("cannot lock the quarantine file"))? {
        Some(file) => Ok(file),
        None => Err(Error::new(
            ErrorKind::Locked,
            format!(
                "another run is writing this quarantine file (it holds {}); wait for it or choose another path",
                lock_path.display()
            ),
        )
        .with_path(shown)),
    }
}

/// `{"file":..,"line":..,"offset":..,"reason":..,"record":..}` plus `\n`.
pub(crate) fn json_line(r: &Rejected) -> String {
    let esc = crate::json::string;
    let mut s = String::from("{\"file\":");
    esc(&r.path.to_string_lossy(), &mut s);
    s.push_str(",\"line\":");
    s.push_str(&r.line.map_or_else(|| "null".to_string(), |l| l.to_string()));
    s.push_str(&format!(",\"offset\":{},\"reason\":", r.offset));
    esc(&r.reason, &mut s);
    s.push_str(",\"record\":");
    esc(&r.record, &mut s);
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(offset: u64) -> Rejected {
        Rejected::new("in.log", Some(offset + 1), offset, "bad", b"x")
    }

    #[test]
    fn json_lines_escape() {
        let r = Rejected::new("a\"b", Some(1), 2, "why", b"x\ny\\");
        assert_eq!(
            json_line(&r),
            "{\"file\":\"a\\\"b\",\"line\":1,\"offset\":2,\"reason\":\"why\",\"record\":\"x\\ny\\\\\"}\n"
        );
    }

    #[test]
    fn an_opened_file_is_committed_whole_and_empty_when_nothing_was_rejected() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("q.jsonl");
        fs::write(&path, "an older run's records\n").unwrap();
        let mut q = Quarantine::default();
        q.open(&path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "an older run's records\n", "untouched until the commit");
        q.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "", "0 rejects: an empty file");
        q.append(&path, vec![rejected(9), rejected(3)]).unwrap();
        q.commit().unwrap();
        q.append(&path, vec![rejected(1)]).unwrap();
        q.commit().unwrap();
        let offsets: Vec<u64> = fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(|l| l.split("\"offset\":").nth(1).and_then(|r| r.split(',').next()).unwrap().parse().unwrap())
            .collect();
        assert_eq!(offsets, [3, 9, 1], "sorted within an action, appended in action order");
        assert_eq!(q.written(), [(path.clone(), 3)]);
        drop(q);
        let mut left: Vec<String> =
            fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, [".q.jsonl.shoal-lock", "q.jsonl"], "no staging left behind");
    }

    #[test]
    fn a_second_holder_is_refused_until_the_first_ends() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("q.jsonl");
        let mut first = Quarantine::default();
        first.open(&path).unwrap();
        let err = Quarantine::default().open(&tmp.path().join(".").join("q.jsonl")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
        assert!(err.to_string().contains("another run is writing this quarantine file"), "{err}");
        drop(first);
        Quarantine::default().open(&path).unwrap();
    }

    #[test]
    fn bad_paths_are_refused_and_nothing_is_created() {
        let tmp = tempfile::tempdir().unwrap();
        let err = Quarantine::default().open(&tmp.path().join("missing/q.jsonl")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(err.path(), Some(tmp.path().join("missing").as_path()), "{err}");
        assert!(!tmp.path().join("missing").exists());
        let err = Quarantine::default().open(tmp.path()).unwrap_err();
        assert!(err.to_string().contains("is a folder"), "{err}");
    }
}
