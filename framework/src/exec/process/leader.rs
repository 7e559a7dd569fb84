//! The leader's I/O shell: spawns workers, talks to them, merges partials.
//!
//! Each peer (a spawned worker's socket pair, or a TCP connection accepted
//! with `--listen`) has a thread for its handshake and reader; everything
//! else happens on the thread that runs the action, in [`Leader::gather`],
//! which turns [`Event`]s (a worker joined, sent a message, or was lost)
//! into calls on the pure [`Scheduler`] and carries out the
//! [`Command`]s it returns. Processes, sockets, the clock and the
//! filesystem are touched here only.

use super::ProcessOptions;
use super::outputs::{Outputs, Published};
use super::peer::{Event, serve_peer, spawn_acceptor};
use super::protocol::{self, ToLeader, ToWorker};
use super::roster::Roster;
use super::round::{Round, check_not_truncated};
use super::scheduler::{Command, Policy, Scheduler, Stopping, WorkerId};
use super::spawn::{describe_exit, exit_within, spawn_worker};
use super::stale;
use crate::error::{Error, ErrorKind, Result};
use crate::plan::Plan;
use crate::report::Report;
use crate::signals;
use crate::transport::{self, Acceptor};
use muster::Muster;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Receives each split's serialized partial and report, exactly once.
pub(crate) type OnPartial<'a> = dyn FnMut(usize, &[u8], Report) -> Result<()> + 'a;

mod muster;
mod shutdown;
mod slot;

use slot::Slot;

/// How long a spawned worker may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);

/// The leader of a multi-process job.
pub(crate) struct Leader {
    state: Mutex<State>,
}

struct State {
    options: ProcessOptions,
    exe: PathBuf,
    args: Vec<OsString>,
    secret: String,
    /// A sender of events, for the connection threads of spawned workers.
    events_tx: Sender<Event>,
    events: Receiver<Event>,
    /// Whether the first `processes` workers were started (at the first
    /// action with splits: a job that fails before, or has nothing to read,
    /// starts none).
    started: bool,
    scheduler: Scheduler,
    /// Processes and sockets, by worker id.
    slots: Vec<Slot>,
    next_id: Arc<AtomicUsize>,
    /// Output and report of each finished action, by action number.
    outputs: Outputs,
    respawns_left: usize,
    last_loss: Option<String>,
    /// The cluster ranks to wait for before the first split is handed out.
    muster: Option<Muster>,
    roster: Roster,
    /// The job's exit status, sent to the workers at the end.
    exit_status: u8,
}

impl std::fmt::Debug for Leader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Leader")
    }
}

impl Leader {
    /// Prepares to lead: workers are spawned at the first action with splits
    /// (each with its end of a socket pair), and with `--listen` other
    /// workers may join over TCP.
    pub(crate) fn start(options: ProcessOptions) -> Result<Leader> {
        let secret =
            protocol::new_secret().map_err(|e| Error::new(ErrorKind::Io, "cannot make a job secret").with_source(e))?;
        let acceptor = match &options.listen {
            Some(extra) => {
                let acceptor = transport::listen(extra).map_err(|e| {
                    Error::new(ErrorKind::Transport, format!("cannot listen on {extra}")).with_source(e)
                })?;
                crate::diag::diag!("shoal: leader accepting workers at {}", acceptor.address());
                Some(acceptor)
            }
            None => None,
        };
        Leader::with(options, secret, acceptor, None)
    }

    /// Leads with the job's `secret`, accepting workers over `acceptor`;
    /// with `ranks`, the first action waits (at most `within`) until that
    /// many cluster ranks joined before it hands out a split.
    pub(crate) fn with(
        options: ProcessOptions,
        secret: String,
        acceptor: Option<Box<dyn Acceptor>>,
        ranks: Option<(usize, Duration)>,
    ) -> Result<Leader> {
        crate::seed::set_job_seed(&secret);
        stale::remove_stale_socket_dirs(&std::env::temp_dir());
        let (tx, events) = std::sync::mpsc::channel();
        let next_id = Arc::new(AtomicUsize::new(1));
        if let Some(acceptor) = acceptor {
            spawn_acceptor(acceptor, secret.clone(), tx.clone(), next_id.clone());
        }
        let exe = std::env::current_exe()
            .map_err(|e| Error::new(ErrorKind::Io, "cannot find this program").with_source(e))?;
        let respawns_left = options.processes * options.max_split_failures as usize + 2;
        let scheduler = Scheduler::new(Policy {
            max_split_failures: options.max_split_failures,
            on_failed_split: options.on_failed_split,
            split_timeout: options.split_timeout,
            heartbeat_timeout: options.heartbeat_timeout,
        });
        let state = State {
            options,
            exe,
            args: std::env::args_os().skip(1).collect(),
            secret,
            events_tx: tx,
            events,
            started: false,
            scheduler,
            slots: Vec::new(),
            next_id,
            outputs: Outputs::default(),
            respawns_left,
            last_loss: None,
            muster: ranks.map(|(ranks, within)| Muster { ranks, within }),
            roster: Roster::default(),
            exit_status: 0,
        };
        Ok(Leader { state: Mutex::new(state) })
    }

    /// Runs one action's splits on the workers; calls `on_partial` once per
    /// split with its serialized partial and report.
    pub(crate) fn gather(
        &self,
        action: u64,
        fingerprint: u64,
        plan: &Plan,
        on_partial: &mut OnPartial<'_>,
    ) -> Result<Report> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.gather(action, fingerprint, plan, on_partial)
    }

    /// Records an action's output; workers get it when the next action starts.
    pub(crate) fn publish(&self, action: u64, output: Published, report: Report) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        debug_assert_eq!(state.outputs.len() as u64, action);
        state.outputs.push(output, report);
        state.scheduler.hold(action);
        Ok(())
    }

    /// What each worker was given since the last call, one line each.
    pub(crate) fn take_roster(&self) -> String {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).roster.take_lines()
    }
}

impl State {
    fn slot(&mut self, id: WorkerId) -> &mut Slot {
        if id >= self.slots.len() {
            self.slots.resize_with(id + 1, Slot::default);
        }
        &mut self.slots[id]
    }

    fn spawn(&mut self) -> Result<()> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (child, conn) = spawn_worker(&self.exe, &self.args, &self.secret, id)?;
        signals::register_child(child.id());
        let now = Instant::now();
        let slot = self.slot(id);
        slot.child = Some(child);
        slot.spawned_at = Some(now);
        self.scheduler.started(id, now);
        let (secret, tx, next_id) = (self.secret.clone(), self.events_tx.clone(), self.next_id.clone());
        let spawned = std::thread::Builder::new()
            .name("shoal-peer".into())
            .spawn(move || serve_peer(Box::new(conn), &secret, &tx, &next_id));
        if let Err(e) = spawned {
            return Err(Error::new(ErrorKind::Io, "cannot start a connection thread").with_source(e));
        }
        Ok(())
    }

    fn gather(&mut self, action: u64, fingerprint: u64, plan: &Plan, on_partial: &mut OnPartial<'_>) -> Result<Report> {
        self.scheduler.release_held();
        let plan_msg = protocol::encode(&ToWorker::Plan { action, plan: plan.clone() })
            .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode the plan").with_source(e))?;
        let mut round = Round::new(action, fingerprint, plan, plan_msg);
        if !self.started && !round.is_over() {
            self.started = true;
            for _ in 0..self.options.processes {
                self.spawn()?;
            }
        }
        let early = self.muster(&mut round, on_partial)?;
        // Workers that arrived at this action before the leader.
        self.scheduler.begin(&mut round, Instant::now());
        self.carry_out(Some(&mut round))?;
        for event in early {
            self.handle(&mut round, event, on_partial)?;
        }
        while !round.is_over() {
            if let Some(status) = signals::interrupted() {
                return Err(Error::new(ErrorKind::Interrupted, format!("interrupted (exit status {status})")));
            }
            self.keep_workers_up()?;
            match self.events.recv_timeout(Duration::from_millis(100)) {
                Ok(event) => {
                    let started = super::roster::thread_time();
                    self.handle(&mut round, event, on_partial)?;
                    self.roster.busy(super::roster::thread_time().saturating_sub(started));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::new(ErrorKind::Transport, "the leader's connection threads stopped"));
                }
            }
            self.check_timeouts(&mut round)?;
        }
        round.into_result()
    }

    /// Spawns replacements while fewer than `processes` workers live.
    fn keep_workers_up(&mut self) -> Result<()> {
        while self.scheduler.live() < self.options.processes && signals::interrupted().is_none() {
            if self.respawns_left == 0 {
                if self.scheduler.live() == 0 {
                    let last = self.last_loss.clone().unwrap_or_default();
                    return Err(Error::new(
                        ErrorKind::WorkerLost,
                        format!("every worker process died and the restart budget is spent (last: {last})"),
                    ));
                }
                return Ok(());
            }
            self.respawns_left -= 1;
            self.spawn()?;
        }
        Ok(())
    }

    fn handle(&mut self, round: &mut Round<'_>, event: Event, on_partial: &mut OnPartial<'_>) -> Result<()> {
        let now = Instant::now();
        match event {
            Event::Joined { id, writer, member } => {
                if self.scheduler.joined(id, member.threads, member.pid, now) {
                    self.slot(id).writer = Some(writer);
                    self.roster.join(id, member);
                } else {
                    let _ = writer.shutdown();
                }
            }
            Event::Lost { id, why } => self.lose(Some(round), id, why)?,
            Event::Refused { .. } => {}
            Event::Message { id, msg } => {
                if !self.scheduler.heard(id, now) {
                    return Ok(());
                }
                match msg {
                    ToLeader::Ready { action, fingerprint } => {
                        self.scheduler.ready(round, id, action, fingerprint, now)?;
                    }
                    ToLeader::Partial { action, split, partial, report } if action == round.action => {
                        if self.scheduler.partial(round, id, split, now) {
                            self.roster.credit(id, round.plan.splits.get(split).map_or(0, |s| s.cost));
                            on_partial(split, &partial, round.stamp(split, report))?;
                        }
                    }
                    ToLeader::Failed { action, split, error } if action == round.action => {
                        self.scheduler.failed(round, id, split, Error::from_wire(error), now);
                    }
                    ToLeader::Partial { .. } | ToLeader::Failed { .. } => {}
                    ToLeader::Acquire { limit, capacity, token } => self.scheduler.acquire(id, &limit, capacity, token),
                    ToLeader::Release { limit } => self.scheduler.release(id, &limit),
                    ToLeader::Heartbeat { streaming } => crate::run::progress::worker_streaming(id, streaming),
                    ToLeader::Goodbye => self.scheduler.goodbye(id),
                    ToLeader::Hello { .. } => {}
                }
            }
        }
        self.carry_out(Some(round))
    }

    /// Carries out the scheduler's commands; a worker that cannot be sent
    /// one is lost (which may decide more commands).
    fn carry_out(&mut self, mut round: Option<&mut Round<'_>>) -> Result<()> {
        while let Some(command) = self.scheduler.next_command() {
            let (worker, sent, what) = match command {
                Command::Warn(text) => {
                    crate::diag::diag!("shoal: {text}");
                    continue;
                }
                Command::SendPlan { worker } => {
                    let sent = match round.as_deref() {
                        Some(r) => self.slot(worker).send(&r.plan_msg),
                        None => true,
                    };
                    (worker, sent, "the plan")
                }
                Command::Run { worker, split } => {
                    let action = round.as_deref().map_or(0, |r| r.action);
                    (worker, self.send(worker, &ToWorker::Run { action, split })?, "a split")
                }
                Command::SendOutput { worker, action } => {
                    let (output, report) = self.outputs.get(action)?;
                    (worker, self.send(worker, &ToWorker::Done { action, output, report })?, "an action's output")
                }
                Command::Grant { worker, token } => {
                    (worker, self.send(worker, &ToWorker::Granted { token })?, "a permit")
                }
            };
            if !sent {
                self.lose_one(round.as_deref_mut(), worker, format!("could not be sent {what}"))?;
            }
        }
        Ok(())
    }

    fn send(&mut self, worker: WorkerId, msg: &ToWorker) -> Result<bool> {
        let bytes = protocol::encode(msg)
            .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode a message").with_source(e))?;
        Ok(self.slot(worker).send(&bytes))
    }

    fn check_timeouts(&mut self, round: &mut Round<'_>) -> Result<()> {
        let now = Instant::now();
        let mut doomed = self.scheduler.overdue(now);
        for (id, slot) in self.slots.iter_mut().enumerate() {
            if slot.writer.is_some() || !self.scheduler.is_known(id) {
                continue;
            }
            let exited = slot.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited {
                doomed.push((id, "exited before connecting".into()));
            } else if slot.spawned_at.is_some_and(|at| now.duration_since(at) > CONNECT_TIMEOUT) {
                doomed.push((id, format!("did not connect within {} s", CONNECT_TIMEOUT.as_secs())));
            }
        }
        for (id, why) in doomed {
            self.slot(id).kill_reason = Some(why.clone());
            self.lose(Some(round), id, why)?;
        }
        Ok(())
    }

    /// A worker is gone (or is killed now): reap it, then let the scheduler
    /// rerun its splits, and carry out what it decides.
    fn lose(&mut self, mut round: Option<&mut Round<'_>>, id: WorkerId, why: String) -> Result<()> {
        self.lose_one(round.as_deref_mut(), id, why)?;
        self.carry_out(round)
    }

    fn lose_one(&mut self, round: Option<&mut Round<'_>>, id: WorkerId, why: String) -> Result<()> {
        if !self.scheduler.is_known(id) {
            return Ok(());
        }
        let slot = self.slot(id);
        if let Some(w) = slot.writer.take() {
            let _ = w.shutdown();
        }
        let mut how = slot.kill_reason.clone().unwrap_or(why);
        let mut by_interrupt = false;
        if let Some(child) = &mut slot.child {
            // A worker that went away by itself closed its socket while
            // exiting: let it finish, so its real end is known.
            let patience = if slot.kill_reason.is_none() { Duration::from_millis(200) } else { Duration::ZERO };
            let status = match exit_within(child, patience) {
                Some(status) => Some(status),
                None => {
                    let _ = child.kill();
                    child.wait().ok()
                }
            };
            signals::forget_child(child.id());
            if slot.kill_reason.is_none()
                && let Some(status) = status
            {
                use std::os::unix::process::ExitStatusExt;
                by_interrupt = matches!(status.signal(), Some(libc::SIGINT | libc::SIGTERM));
                how = describe_exit(status);
            }
        }
        let how = format!("worker {id} {how}");
        // A worker that died of an interrupt was most likely sent the same
        // signal as this leader (Ctrl-C, a process group's SIGTERM): the job
        // is stopping, and nothing is rerun or announced.
        let stopping = match by_interrupt {
            true => signals::await_interrupt(Duration::from_millis(250)),
            false => signals::interrupted(),
        };
        let stopping = if stopping.is_some() { Stopping::Yes } else { Stopping::No };
        self.last_loss = Some(how.clone());
        if let Some(round) = &round
            && stopping == Stopping::No
        {
            for split in self.scheduler.in_flight(id) {
                check_not_truncated(round.plan, split, &how)?;
            }
        }
        self.scheduler.lose(round, id, &how, stopping, Instant::now())
    }
}
