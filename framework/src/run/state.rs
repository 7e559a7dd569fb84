//! `--state DIR`: what a rerun may reuse — each input file's partial
//! result for each action, and one manifest that says which is which.
//!
//! # Layout
//! `DIR/manifest` and one `DIR/<name>.part` per (action, live file), where
//! `<name>` is a hash of the action and the file's identity. Every file
//! starts with a header (`SHOALST1`, a CRC-32 and the length of what
//! follows) so a truncated or corrupt file is detected, reported and
//! rebuilt, never trusted. Every write goes to a temporary name and is
//! renamed, and the manifest is written last: a run killed at any moment
//! leaves the previous manifest, whose parts all still exist. Parts no
//! manifest names are deleted when the next manifest is written, so the
//! state holds one partial per live file and does not grow with runs.
//!
//! # What makes a partial reusable
//! The manifest's fingerprint covers the program binary (all its bytes),
//! its arguments and the options that change results; another fingerprint
//! starts the state over, and says so. An entry is reused when the action
//! (its number in the program and the types of its pipeline) and the file
//! (path, size, modification time, and with `--state-verify hash` a CRC-32
//! of its bytes) are the same.

use crate::error::{Error, ErrorKind, Result};
use crate::lock::{LockWait, RunLock};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// How a rerun tells that a file is unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StateVerify {
    /// Path, size and modification time (what `make` and rsync trust).
    #[default]
    Metadata,
    /// Also a CRC-32 of the file's bytes (each kept file is read once more).
    Hash,
}

const MAGIC: &[u8; 8] = b"SHOALST1";
const MANIFEST: &str = "manifest";
const VERSION: u32 = 2;

/// A file as the state knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identity {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    pub(crate) mtime_ns: i128,
    pub(crate) crc: Option<u32>,
}

impl Identity {
    /// Reads `path`'s identity now (`hash`: with a CRC-32 of its bytes).
    pub(crate) fn of(path: &Path, hash: bool) -> Result<Identity> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e).context("cannot inspect an input"))?;
        let mtime_ns = match meta.modified() {
            Ok(t) => match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => d.as_nanos() as i128,
                Err(e) => -(e.duration().as_nanos() as i128),
            },
            Err(_) => 0,
        };
        let crc = if hash { Some(crc_of_file(path)?) } else { None };
        Ok(Identity { path: path.to_path_buf(), size: meta.len(), mtime_ns, crc })
    }
}

fn crc_of_file(path: &Path) -> Result<u32> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e).context("cannot hash an input"))?;
    let mut crc = flate2::Crc::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e).context("cannot hash an input"))?;
        if n == 0 {
            return Ok(crc.sum());
        }
        crc.update(&buf[..n]);
    }
}

/// One kept partial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    action: u64,
    pipeline: u64,
    file: Identity,
    part: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Manifest {
    version: u32,
    fingerprint: u64,
    entries: Vec<Entry>,
}

/// What one action found in the state, for `--explain` and the run report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reuse {
    pub(crate) reused: Vec<PathBuf>,
    pub(crate) new: Vec<PathBuf>,
    pub(crate) changed: Vec<PathBuf>,
    pub(crate) removed: Vec<PathBuf>,
}

impl std::fmt::Display for Reuse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} reused, {} new, {} changed, {} removed",
            self.reused.len(),
            self.new.len(),
            self.changed.len(),
            self.removed.len()
        )?;
        for (what, list) in
            [("new", &self.new), ("changed", &self.changed), ("removed", &self.removed), ("reused", &self.reused)]
        {
            for p in list.iter().take(20) {
                write!(f, "\n    {what}: {}", p.display())?;
            }
        }
        Ok(())
    }
}

/// A file of an action's plan: its identity now, and its kept partial when
/// it can be reused.
pub(crate) type Found = (Identity, Option<Vec<u8>>);

/// The state directory of a run.
#[derive(Debug)]
pub(crate) struct State {
    dir: PathBuf,
    verify: StateVerify,
    fingerprint: u64,
    /// What the previous run left (empty when it is unusable).
    old: Vec<Entry>,
    /// What this run keeps: entries reused or stored so far.
    new: Vec<Entry>,
    /// Whether the note about entries kept without hashes was given.
    unhashed_said: bool,
    _lock: RunLock,
}

impl State {
    /// Opens (creating) `dir`, locks it against other runs, and reads its
    /// manifest. A manifest of another fingerprint, or one that is corrupt,
    /// is set aside with a note on stderr.
    ///
    /// # Errors
    /// [`ErrorKind::Locked`] when another run holds the state; I/O errors.
    pub(crate) fn open(dir: &Path, verify: StateVerify, fingerprint: u64, wait: LockWait) -> Result<State> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e).context("cannot create the state directory"))?;
        let lock = RunLock::acquire(&dir.join("lock"), wait)?;
        let old = match read_framed(&dir.join(MANIFEST)) {
            Ok(None) => Vec::new(),
            Ok(Some(bytes)) => match postcard::from_bytes::<Manifest>(&bytes) {
                Ok(m) if m.version == VERSION && m.fingerprint == fingerprint => m.entries,
                Ok(m) if m.version == VERSION => {
                    crate::diag::diag!(
                        "shoal: the state in {} was made by another program binary or other arguments: starting over",
                        dir.display()
                    );
                    Vec::new()
                }
                _ => {
                    crate::diag::diag!("shoal: the state in {} is of another version: starting over", dir.display());
                    Vec::new()
                }
            },
            Err(e) => {
                crate::diag::diag!("shoal: {e}: rebuilding the state");
                Vec::new()
            }
        };
        Ok(State {
            dir: dir.to_path_buf(),
            verify,
            fingerprint,
            old,
            new: Vec::new(),
            unhashed_said: false,
            _lock: lock,
        })
    }

    /// Sorts an action's files into reused and to-run. Returns, per file of
    /// `files` (in order), its stored partial when it can be reused, and
    /// what was found. A stored partial that fails its checksum is reported
    /// and its file runs again.
    ///
    /// # Errors
    /// An input that cannot be inspected (or hashed).
    pub(crate) fn lookup(&mut self, action: u64, pipeline: u64, files: &[PathBuf]) -> Result<(Vec<Found>, Reuse)> {
        let hash = self.verify == StateVerify::Hash;
        let mut reuse = Reuse::default();
        let old: BTreeMap<&Path, &Entry> = self
            .old
            .iter()
            .filter(|e| e.action == action && e.pipeline == pipeline)
            .map(|e| (e.file.path.as_path(), e))
            .collect();
        let live: BTreeSet<&Path> = files.iter().map(PathBuf::as_path).collect();
        reuse.removed = old.keys().filter(|p| !live.contains(*p)).map(|p| p.to_path_buf()).collect();
        let mut out = Vec::with_capacity(files.len());
        for path in files {
            let id = Identity::of(path, hash)?;
            let stored = match old.get(path.as_path()) {
                None => {
                    reuse.new.push(path.clone());
                    None
                }
                Some(e) if same(&e.file, &id) => match read_framed(&self.dir.join(&e.part)) {
                    Ok(Some(bytes)) => {
                        reuse.reused.push(path.clone());
                        self.new.push((*e).clone());
                        Some(bytes)
                    }
                    Ok(None) | Err(_) => {
                        crate::diag::diag!(
                            "shoal: the kept result of {} in {} is missing or corrupt: reading the file again",
                            path.display(),
                            self.dir.display()
                        );
                        reuse.changed.push(path.clone());
                        None
                    }
                },
                Some(e) => {
                    if hash && e.file.crc.is_none() && !self.unhashed_said {
                        self.unhashed_said = true;
                        crate::diag::diag!(
                            "shoal: the state in {} was kept without hashes (--state-verify metadata): reading its files again to hash them",
                            self.dir.display()
                        );
                    }
                    reuse.changed.push(path.clone());
                    None
                }
            };
            out.push((id, stored));
        }
        Ok((out, reuse))
    }

    /// Keeps `partial`, the encoded partial of action `action` over the file
    /// `file` (its identity from before it was read).
    ///
    /// # Errors
    /// The file changed while it was read (size or modification time), or
    /// the part cannot be written.
    pub(crate) fn store(&mut self, action: u64, pipeline: u64, file: Identity, partial: &[u8]) -> Result<()> {
        let now = Identity::of(&file.path, false)?;
        if now.size != file.size || now.mtime_ns != file.mtime_ns {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the file changed while it was read (size {} → {} bytes): its records would be half counted; run again",
                    file.size, now.size
                ),
            )
            .with_path(&file.path));
        }
        let name = part_name(self.fingerprint, action, pipeline, &file);
        // Two files of one run never share a part, even if their names' hashes did.
        let mut part = format!("{name}.part");
        let mut n = 0;
        while self
            .new
            .iter()
            .chain(&self.old)
            .any(|e| e.part == part && !(e.action == action && e.file.path == file.path))
        {
            n += 1;
            part = format!("{name}-{n}.part");
        }
        write_framed(&self.dir.join(&part), partial)?;
        self.new.retain(|e| !(e.action == action && e.file.path == file.path));
        self.new.push(Entry { action, pipeline, file, part });
        Ok(())
    }

    /// Writes the manifest of what this run kept and deletes every part it
    /// does not name. Called once the program succeeded.
    ///
    /// # Errors
    /// The manifest cannot be written.
    pub(crate) fn commit(self) -> Result<()> {
        let manifest = Manifest { version: VERSION, fingerprint: self.fingerprint, entries: self.new };
        let bytes = postcard::to_stdvec(&manifest)
            .map_err(|e| Error::new(ErrorKind::Io, "cannot encode the state manifest").with_source(e))?;
        write_framed(&self.dir.join(MANIFEST), &bytes)?;
        let named: BTreeSet<&str> = manifest.entries.iter().map(|e| e.part.as_str()).collect();
        if let Ok(listing) = std::fs::read_dir(&self.dir) {
            for entry in listing.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let stray = (name.ends_with(".part") && !named.contains(name.as_ref())) || name.starts_with(".tmp");
                if stray {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }
}

/// Whether `now` is the file `kept` was made from: same path, size and
/// time, and the same hash when `now` has one (a kept entry without a hash
/// cannot vouch for one).
fn same(kept: &Identity, now: &Identity) -> bool {
    let hash = match (kept.crc, now.crc) {
        (_, None) => true,
        (Some(k), Some(n)) => k == n,
        (None, Some(_)) => false,
    };
    kept.path == now.path && kept.size == now.size && kept.mtime_ns == now.mtime_ns && hash
}

/// The name of a part: 96 bits of two independent hashes (FNV-1a 64 and
/// CRC-32) of the run's fingerprint, the action and the file's identity.
/// The fingerprint is in it so that a run that starts the state over never
/// writes over a part the previous manifest names.
fn part_name(fingerprint: u64, action: u64, pipeline: u64, file: &Identity) -> String {
    let mut bytes = Vec::with_capacity(64 + file.path.as_os_str().len());
    for n in [fingerprint, action, pipeline, file.size] {
        bytes.extend_from_slice(&n.to_le_bytes());
    }
    bytes.extend_from_slice(&file.mtime_ns.to_le_bytes());
    bytes.extend_from_slice(&file.crc.unwrap_or(0).to_le_bytes());
    bytes.extend_from_slice(file.path.as_os_str().as_encoded_bytes());
    let fnv = crate::exec::process::protocol::fnv1a(&bytes, 0xcbf2_9ce4_8422_2325);
    let mut crc = flate2::Crc::new();
    crc.update(&bytes);
    format!("{fnv:016x}{:08x}", crc.sum())
}

/// The framing of state files.
const FRAMING: crate::run::framed::Framing =
    crate::run::framed::Framing { magic: MAGIC, noun: "state file", mode: 0o600 };

fn write_framed(path: &Path, payload: &[u8]) -> Result<()> {
    FRAMING.write(path, payload)
}

fn read_framed(path: &Path) -> Result<Option<Vec<u8>>> {
    FRAMING.read(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rerun_reuses_unchanged_files_and_finds_new_changed_and_removed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let (a, b, c) = (data.join("a"), data.join("b"), data.join("c"));
        std::fs::write(&a, "1\n").unwrap();
        std::fs::write(&b, "2\n").unwrap();
        let state_dir = dir.path().join("state");
        let mut state = State::open(&state_dir, StateVerify::Metadata, 7, LockWait::No).unwrap();
        let (found, reuse) = state.lookup(0, 1, &[a.clone(), b.clone()]).unwrap();
        assert_eq!(reuse.new.len(), 2);
        for (id, stored) in found {
            assert!(stored.is_none());
            state.store(0, 1, id.clone(), id.path.to_string_lossy().as_bytes()).unwrap();
        }
        state.commit().unwrap();

        std::fs::write(&b, "2 changed\n").unwrap();
        std::fs::write(&c, "3\n").unwrap();
        let mut state = State::open(&state_dir, StateVerify::Metadata, 7, LockWait::No).unwrap();
        let (found, reuse) = state.lookup(0, 1, &[a.clone(), b.clone(), c.clone()]).unwrap();
        assert_eq!((reuse.reused, reuse.changed, reuse.new), (vec![a.clone()], vec![b.clone()], vec![c.clone()]));
        assert_eq!(found[0].1.as_deref(), Some(a.to_string_lossy().as_bytes()));
        for (id, stored) in found.into_iter().skip(1) {
            assert!(stored.is_none());
            state.store(0, 1, id, b"new").unwrap();
        }
        state.commit().unwrap();
        let parts = std::fs::read_dir(&state_dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension() == Some("part".as_ref()))
            .count();
        assert_eq!(parts, 3, "one part per live file: b's old part is gone");

        std::fs::remove_file(&a).unwrap();
        let mut state = State::open(&state_dir, StateVerify::Metadata, 7, LockWait::No).unwrap();
        let (_, reuse) = state.lookup(0, 1, &[b.clone(), c.clone()]).unwrap();
        assert_eq!((reuse.reused.len(), reuse.removed), (2, vec![a]));
        drop(state);
        let mut other = State::open(&state_dir, StateVerify::Metadata, 8, LockWait::No).unwrap();
        let (_, reuse) = other.lookup(0, 1, &[b, c]).unwrap();
        assert_eq!(reuse.new.len(), 2, "another fingerprint starts over");
    }
}

/// Flags that never change a result (they change speed, where things go, or
/// what is shown): left out of the fingerprint, so a rerun with more
/// threads or another report path still reuses the state, and the shards of
/// a run (`--shard I/N --shard-dir DIR`) and its merge step (`--merge DIR`)
/// have one fingerprint.
const NEUTRAL_WITH_VALUE: [&str; 22] = [
    "-t",
    "--threads",
    "-p",
    "--processes",
    "--progress",
    "--report",
    "--lock",
    "--lock-wait",
    "--memory-limit",
    "--spill-dir",
    "--heartbeat-timeout",
    "--split-timeout",
    "--max-split-failures",
    "--listen",
    "--state",
    "--state-verify",
    "--shard",
    "--shard-dir",
    "--merge",
    "--cluster",
    "--connect-timeout",
    "--secret-file",
];
const NEUTRAL: [&str; 2] = ["--explain", "--no-mmap"];

/// The fingerprint of this program run: a CRC-32 of every byte of the
/// program binary, its length, the arguments but the neutral ones, and the
/// result-changing `settings` as resolved.
///
/// # Errors
/// The binary cannot be read.
pub(crate) fn fingerprint(args: &[std::ffi::OsString], settings: &str) -> Result<u64> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::new(ErrorKind::Io, "cannot find the program binary").with_source(e))?;
    let binary = crc_of_file(&exe)?;
    let mut crc = flate2::Crc::new();
    for arg in counted_args(args) {
        crc.update(arg.as_encoded_bytes());
        crc.update(&[0]);
    }
    // The settings as resolved (from flags or the environment) that change
    // results: the split size fixes the order partials fold in.
    crc.update(settings.as_bytes());
    let args = crc.sum();
    let len = std::fs::metadata(&exe).map(|m| m.len()).unwrap_or(0);
    Ok((u64::from(binary) << 32 | u64::from(args)) ^ len.rotate_left(17))
}

/// The arguments a run's [`fingerprint`] counts: all but the neutral flags
/// (and their values).
pub(crate) fn counted_args(args: &[std::ffi::OsString]) -> Vec<&std::ffi::OsStr> {
    let mut counted = Vec::new();
    let mut skip = false;
    for arg in args {
        if std::mem::take(&mut skip) {
            continue;
        }
        let text = arg.to_string_lossy();
        let flag = text.split('=').next().unwrap_or_default();
        if NEUTRAL.contains(&flag) {
            continue;
        }
        if NEUTRAL_WITH_VALUE.contains(&flag) {
            skip = !text.contains('=');
            continue;
        }
        // `-t2`, `-p4`: a short neutral flag with its value attached.
        if (text.starts_with("-t") || text.starts_with("-p")) && text.len() > 2 && !text.starts_with("--") {
            continue;
        }
        counted.push(arg.as_os_str());
    }
    counted
}

#[cfg(test)]
mod fingerprint_tests {
    use super::*;
    use std::ffi::OsString;

    fn of(args: &[&str]) -> u64 {
        fingerprint(&args.iter().map(OsString::from).collect::<Vec<_>>(), "split=8M").unwrap()
    }

    #[test]
    fn neutral_flags_do_not_change_the_fingerprint_and_others_do() {
        let base = of(&["data/", "--on-malformed", "skip"]);
        assert_eq!(base, of(&["-t", "4", "data/", "--on-malformed", "skip", "--report", "r.json", "-p2", "--explain"]));
        assert_eq!(base, of(&["--threads=3", "data/", "--on-malformed", "skip", "--state", "st/"]));
        assert_eq!(base, of(&["--shard", "1/3", "data/", "--shard-dir", "sh/", "--on-malformed", "skip"]));
        assert_eq!(base, of(&["data/", "--merge=sh/", "--on-malformed", "skip"]));
        assert_ne!(base, of(&["data/", "--on-malformed", "fail"]));
        assert_ne!(base, of(&["data/", "more/", "--on-malformed", "skip"]));
        assert_ne!(base, of(&["data/", "--on-malformed", "skip", "--split-size", "4M"]));
    }
}
