//! The job: configuration, sources, and output.

use crate::error::{Error, ErrorKind, Result};
use crate::exec::process::ProcessOptions;
use crate::exec::runtime::Runtime;
use crate::merge::Merge;
use crate::quarantine::Quarantine;
use crate::read::MmapChoice;
use crate::report::{self, MaxMalformed, Report};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// How a job runs. Built by [`JobBuilder`] or from command-line
/// [`crate::Flags`]; read it with [`Job::config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    threads: usize,
    split_size: Option<u64>,
    mmap: MmapChoice,
    explain: bool,
    progress: crate::run::ProgressMode,
    process: ProcessOptions,
    max_malformed: MaxMalformed,
    max_record_size: u64,
    memory_limit: Option<u64>,
    spill_dir: Option<std::path::PathBuf>,
    /// Whether plans must not depend on the thread count (shard runs).
    fixed_plan: bool,
    /// How `-` is read.
    stdin: crate::plan::StdinMode,
}

/// The thread count in-memory sources plan for in shard runs, whatever
/// the run's threads: so that every shard cuts them alike.
const FIXED_PLAN_THREADS: usize = 8;

impl Config {
    /// Threads per process.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The target split size in bytes; `None` picks one per input.
    pub fn split_size(&self) -> Option<u64> {
        self.split_size
    }

    /// Whether input files are memory-mapped.
    pub fn mmap(&self) -> MmapChoice {
        self.mmap
    }

    /// Whether each action's plan is printed to stderr before it runs.
    pub fn explain(&self) -> bool {
        self.explain
    }

    /// When each action's progress is drawn on stderr.
    pub fn progress(&self) -> crate::run::ProgressMode {
        self.progress
    }

    /// Worker processes and their fault handling.
    pub fn process(&self) -> &ProcessOptions {
        &self.process
    }

    /// The ceiling on records rejected by malformed-record policies, per action.
    pub fn max_malformed(&self) -> MaxMalformed {
        self.max_malformed
    }

    /// The longest record (line) line sources accept, in bytes; a longer
    /// one is malformed (see [`crate::read::bounded`]).
    pub fn max_record_size(&self) -> u64 {
        self.max_record_size
    }

    /// The memory the keyed tables of one action may use in this process,
    /// in bytes: `--memory-limit` (default: half of what the process may
    /// use: its control group's limit under Slurm, Kubernetes or a
    /// container, else the machine's), shared evenly by the leader and
    /// its workers when there are worker processes.
    pub fn memory_limit(&self) -> u64 {
        let limit = self.job_memory_limit();
        let processes = self.process.processes;
        if processes > 1 { limit / (processes as u64 + 1) } else { limit }
    }

    /// `--memory-limit` (or its default) for the whole job on this
    /// machine, before it is shared among the job's processes.
    pub fn job_memory_limit(&self) -> u64 {
        self.memory_limit.unwrap_or_else(crate::memory::default_limit)
    }

    /// Where keyed actions past the memory limit spill (`--spill-dir`,
    /// default: the system's temporary directory).
    pub fn spill_dir(&self) -> std::path::PathBuf {
        self.spill_dir.clone().unwrap_or_else(std::env::temp_dir)
    }

    /// All threads of the job, over all processes: what plans aim to keep busy.
    pub fn total_threads(&self) -> usize {
        self.threads * self.process.processes.max(1)
    }

    /// The threads in-memory sources (`iter`, `range`) cut their items for:
    /// all of the job's, or a fixed count in shard runs, whose plans must
    /// be alike in every shard.
    pub(crate) fn item_plan_threads(&self) -> usize {
        if self.fixed_plan { FIXED_PLAN_THREADS } else { self.total_threads() }
    }

    /// How a source plans its splits: its own target size when it has one
    /// (`split_size`), else the job's, for all threads of the job.
    pub fn split_options(&self, split_size: Option<u64>) -> crate::plan::SplitOptions {
        crate::plan::SplitOptions { split_size: split_size.or(self.split_size), threads: self.total_threads() }
    }
}

/// The default thread count: every core the process may use.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Builds a [`Job`].
#[derive(Debug, Clone)]
pub struct JobBuilder {
    config: Config,
}

impl JobBuilder {
    /// Threads per process (default: all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.config.threads = threads;
        self
    }

    /// Target split size in bytes (default: picked from the input size).
    pub fn split_size(mut self, bytes: u64) -> Self {
        self.config.split_size = Some(bytes);
        self
    }

    /// Whether to memory-map input files (default: [`MmapChoice::Auto`]).
    pub fn mmap(mut self, choice: MmapChoice) -> Self {
        self.config.mmap = choice;
        self
    }

    /// Print each action's plan to stderr.
    pub fn explain(mut self, yes: bool) -> Self {
        self.config.explain = yes;
        self
    }

    /// Draw each action's progress on stderr (default: never; `shoal::main`
    /// takes `--progress`, whose default is `auto`).
    pub fn progress(mut self, mode: crate::run::ProgressMode) -> Self {
        self.config.progress = mode;
        self
    }

    /// The most malformed records an action may skip or quarantine before
    /// the job fails (default [`MaxMalformed::Default`]).
    pub fn max_malformed(mut self, ceiling: MaxMalformed) -> Self {
        self.config.max_malformed = ceiling;
        self
    }

    /// The memory the keyed tables of an action may use before they spill
    /// to disk, in bytes, for the job on this machine (default: half of
    /// what the process may use; see [`Config::memory_limit`]).
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.config.memory_limit = Some(bytes);
        self
    }

    /// Where keyed actions spill past the memory limit (default: the
    /// system's temporary directory).
    pub fn spill_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.config.spill_dir = Some(dir.into());
        self
    }

    /// The longest record line sources accept, in bytes (default
    /// [`crate::read::DEFAULT_MAX_RECORD`], 16 MiB).
    pub fn max_record_size(mut self, bytes: u64) -> Self {
        self.config.max_record_size = bytes;
        self
    }

    /// How `-` (standard input) is read: spooled to a temporary file
    /// first (the default; any number of actions and processes read it),
    /// or streamed, with no copy, by one action in one process (see
    /// [`crate::plan::StdinMode`]).
    pub fn stdin(mut self, mode: crate::plan::StdinMode) -> Self {
        self.config.stdin = mode;
        self
    }

    /// Plans that do not depend on the thread count (shard runs).
    pub(crate) fn fixed_plan(mut self) -> Self {
        self.config.fixed_plan = true;
        self
    }

    /// Worker-process options. Worker processes are only started by
    /// [`crate::main`], which re-executes the program; a job built here
    /// always runs in this process.
    pub fn process_options(mut self, options: ProcessOptions) -> Self {
        self.config.process = options;
        self
    }

    /// Builds the job.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for zero threads or a zero split size.
    pub fn build(self) -> Result<Job> {
        if self.config.threads == 0 {
            return Err(Error::new(ErrorKind::Config, "--threads must be at least 1"));
        }
        if self.config.split_size == Some(0) {
            return Err(Error::new(ErrorKind::Config, "--split-size must be at least 1 byte"));
        }
        if self.config.memory_limit == Some(0) {
            return Err(Error::new(ErrorKind::Config, "--memory-limit must be at least 1 byte"));
        }
        if self.config.max_record_size == 0 {
            return Err(Error::new(ErrorKind::Config, "--max-record-size must be at least 1 byte"));
        }
        crate::plan::stdin::note_record_limit(self.config.max_record_size);
        crate::plan::stdin::set_mode(self.config.stdin);

        if self.config.process.processes == 0 {
            return Err(Error::new(ErrorKind::Config, "--processes must be at least 1"));
        }
        if self.config.process.max_split_failures == 0 {
            return Err(Error::new(ErrorKind::Config, "--max-split-failures must be at least 1"));
        }
        Ok(Job {
            config: self.config,
            report: Mutex::new(Report::default()),
            quarantine: Mutex::new(Quarantine::default()),
            runtime: Runtime::local(),
            actions: AtomicU64::new(0),
            limits: Mutex::new(HashMap::new()),
            run_log: Mutex::default(),
            state: Mutex::new(None),
            sharding: None,
        })
    }
}

/// A running Shoal program: where pipelines start.
///
/// Get one from [`crate::main`] (which also parses the standard flags) or
/// from [`Job::builder`] in tests and embedded uses.
pub struct Job {
    config: Config,
    report: Mutex<Report>,
    /// Quarantine files this run writes (leader only), locked until the job drops.
    quarantine: Mutex<Quarantine>,
    runtime: Runtime,
    /// Actions started so far: the number of the next one. Every process
    /// runs the same actions in the same order, so numbers match.
    actions: AtomicU64,
    limits: Mutex<HashMap<String, Arc<LocalLimit>>>,
    /// What the run report needs: each action's summary and split attempts
    /// (leader or single process only).
    run_log: Mutex<(Vec<crate::run::ActionRun>, Vec<crate::attempt::SplitRun>)>,
    /// `--state`: what reruns reuse (leader or single process only).
    state: Mutex<Option<crate::run::state::State>>,
    /// `--shard-dir` or `--merge`: the part this run plays in a sharded job
    /// (leader or single process only).
    sharding: Option<crate::run::shard::Sharding>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("config", &self.config).field("runtime", &self.runtime).finish()
    }
}

impl Job {
    /// A builder with defaults: all cores, automatic split size, mmap on.
    pub fn builder() -> JobBuilder {
        JobBuilder {
            config: Config {
                threads: default_threads(),
                split_size: None,
                mmap: MmapChoice::Auto,
                explain: false,
                progress: crate::run::ProgressMode::Never,
                process: ProcessOptions::default(),
                max_malformed: MaxMalformed::Default,
                max_record_size: crate::read::DEFAULT_MAX_RECORD,
                memory_limit: None,
                spill_dir: None,
                fixed_plan: false,
                stdin: crate::plan::StdinMode::Spool,
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters and rejected records of every action run so far, summed
    /// over all splits, threads and processes.
    pub fn report(&self) -> Report {
        // What this thread counted outside splits joins the job's report
        // for good, so a second call sees it too.
        let mut report = self.report.lock().unwrap_or_else(|p| p.into_inner());
        report.merge(report::take_outside());
        report.clone()
    }

    /// Gives the job its `--state`.
    pub(crate) fn set_state(&self, state: crate::run::state::State) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(state);
    }

    /// Runs `f` on the job's state, if it has one (`None` otherwise).
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut crate::run::state::State) -> R) -> Option<R> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).as_mut().map(f)
    }

    /// Whether the job keeps a `--state`.
    pub(crate) fn has_state(&self) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    /// Takes the state out, to commit it at the end of a successful run.
    pub(crate) fn take_state(&self) -> Option<crate::run::state::State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Makes this run a shard or a merge step (see `run/shard.rs`).
    pub(crate) fn set_sharding(&mut self, sharding: crate::run::shard::Sharding) {
        self.sharding = Some(sharding);
    }

    /// The part this run plays in a sharded job, if any.
    pub(crate) fn sharding(&self) -> Option<&crate::run::shard::Sharding> {
        self.sharding.as_ref()
    }

    /// Takes the sharding out, to write the shard file (or check the merge)
    /// at the end of a successful run.
    pub(crate) fn take_sharding(&mut self) -> Option<crate::run::shard::Sharding> {
        self.sharding.take()
    }

    /// Records a finished action for the run report.
    pub(crate) fn log_action(
        &self,
        action: crate::run::ActionRun,
        splits: Vec<crate::attempt::SplitRun>,
        report: &Report,
    ) {
        crate::run::session::note_action(&action, &splits, report);
        let mut log = self.run_log.lock().unwrap_or_else(|p| p.into_inner());
        log.0.push(action);
        log.1.extend(splits);
    }

    /// What the run did so far, for its report.
    pub(crate) fn facts(&self) -> crate::run::session::Facts {
        let (actions, splits) = self.run_log.lock().unwrap_or_else(|p| p.into_inner()).clone();
        crate::run::session::Facts {
            report: self.report(),
            actions,
            splits,
            threads: self.config.threads(),
            processes: self.config.process().processes,
            quarantined: self.quarantined().iter().map(|(_, n)| n).sum(),
        }
    }

    /// Adds an action's report to the job's; in the leader, stages the
    /// action's quarantined records, commits the quarantine files it used,
    /// and applies `--max-malformed` to the action's counts.
    pub(crate) fn absorb_report(&self, mut report: Report) -> Result<()> {
        let quarantined = std::mem::take(&mut report.rejects.quarantine);
        if self.is_leader() {
            let mut files = self.quarantine.lock().unwrap_or_else(|p| p.into_inner());
            for (path, records) in quarantined {
                files.append(&path, records)?;
            }
            files.commit()?;
        }
        // The rejected records are in the report (and quarantine) before the
        // ceiling fails the job, so the reasons can be looked at.
        let ceiling = if self.is_leader() { self.config.max_malformed.check(&report) } else { Ok(()) };
        self.report.lock().unwrap_or_else(|p| p.into_inner()).merge(report);
        ceiling
    }

    /// Opens a quarantine file for this run (leader only; see `quarantine.rs`).
    pub(crate) fn open_quarantine(&self, path: &std::path::Path) -> Result<()> {
        if !self.is_leader() {
            return Ok(());
        }
        self.quarantine.lock().unwrap_or_else(|p| p.into_inner()).open(path)
    }

    /// The quarantine files of this run and how many records went to each.
    pub(crate) fn quarantined(&self) -> Vec<(std::path::PathBuf, u64)> {
        self.quarantine.lock().unwrap_or_else(|p| p.into_inner()).written()
    }

    /// Whether this process prints results and writes outputs.
    ///
    /// `true` with a single process. With worker processes only the leader
    /// is; workers run the same program but their output is dropped. In a
    /// shard run (`--shard-dir`) no process is: the merge step (`--merge`)
    /// prints and writes, and applies `--max-malformed`.
    pub fn is_leader(&self) -> bool {
        self.runtime.is_leader() && !matches!(self.sharding, Some(crate::run::shard::Sharding::Shard(_)))
    }

    /// This process's worker id, or `None` in the leader (or a single process).
    pub fn worker_id(&self) -> Option<usize> {
        self.runtime.worker_id()
    }

    /// A job-wide concurrency limit: at most `capacity` holders of `name` at
    /// once over all threads and processes, like a semaphore shared by the
    /// whole job. Use it for I/O-bound stages (an API that allows N calls).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use shoal::prelude::*;
    /// let job = Job::builder().threads(4).build()?;
    /// let api = job.limit("api", 2);
    /// let n = job.range(0..20u32).items_per_split(1).map(|x| {
    ///     let _permit = api.acquire().expect("permit");
    ///     x // at most two of these run at once
    /// }).count()?;
    /// assert_eq!(n, 20);
    /// # Ok(()) }
    /// ```
    pub fn limit(&self, name: &str, capacity: usize) -> Limit<'_> {
        Limit { job: self, name: name.to_owned(), capacity: capacity.max(1) }
    }

    pub(crate) fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub(crate) fn set_runtime(&mut self, runtime: Runtime) {
        self.runtime = runtime;
    }

    pub(crate) fn next_action(&self) -> u64 {
        self.actions.fetch_add(1, Ordering::SeqCst)
    }

    fn local_limit(&self, name: &str, capacity: usize) -> Arc<LocalLimit> {
        let mut limits = self.limits.lock().unwrap_or_else(|p| p.into_inner());
        limits.entry(name.to_owned()).or_insert_with(|| Arc::new(LocalLimit::new(capacity))).clone()
    }

    /// The job's standard output: the real stdout in the leader, a sink in
    /// workers and shard runs, so a program's results are printed once.
    pub fn stdout(&self) -> Stdout {
        Stdout { inner: self.is_leader().then(|| std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())) }
    }
}

/// A job-wide concurrency limit; see [`Job::limit`].
#[derive(Debug)]
pub struct Limit<'j> {
    job: &'j Job,
    name: String,
    capacity: usize,
}

impl Limit<'_> {
    /// Waits for a permit; it is given back when the [`Permit`] drops.
    ///
    /// # Errors
    /// Only in a worker process that lost its leader.
    pub fn acquire(&self) -> Result<Permit<'_>> {
        match self.job.runtime.acquire_shared(&self.name, self.capacity) {
            Some(granted) => {
                granted?;
                Ok(Permit { limit: self, local: None })
            }
            None => {
                let local = self.job.local_limit(&self.name, self.capacity);
                local.acquire();
                Ok(Permit { limit: self, local: Some(local) })
            }
        }
    }
}

/// One permit of a [`Limit`], released on drop.
#[derive(Debug)]
pub struct Permit<'l> {
    limit: &'l Limit<'l>,
    local: Option<Arc<LocalLimit>>,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        match &self.local {
            Some(local) => local.release(),
            None => self.limit.job.runtime.release_shared(&self.limit.name),
        }
    }
}

/// A counting semaphore for one process.
#[derive(Debug)]
pub(crate) struct LocalLimit {
    free: Mutex<usize>,
    cond: Condvar,
}

impl LocalLimit {
    fn new(capacity: usize) -> LocalLimit {
        LocalLimit { free: Mutex::new(capacity), cond: Condvar::new() }
    }

    fn acquire(&self) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.cond.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
    }

    fn release(&self) {
        *self.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.cond.notify_one();
    }
}

/// The job's standard output; see [`Job::stdout`]. Buffered: flushed on drop,
/// or call `flush` to see errors.
#[derive(Debug)]
pub struct Stdout {
    inner: Option<std::io::BufWriter<std::io::Stdout>>,
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.inner {
            Some(w) => w.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match &mut self.inner {
            Some(w) => w.write_all(buf),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.inner {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}
