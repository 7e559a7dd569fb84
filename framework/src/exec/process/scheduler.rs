//! The leader's scheduler: which worker runs which split, and what happens
//! when a worker is lost, a split fails or overruns, or a limit is asked for.
//!
//! Pure: no sockets, no processes, no clock reads. Time comes in as `now`,
//! and every decision goes out as a [`Command`] for the I/O shell
//! (`leader.rs`) to carry out; a command the shell cannot carry out (the
//! worker's socket is gone) comes back as [`Scheduler::lose`]. A worker is
//! an id with a thread count that can be sent splits and can be lost:
//! whether it is a thread, a local process or a remote rank, and whether it
//! is replaced, is the shell's business.

use super::FailedSplit;
use super::limits::Limits;
use super::round::Round;
use crate::error::{Error, ErrorKind, Result};
use crate::report;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

pub(crate) use super::limits::WorkerId;

/// Ids beyond this many past the known ones are refused: a peer's claimed
/// id sizes the worker table.
const MAX_ID_GAP: usize = 4096;

/// Something for the I/O shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Send the worker the current round's plan.
    SendPlan { worker: WorkerId },
    /// Send the worker a split of the current round to run.
    Run { worker: WorkerId, split: usize },
    /// Send the worker the stored output of a finished action.
    SendOutput { worker: WorkerId, action: u64 },
    /// Send the worker a permit of a job-wide limit.
    Grant { worker: WorkerId, token: u64 },
    /// Tell the user (stderr).
    Warn(String),
}

/// How the scheduler treats failures and time.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// How many worker deaths one split may cause before it fails.
    pub(crate) max_split_failures: u32,
    /// What a split that keeps killing workers does to the job.
    pub(crate) on_failed_split: FailedSplit,
    /// Kill a worker that has not finished a split this long after receiving it.
    pub(crate) split_timeout: Option<Duration>,
    /// Kill a connected worker silent for this long.
    pub(crate) heartbeat_timeout: Duration,
}

/// Whether the job is stopping (interrupted) when a worker is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopping {
    /// The job goes on: the worker's splits are rerun.
    No,
    /// The job is stopping: nothing is rerun or announced.
    Yes,
}

/// Where a worker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    /// Known (spawned) but not yet connected.
    Starting,
    /// Connected and shaken hands.
    Connected,
    /// Its program ended normally (it said goodbye).
    Finished,
    /// Gone: died, killed, or its socket failed.
    Lost,
}

/// One worker, as the scheduler sees it.
#[derive(Debug)]
struct Worker {
    life: Life,
    threads: usize,
    /// The action this worker waits at, once it said `Ready`.
    ready_for: Option<u64>,
    /// Splits sent and not yet answered, with when they were sent.
    in_flight: BTreeMap<usize, Instant>,
    last_heard: Instant,
    /// Job-wide limit permits it holds, by limit name.
    permits: HashMap<String, usize>,
    /// Its process id, once it said hello (0 before).
    pid: u32,
}

impl Worker {
    fn new(life: Life, now: Instant) -> Worker {
        Worker {
            life,
            threads: 1,
            ready_for: None,
            in_flight: BTreeMap::new(),
            last_heard: now,
            permits: HashMap::new(),
            pid: 0,
        }
    }

    fn gone(&self) -> bool {
        self.life == Life::Lost
    }
}

/// The leader's scheduling state across actions.
#[derive(Debug)]
pub(crate) struct Scheduler {
    policy: Policy,
    /// Workers by id (a slot per id; ids are small and dense).
    workers: Vec<Option<Worker>>,
    limits: Limits,
    /// How many actions have finished (their outputs are stored).
    finished_actions: u64,
    /// The last finished action while its output is held ([`Scheduler::hold`]).
    held: Option<u64>,
    commands: VecDeque<Command>,
}

impl Scheduler {
    /// A scheduler with no workers yet.
    pub(crate) fn new(policy: Policy) -> Scheduler {
        Scheduler {
            policy,
            workers: Vec::new(),
            limits: Limits::default(),
            finished_actions: 0,
            held: None,
            commands: VecDeque::new(),
        }
    }

    /// The next command for the shell, in the order decided.
    pub(crate) fn next_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    fn worker(&mut self, id: WorkerId) -> Option<&mut Worker> {
        self.workers.get_mut(id).and_then(Option::as_mut).filter(|w| !w.gone())
    }

    fn slot_for(&mut self, id: WorkerId, life: Life, now: Instant) -> Option<&mut Worker> {
        if id >= self.workers.len() {
            if id > self.workers.len() + MAX_ID_GAP {
                return None;
            }
            self.workers.resize_with(id + 1, || None);
        }
        Some(self.workers[id].get_or_insert_with(|| Worker::new(life, now)))
    }

    /// A worker was started and will connect.
    pub(crate) fn started(&mut self, id: WorkerId, now: Instant) {
        self.slot_for(id, Life::Starting, now);
    }

    /// A worker (process `pid`) connected with `threads` threads; `false`
    /// if it was already lost (or its id is refused): the shell closes its
    /// socket.
    pub(crate) fn joined(&mut self, id: WorkerId, threads: usize, pid: u32, now: Instant) -> bool {
        match self.slot_for(id, Life::Connected, now) {
            Some(w) if !w.gone() => {
                w.life = Life::Connected;
                w.threads = threads.max(1);
                w.pid = pid;
                w.last_heard = now;
                true
            }
            _ => false,
        }
    }

    /// A message came from the worker; `false` if it is lost (ignore it).
    pub(crate) fn heard(&mut self, id: WorkerId, now: Instant) -> bool {
        match self.worker(id) {
            Some(w) => {
                w.last_heard = now;
                true
            }
            None => false,
        }
    }

    /// Whether the worker is known and not lost.
    pub(crate) fn is_known(&self, id: WorkerId) -> bool {
        self.workers.get(id).and_then(Option::as_ref).is_some_and(|w| !w.gone())
    }

    /// Workers neither lost nor finished.
    pub(crate) fn live(&self) -> usize {
        self.workers.iter().flatten().filter(|w| matches!(w.life, Life::Starting | Life::Connected)).count()
    }

    /// The worker's program ended normally.
    pub(crate) fn goodbye(&mut self, id: WorkerId) {
        if let Some(w) = self.worker(id) {
            w.life = Life::Finished;
        }
    }

    /// Starts a round: sends it to the workers already waiting at its action.
    pub(crate) fn begin(&mut self, round: &mut Round<'_>, now: Instant) {
        let early: Vec<WorkerId> = self.ids().filter(|&id| self.waits_at(id, round.action)).collect();
        for id in early {
            self.start_on_round(round, id, now);
        }
    }

    fn ids(&self) -> impl Iterator<Item = WorkerId> + use<> {
        let ids: Vec<WorkerId> = self
            .workers
            .iter()
            .enumerate()
            .filter(|(_, w)| w.as_ref().is_some_and(|w| !w.gone()))
            .map(|(i, _)| i)
            .collect();
        ids.into_iter()
    }

    fn waits_at(&self, id: WorkerId, action: u64) -> bool {
        self.workers.get(id).and_then(Option::as_ref).is_some_and(|w| !w.gone() && w.ready_for == Some(action))
    }

    /// The worker reached `action` with a pipeline of this fingerprint.
    pub(crate) fn ready(
        &mut self,
        round: &mut Round<'_>,
        id: WorkerId,
        action: u64,
        fingerprint: u64,
        now: Instant,
    ) -> Result<()> {
        if action < self.finished_actions {
            // A replacement catching up: answer from the stored outputs.
            self.commands.push_back(Command::SendOutput { worker: id, action });
            return Ok(());
        }
        let Some(w) = self.worker(id) else { return Ok(()) };
        w.ready_for = Some(action);
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
            self.start_on_round(round, id, now);
        }
        Ok(())
    }

    fn start_on_round(&mut self, round: &mut Round<'_>, id: WorkerId, now: Instant) {
        self.commands.push_back(Command::SendPlan { worker: id });
        self.dispatch(round, id, now);
    }

    /// The worker sent split's partial; `true` if it is the first (merge
    /// it), `false` for a late duplicate.
    pub(crate) fn partial(&mut self, round: &mut Round<'_>, id: WorkerId, split: usize, now: Instant) -> bool {
        if let Some(w) = self.worker(id) {
            w.in_flight.remove(&split);
        }
        let first = round.complete(split);
        self.dispatch(round, id, now);
        first
    }

    /// The worker reports that split failed with `err`. The round goes on
    /// until every split before it is done: the first failure in input
    /// order wins.
    pub(crate) fn failed(&mut self, round: &mut Round<'_>, id: WorkerId, split: usize, err: Error, now: Instant) {
        if let Some(w) = self.worker(id) {
            w.in_flight.remove(&split);
        }
        round.fail(split, err);
        self.dispatch(round, id, now);
    }

    /// Keeps `threads + 1` splits in flight on a worker, so none of its
    /// threads waits for the leader; faster workers come back sooner and so
    /// take more. Near the end of the queue (no more splits left than the
    /// live workers have threads) a worker gets only one split per thread: a
    /// spare split waiting behind a running one there could leave another
    /// worker's thread idle meanwhile (with 44 splits on two 1-thread
    /// workers, up to one split's time at the end of the job).
    fn dispatch(&mut self, round: &mut Round<'_>, id: WorkerId, now: Instant) {
        let live_threads: usize = self
            .workers
            .iter()
            .flatten()
            .filter(|w| !w.gone() && w.ready_for == Some(round.action))
            .map(|w| w.threads)
            .sum();
        let Some(w) = self.workers.get_mut(id).and_then(Option::as_mut) else { return };
        if w.gone() || w.ready_for != Some(round.action) {
            return;
        }
        while w.in_flight.len() < w.threads + usize::from(round.queued() > live_threads) {
            let Some(split) = round.next_split() else { break };
            w.in_flight.insert(split, now);
            self.commands.push_back(Command::Run { worker: id, split });
        }
    }

    fn dispatch_all(&mut self, round: &mut Round<'_>, now: Instant) {
        for id in self.ids() {
            self.dispatch(round, id, now);
        }
    }

    /// The splits the worker is running, in index order.
    pub(crate) fn in_flight(&self, id: WorkerId) -> Vec<usize> {
        self.workers.get(id).and_then(Option::as_ref).map_or_else(Vec::new, |w| w.in_flight.keys().copied().collect())
    }

    /// Connected workers to kill now, and why: one overran the split
    /// timeout, or sent no heartbeat for the heartbeat timeout.
    pub(crate) fn overdue(&self, now: Instant) -> Vec<(WorkerId, String)> {
        let mut doomed = Vec::new();
        for (id, w) in self.workers.iter().enumerate() {
            let Some(w) = w.as_ref().filter(|w| matches!(w.life, Life::Connected | Life::Finished)) else { continue };
            if let Some(limit) = self.policy.split_timeout
                && let Some((split, _)) = w.in_flight.iter().find(|(_, at)| now.saturating_duration_since(**at) > limit)
            {
                doomed.push((id, format!("overran the split timeout of {limit:?} on split {split}")));
            } else if now.saturating_duration_since(w.last_heard) > self.policy.heartbeat_timeout {
                doomed.push((id, format!("sent no heartbeat for {:?}", self.policy.heartbeat_timeout)));
            }
        }
        doomed
    }

    /// The worker is gone (`how`: `worker 3 was killed by SIGKILL`): its
    /// permits go back, and unless the job is stopping its splits are rerun,
    /// each counting a failed attempt (which may fail the job).
    pub(crate) fn lose(
        &mut self,
        round: Option<&mut Round<'_>>,
        id: WorkerId,
        how: &str,
        stopping: Stopping,
        now: Instant,
    ) -> Result<()> {
        let Some(w) = self.worker(id) else { return Ok(()) };
        let finished = w.life == Life::Finished;
        w.life = Life::Lost;
        let pid = w.pid;
        let in_flight = std::mem::take(&mut w.in_flight);
        let lost: Vec<usize> = in_flight.keys().copied().collect();
        let permits: Vec<(String, usize)> = w.permits.drain().collect();
        if !finished && stopping == Stopping::No && !lost.is_empty() {
            self.commands.push_back(Command::Warn(format!("{how}; rerunning its {} split(s)", lost.len())));
        }
        self.limits.forget(id);
        for (name, n) in permits {
            let granted = self.limits.release(&name, n);
            self.hand_out(&name, granted);
        }
        if let Some(round) = round
            && stopping == Stopping::No
        {
            if !finished {
                report::count_into(&mut round.skipped, "shoal.worker_restarts", 1);
            }
            for (split, sent) in in_flight {
                round.lost_attempt(split, pid, sent);
                self.failed_attempt(round, split, how)?;
            }
            self.dispatch_all(round, now);
        }
        Ok(())
    }

    fn failed_attempt(&mut self, round: &mut Round<'_>, split: usize, how: &str) -> Result<()> {
        if round.settled(split) {
            return Ok(());
        }
        round.failures[split] += 1;
        let n = round.failures[split];
        if n < self.policy.max_split_failures {
            report::count_into(&mut round.skipped, "shoal.split_retries", 1);
            round.requeue(split);
            return Ok(());
        }
        let name = round.plan.describe(&round.plan.splits[split]);
        match self.policy.on_failed_split {
            FailedSplit::Fail => Err(Error::new(
                ErrorKind::WorkerLost,
                format!("split brought down {n} worker processes; the last: {how}"),
            )
            .with_split(name)),
            FailedSplit::Skip => {
                self.commands
                    .push_back(Command::Warn(format!("skipping split {name} after {n} worker failures (last: {how})")));
                round.complete(split);
                report::count_into(&mut round.skipped, "shoal.splits_skipped", 1);
                Ok(())
            }
        }
    }

    /// An action finished, but its output is held back until
    /// [`release_held`](Scheduler::release_held) (the next action starts):
    /// after the program's last action no worker waits for, or decodes, a
    /// result that only the leader uses.
    pub(crate) fn hold(&mut self, action: u64) {
        self.held = Some(action);
    }

    /// Hands the held output to the workers waiting for it (see
    /// [`finished`](Scheduler::finished)).
    pub(crate) fn release_held(&mut self) {
        if let Some(action) = self.held.take() {
            self.finished(action);
        }
    }

    /// An action finished: workers waiting at it get its output, and later
    /// arrivals get it from the store.
    pub(crate) fn finished(&mut self, action: u64) {
        self.finished_actions = self.finished_actions.max(action + 1);
        for id in self.ids() {
            if let Some(w) = self.worker(id)
                && w.ready_for == Some(action)
            {
                w.ready_for = None;
                self.commands.push_back(Command::SendOutput { worker: id, action });
            }
        }
    }

    /// The worker asks for a permit of limit `name` (`token` names the ask).
    pub(crate) fn acquire(&mut self, id: WorkerId, name: &str, capacity: usize, token: u64) {
        if self.limits.acquire(id, name, capacity, token) {
            self.hand_out(name, vec![(id, token)]);
        }
    }

    /// The worker gives a permit of `name` back.
    pub(crate) fn release(&mut self, id: WorkerId, name: &str) {
        if let Some(held) = self.worker(id).and_then(|w| w.permits.get_mut(name)) {
            *held = held.saturating_sub(1);
        }
        let granted = self.limits.release(name, 1);
        self.hand_out(name, granted);
    }

    /// Grants permits of `name` to these asks, in order; a permit granted to
    /// a worker that is gone comes back and goes to the next waiter.
    fn hand_out(&mut self, name: &str, granted: Vec<(WorkerId, u64)>) {
        let mut granted = VecDeque::from(granted);
        while let Some((id, token)) = granted.pop_front() {
            match self.worker(id) {
                Some(w) => {
                    *w.permits.entry(name.to_owned()).or_default() += 1;
                    self.commands.push_back(Command::Grant { worker: id, token });
                }
                None => granted.extend(self.limits.release(name, 1)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Plan;

    fn policy() -> Policy {
        Policy {
            max_split_failures: 2,
            on_failed_split: FailedSplit::Fail,
            split_timeout: Some(Duration::from_secs(5)),
            heartbeat_timeout: Duration::from_secs(30),
        }
    }

    fn drain(s: &mut Scheduler) -> Vec<Command> {
        std::iter::from_fn(|| s.next_command()).collect()
    }

    fn runs(commands: &[Command], worker: WorkerId) -> Vec<usize> {
        commands
            .iter()
            .filter_map(|c| match c {
                Command::Run { worker: w, split } if *w == worker => Some(*split),
                _ => None,
            })
            .collect()
    }

    /// A scheduler with workers 1..=n connected (`threads` each) and ready
    /// at the round's action.
    fn ready_workers(s: &mut Scheduler, round: &mut Round<'_>, n: usize, threads: usize, now: Instant) {
        for id in 1..=n {
            s.started(id, now);
            assert!(s.joined(id, threads, 0, now));
            s.ready(round, id, round.action, round.fingerprint, now).unwrap();
        }
    }

    #[test]
    fn a_ready_worker_gets_the_plan_and_threads_plus_one_splits() {
        let plan = Plan::items(100, 10, 1);
        let mut round = Round::new(0, 7, &plan, Vec::new());
        let mut s = Scheduler::new(policy());
        let now = Instant::now();
        ready_workers(&mut s, &mut round, 1, 2, now);
        let commands = drain(&mut s);
        assert_eq!(commands[0], Command::SendPlan { worker: 1 });
        assert_eq!(runs(&commands, 1), vec![0, 1, 2]);
        assert_eq!(s.in_flight(1), vec![0, 1, 2]);
    }

    #[test]
    fn a_partial_is_merged_once_and_brings_the_next_split() {
        let plan = Plan::items(40, 10, 1);
        let mut round = Round::new(0, 7, &plan, Vec::new());
        let mut s = Scheduler::new(policy());
        let now = Instant::now();
        ready_workers(&mut s, &mut round, 1, 1, now);
        assert_eq!(runs(&drain(&mut s), 1), vec![0, 1]);
        assert!(s.partial(&mut round, 1, 0, now));
        assert_eq!(runs(&drain(&mut s), 1), vec![2]);
        assert!(!s.partial(&mut round, 1, 0, now), "a late duplicate is not merged twice");
        for split in [1, 2] {
            assert!(s.partial(&mut round, 1, split, now));
        }
        assert_eq!(runs(&drain(&mut s), 1), vec![3]);
        assert!(s.partial(&mut round, 1, 3, now));
        assert!(round.is_over());
    }

    #[test]
    fn near_the_end_a_worker_gets_one_split_per_thread() {
        let plan = Plan::items(30, 10, 1);
        let mut round = Round::new(0, 7, &plan, Vec::new());
        let mut s = Scheduler::new(policy());
        let now = Instant::now();
        ready_workers(&mut s, &mut round, 2, 1, now);
        let commands = drain(&mut s);
        // Worker 1 sees 3 queued > 1 live thread: 2 splits; worker 2 then
        // sees 1 queued, not more than the 2 live threads: 1 split.
        assert_eq!(runs(&commands, 1), vec![0, 1]);
        assert_eq!(runs(&commands, 2), vec![2]);
    }

    #[test]
    fn a_lost_worker_s_splits_are_announced_and_rerun_elsewhere() {
        let plan = Plan::items(30, 10, 1);
        let mut round = Round::new(0, 7, &plan, Vec::new());
        let mut s = Scheduler::new(policy());
        let now = Instant::now();
        ready_workers(&mut s, &mut round, 1, 1, now);
        assert_eq!(runs(&drain(&mut s), 1), vec![0, 1]);
        s.started(2, now);
        assert!(s.joined(2, 1, 0, now));
        s.ready(&mut round, 2, 0, 7, now).unwrap();
        assert_eq!(runs(&drain(&mut s), 2), vec![2]);
        s.lose(Some(&mut round), 1, "worker 1 was killed by SIGKILL", Stopping::No, now).unwrap();
        let commands = drain(&mut s);
        assert!(commands.contains(&Command::Warn("worker 1 was killed by SIGKILL; rerunning its 2 split(s)".into())));
        let mut rerun = runs(&commands, 2);
        assert_eq!(rerun.len(), 1, "threads + 1 in flight: {commands:?}");
        // One split per thread near the end: the other comes as one is done.
        for done in [2, rerun[0]] {
            assert!(s.partial(&mut round, 2, done, now));
            rerun.extend(runs(&drain(&mut s), 2));
        }
        rerun.sort_unstable();
        assert_eq!(rerun, vec![0, 1]);
        assert_eq!(round.failures, vec![1, 1, 0]);
        assert!(!s.is_known(1) && s.live() == 1);
        assert!(!s.joined(1, 1, 0, now), "a lost worker cannot come back");
        assert!(!s.heard(1, now));
    }

    #[test]
    fn a_split_that_keeps_killing_workers_fails_the_job_or_is_skipped() {
        let plan = Plan::items(10, 10, 1);
        for on_failed_split in [FailedSplit::Fail, FailedSplit::Skip] {
            let mut round = Round::new(0, 7, &plan, Vec::new());
            let mut s = Scheduler::new(Policy { on_failed_split, ..policy() });
            let now = Instant::now();
            let mut outcome = Ok(());
            for id in 1..=2 {
                s.started(id, now);
                assert!(s.joined(id, 1, 0, now));
                s.ready(&mut round, id, 0, 7, now).unwrap();
                assert_eq!(runs(&drain(&mut s), id), vec![0], "attempt {id}");
                outcome =
                    s.lose(Some(&mut round), id, &format!("worker {id} was killed by SIGSEGV"), Stopping::No, now);
            }
            match on_failed_split {
                FailedSplit::Fail => {
                    let err = outcome.unwrap_err();
                    assert_eq!(err.kind(), ErrorKind::WorkerLost);
                    assert!(err.to_string().contains("brought down 2 worker processes"), "{err}");
                    assert!(err.split().is_some(), "{err}");
                }
                FailedSplit::Skip => {
                    outcome.unwrap();
                    assert!(
                        drain(&mut s).iter().any(|c| matches!(c, Command::Warn(w) if w.contains("skipping split")))
                    );
                    assert!(round.is_over());
                    assert_eq!(round.skipped.counters.get("shoal.splits_skipped"), Some(&1));
                }
            }
        }
    }

    #[test]
    fn a_worker_lost_while_the_job_stops_reruns_nothing() {
        let plan = Plan::items(20, 10, 1);
        let mut round = Round::new(0, 7, &plan, Vec::new());
        let mut s = Scheduler::new(policy());
        let now = Instant::now();
        ready_workers(&mut s, &mut round, 2, 1, now);
        drain(&mut s);
        s.lose(Some(&mut round), 1, "worker 1 was killed by SIGTERM", Stopping::Yes, now).unwrap();
        assert_eq!(drain(&mut s), Vec::new(), "no warning, no rerun");
        assert_eq!(round.failures, vec![0, 0]);
    }

    #[test]
    fn overdue_workers_are_named_from_the_time_passed_in() {
        let plan = Plan::items(20, 10, 1);
        let mut round = Round::new(0, 7, &plan, Vec::new());
        let mut s = Scheduler::new(policy());
        let t0 = Instant::now();
        ready_workers(&mut s, &mut round, 1, 1, t0);
        s.started(2, t0);
        assert!(s.joined(2, 1, 0, t0));
        s.started(3, t0);
        drain(&mut s);
        assert_eq!(s.overdue(t0 + Duration::from_secs(4)), Vec::new());
        let late = s.overdue(t0 + Duration::from_secs(6));
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].0, 1);
        assert!(late[0].1.contains("overran the split timeout"), "{late:?}");
        assert!(s.heard(2, t0 + Duration::from_secs(20)));
        let silent = s.overdue(t0 + Duration::from_secs(31));
        let ids: Vec<WorkerId> = silent.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![1], "worker 2 spoke at 20 s; worker 3 never connected (the shell's business)");
        let silent = s.overdue(t0 + Duration::from_secs(51));
        assert!(silent.iter().any(|(id, why)| *id == 2 && why.contains("heartbeat")), "{silent:?}");
    }

    #[test]
    fn a_failed_split_waits_for_earlier_splits_and_cancels_later_ones() {
        let plan = Plan::items(40, 10, 1);
        let mut round = Round::new(0, 7, &plan, Vec::new());
        let mut s = Scheduler::new(policy());
        let now = Instant::now();
        ready_workers(&mut s, &mut round, 1, 1, now);
        assert_eq!(runs(&drain(&mut s), 1), vec![0, 1]);
        s.failed(&mut round, 1, 1, Error::new(ErrorKind::InvalidInput, "bad"), now);
        assert_eq!(runs(&drain(&mut s), 1), Vec::<usize>::new(), "splits 2 and 3 are cancelled");
        assert!(!round.is_over(), "split 0 may still fail first");
        assert!(s.partial(&mut round, 1, 0, now));
        assert!(round.is_over());
        assert!(round.into_result().is_err());
    }

    #[test]
    fn a_worker_with_another_pipeline_fails_and_a_late_one_catches_up() {
        let plan = Plan::items(20, 10, 1);
        let mut round = Round::new(1, 7, &plan, Vec::new());
        let mut s = Scheduler::new(policy());
        let now = Instant::now();
        s.finished(0);
        s.started(1, now);
        assert!(s.joined(1, 1, 0, now));
        s.ready(&mut round, 1, 0, 99, now).unwrap();
        assert_eq!(drain(&mut s), vec![Command::SendOutput { worker: 1, action: 0 }]);
        let err = s.ready(&mut round, 1, 1, 8, now).unwrap_err();
        assert!(err.to_string().contains("different pipeline"), "{err}");
    }

    #[test]
    fn workers_waiting_at_a_finished_action_get_its_output() {
        let plan = Plan::items(0, 10, 1);
        let mut round = Round::new(0, 7, &plan, Vec::new());
        let mut s = Scheduler::new(policy());
        let now = Instant::now();
        ready_workers(&mut s, &mut round, 2, 1, now);
        drain(&mut s);
        s.finished(0);
        assert_eq!(
            drain(&mut s),
            vec![Command::SendOutput { worker: 1, action: 0 }, Command::SendOutput { worker: 2, action: 0 }]
        );
    }

    #[test]
    fn limits_grant_up_to_capacity_and_pass_permits_on() {
        let mut s = Scheduler::new(policy());
        let now = Instant::now();
        for id in 1..=3 {
            s.started(id, now);
            assert!(s.joined(id, 1, 0, now));
        }
        s.acquire(1, "api", 2, 10);
        s.acquire(2, "api", 2, 20);
        s.acquire(3, "api", 2, 30);
        assert_eq!(
            drain(&mut s),
            vec![Command::Grant { worker: 1, token: 10 }, Command::Grant { worker: 2, token: 20 }]
        );
        s.release(1, "api");
        assert_eq!(drain(&mut s), vec![Command::Grant { worker: 3, token: 30 }]);
        // A lost holder's permits go to the next waiter; a lost waiter is skipped.
        s.acquire(1, "api", 2, 11);
        s.acquire(1, "api", 2, 12);
        s.lose(None, 1, "worker 1 exited", Stopping::No, now).unwrap();
        s.lose(None, 3, "worker 3 exited", Stopping::No, now).unwrap();
        assert_eq!(drain(&mut s), Vec::new(), "worker 1's asks left with it");
        s.acquire(2, "api", 2, 21);
        assert_eq!(drain(&mut s), vec![Command::Grant { worker: 2, token: 21 }], "worker 3's permit came back");
    }

    #[test]
    fn a_far_fetched_worker_id_is_refused() {
        let mut s = Scheduler::new(policy());
        assert!(!s.joined(usize::MAX, 1, 0, Instant::now()));
        assert!(s.joined(5, 1, 0, Instant::now()));
        assert_eq!(s.live(), 1);
    }
}
