//! The runtime a job runs its actions on: one process, a leader of worker
//! processes, or one of those workers.
//!
//! Opaque outside `exec`: [`crate::Job`] holds one, [`crate::main`] starts
//! the right one for this process, and [`crate::plumbing`] hands it each
//! action. Later kinds (a rank of a cluster step) join here as variants.

use super::cluster::{self, Rank};
use super::process::ProcessOptions;
use super::process::leader::Leader;
use super::process::worker::{WorkerLink, is_worker_process};
use crate::error::Result;

/// Which part this process plays in its job.
pub(crate) enum Role {
    /// One process: threads only.
    Local,
    /// Coordinates worker processes.
    Leader(Box<Leader>),
    /// Runs splits for a leader.
    Worker(WorkerLink),
}

/// The executor behind a job. See the module docs.
pub(crate) struct Runtime {
    role: Role,
    /// Rank 0's rendezvous file, removed with the runtime.
    _rendezvous: Option<cluster::rendezvous::Rendezvous>,
    /// Worker processes a rank other than 0 started beside itself.
    _helpers: cluster::Helpers,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

impl Runtime {
    /// Threads of this process only.
    pub(crate) fn local() -> Runtime {
        Runtime { role: Role::Local, _rendezvous: None, _helpers: cluster::Helpers::default() }
    }

    /// The runtime this process was started for: a worker when the
    /// environment names a leader; with a cluster `rank`, rank 0 leads and
    /// the others join it; a leader when `options` asks for worker
    /// processes or a listening address; else local.
    ///
    /// # Errors
    /// A worker or rank that cannot reach its leader; a leader that cannot
    /// listen or spawn.
    pub(crate) fn start(options: &ProcessOptions, threads: usize, rank: Option<&Rank>) -> Result<Runtime> {
        let mut runtime = Runtime::local();
        runtime.role = if is_worker_process() {
            Role::Worker(WorkerLink::connect_from_env(threads)?)
        } else if let Some(rank) = rank.filter(|r| r.rank == 0) {
            let (leader, rendezvous) = cluster::lead(rank, options)?;
            runtime._rendezvous = rendezvous;
            Role::Leader(Box::new(leader))
        } else if let Some(rank) = rank {
            let (link, helpers) = cluster::join(rank, options, threads)?;
            runtime._helpers = helpers;
            Role::Worker(link)
        } else if options.processes > 1 || options.listen.is_some() {
            Role::Leader(Box::new(Leader::start(options.clone())?))
        } else {
            Role::Local
        };
        Ok(runtime)
    }

    pub(crate) fn role(&self) -> &Role {
        &self.role
    }

    /// `local`, `leader` or `worker`.
    pub(crate) fn kind(&self) -> &'static str {
        match self.role {
            Role::Local => "local",
            Role::Leader(_) => "leader",
            Role::Worker(_) => "worker",
        }
    }

    /// Whether this process prints results and writes outputs.
    pub(crate) fn is_leader(&self) -> bool {
        !matches!(self.role, Role::Worker(_))
    }

    /// This process's worker id, if it is a worker.
    pub(crate) fn worker_id(&self) -> Option<usize> {
        match &self.role {
            Role::Worker(link) => Some(link.id()),
            _ => None,
        }
    }

    /// Takes a permit of a job-wide limit from the leader: `None` when this
    /// process is where the job's limits live (local or leader), so the
    /// caller uses its own semaphore.
    pub(crate) fn acquire_shared(&self, name: &str, capacity: usize) -> Option<Result<()>> {
        match &self.role {
            Role::Worker(link) => Some(link.acquire(name, capacity)),
            Role::Local | Role::Leader(_) => None,
        }
    }

    /// Gives back a permit taken with [`acquire_shared`](Self::acquire_shared).
    pub(crate) fn release_shared(&self, name: &str) {
        if let Role::Worker(link) = &self.role {
            link.release(name);
        }
    }

    /// Records the job's exit status in a leader, for its workers and ranks
    /// to exit with (no-op elsewhere).
    pub(crate) fn set_exit_status(&self, status: u8) {
        if let Role::Leader(leader) = &self.role {
            leader.set_exit_status(status);
        }
    }

    /// In a worker whose program ended normally, waits for the leader to
    /// end the job and exits with its status; returns at once elsewhere.
    pub(crate) fn await_end(&self) {
        if let Role::Worker(link) = &self.role {
            link.await_end();
        }
    }

    /// Tells the leader this worker's program ended normally (no-op elsewhere).
    pub(crate) fn goodbye(&self) {
        if let Role::Worker(link) = &self.role {
            link.goodbye();
        }
    }
}
