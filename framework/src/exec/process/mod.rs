//! The process executor: one leader, worker processes with thread pools.
//!
//! SPMD: with `--processes P` (P > 1) the program re-executes itself P times
//! as workers, at the first action with splits ([`spawn`] hands each its end
//! of a socket pair and sets `SHOAL_LEADER`, `SHOAL_SECRET`,
//! `SHOAL_WORKER_ID` and `SHOAL_LEADER_PID` in their environment). Every
//! process runs the same `main` and builds the same pipelines; at each action
//! the leader plans and hands out splits, workers run them on their own
//! work-stealing threads and send back one serialized partial per split, and
//! the leader merges each split's partial exactly once. The leader finishes
//! the action and sends the output to every worker, so code after an action
//! runs alike everywhere.
//!
//! Faults: a worker that dies (any signal or exit), stops sending
//! heartbeats, or overruns `--split-timeout` is killed and replaced, and its
//! splits run elsewhere. A split that brought down `--max-split-failures`
//! workers fails the job, naming the split (or is skipped and reported, with
//! `--on-failed-split skip`). A replacement worker re-runs the program from
//! the start: the leader answers each action it already finished with the
//! stored output, so it catches up without re-reading input.
//!
//! See [`protocol`] for the message order and [`crate::transport`] for the
//! byte streams.

pub(crate) mod leader;
pub(crate) mod limits;
pub(crate) mod outputs;
pub(crate) mod peer;
pub(crate) mod protocol;
pub(crate) mod roster;
pub(crate) mod round;
pub(crate) mod scheduler;
pub(crate) mod spawn;
pub(crate) mod stale;
pub(crate) mod worker;

use crate::transport::Address;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Environment variable: the leader's address, for workers.
pub(crate) const ENV_LEADER: &str = "SHOAL_LEADER";
/// Environment variable: the job's secret, for workers.
pub(crate) const ENV_SECRET: &str = "SHOAL_SECRET";
/// Environment variable: the worker id the leader gave a spawned worker.
pub(crate) const ENV_WORKER: &str = "SHOAL_WORKER_ID";
/// Environment variable: the leader's process id, to exit if it is gone.
pub(crate) const ENV_LEADER_PID: &str = "SHOAL_LEADER_PID";
/// Environment variable: the cluster rank that started this worker beside
/// itself (`-p` on a rank other than 0).
pub(crate) const ENV_RANK_HELPER: &str = "SHOAL_RANK_HELPER";

/// What to do with a split that kept killing workers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum FailedSplit {
    /// Fail the job with an error naming the split.
    #[default]
    Fail,
    /// Leave the split out, count it (`shoal.splits_skipped`) and warn.
    Skip,
}

/// Whether to look for a cluster launch in the environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ClusterMode {
    /// Run as a rank when a launcher's variables say so (more than one task).
    #[default]
    Auto,
    /// Ignore the launcher's variables: every process is a job of its own.
    Off,
}

/// How the process executor runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessOptions {
    /// Worker processes (the leader only coordinates).
    pub processes: usize,
    /// How many worker deaths one split may cause before it fails.
    pub max_split_failures: u32,
    /// What a failing split does to the job.
    pub on_failed_split: FailedSplit,
    /// Kill a worker that has not finished a split this long after receiving it.
    pub split_timeout: Option<Duration>,
    /// Kill a worker silent for this long.
    pub heartbeat_timeout: Duration,
    /// Also accept workers over TCP here (for launchers on other machines).
    pub listen: Option<Address>,
    /// Whether a launcher's variables (`srun`, `mpirun`) make this process a rank.
    pub cluster: ClusterMode,
    /// How long a rank keeps trying to reach rank 0, and rank 0 waits for the others.
    pub connect_timeout: Duration,
    /// A file holding the job's secret, readable by its owner only (ranks).
    pub secret_file: Option<std::path::PathBuf>,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            processes: 1,
            max_split_failures: 3,
            on_failed_split: FailedSplit::Fail,
            split_timeout: None,
            heartbeat_timeout: Duration::from_secs(30),
            listen: None,
            cluster: ClusterMode::Auto,
            connect_timeout: Duration::from_secs(60),
            secret_file: None,
        }
    }
}
