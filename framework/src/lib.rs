//! Shoal: data-parallel batch processing over files.
//!
//! A Shoal program is a typed pipeline over files, written in Rust:
//!
//! ```no_run
//! use shoal::prelude::*;
//!
//! fn main() -> std::process::ExitCode {
//!     shoal::main(|job: &Job, flags: Flags| {
//!         // Count the lines of every file below `logs/` that mention ERROR.
//!         let errors = job.lines("logs/").filter(|line| line.contains("ERROR")).count()?;
//!         writeln!(job.stdout(), "{errors}")?;
//!         Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//!     })
//! }
//! ```
//!
//! How a record travels:
//!
//! 1. [`plan`]: paths, directories and globs expand into a sorted file list,
//!    cut into byte-range [`plan::Split`]s of a target size.
//! 2. [`read`]: each split maps its own range (memmap2) and finds the records
//!    it owns (the Hadoop rule for lines).
//! 3. [`pipeline`]: each record goes through the fused stages (`map`,
//!    `filter`, `key_by`, ...) into the action's partial.
//! 4. [`exec`](crate::Job): a work-stealing pool of threads runs the splits,
//!    one partial per thread.
//! 5. [`merge`]: partials merge into the result.
//!
//! See `ARCHITECTURE.md` in the repository for the full walk.
#![deny(missing_docs)]

pub mod action;
mod cli;
mod entry;
pub mod error;
pub(crate) mod exec;
pub mod job;
pub mod merge;
pub mod pipeline;
pub mod plan;
pub mod read;
pub mod report;
mod signals;
pub mod source;
pub mod transport;

pub use action::{AsKey, HashMap, KeyState};
pub use cli::Flags;
pub use entry::main;
pub use error::{Error, ErrorKind, Result};
pub use exec::process::{FailedSplit, ProcessOptions};
pub use job::{Job, JobBuilder, Limit, Permit};
pub use merge::{Merge, Stats};
pub use pipeline::Pipeline;
pub use report::{OnMalformed, Rejected, Report};
pub use signals::SplitGuard;

/// The names most programs need.
pub mod prelude {
    pub use crate::merge::{Max, Merge, Min, Ordered, Stats, TopK};
    pub use crate::pipeline::Pipeline;
    pub use crate::{Error, Flags, HashMap, Job};
    pub use std::io::Write as _;
}

/// The README's code blocks, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
