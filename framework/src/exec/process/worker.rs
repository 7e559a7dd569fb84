//! The worker side: connect, then serve the leader's splits at each action.
//!
//! Threads of a worker process:
//! * the program's own (main) thread, which at each action says `Ready`,
//!   then pushes the splits it is sent to a [`SplitQueue`] and waits for
//!   `Done`;
//! * the work-stealing pool of the local executor ([`threads::run_queue`]),
//!   whose threads take one split at a time from that queue, run it into a
//!   fresh partial (a spent one emptied for reuse) and send it back;
//! * a reader thread, routing messages from the leader (and exiting the
//!   process when the leader's socket closes: no orphan outlives its leader);
//! * a heartbeat thread.
//!
//! Writes from all of them go through one mutex, a frame at a time.

use super::protocol::{self, ToLeader, ToWorker};
use super::spawn;
use super::{ENV_LEADER, ENV_LEADER_PID, ENV_SECRET, ENV_WORKER};
use crate::error::{Error, ErrorKind, Result};
use crate::exec::threads::{self, SplitQueue};
use crate::plan::{Plan, Split};
use crate::report::Report;
use crate::signals;
use crate::transport::{self, Address, Transport, frame};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs one split into its serialized partial (written over the buffer
/// given, which each pool thread keeps from split to split) and report.
pub(crate) type RunSplit<'a> = dyn Fn(&Plan, &Split, &mut Vec<u8>) -> Result<Report> + Sync + 'a;

/// How often a worker tells the leader it is alive.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// A worker's connection to its leader.
pub(crate) struct WorkerLink {
    id: usize,
    writer: Arc<Mutex<Box<dyn Transport>>>,
    inbox: Mutex<Receiver<ToWorker>>,
    grants: Arc<Mutex<HashMap<u64, SyncSender<()>>>>,
    next_token: AtomicU64,
    /// Whether the leader may be on another machine (TCP): then the inputs
    /// it planned are checked to be the same files here.
    remote: bool,
}

impl std::fmt::Debug for WorkerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerLink").field("id", &self.id).finish()
    }
}

/// Who joins: the id a spawned worker was given, the rank of a cluster
/// launch, and the threads it runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Joining {
    pub(crate) worker: Option<usize>,
    pub(crate) rank: Option<usize>,
    /// A process the rank started beside itself.
    pub(crate) helper: bool,
    pub(crate) threads: usize,
}

/// A leader's answer to a handshake.
#[derive(Debug)]
pub(crate) enum Greeting {
    /// Joined: the link to serve actions on.
    Welcome(WorkerLink),
    /// Refused, and why (a wrong secret, another program binary).
    Refused(String),
}

fn transport_error(what: &str, named: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Transport, format!("{what} the leader at {named}")).with_source(e)
}

/// Checks that every regular file of `plan` has here the size and
/// modification time the leader planned: a rank on another machine that
/// sees another version of an input refuses it rather than mix versions.
fn same_files(plan: &Plan) -> Result<()> {
    for file in plan.files.iter().filter(|f| f.kind == crate::plan::FileKind::Regular && f.spool.is_none()) {
        let meta = std::fs::metadata(&file.path)
            .map_err(|e| Error::io(&file.path, e).context("this process cannot see an input the leader planned"))?;
        let here = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        let here = here.map(|d| d.as_nanos() as i128);
        let (size_differs, time_differs) =
            (file.len.is_some_and(|len| len != meta.len()), file.modified.is_some() && here != file.modified);
        if size_differs || time_differs {
            let when = |ns: Option<i128>| match ns.map(jiff::Timestamp::from_nanosecond) {
                Some(Ok(t)) => t.to_string(),
                _ => "an unknown time".to_string(),
            };
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{} sees another version of this input than the leader: {} bytes modified at {} here, {} bytes \
                     modified at {} as planned (inputs must be on a filesystem every rank sees)",
                    host_name(),
                    meta.len(),
                    when(here),
                    file.len.unwrap_or_default(),
                    when(file.modified)
                ),
            )
            .with_path(&file.path));
        }
    }
    Ok(())
}

/// This host's name (`gethostname`), for messages and the default address.
pub(crate) fn host_name() -> String {
    nix::unistd::gethostname().ok().and_then(|h| h.into_string().ok()).unwrap_or_else(|| "localhost".into())
}

/// Whether this process was started as a worker (`SHOAL_LEADER` is set).
pub(crate) fn is_worker_process() -> bool {
    std::env::var_os(ENV_LEADER).is_some()
}

impl WorkerLink {
    /// Connects to the leader named in the environment and shakes hands.
    pub(crate) fn connect_from_env(threads: usize) -> Result<WorkerLink> {
        let leader_pid = std::env::var(ENV_LEADER_PID).ok().and_then(|p| p.parse().ok());
        signals::die_with_parent(leader_pid);
        let named = std::env::var(ENV_LEADER).unwrap_or_default();
        let secret = std::env::var(ENV_SECRET).unwrap_or_default();
        let worker = std::env::var(ENV_WORKER).ok().and_then(|w| w.parse().ok());
        // A process a cluster rank started beside itself (`-p`) joins as
        // part of that rank.
        let rank = std::env::var(super::ENV_RANK_HELPER).ok().and_then(|r| r.parse().ok());
        let conn: Box<dyn Transport> = if named == spawn::INHERITED_ADDRESS {
            Box::new(spawn::take_inherited().map_err(|e| transport_error("cannot reach", &named, e))?)
        } else {
            let address: Address =
                named.parse().map_err(|e: String| Error::new(ErrorKind::Config, format!("{ENV_LEADER}: {e}")))?;
            transport::connect(&address, Duration::from_secs(30))
                .map_err(|e| transport_error("cannot connect to", &named, e))?
        };
        let helper = rank.is_some();
        match WorkerLink::join(conn, &secret, Joining { worker, rank, helper, threads }, &named)? {
            Greeting::Welcome(link) => Ok(link),
            Greeting::Refused(reason) => {
                Err(Error::new(ErrorKind::Transport, format!("the leader refused this worker: {reason}")))
            }
        }
    }

    /// Shakes hands with the leader at the other end of `conn` (`named`, for
    /// messages) and, once welcome, starts the reader and heartbeat threads.
    /// Seeds the job's hash state from `secret`.
    ///
    /// # Errors
    /// The connection fails or closes before the leader answers.
    pub(crate) fn join(mut conn: Box<dyn Transport>, secret: &str, who: Joining, named: &str) -> Result<Greeting> {
        let hello = ToLeader::Hello {
            magic: protocol::MAGIC,
            protocol: protocol::PROTOCOL,
            program: protocol::program_fingerprint(),
            secret: secret.to_owned(),
            worker: who.worker,
            rank: who.rank,
            helper: who.helper,
            host: host_name(),
            pid: std::process::id(),
            threads: who.threads,
        };
        protocol::send(&mut conn, &hello).map_err(|e| transport_error("cannot greet", named, e))?;
        let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
        let id = match protocol::recv::<ToWorker, _>(&mut conn, frame::MAX_HELLO) {
            Ok(Some(ToWorker::Welcome { worker })) => worker,
            Ok(Some(ToWorker::Refused { reason })) => return Ok(Greeting::Refused(reason)),
            Ok(_) => {
                return Err(Error::new(ErrorKind::Transport, format!("the leader at {named} closed the connection")));
            }
            Err(e) => return Err(transport_error("no handshake from", named, e)),
        };
        let _ = conn.set_read_timeout(None);
        crate::seed::set_job_seed(secret);
        let reader = conn.try_clone_box().map_err(|e| transport_error("cannot use the connection to", named, e))?;
        let writer = Arc::new(Mutex::new(conn));
        let grants: Arc<Mutex<HashMap<u64, SyncSender<()>>>> = Arc::default();
        let (tx, inbox) = mpsc::channel();
        let leader = if named == spawn::INHERITED_ADDRESS { "its parent process" } else { named };
        spawn_reader(reader, tx, grants.clone(), leader.to_owned());
        spawn_heartbeat(writer.clone());
        let remote = named != spawn::INHERITED_ADDRESS;
        Ok(Greeting::Welcome(WorkerLink {
            id,
            writer,
            inbox: Mutex::new(inbox),
            grants,
            next_token: AtomicU64::new(1),
            remote,
        }))
    }

    /// This worker's id, as the leader numbers them.
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    fn send(&self, msg: &ToLeader) -> Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        protocol::send(&mut *w, msg)
            .map_err(|e| Error::new(ErrorKind::Transport, "lost the connection to the leader").with_source(e))
    }

    /// Sends a split's partial without copying it into a message.
    fn send_partial(&self, action: u64, split: usize, partial: &[u8], report: &Report) -> Result<()> {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        protocol::send_partial(&mut *w, action, split, partial, report)
            .map_err(|e| Error::new(ErrorKind::Transport, "lost the connection to the leader").with_source(e))
    }

    /// Serves one action: says `Ready`, runs the splits the leader sends on
    /// `threads` threads with `run`, and returns the action's output and
    /// report when the leader sends `Done`.
    pub(crate) fn run_action(
        &self,
        action: u64,
        fingerprint: u64,
        threads: usize,
        run: &RunSplit<'_>,
    ) -> Result<(Vec<u8>, Report)> {
        self.send(&ToLeader::Ready { action, fingerprint })?;
        let inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
        let plan: std::sync::OnceLock<Plan> = std::sync::OnceLock::new();
        // Files this process sees otherwise than the leader planned them.
        let differs: std::sync::OnceLock<Option<crate::error::WireError>> = std::sync::OnceLock::new();
        let queue = SplitQueue::open();
        // Each split's answer is sent as soon as it is ready: the leader
        // takes it as this worker's request for more.
        let work = |encoded: &mut Vec<u8>, index: usize| -> Result<()> {
            let Some(plan) = plan.get() else { return Ok(()) };
            let Some(split) = plan.splits.get(index) else { return Ok(()) };
            let check = || if self.remote { same_files(plan).err().map(|e| e.to_wire()) } else { None };
            if let Some(error) = differs.get_or_init(check) {
                return self.send(&ToLeader::Failed { action, split: index, error: error.clone() });
            }
            // On a lost connection the reader thread ends the process.
            match run(plan, split, encoded) {
                Ok(report) => self.send_partial(action, index, encoded, &report),
                Err(err) => self.send(&ToLeader::Failed { action, split: index, error: err.to_wire() }),
            }
        };
        std::thread::scope(|scope| {
            let pool = scope.spawn(|| threads::run_queue(threads, &queue, Vec::new, work));
            let outcome = loop {
                match inbox.recv() {
                    Ok(ToWorker::Plan { action: a, plan: p }) if a == action => {
                        let _ = plan.set(p);
                    }
                    Ok(ToWorker::Run { action: a, split }) if a == action => queue.push(split),
                    Ok(ToWorker::Done { action: a, output, report }) if a == action => break Ok((output, report)),
                    Ok(_) => {}
                    Err(_) => break Err(Error::new(ErrorKind::Transport, "lost the connection to the leader")),
                }
            };
            // The leader has every answer it needs: nothing queued runs.
            queue.abandon();
            match pool.join() {
                Ok(Ok(_)) => outcome,
                Ok(Err(err)) => Err(err),
                Err(_) => Err(Error::new(ErrorKind::Panic, "a worker thread panicked")),
            }
        })
    }

    /// Takes one permit of the job-wide limit `name`, waiting for the leader.
    pub(crate) fn acquire(&self, name: &str, capacity: usize) -> Result<()> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::sync_channel(1);
        self.grants.lock().unwrap_or_else(|p| p.into_inner()).insert(token, tx);
        self.send(&ToLeader::Acquire { limit: name.to_owned(), capacity, token })?;
        rx.recv().map_err(|_| Error::new(ErrorKind::Transport, "lost the connection to the leader"))
    }

    /// Gives one permit of `name` back.
    pub(crate) fn release(&self, name: &str) {
        let _ = self.send(&ToLeader::Release { limit: name.to_owned() });
    }

    /// Tells the leader this worker's program ended normally.
    pub(crate) fn goodbye(&self) {
        let _ = self.send(&ToLeader::Goodbye);
    }

    /// Waits for the leader to end the job: the reader thread then ends
    /// this process, with the job's exit status (or 1 if the leader is
    /// lost), so a worker never reports success for a job that failed
    /// after its own part was done.
    pub(crate) fn await_end(&self) -> ! {
        loop {
            std::thread::park();
        }
    }
}

/// Routes the leader's messages; ends the process when the leader ends the
/// job (with its exit status) or is lost (status 1, naming `named`).
fn spawn_reader(
    mut reader: Box<dyn Transport>,
    tx: mpsc::Sender<ToWorker>,
    grants: Arc<Mutex<HashMap<u64, SyncSender<()>>>>,
    named: String,
) {
    let _ = std::thread::Builder::new().name("shoal-reader".into()).spawn(move || {
        loop {
            match protocol::recv::<ToWorker, _>(&mut reader, frame::MAX_FRAME) {
                Ok(Some(ToWorker::Granted { token })) => {
                    if let Some(waiter) = grants.lock().unwrap_or_else(|p| p.into_inner()).remove(&token) {
                        let _ = waiter.send(());
                    }
                }
                Ok(Some(ToWorker::End { status })) => {
                    crate::signals::remove_doomed_dirs();
                    std::process::exit(i32::from(status))
                }
                Ok(Some(msg)) => {
                    let _ = tx.send(msg);
                }
                // The leader is gone before it ended the job: a worker
                // never outlives its leader, and says so.
                Ok(None) | Err(_) => {
                    crate::signals::remove_doomed_dirs();
                    crate::diag::diag!("shoal: a worker lost its leader ({named}) before the job ended");
                    std::process::exit(1)
                }
            }
        }
    });
}

fn spawn_heartbeat(writer: Arc<Mutex<Box<dyn Transport>>>) {
    let _ = std::thread::Builder::new().name("shoal-heartbeat".into()).spawn(move || {
        loop {
            std::thread::sleep(HEARTBEAT);
            let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
            if protocol::send(&mut *w, &ToLeader::Heartbeat { streaming: crate::run::progress::streaming() }).is_err() {
                std::process::exit(1);
            }
        }
    });
}
