//! The leader: spawns workers, hands out splits, merges partials.
//!
//! Each peer (a spawned worker's socket pair, or a TCP connection accepted
//! with `--listen`) has a thread for its handshake and reader; everything
//! else happens on the thread that runs the action, in [`Leader::gather`],
//! which reacts to [`Event`]s: a worker joined, sent a message, or was lost.

use super::protocol::{self, ToLeader, ToWorker};
use super::round::Round;
use super::spawn::spawn_worker;
use super::stale;
use super::{FailedSplit, ProcessOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::{FileKind, Plan};
use crate::report::{self, Report};
use crate::signals;
use crate::transport::{self, Acceptor, Transport, frame};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Receives each split's serialized partial and report, exactly once.
pub(crate) type OnPartial<'a> = dyn FnMut(usize, &[u8], Report) -> Result<()> + 'a;

/// What the connection threads tell the leader.
enum Event {
    Joined { id: usize, writer: Box<dyn Transport>, threads: usize },
    Message { id: usize, msg: ToLeader },
    Lost { id: usize, why: String },
}

/// One worker process, as the leader sees it.
struct Slot {
    child: Option<Child>,
    writer: Option<Box<dyn Transport>>,
    threads: usize,
    /// The action this worker waits at, once it said `Ready`.
    ready_for: Option<u64>,
    /// Splits sent and not yet answered, with when they were sent.
    in_flight: BTreeMap<usize, Instant>,
    spawned_at: Instant,
    last_heard: Instant,
    /// Why the leader killed it, if it did.
    kill_reason: Option<String>,
    /// It said goodbye: its program ended normally.
    finished: bool,
    dead: bool,
    /// Job-wide limit permits it holds, by limit name.
    permits: HashMap<String, usize>,
}

impl Slot {
    fn new(child: Option<Child>) -> Slot {
        let now = Instant::now();
        Slot {
            child,
            writer: None,
            threads: 1,
            ready_for: None,
            in_flight: BTreeMap::new(),
            spawned_at: now,
            last_heard: now,
            kill_reason: None,
            finished: false,
            dead: false,
            permits: HashMap::new(),
        }
    }

    fn send(&mut self, payload: &[u8]) -> bool {
        match &mut self.writer {
            Some(w) => frame::write_frame(w, payload).is_ok(),
            None => false,
        }
    }
}

/// A job-wide concurrency limit.
#[derive(Default)]
struct LimitState {
    capacity: usize,
    used: usize,
    waiting: VecDeque<(usize, u64)>,
}

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
    slots: BTreeMap<usize, Slot>,
    next_id: Arc<AtomicUsize>,
    /// Output and report of each finished action, by action number.
    outputs: Vec<(Vec<u8>, Report)>,
    respawns_left: usize,
    limits: HashMap<String, LimitState>,
    last_loss: Option<String>,
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
        stale::remove_stale_socket_dirs(&std::env::temp_dir());
        let (tx, events) = std::sync::mpsc::channel();
        let next_id = Arc::new(AtomicUsize::new(1));
        if let Some(extra) = &options.listen {
            let acceptor = transport::listen(extra)
                .map_err(|e| Error::new(ErrorKind::Transport, format!("cannot listen on {extra}")).with_source(e))?;
            eprintln!("shoal: leader accepting workers at {}", acceptor.address());
            spawn_acceptor(acceptor, secret.clone(), tx.clone(), next_id.clone());
        }
        let exe = std::env::current_exe()
            .map_err(|e| Error::new(ErrorKind::Io, "cannot find this program").with_source(e))?;
        let respawns_left = options.processes * options.max_split_failures as usize + 2;
        let state = State {
            options,
            exe,
            args: std::env::args_os().skip(1).collect(),
            secret,
            events_tx: tx,
            events,
            started: false,
            slots: BTreeMap::new(),
            next_id,
            outputs: Vec::new(),
            respawns_left,
            limits: HashMap::new(),
            last_loss: None,
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

    /// Records an action's output and sends it to the workers waiting for it.
    pub(crate) fn publish(&self, action: u64, output: Vec<u8>, report: Report) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        debug_assert_eq!(state.outputs.len() as u64, action);
        let msg = protocol::encode(&ToWorker::Done { action, output: output.clone(), report: report.clone() })
            .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode an output").with_source(e))?;
        state.outputs.push((output, report));
        let ids: Vec<usize> = state.slots.keys().copied().collect();
        for id in ids {
            let slot = state.slots.get_mut(&id).expect("listed");
            if !slot.dead && slot.ready_for == Some(action) {
                slot.ready_for = None;
                if !slot.send(&msg) {
                    state.lose(None, id, "could not be sent the action's output".into())?;
                }
            }
        }
        Ok(())
    }
}

impl Drop for Leader {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        // Workers whose handshake finished but was not yet seen.
        while let Ok(event) = state.events.try_recv() {
            if let Event::Joined { id, writer, .. } = event
                && let Some(slot) = state.slots.get_mut(&id)
                && slot.writer.is_none()
                && !slot.dead
            {
                slot.writer = Some(writer);
            }
        }
        // Closing a socket tells its worker to exit; give those a moment. A
        // worker that never connected has nothing to finish: kill it now
        // rather than wait for it to connect to a leader that is leaving.
        let mut connected = Vec::new();
        for slot in state.slots.values_mut() {
            match slot.writer.take() {
                Some(w) => {
                    let _ = w.shutdown();
                    connected.push(true);
                }
                None => connected.push(false),
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        for (slot, connected) in state.slots.values_mut().zip(connected) {
            if let Some(child) = &mut slot.child {
                if !connected {
                    let _ = child.kill();
                }
                loop {
                    match child.try_wait() {
                        Ok(Some(_)) | Err(_) => break,
                        Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                        Ok(None) => {
                            let _ = child.kill();
                            let _ = child.wait();
                            break;
                        }
                    }
                }
                signals::forget_child(child.id());
            }
        }
    }
}

impl State {
    fn spawn(&mut self) -> Result<()> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (child, conn) = spawn_worker(&self.exe, &self.args, &self.secret, id)?;
        signals::register_child(child.id());
        self.slots.insert(id, Slot::new(Some(child)));
        let (secret, tx, next_id) = (self.secret.clone(), self.events_tx.clone(), self.next_id.clone());
        let spawned = std::thread::Builder::new()
            .name("shoal-peer".into())
            .spawn(move || serve_peer(Box::new(conn), &secret, &tx, &next_id));
        if let Err(e) = spawned {
            return Err(Error::new(ErrorKind::Io, "cannot start a connection thread").with_source(e));
        }
        Ok(())
    }

    fn live(&self) -> usize {
        self.slots.values().filter(|s| !s.dead && !s.finished).count()
    }

    fn gather(&mut self, action: u64, fingerprint: u64, plan: &Plan, on_partial: &mut OnPartial<'_>) -> Result<Report> {
        let plan_msg = protocol::encode(&ToWorker::Plan { action, plan: plan.clone() })
            .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode the plan").with_source(e))?;
        let mut round = Round::new(action, fingerprint, plan, plan_msg);
        if !self.started && !round.is_over() {
            self.started = true;
            for _ in 0..self.options.processes {
                self.spawn()?;
            }
        }
        // Workers that arrived at this action before the leader.
        let early: Vec<usize> =
            self.slots.iter().filter(|(_, s)| !s.dead && s.ready_for == Some(action)).map(|(&id, _)| id).collect();
        for id in early {
            self.start_worker_on_round(&mut round, id)?;
        }
        while !round.is_over() {
            if let Some(status) = signals::interrupted() {
                return Err(Error::new(ErrorKind::Interrupted, format!("interrupted (exit status {status})")));
            }
            self.keep_workers_up()?;
            match self.events.recv_timeout(Duration::from_millis(100)) {
                Ok(event) => self.handle(&mut round, event, on_partial)?,
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
        while self.live() < self.options.processes && signals::interrupted().is_none() {
            if self.respawns_left == 0 {
                if self.live() == 0 {
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
        match event {
            Event::Joined { id, writer, threads } => {
                let slot = self.slots.entry(id).or_insert_with(|| Slot::new(None));
                if slot.dead {
                    let _ = writer.shutdown();
                    return Ok(());
                }
                slot.writer = Some(writer);
                slot.threads = threads.max(1);
                slot.last_heard = Instant::now();
            }
            Event::Lost { id, why } => self.lose(Some(round), id, why)?,
            Event::Message { id, msg } => {
                let Some(slot) = self.slots.get_mut(&id) else { return Ok(()) };
                if slot.dead {
                    return Ok(());
                }
                slot.last_heard = Instant::now();
                match msg {
                    ToLeader::Ready { action, fingerprint } => self.on_ready(round, id, action, fingerprint)?,
                    ToLeader::Partial { action, split, partial, report } if action == round.action => {
                        slot.in_flight.remove(&split);
                        if round.complete(split) {
                            on_partial(split, &partial, report)?;
                        }
                        self.dispatch(round, id)?;
                    }
                    ToLeader::Failed { action, split, error } if action == round.action => {
                        // The round goes on until every split before this
                        // one is done: the first failure in input order wins.
                        slot.in_flight.remove(&split);
                        round.fail(split, Error::from_wire(error));
                        self.dispatch(round, id)?;
                    }
                    ToLeader::Partial { .. } | ToLeader::Failed { .. } => {}
                    ToLeader::Acquire { limit, capacity, token } => self.acquire(id, limit, capacity, token)?,
                    ToLeader::Release { limit } => self.release(id, &limit, 1)?,
                    ToLeader::Heartbeat => {}
                    ToLeader::Goodbye => slot.finished = true,
                    ToLeader::Hello { .. } => {}
                }
            }
        }
        Ok(())
    }

    fn on_ready(&mut self, round: &mut Round<'_>, id: usize, action: u64, fingerprint: u64) -> Result<()> {
        if action < round.action {
            // A replacement catching up: answer from the stored outputs.
            let (output, report) = self.outputs[action as usize].clone();
            let msg = protocol::encode(&ToWorker::Done { action, output, report })
                .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode an output").with_source(e))?;
            let slot = self.slots.get_mut(&id).expect("present");
            if !slot.send(&msg) {
                self.lose(Some(round), id, "could not be sent a finished action's output".into())?;
            }
            return Ok(());
        }
        self.slots.get_mut(&id).expect("present").ready_for = Some(action);
        if action == round.action {
            if fingerprint != round.fingerprint {
                return Err(Error::new(
                    ErrorKind::Transport,
                    format!(
                        "worker {id} runs a different pipeline at action {action}: every process must build the \
                         same pipelines in the same order (does the program depend on time, randomness or the \
                         environment?)"
                    ),
                ));
            }
            self.start_worker_on_round(round, id)?;
        }
        Ok(())
    }

    fn start_worker_on_round(&mut self, round: &mut Round<'_>, id: usize) -> Result<()> {
        let slot = self.slots.get_mut(&id).expect("present");
        if !slot.send(&round.plan_msg) {
            return self.lose(Some(round), id, "could not be sent the plan".into());
        }
        self.dispatch(round, id)
    }

    /// Keeps `threads + 1` splits in flight on a worker, so none of its
    /// threads waits for the leader; faster workers come back sooner and so
    /// take more. Near the end of the queue (no more splits left than the
    /// live workers have threads) a worker gets only one split per thread: a
    /// spare split waiting behind a running one there could leave another
    /// worker's thread idle meanwhile (with 44 splits on two 1-thread
    /// workers, up to one split's time at the end of the job).
    fn dispatch(&mut self, round: &mut Round<'_>, id: usize) -> Result<()> {
        let live_threads: usize =
            self.slots.values().filter(|s| !s.dead && s.ready_for == Some(round.action)).map(|s| s.threads).sum();
        let slot = self.slots.get_mut(&id).expect("present");
        if slot.dead || slot.ready_for != Some(round.action) {
            return Ok(());
        }
        while slot.in_flight.len() < slot.threads + usize::from(round.queued() > live_threads) {
            let Some(split) = round.next_split() else { break };
            let msg = protocol::encode(&ToWorker::Run { action: round.action, split })
                .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode a split").with_source(e))?;
            slot.in_flight.insert(split, Instant::now());
            if !slot.send(&msg) {
                return self.lose(Some(round), id, "could not be sent a split".into());
            }
        }
        Ok(())
    }

    fn dispatch_all(&mut self, round: &mut Round<'_>) -> Result<()> {
        let ids: Vec<usize> = self.slots.keys().copied().collect();
        for id in ids {
            self.dispatch(round, id)?;
        }
        Ok(())
    }

    fn check_timeouts(&mut self, round: &mut Round<'_>) -> Result<()> {
        let now = Instant::now();
        let mut doomed = Vec::new();
        for (&id, slot) in &mut self.slots {
            if slot.dead {
                continue;
            }
            if let Some(limit) = self.options.split_timeout
                && let Some((split, _)) = slot.in_flight.iter().find(|(_, at)| now.duration_since(**at) > limit)
            {
                doomed.push((id, format!("overran the split timeout of {limit:?} on split {split}")));
                continue;
            }
            if slot.writer.is_some() && now.duration_since(slot.last_heard) > self.options.heartbeat_timeout {
                doomed.push((id, format!("sent no heartbeat for {:?}", self.options.heartbeat_timeout)));
                continue;
            }
            if slot.writer.is_none() {
                let exited = slot.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
                if exited {
                    doomed.push((id, "exited before connecting".into()));
                } else if now.duration_since(slot.spawned_at) > Duration::from_secs(60) {
                    doomed.push((id, "did not connect within 60 s".into()));
                }
            }
        }
        for (id, why) in doomed {
            if let Some(slot) = self.slots.get_mut(&id) {
                slot.kill_reason = Some(why.clone());
            }
            self.lose(Some(round), id, why)?;
        }
        Ok(())
    }

    /// A worker is gone (or is killed now): reap it, rerun its splits, and
    /// count the failure against each.
    fn lose(&mut self, round: Option<&mut Round<'_>>, id: usize, why: String) -> Result<()> {
        let Some(slot) = self.slots.get_mut(&id) else { return Ok(()) };
        if slot.dead {
            return Ok(());
        }
        slot.dead = true;
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
        let finished = slot.finished;
        let lost: Vec<usize> = std::mem::take(&mut slot.in_flight).into_keys().collect();
        let permits: Vec<(String, usize)> = slot.permits.drain().collect();
        let how = format!("worker {id} {how}");
        // A worker that died of an interrupt was most likely sent the same
        // signal as this leader (Ctrl-C, a process group's SIGTERM): the job
        // is stopping, and nothing is rerun or announced.
        let stopping = match by_interrupt {
            true => signals::await_interrupt(Duration::from_millis(250)).is_some(),
            false => signals::interrupted().is_some(),
        };
        if !finished && !stopping && !lost.is_empty() {
            eprintln!("shoal: {how}; rerunning its {} split(s)", lost.len());
        }
        self.last_loss = Some(how.clone());
        for (name, n) in permits {
            self.release(id, &name, n)?;
        }
        for state in self.limits.values_mut() {
            state.waiting.retain(|(w, _)| *w != id);
        }
        if let Some(round) = round
            && !stopping
        {
            for split in lost {
                self.failed_attempt(round, split, &how)?;
            }
            self.dispatch_all(round)?;
        }
        Ok(())
    }

    fn failed_attempt(&mut self, round: &mut Round<'_>, split: usize, how: &str) -> Result<()> {
        if round.settled(split) {
            return Ok(());
        }
        let plan = round.plan;
        let name = plan.describe(&plan.splits[split]);
        // A shrunken input explains the crash better than any retry could.
        for part in &plan.splits[split].parts {
            let Some(file) = plan.files.get(part.file) else { continue };
            if file.kind == FileKind::Regular
                && let (Some(planned), Ok(meta)) = (file.len, std::fs::metadata(&file.path))
            {
                {
                    if meta.len() < planned {
                        return Err(Error::new(
                            ErrorKind::InvalidInput,
                            format!(
                                "input was truncated while the job read it: {} bytes planned, {} now ({how})",
                                planned,
                                meta.len()
                            ),
                        )
                        .with_path(&file.path)
                        .with_split(name));
                    }
                }
            }
        }
        round.failures[split] += 1;
        let n = round.failures[split];
        if n < self.options.max_split_failures {
            round.requeue(split);
            return Ok(());
        }
        match self.options.on_failed_split {
            FailedSplit::Fail => Err(Error::new(
                ErrorKind::WorkerLost,
                format!("split brought down {n} worker processes; the last: {how}"),
            )
            .with_split(name)),
            FailedSplit::Skip => {
                eprintln!("shoal: skipping split {name} after {n} worker failures (last: {how})");
                round.complete(split);
                report::count_into(&mut round.skipped, "shoal.splits_skipped", 1);
                Ok(())
            }
        }
    }

    fn acquire(&mut self, id: usize, name: String, capacity: usize, token: u64) -> Result<()> {
        let state = self.limits.entry(name.clone()).or_default();
        state.capacity = state.capacity.max(capacity).max(1);
        if state.used < state.capacity {
            state.used += 1;
            self.grant(id, &name, token)
        } else {
            state.waiting.push_back((id, token));
            Ok(())
        }
    }

    fn release(&mut self, id: usize, name: &str, n: usize) -> Result<()> {
        if let Some(held) = self.slots.get_mut(&id).and_then(|slot| slot.permits.get_mut(name)) {
            *held = held.saturating_sub(n);
        }
        let Some(state) = self.limits.get_mut(name) else { return Ok(()) };
        state.used = state.used.saturating_sub(n);
        loop {
            let state = self.limits.get_mut(name).expect("present");
            if state.used >= state.capacity {
                return Ok(());
            }
            let Some((waiter, token)) = state.waiting.pop_front() else { return Ok(()) };
            state.used += 1;
            self.grant(waiter, name, token)?;
        }
    }

    fn grant(&mut self, id: usize, name: &str, token: u64) -> Result<()> {
        let msg = protocol::encode(&ToWorker::Granted { token })
            .map_err(|e| Error::new(ErrorKind::Transport, "cannot encode a grant").with_source(e))?;
        match self.slots.get_mut(&id) {
            Some(slot) if !slot.dead => {
                *slot.permits.entry(name.to_owned()).or_default() += 1;
                if !slot.send(&msg) {
                    self.lose(None, id, "could not be sent a permit".into())?;
                }
                Ok(())
            }
            // The waiter died: give the permit back.
            _ => self.release(usize::MAX, name, 1),
        }
    }
}

/// The child's exit status if it exits within `limit`.
fn exit_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let until = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(2)),
            _ => return None,
        }
    }
}

/// `exited with status 1`, `was killed by SIGKILL`, ...
fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        let name = nix::sys::signal::Signal::try_from(sig).map_or_else(|_| format!("signal {sig}"), |s| s.to_string());
        return format!("was killed by {name}");
    }
    match status.code() {
        Some(signals::EXIT_BUS) => "hit a bus error: an input was truncated while memory-mapped".to_string(),
        Some(code) => format!("exited with status {code}"),
        None => "ended".to_string(),
    }
}

fn spawn_acceptor(acceptor: Box<dyn Acceptor>, secret: String, tx: Sender<Event>, next_id: Arc<AtomicUsize>) {
    let _ = std::thread::Builder::new().name("shoal-accept".into()).spawn(move || {
        loop {
            let Ok(conn) = acceptor.accept() else { return };
            let (secret, tx, next_id) = (secret.clone(), tx.clone(), next_id.clone());
            let _ = std::thread::Builder::new()
                .name("shoal-peer".into())
                .spawn(move || serve_peer(conn, &secret, &tx, &next_id));
        }
    });
}

/// Runs the handshake, then relays the peer's messages as events.
fn serve_peer(mut conn: Box<dyn Transport>, secret: &str, tx: &Sender<Event>, next_id: &AtomicUsize) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let hello = protocol::recv::<ToLeader, _>(&mut conn, frame::MAX_HELLO);
    let (id, threads) = match hello {
        Ok(Some(ToLeader::Hello { magic, protocol: version, program, secret: theirs, worker, pid: _, threads })) => {
            let refusal = if magic != protocol::MAGIC {
                Some("not a Shoal worker".to_string())
            } else if version != protocol::PROTOCOL {
                Some(format!("protocol {version}, leader speaks {}", protocol::PROTOCOL))
            } else if !protocol::same_secret(&theirs, secret) {
                Some("wrong job secret".to_string())
            } else if program != protocol::program_fingerprint() {
                Some("a different program binary".to_string())
            } else {
                None
            };
            if let Some(reason) = refusal {
                eprintln!("shoal: refused a peer: {reason}");
                let _ = protocol::send(&mut conn, &ToWorker::Refused { reason });
                let _ = conn.shutdown();
                return;
            }
            (worker.unwrap_or_else(|| next_id.fetch_add(1, Ordering::SeqCst)), threads)
        }
        _ => {
            let _ = conn.shutdown();
            return;
        }
    };
    let writer = match conn.try_clone_box() {
        Ok(w) => w,
        Err(_) => return,
    };
    if protocol::send(&mut conn, &ToWorker::Welcome { worker: id }).is_err() {
        return;
    }
    let _ = conn.set_read_timeout(None);
    if tx.send(Event::Joined { id, writer, threads }).is_err() {
        return;
    }
    loop {
        match protocol::recv::<ToLeader, _>(&mut conn, frame::MAX_FRAME) {
            Ok(Some(msg)) => {
                if tx.send(Event::Message { id, msg }).is_err() {
                    return;
                }
            }
            Ok(None) => {
                let _ = tx.send(Event::Lost { id, why: "closed its connection".into() });
                return;
            }
            Err(e) => {
                let _ = tx.send(Event::Lost { id, why: format!("connection failed: {e}") });
                return;
            }
        }
    }
}
