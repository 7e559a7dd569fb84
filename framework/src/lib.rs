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
//!         Ok(())
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
//! 4. The executor: a work-stealing pool of threads runs the splits, one
//!    partial per thread (or worker processes do, each with its own pool).
//! 5. [`merge`]: partials merge into the result.
//!
//! Connector authors build on [`plumbing`]: the [`plumbing::Source`] and
//! [`plumbing::Action`] traits and the plan types.
//!
//! See `ARCHITECTURE.md` in the repository for the full walk.
//!
//! # Where the `unsafe` is
//! Every block carries a `// SAFETY:` note (`clippy::undocumented_unsafe_blocks`
//! is denied). There are three places: [`read::mapped`] (mapping a file),
//! [`read::lines`] (SSE2 loads and movemasks for newline masks on x86-64,
//! and line slices taken without bounds checks under `for_each_newline`'s
//! invariant) and `signals.rs` (registering the async-signal-safe bus-error
//! handler, and the `write`/`_exit` calls inside it).
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod action;
mod attempt;
mod cli;
pub mod commit;
mod diag;
mod entry;
pub mod error;
pub(crate) mod exec;
mod exit;
pub mod job;
mod json;
mod lock;
mod memory;
pub mod merge;
pub mod pipeline;
pub mod plan;
pub mod plumbing;
mod quarantine;
pub mod read;
mod rejected;
pub mod report;
pub mod run;
mod seed;
mod signals;
pub mod source;
pub(crate) mod transport;

pub use action::{AsKey, HashMap, KeyState};
pub use cli::Flags;
pub use entry::main;
pub use error::{BoxError, Error, ErrorKind, Result};
pub use exec::process::{ClusterMode, FailedSplit, ProcessOptions};
pub use job::{Job, JobBuilder, Limit, Permit};
pub use merge::{Merge, Stats};
pub use pipeline::Pipeline;
pub use plumbing::Source;
pub use report::{MaxMalformed, OnMalformed, Rejected, Report};
pub use transport::Address;

/// The names most programs need.
pub mod prelude {
    pub use crate::merge::{Max, Merge, Min, Ordered, Stats, TopK};
    pub use crate::pipeline::Pipeline;
    pub use crate::plumbing::FileSource as _;
    pub use crate::{BoxError, Error, Flags, HashMap, Job};
    pub use std::io::Write as _;
}

/// The README's code blocks, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
