//! The job: configuration, sources, and output.

use crate::error::{Error, ErrorKind, Result};
use crate::merge::Merge;
use crate::read::MmapChoice;
use crate::report::{self, Report};
use crate::source::{ByteLines, IntoInputs, Iter, Lines, RangeSource, Step};
use std::io::Write;
use std::sync::Mutex;

/// How a job runs. Built by [`JobBuilder`] or from command-line [`crate::Flags`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Threads per process.
    pub threads: usize,
    /// The target split size in bytes; `None` picks one per input.
    pub split_size: Option<u64>,
    /// Whether to memory-map input files.
    pub mmap: MmapChoice,
    /// Print each action's plan to stderr before running it.
    pub explain: bool,
}

impl Config {
    /// All threads of the job, over all processes: what plans aim to keep busy.
    pub fn total_threads(&self) -> usize {
        self.threads
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

    /// Builds the job.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for zero threads or a zero split size.
    pub fn build(self) -> Result<Job> {
        if self.config.threads == 0 {
            return Err(Error::new(ErrorKind::Config, "--threads must be at least 1"));
        }
        if self.config.split_size == Some(0) {
            return Err(Error::new(ErrorKind::Config, "--chunk-size must be at least 1 byte"));
        }
        Ok(Job { config: self.config, report: Mutex::new(Report::default()) })
    }
}

/// A running Shoal program: where pipelines start.
///
/// Get one from [`crate::main`] (which also parses the standard flags) or
/// from [`Job::builder`] in tests and embedded uses.
#[derive(Debug)]
pub struct Job {
    config: Config,
    report: Mutex<Report>,
}

impl Job {
    /// A builder with defaults: all cores, automatic split size, mmap on.
    pub fn builder() -> JobBuilder {
        JobBuilder {
            config: Config { threads: default_threads(), split_size: None, mmap: MmapChoice::Auto, explain: false },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters and rejected records of every action run so far, summed
    /// over all splits, threads and processes.
    pub fn report(&self) -> Report {
        let mut report = self.report.lock().unwrap_or_else(|p| p.into_inner()).clone();
        report.merge(report::take_outside());
        report
    }

    /// Adds an action's report to the job's, writing quarantined records.
    pub(crate) fn absorb_report(&self, mut report: Report) -> Result<()> {
        if self.is_leader() {
            report.flush_quarantine()?;
        }
        report.rejects.quarantine.clear();
        self.report.lock().unwrap_or_else(|p| p.into_inner()).merge(report);
        Ok(())
    }

    /// Lines of text (`&str`) from files, directories (recursively) and globs.
    pub fn lines(&self, inputs: impl IntoInputs) -> Lines<'_> {
        Lines::new(self, inputs.into_inputs())
    }

    /// Lines as bytes (`&[u8]`), without UTF-8 validation.
    pub fn byte_lines(&self, inputs: impl IntoInputs) -> ByteLines<'_> {
        ByteLines::new(self, inputs.into_inputs())
    }

    /// The items of an in-memory collection, as `&T`, in chunks.
    pub fn iter<T, I>(&self, items: I) -> Iter<'_, T>
    where
        I: IntoIterator<Item = T>,
        T: Send + Sync + 'static,
    {
        Iter::new(self, items.into_iter().collect())
    }

    /// The integers of `range`, in chunks.
    pub fn range<T: Step>(&self, range: std::ops::Range<T>) -> RangeSource<'_, T> {
        RangeSource::new(self, range)
    }

    /// Whether this process prints results and writes outputs.
    ///
    /// Always `true` with a single process. With worker processes only the
    /// leader is; workers run the same program but their output is dropped.
    pub fn is_leader(&self) -> bool {
        true
    }

    /// The job's standard output: the real stdout in the leader, a sink in
    /// workers, so a program's results are printed once.
    pub fn stdout(&self) -> Output {
        Output { inner: self.is_leader().then(|| std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())) }
    }
}

/// The job's standard output; see [`Job::stdout`]. Buffered: flushed on drop,
/// or call `flush` to see errors.
#[derive(Debug)]
pub struct Output {
    inner: Option<std::io::BufWriter<std::io::Stdout>>,
}

impl Write for Output {
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
