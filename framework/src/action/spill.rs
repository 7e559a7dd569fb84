//! Spilling keyed partials to disk: the files behind `--memory-limit`.
//!
//! A [`Partitioned`](super::Partitioned) partial whose encoded pairs grow
//! past its share of the memory limit writes them out in one *round*: one
//! file holding every partition's pairs, partition after partition, and
//! keeps for each partition the byte range it wrote (`Spilled`). Nothing
//! is sorted or merged on the way out; each partition is read back, alone,
//! when the result is finished, and aggregated like one held in memory, so
//! the result equals an unbounded run's.
//!
//! The files live in one directory per process and action, created under
//! `--spill-dir` (default: the system's temporary directory) and named
//! `shoal-spill-<host>-<pid>-<random>`. It is removed when the action ends,
//! on `SIGINT`/`SIGTERM` (see `signals::remove_on_interrupt`), and, if a
//! `SIGKILL` left it behind, by the next run on the same host that spills
//! into the same parent (its pid is gone there). The directories of worker
//! processes killed by their leader's interrupt are removed by the leader. Directories of other
//! hosts (a spill directory on a shared file system) are never touched.

use crate::error::{Error, ErrorKind, Result};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where one action of this process spills, and how much it spilled.
#[derive(Debug)]
pub struct SpillDir {
    dir: tempfile::TempDir,
    rounds: AtomicU64,
}

impl SpillDir {
    /// Creates a spill directory under `parent`, first removing the ones
    /// that dead processes of this user left there.
    ///
    /// # Errors
    /// `parent` is missing or not writable: an error naming it.
    pub(crate) fn create(parent: &Path) -> Result<Arc<SpillDir>> {
        remove_stale(parent);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}{}-", dir_prefix(), std::process::id()))
            .tempdir_in(parent)
            .map_err(|e| Error::io(parent, e).context("cannot create a spill directory (--spill-dir)"))?;
        crate::signals::remove_on_interrupt(dir.path());
        Ok(Arc::new(SpillDir { dir, rounds: AtomicU64::new(0) }))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes one round: `parts[p]` is partition `p`'s chunks of encoded
    /// pairs (with their pair count); returns each partition's range in the
    /// new file (`None` for an empty one).
    pub(crate) fn write_round(self: &Arc<Self>, parts: &mut [(Vec<Vec<u8>>, u64)]) -> Result<Vec<Option<Spilled>>> {
        let round = self.rounds.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.path().join(format!("round-{round}"));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e).context("cannot create a spill file"))?;
        let file = Arc::new(RoundFile { path, file });
        let mut out = std::io::BufWriter::with_capacity(1 << 20, &file.file);
        let mut offset = 0u64;
        let mut ranges = Vec::with_capacity(parts.len());
        for (chunks, pairs) in parts.iter_mut() {
            let start = offset;
            for chunk in chunks.drain(..) {
                out.write_all(&chunk).map_err(|e| Error::io(&file.path, e).context("cannot write a spill file"))?;
                offset += chunk.len() as u64;
            }
            let len = offset - start;
            let pairs = std::mem::take(pairs);
            ranges.push((len > 0).then(|| Spilled { file: file.clone(), offset: start, len, pairs }));
        }
        out.flush().map_err(|e| Error::io(&file.path, e).context("cannot write a spill file"))?;
        drop(out);
        crate::report::count(SPILLED_BYTES, offset);
        crate::report::count(SPILL_ROUNDS, 1);
        crate::report::count(SPILLED_PARTITIONS, ranges.iter().flatten().count() as u64);
        Ok(ranges)
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        crate::signals::keep_on_interrupt(self.dir.path());
    }
}

/// How the partials of one keyed action may use memory: the bytes of
/// encoded pairs a partial holds before it spills a round, the bytes one
/// partition may hold when it is read back to be aggregated, and where
/// the spill directory is made (on the first spill only: a job that fits
/// creates nothing).
#[derive(Debug)]
pub struct Spiller {
    parent: PathBuf,
    partial_bytes: usize,
    partition_bytes: usize,
    limit: u64,
    /// The job's whole limit, when `limit` is this process's share of it.
    whole: Option<u64>,
    dir: std::sync::Mutex<Option<Arc<SpillDir>>>,
}

impl Spiller {
    /// The budget of one process of the job: `limit` bytes for the keyed
    /// tables of an action run on `threads` threads, spilling under
    /// `parent`. Half the limit is for the partials' encoded pairs (one
    /// partial per thread and the merged one), the rest for the hot tables
    /// and for the tables that aggregate `threads` partitions at a time.
    pub fn new(limit: u64, threads: usize, parent: PathBuf) -> Spiller {
        Spiller::with_finish_threads(limit, threads, threads, parent)
    }

    /// The budget of one action of `job` in this process: its share of
    /// `--memory-limit` for partials folded on the process's threads and
    /// finished on all of the job's (a leader finishes while its workers
    /// wait), spilling under `--spill-dir`. What the built-in actions and
    /// the connectors' sinks use.
    pub fn for_job(job: &crate::Job) -> Arc<Spiller> {
        let config = job.config();
        let spiller = Spiller::with_finish_threads(
            config.memory_limit(),
            config.threads(),
            config.total_threads(),
            config.spill_dir(),
        )
        .share_of(config.job_memory_limit());
        Arc::new(spiller)
    }

    /// [`Spiller::new`] for an action whose partials fold on `threads`
    /// threads and whose result is finished on `finish_threads` (a leader
    /// finishes on all of the job's threads while its workers wait).
    pub fn with_finish_threads(limit: u64, threads: usize, finish_threads: usize, parent: PathBuf) -> Spiller {
        // Workers of this process spill under the same parent: on an
        // interrupt, which kills them, their directories go too.
        crate::signals::remove_child_dirs_on_interrupt(&parent, &dir_prefix());
        let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
        let (threads, finish_threads) = (threads.max(1), finish_threads.max(1));
        Spiller {
            parent,
            partial_bytes: (limit_usize / (2 * (threads + 1))).max(MIN_PARTIAL_BYTES),
            partition_bytes: (limit_usize / (4 * finish_threads)).max(MIN_PARTITION_BYTES),
            limit,
            whole: None,
            dir: std::sync::Mutex::new(None),
        }
    }

    /// Says that the limit is this process's share of `whole`, the job's
    /// `--memory-limit`, for errors.
    pub fn share_of(mut self, whole: u64) -> Spiller {
        self.whole = (whole != self.limit).then_some(whole);
        self
    }

    /// The limit, as errors name it: `--memory-limit 3 MiB`, or `1 MiB,
    /// this process's share of --memory-limit 3 MiB`.
    pub(crate) fn describe_limit(&self) -> String {
        match self.whole {
            None => format!("--memory-limit {} MiB", self.limit >> 20),
            Some(whole) => {
                format!("{} MiB, this process's share of --memory-limit {} MiB", self.limit >> 20, whole >> 20)
            }
        }
    }

    /// Encoded bytes a partial holds before spilling.
    pub fn partial_bytes(&self) -> usize {
        self.partial_bytes
    }

    /// Bytes the items of one split being read may take before they are
    /// moved into the partial's runs as a piece (`collect`, outputs): a
    /// quarter of [`partial_bytes`](Spiller::partial_bytes), so a long
    /// split or a stream stays within the budget.
    pub fn piece_bytes(&self) -> usize {
        self.partial_bytes / 4
    }

    /// Encoded bytes one partition may hold when read back.
    pub(crate) fn partition_bytes(&self) -> usize {
        self.partition_bytes
    }

    /// The limit it was made for, for errors.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// The spill directory, created on the first call.
    pub(crate) fn dir(&self) -> Result<Arc<SpillDir>> {
        let mut dir = self.dir.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(dir) = &*dir {
            return Ok(dir.clone());
        }
        let made = SpillDir::create(&self.parent)?;
        *dir = Some(made.clone());
        Ok(made)
    }
}

/// The least a partial holds before spilling, whatever the limit: smaller
/// rounds would cost a file per few pairs.
const MIN_PARTIAL_BYTES: usize = 1 << 20;

/// The least one partition may hold when read back, whatever the limit.
const MIN_PARTITION_BYTES: usize = 64 << 10;

/// The report counter of bytes written to spill files.
pub const SPILLED_BYTES: &str = "spilled bytes";
/// The report counter of spill rounds (one file each).
pub const SPILL_ROUNDS: &str = "spill rounds";
/// The report counter of partitions written (summed over rounds).
pub const SPILLED_PARTITIONS: &str = "spilled partitions";

/// One spill file, removed when the last range in it is dropped.
#[derive(Debug)]
struct RoundFile {
    path: PathBuf,
    file: File,
}

impl Drop for RoundFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One partition's pairs in one spill file.
#[derive(Debug, Clone)]
pub(crate) struct Spilled {
    file: Arc<RoundFile>,
    offset: u64,
    len: u64,
    pub(crate) pairs: u64,
}

impl Spilled {
    /// The number of bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Reads the pairs back.
    ///
    /// # Errors
    /// The file cannot be read (removed, truncated, a disk error).
    pub(crate) fn read(&self) -> Result<Vec<u8>> {
        let len = usize::try_from(self.len).map_err(|_| Error::new(ErrorKind::Io, "a spill range is too large"))?;
        self.read_at(0, len)
    }

    /// Reads `len` bytes from `at` in the range (fewer at its end).
    ///
    /// # Errors
    /// The file cannot be read (removed, truncated, a disk error).
    pub(crate) fn read_at(&self, at: u64, len: usize) -> Result<Vec<u8>> {
        let len = len.min(usize::try_from(self.len.saturating_sub(at)).unwrap_or(usize::MAX));
        let mut bytes = vec![0; len];
        self.file
            .file
            .read_exact_at(&mut bytes, self.offset + at)
            .map_err(|e| Error::io(&self.file.path, e).context("cannot read a spill file back"))?;
        Ok(bytes)
    }
}

/// Removes the spill directories under `parent` of this user's processes
/// that no longer exist.
fn remove_stale(parent: &Path) {
    let prefix = dir_prefix();
    let pid_of = |name: &str| crate::signals::pid_after(name, &prefix).and_then(|pid| i32::try_from(pid).ok());
    for path in crate::signals::dead_processes_entries(parent, pid_of, crate::signals::Entry::Dir) {
        let _ = std::fs::remove_dir_all(&path);
    }
}

/// The start of this host's spill directory names, before the pid:
/// `shoal-spill-<host>-`.
fn dir_prefix() -> String {
    format!("shoal-spill-{}-", crate::signals::host())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A round writes each partition's bytes to its own range, reads them
    /// back, and the file and directory go when their owners do; a dead
    /// process's directory is removed by the next one, a live one's kept.
    #[test]
    fn rounds_read_back_and_clean_up() {
        let parent = tempfile::tempdir().unwrap();
        let dir = SpillDir::create(parent.path()).unwrap();
        let mut parts = vec![(vec![b"ab".to_vec(), b"c".to_vec()], 2), (vec![], 0), (vec![b"xyz".to_vec()], 1)];
        let ranges = dir.write_round(&mut parts).unwrap();
        assert!(parts.iter().all(|(c, n)| c.is_empty() && *n == 0));
        assert_eq!(ranges[0].as_ref().unwrap().read().unwrap(), b"abc");
        assert!(ranges[1].is_none());
        assert_eq!(ranges[2].as_ref().unwrap().read().unwrap(), b"xyz");
        assert_eq!(ranges[2].as_ref().unwrap().pairs, 1);
        let file = ranges[0].as_ref().unwrap().file.path.clone();
        drop(ranges);
        assert!(!file.exists(), "a spill file outlived its ranges");
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists(), "the spill directory outlived its action");

        let dead = parent.path().join(format!("shoal-spill-{}-999999999-abc", crate::signals::host()));
        let live = parent.path().join(format!("shoal-spill-{}-{}-abc", crate::signals::host(), std::process::id()));
        let elsewhere = parent.path().join("shoal-spill-otherhost-999999999-abc");
        for dir in [&dead, &live, &elsewhere] {
            std::fs::create_dir_all(dir.join("x")).unwrap();
        }
        let again = SpillDir::create(parent.path()).unwrap();
        assert!(!dead.exists() && live.exists() && elsewhere.exists());
        drop(again);
    }

    #[test]
    fn a_missing_parent_is_an_error_naming_it() {
        let err = SpillDir::create(Path::new("/nonexistent/spill")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/spill"), "{err}");
    }
}
