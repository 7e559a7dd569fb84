//! The plumbing: the traits and types a connector author builds on.
//!
//! This module is the one door into the engine for code outside the crate,
//! as rayon's `iter::plumbing` is. A format connector (CSV, logs and JSON
//! lines in `shoal-connectors` are written this way) needs only what is
//! named here and the public API:
//!
//! * a [`Source`]: plans its input into a [`Plan`] of [`Split`]s and, per
//!   split, pushes records into a [`Consumer`]. Every `Source` gets the
//!   fluent [`Pipeline`](crate::Pipeline) API (stages and actions) through a
//!   blanket impl, so a new source has `map`, `filter`, `count`, ... for free;
//! * an [`Action`] with [`Absorb`]: how a sink or aggregate starts, folds,
//!   merges and finishes its partial result;
//! * the plan types ([`Plan`], [`Split`], [`Part`], [`InputFile`],
//!   [`FileKind`], [`Inputs`], [`SplitOptions`]) and the readers of
//!   [`crate::read`] (mapped byte ranges, the Hadoop line rule, streams).
//!
//! How the pieces meet (`bridge.rs`): an action method of `Pipeline` hands the
//! source and the action to the job's runtime, which plans once and runs
//! every split of the plan on its threads (or worker processes) through
//! [`Source::drive`] into one partial per thread, then merges the partials
//! with [`Action::merge`] and calls [`Action::finish`] once.
//!
//! Layering (no module imports one above it): `plumbing` sits above `job`,
//! which holds the executor's opaque runtime; `exec` (threads and processes)
//! knows nothing of sources or pipelines, only of plans, splits and
//! closures that run them; [`crate::pipeline`] is the fluent API on top.

mod action;
pub(crate) mod bridge;
mod fanout;
mod incremental;
mod options;
mod pool;
mod shard;
mod source;

pub use crate::exec::process::outputs::Deferred;
pub use crate::run::shard::writes_outputs;
pub(crate) use action::undecodable;
pub use action::{Absorb, Action, Folding};
pub use options::{FileSource, ReadOptions};
pub use pool::map_indices;
pub use source::{Consumer, Source};

pub use crate::plan::{FileKind, InputFile, Inputs, IntoInputs, Part, Plan, Split, SplitOptions, WalkOptions};
pub use crate::read::{self, FileRange, MmapChoice, line_number_at, newlines_between};
pub use crate::signals::SplitGuard;
