//! The standard command-line flags every Shoal program accepts.

use crate::error::Result;
use crate::exec::process::{FailedSplit, ProcessOptions};
use crate::job::{Job, default_threads};
use crate::plan::parse_size;
use crate::read::MmapChoice;
use crate::report::MaxMalformed;
use crate::transport::Address;
use std::time::Duration;

/// Shoal's standard flags.
///
/// [`crate::main`] adds them to every program's parser, so a program only
/// declares its own flags. To read them in the program, flatten them into
/// its parser (`main` then uses that copy):
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     shoal: shoal::Flags,
///     /// Input files or directories.
///     inputs: Vec<std::path::PathBuf>,
/// }
/// let cli = Cli::parse_from(["prog", "--threads", "2", "data/"]);
/// assert_eq!(cli.shoal.threads, Some(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(next_help_heading = "Shoal options", after_help = crate::exit::HELP)]
pub struct Flags {
    /// Worker threads per process [default: all cores]
    #[arg(short = 't', long, value_name = "N", env = "SHOAL_THREADS")]
    pub threads: Option<usize>,

    /// Target split size, like 16M or 1GiB [default: from the input size; 8M with --state, --shard-dir or --merge]
    #[arg(long, alias = "chunk-size", value_name = "SIZE", value_parser = parse_size, env = "SHOAL_SPLIT_SIZE")]
    pub split_size: Option<u64>,

    /// Longest record (line) accepted, like 64K or 1G; a longer one is malformed
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "16M")]
    pub max_record_size: u64,

    /// Memory for an action's tables and results (aggregate_by_key, count_by_value, collect, outputs, ...), like 1G; past it they spill to --spill-dir [default: half of the memory this process may use: its cgroup's limit, else the machine's]
    #[arg(long, value_name = "SIZE", value_parser = parse_size, env = "SHOAL_MEMORY_LIMIT")]
    pub memory_limit: Option<u64>,

    /// Where actions past --memory-limit spill: keyed tables, collect, outputs (a directory removed when the action ends) [default: the temporary directory]
    #[arg(long, value_name = "DIR", env = "SHOAL_SPILL_DIR")]
    pub spill_dir: Option<std::path::PathBuf>,

    /// Read input files instead of memory-mapping them
    #[arg(long)]
    pub no_mmap: bool,

    /// How `-` is read: spool (copied to a temporary file first; every action and worker process reads it) or stream (parsed as it arrives, no copy; one action, one process)
    #[arg(long, value_enum, value_name = "MODE", default_value = "spool", env = "SHOAL_STDIN")]
    pub stdin: crate::plan::StdinMode,

    /// Print each action's plan (files, splits, bytes, threads) to stderr
    #[arg(long)]
    pub explain: bool,

    /// Show each action's progress on stderr: auto (a bar on a terminal, else a line every 5 s once an action runs that long), always (lines at once and at each action's end), never
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto", env = "SHOAL_PROGRESS")]
    pub progress: crate::run::ProgressMode,

    /// Worker processes, each with --threads threads; 1 runs in this process only
    #[arg(short = 'p', long, value_name = "P", default_value_t = 1, env = "SHOAL_PROCESSES")]
    pub processes: usize,

    /// Worker deaths one split may cause before it fails (or is skipped)
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_split_failures: u32,

    /// What a split that keeps killing workers does to the job
    #[arg(long, value_enum, value_name = "POLICY", default_value = "fail")]
    pub on_failed_split: FailedSplit,

    /// Fail when an action skips or quarantines more malformed records than this: a count (1000), a share of the records read (1%), or none [default: 10%, once more than 10]
    #[arg(long, value_name = "LIMIT")]
    pub max_malformed: Option<MaxMalformed>,

    /// Kill and retry a worker that has not finished a split after this many seconds [default: off]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub split_timeout: Option<Duration>,

    /// Kill a worker that sends no heartbeat for this many seconds
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "30")]
    pub heartbeat_timeout: Duration,

    /// Write a report of the run when it ends (also on failure or a stop signal), by its name's ending: FILE.json (outcome, counters, actions, one entry per split attempt), FILE.html (one page: task timeline, throughput, utilisation, counters) or FILE.trace.json (a Chrome trace, for Perfetto); repeat for several
    #[arg(long, value_name = "FILE", value_parser = parse_report)]
    pub report: Vec<std::path::PathBuf>,

    /// Hold an exclusive lock on FILE for the whole run: a second run finding it held exits with status 4 (a lock of a killed run is free)
    #[arg(long, value_name = "FILE")]
    pub lock: Option<std::path::PathBuf>,

    /// With --lock, wait up to this many seconds for another run to finish [default: do not wait]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, requires = "lock")]
    pub lock_wait: Option<Duration>,

    /// Keep each input file's partial results in DIR, so that a rerun reads only new and changed files and prints exactly what a full run prints (the directory is locked for the run)
    #[arg(long, value_name = "DIR")]
    pub state: Option<std::path::PathBuf>,

    /// How --state tells an input file is unchanged: metadata (path, size, modification time) or hash (also a CRC-32 of its bytes)
    #[arg(long, value_enum, value_name = "HOW", default_value = "metadata", requires = "state")]
    pub state_verify: crate::run::StateVerify,

    /// With --shard-dir: run shard I of N (from 0: 0/3, 1/3, 2/3), its share of every action's splits [default: SHOAL_SHARD=I/N, else a Slurm job array's task or a Kubernetes Indexed Job's index with SHOAL_SHARD_COUNT]
    #[arg(long, value_name = "I/N", requires = "shard_dir")]
    pub shard: Option<crate::run::ShardId>,

    /// Run as one shard of the job: print and write nothing, and keep this shard's results in DIR/shard-I-of-N.shoal (created when the program succeeds) for --merge
    #[arg(long, value_name = "DIR", conflicts_with_all = ["state", "merge"])]
    pub shard_dir: Option<std::path::PathBuf>,

    /// Merge the shards in DIR (all N, run with these same arguments) into the result one process would print and write, reading no input
    #[arg(long, value_name = "DIR", conflicts_with = "state")]
    pub merge: Option<std::path::PathBuf>,

    /// Stay in the foreground and run the job on this cron schedule ("*/15 * * * *"; six fields start with seconds), one run at a time, each a fresh process with the other flags; SIGTERM stops
    #[arg(long, value_name = "CRON", value_parser = parse_schedule)]
    pub schedule: Option<String>,

    /// Also accept workers at this address (tcp:HOST:PORT), for launchers on other machines
    #[arg(long, value_name = "ADDR", hide = true)]
    pub listen: Option<Address>,

    /// Run as one rank of a launch when srun, mpirun or SHOAL_RANK/SHOAL_WORLD_SIZE say so (rank 0 leads; the others join it over TCP), or off
    #[arg(long, value_enum, value_name = "MODE", default_value = "auto", env = "SHOAL_CLUSTER")]
    pub cluster: crate::exec::cluster::ClusterMode,

    /// How long a rank keeps trying to reach rank 0, and rank 0 waits for the other ranks before its first split
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "60")]
    pub connect_timeout: Duration,

    /// Read the job's secret for cluster ranks from FILE (owned by you, mode 600) [default: SHOAL_SECRET, else rank 0 makes one]
    #[arg(long, value_name = "FILE", env = "SHOAL_SECRET_FILE")]
    pub secret_file: Option<std::path::PathBuf>,
}

/// The split size of runs with `--state` and no `--split-size`.
pub(crate) const STATE_SPLIT_SIZE: u64 = 8 << 20;

fn parse_report(text: &str) -> Result<std::path::PathBuf, String> {
    let path = std::path::PathBuf::from(text);
    crate::run::session::check_report(&path).map(|_| path)
}

fn parse_schedule(text: &str) -> Result<String, String> {
    crate::run::schedule::parse(text).map(|_| text.to_string())
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text.parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("`{text}`: the time must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl Flags {
    /// The id of one of these flags, to tell whether a parser has them.
    pub(crate) const MARKER: &'static str = "processes";

    /// The shard or merge run these flags ask for: `None` without
    /// `--shard-dir` or `--merge` (the launcher's variables alone do not
    /// make a program a shard).
    ///
    /// # Errors
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) (a usage error) for
    /// `--shard-dir` without a shard found, a malformed one, or a directory
    /// holding shards of another count.
    pub(crate) fn shard_spec(&self) -> Result<Option<crate::run::shard::Spec>> {
        use crate::run::shard::{Spec, discover};
        if let Some(dir) = &self.merge {
            return Ok(Some(Spec::Merge { dir: dir.clone() }));
        }
        let Some(dir) = &self.shard_dir else { return Ok(None) };
        let (id, origin) = discover(self.shard, &|name| std::env::var(name).ok())?;
        crate::run::shard::check_dir(id, origin, dir)?;
        Ok(Some(Spec::Shard { id, origin, dir: dir.clone() }))
    }

    /// How long `--lock` waits.
    pub(crate) fn lock_wait(&self) -> crate::run::LockWait {
        self.lock_wait.map_or(crate::run::LockWait::No, crate::run::LockWait::For)
    }

    /// The job these flags describe.
    ///
    /// # Errors
    /// Invalid combinations, such as `--threads 0`.
    pub fn job(&self) -> Result<Job> {
        let mut builder = Job::builder()
            .threads(self.threads.unwrap_or_else(default_threads))
            .explain(self.explain)
            .progress(self.progress)
            .max_record_size(self.max_record_size)
            .stdin(self.stdin)
            .mmap(if self.no_mmap { MmapChoice::Never } else { MmapChoice::Auto })
            .max_malformed(self.max_malformed.unwrap_or_default())
            .process_options(ProcessOptions {
                processes: self.processes,
                max_split_failures: self.max_split_failures,
                on_failed_split: self.on_failed_split,
                split_timeout: self.split_timeout,
                heartbeat_timeout: self.heartbeat_timeout,
                listen: self.listen.clone(),
                cluster: self.cluster,
                connect_timeout: self.connect_timeout,
                secret_file: self.secret_file.clone(),
            });
        if let Some(size) = self.split_size {
            builder = builder.split_size(size);
        } else if self.state.is_some() || self.shard_dir.is_some() || self.merge.is_some() {
            // With a state, a file is cut the same way whatever else the
            // input holds, so a rerun folds the same splits a full run does;
            // shards plan alike whatever their threads or machine.
            builder = builder.split_size(STATE_SPLIT_SIZE);
        }
        if self.shard_dir.is_some() || self.merge.is_some() {
            builder = builder.fixed_plan();
        }
        if let Some(bytes) = self.memory_limit {
            builder = builder.memory_limit(bytes);
        }
        if let Some(dir) = &self.spill_dir {
            builder = builder.spill_dir(dir);
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        shoal: super::Flags,
    }

    #[test]
    fn help_lists_the_exit_statuses_also_when_flattened() {
        for mut cmd in [super::Flags::command(), Cli::command()] {
            let help = cmd.render_help().to_string();
            assert!(help.contains("Exit status:") && help.contains("3        finished, but records"), "{help}");
            assert!(help.contains("--max-malformed"), "{help}");
        }
    }
}
