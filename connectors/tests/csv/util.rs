//! Shared helpers: temp dirs, jobs over every configuration, the reference reader.

use shoal::Job;
use shoal::read::MmapChoice;
use std::path::{Path, PathBuf};

/// A temporary directory that lives as long as the test.
pub(crate) struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    pub(crate) fn new() -> Dir {
        Dir { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to `name` (creating folders) and returns its path.
    pub(crate) fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, contents).unwrap();
        path
    }
}

/// A job with the given shape.
pub(crate) fn job(threads: usize, split: u64, mmap: MmapChoice) -> Job {
    Job::builder().threads(threads).split_size(split).mmap(mmap).build().unwrap()
}

/// Every configuration a test should agree across: thread counts, both read
/// paths, and the given split sizes.
pub(crate) fn configs(sizes: impl IntoIterator<Item = u64>) -> Vec<(String, Job)> {
    let mut out = Vec::new();
    for size in sizes {
        for threads in [1, 3] {
            for mmap in [MmapChoice::Always, MmapChoice::Never] {
                out.push((format!("split={size} threads={threads} mmap={mmap:?}"), job(threads, size, mmap)));
            }
        }
    }
    out
}

/// Records as vectors of fields.
pub(crate) type Recs = Vec<Vec<Vec<u8>>>;

/// What a sequential `csv::Reader` (no headers, flexible) reads from `bytes`.
pub(crate) fn sequential(bytes: &[u8]) -> Recs {
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    rdr.byte_records().map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect()).collect()
}

/// Fields of a record, owned.
pub(crate) fn fields(rec: &shoal_connectors::csv::Record) -> Vec<Vec<u8>> {
    rec.iter().map(<[u8]>::to_vec).collect()
}
