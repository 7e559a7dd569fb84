//! Shared test helpers.

use std::io::Write;
use std::path::PathBuf;

// `Dir`, `job` and `configs` are the framework's test helpers, shared rather
// than copied.
#[path = "../../../framework/tests/it/util.rs"]
mod shared;
pub(crate) use shared::{Dir, configs};

impl Dir {
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
