//! Shared test helpers.

use shoal::Job;
use shoal::read::MmapChoice;
use std::io::Write;
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

    /// Writes `contents` gzip-compressed to `name`.
    pub(crate) fn write_gz(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(contents.as_ref()).unwrap();
        self.write(name, enc.finish().unwrap())
    }

    /// Writes `contents` zstd-compressed to `name`.
    pub(crate) fn write_zst(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        self.write(name, zstd::encode_all(contents.as_ref(), 1).unwrap())
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

/// The split sizes tests run through: tiny (every line its own split
/// boundary), odd, and larger than the inputs.
pub(crate) const SIZES: [u64; 4] = [1, 7, 64, 1 << 20];

/// Combined-format lines as the datasets generator writes them.
pub(crate) const ACCESS: &str = concat!(
    "145.175.139.18 - - [11/Oct/2025:18:35:30 +0200] \"GET /docs/page-94.html HTTP/1.1\" 200 37141 \"https://shoal.example/sitemap.xml\" \"python-requests/2.32.3\"\n",
    "2001:db8:6d2f:1a::3 - alice [11/Oct/2025:18:35:31 +0200] \"POST /api/v1/cart HTTP/2.0\" 201 512 \"-\" \"Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0\"\n",
    "51.97.19.200 - - [11/Oct/2025:18:36:02 +0200] \"GET /search?q=caf%C3%A9 HTTP/1.1\" 304 - \"-\" \"-\"\n",
    "10.0.0.7 - - [11/Oct/2025:19:00:00 +0200] \"HEAD /wiki/Z\\xC3\\xBCrich HTTP/1.0\" 404 0 \"https://example.org/\" \"curl/8.5.0\"\n",
);
