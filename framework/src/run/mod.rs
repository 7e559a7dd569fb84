//! A run of a program, as a scheduled job sees it: its report
//! (`--report`), its lock (`--lock`), and the task timeline behind both.
//!
//! The data plane records what the report needs as it goes (each split's
//! [`SplitRun`] travels in its [`Report`](crate::report::Report), each
//! action's summary is kept by the job); this module turns that into files
//! when the program ends, in the leader only.

pub(crate) mod framed;
pub(crate) mod html;
pub(crate) mod progress;
pub(crate) mod report;
pub(crate) mod schedule;
pub(crate) mod session;
pub(crate) mod shard;
pub(crate) mod state;
pub(crate) mod timeline;

pub use crate::attempt::{Outcome, SplitRun};
pub use crate::lock::LockWait;
pub use progress::ProgressMode;
pub use report::{ActionRun, ReportFormat};
pub use shard::ShardId;
pub use state::StateVerify;
