//! The executors: where splits run.
//!
//! [`threads`] runs the splits of one process on a work-stealing pool of
//! threads, one partial per thread; [`process`] spreads them over worker
//! processes fed by a leader, whose workers run their splits on the same
//! pool; [`unwind`] turns panics into errors. Both take plans, splits and
//! closures that run one split: `exec` knows nothing of sources, pipelines
//! or jobs. [`runtime::Runtime`] is the opaque handle a job holds; the
//! bridge in [`crate::plumbing`] hands it each action.

pub(crate) mod cluster;
pub(crate) mod process;
pub(crate) mod runtime;
pub(crate) mod threads;
pub(crate) mod unwind;
