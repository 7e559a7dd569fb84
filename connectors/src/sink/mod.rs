//! Output sinks: CSV, JSON lines, Parquet and polars `DataFrame`s.
//!
//! A sink is an [`Action`](shoal::plumbing::Action): rows (any
//! `Serialize` item, borrowed records included) are encoded in parallel, per
//! split, and the leader process writes the files once, in input order, in
//! [`finish`](shoal::plumbing::Action::finish).
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use shoal::prelude::*;
//! use shoal_connectors::sink::{Output, SinkExt};
//!
//! #[derive(serde::Serialize)]
//! struct Row { n: u64, parity: &'static str }
//!
//! let dir = tempfile::tempdir()?;
//! let job = Job::builder().threads(2).build()?;
//! let rows = || job.range(0..10u64).map(|n| Row { n, parity: if n % 2 == 0 { "even" } else { "odd" } });
//! // One file.
//! rows().write(Output::csv(dir.path().join("all.csv")))?;
//! assert!(std::fs::read_to_string(dir.path().join("all.csv"))?.starts_with("n,parity\n0,even\n1,odd\n"));
//! // Hive-style partitions: out/parity=even/part-00000.jsonl, out/parity=odd/...
//! let out = dir.path().join("out");
//! let written = rows().write(Output::json_lines(&out).partition_by("parity", |r: &Row| r.parity))?;
//! assert_eq!(written.rows, 10);
//! assert_eq!(written.files, [out.join("parity=even/part-00000.jsonl"), out.join("parity=odd/part-00000.jsonl")]);
//! # Ok(()) }
//! ```
//!
//! # Atomic commits
//! Output appears complete or not at all. Everything is written into a
//! staging folder beside the target, `.NAME.shoal-tmp-PID-N` (same file
//! system), synced, and swapped in with one rename:
//!
//! * a file target is replaced by `rename(2)`, atomic on POSIX;
//! * a folder target that does not exist yet is created by `rename(2)`;
//! * a folder target that exists is exchanged with the staging folder by
//!   `renameat2(RENAME_EXCHANGE)` on Linux, in one atomic step, and the old
//!   output is then deleted. Elsewhere the old folder is first renamed aside:
//!   a short window without output, never a mix of old and new.
//!
//! On any error the staging folder is deleted and the previous output is
//! untouched (the primitive is [`shoal::commit`], shared with quarantine files). A process killed mid-write leaves its staging folder behind;
//! the next commit to the same target deletes staging folders whose process
//! is gone, so no stray temporary files accumulate.
//!
//! # Partitions
//! [`Output::partition_by`] writes one folder per key value,
//! `name=value/part-00000.EXT`, with names and values escaped so that no
//! value can write outside the output folder or collide with another (see
//! [`partition`]).
//!
//! # polars
//! With the `polars` feature, `Output::parquet` writes Parquet, and
//! `SinkExt::to_dataframe` returns a pipeline's rows as a polars
//! `DataFrame`. Both have the row type's columns: integers of their width,
//! floats, booleans, strings, nested structs and lists, and timestamps,
//! dates and decimals where the row type marks them (see [`columns`]).

pub mod columns;
mod format;
mod output;
pub mod partition;
#[cfg(feature = "polars")]
mod polars;

pub use format::{Chunks, Csv, Format, JsonLines};
pub use output::{Output, SinkPartial, Written};
pub use partition::{ByKey, Layout, Nested, Partitioner, Unpartitioned};
#[cfg(feature = "polars")]
pub use polars::{Parquet, Table, ToDataFrame};

use shoal::Pipeline;
use shoal::plumbing::Absorb;

/// Sinks on every [`Pipeline`].
pub trait SinkExt: Pipeline {
    /// Writes the pipeline's rows to `output` and commits it atomically.
    ///
    /// # Errors
    /// The pipeline's errors; a row the format cannot represent; I/O errors
    /// naming the output. On any error the previous output is untouched.
    fn write<F, K>(self, output: Output<F, K>) -> shoal::Result<Written>
    where
        F: Format,
        K: Layout,
        Output<F, K>: for<'a> Absorb<Self::Item<'a>, Output = Written>,
    {
        let spiller = shoal::action::spill::Spiller::for_job(self.job());
        self.run(&output.spill(spiller))
    }

    /// The pipeline's rows as a polars `DataFrame`, in input order (one
    /// column per field; see the [module docs](self#polars)).
    ///
    /// # Errors
    /// The pipeline's errors; rows polars cannot read back.
    #[cfg(feature = "polars")]
    fn to_dataframe(self) -> shoal::Result<::polars::prelude::DataFrame>
    where
        ToDataFrame: for<'a> Absorb<Self::Item<'a>, Output = Table>,
    {
        self.run(&ToDataFrame::default())?.into_data_frame()
    }
}

impl<P: Pipeline> SinkExt for P {}
