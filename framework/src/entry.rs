//! The entry point that owns a Shoal program's start.
//!
//! [`main`] parses the command line (the program's own flags plus the
//! standard [`Flags`]), builds the [`Job`], runs the program, and turns the
//! outcome into an exit status (see `exit.rs` and `--help`): `0` on success
//! (also when stdout is a closed pipe, as in `| head`), `1` on an error
//! (printed as `error: ...`), `2` on a usage error, `3` when the run finished
//! but skipped or quarantined records or left out splits (said on the last
//! line of stderr), `4` when another run holds a lock this run needs,
//! `130`/`143` when interrupted. Worker processes re-enter the program
//! through this same function, so it must be the first thing `fn main` does.

use crate::cli::Flags;
use crate::diag::diag;
use crate::error::BoxError;
use crate::exec::cluster::{self, ClusterMode};
use crate::exec::process::worker::is_worker_process;
use crate::exec::runtime::Runtime;
use crate::exit::{LeftOut, Status, status_of};
use crate::job::Job;
use crate::run::session::Session;
use crate::signals;
use clap::{Args, FromArgMatches};
use std::process::ExitCode;

/// Runs a Shoal program.
///
/// `A` is the program's clap parser (any `#[derive(clap::Parser)]` struct,
/// or [`Flags`] alone for a program with no flags of its own). The
/// standard [`Flags`] are added to it under "Shoal options"; a parser that
/// already flattens `Flags` (to read them itself) keeps its own copy. The
/// program returns `Result<(), BoxError>`, so `?` works on any error and
/// the closure ends in a plain `Ok(())`.
///
/// ```no_run
/// use shoal::prelude::*;
///
/// #[derive(clap::Parser)]
/// struct Cli {
///     /// Stop after this many
///     #[arg(long, default_value_t = 1_000_000)]
///     up_to: u64,
/// }
///
/// fn main() -> std::process::ExitCode {
///     shoal::main(|job: &Job, cli: Cli| {
///         let n = job.range(0..cli.up_to).filter(|x| x % 3 == 0).count()?;
///         writeln!(job.stdout(), "{n}")?;
///         Ok(())
///     })
/// }
/// ```
pub fn main<A, F>(program: F) -> ExitCode
where
    A: clap::Parser,
    F: FnOnce(&Job, A) -> Result<(), BoxError>,
{
    signals::report_bus_errors();
    let (args, flags) = parse_args::<A>();
    // A cluster launch (`srun`, `mpirun`): ranks other than 0 are workers.
    let rank = match flags.cluster {
        ClusterMode::Off => None,
        ClusterMode::Auto if is_worker_process() => None,
        ClusterMode::Auto => match cluster::discover(&|name| std::env::var(name).ok()) {
            Ok(rank) => rank,
            Err(err) => {
                diag!("error: {err}");
                return Status::Usage.into();
            }
        },
    };
    let worker = is_worker_process() || rank.as_ref().is_some_and(|r| r.rank != 0);
    if let Some(pattern) = flags.schedule.as_deref().filter(|_| !worker) {
        return match crate::run::schedule::parse(pattern) {
            Ok(cron) => crate::run::schedule::serve(&cron, pattern),
            Err(e) => {
                diag!("error: {e}");
                Status::Usage.into()
            }
        };
    }
    if !worker {
        signals::watch_interrupts();
    }
    let mut job = match flags.job() {
        Ok(job) => job,
        Err(err) => {
            diag!("error: {err}");
            return Status::Usage.into();
        }
    };
    // A shard, or the merge step of shards (never a worker: its leader is).
    let shard_spec = match worker {
        true => None,
        false => match flags.shard_spec() {
            Ok(spec) => spec,
            Err(err) => {
                diag!("error: {err}");
                return Status::Usage.into();
            }
        },
    };
    // The leader's run: its lock, and the reports it writes at the end.
    let session = match worker {
        true => None,
        false => match Session::begin(
            &flags.report,
            flags.lock.as_ref(),
            flags.lock_wait(),
            job.config().threads(),
            job.config().process().processes,
        ) {
            Ok(session) => Some(session),
            Err(err) => return ExitCode::from(report(err.into()).0),
        },
    };
    if let (Some(dir), false) = (&flags.state, worker) {
        let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
        let opened = crate::run::state::fingerprint(&args, &run_settings(&job))
            .and_then(|fp| crate::run::state::State::open(dir, flags.state_verify, fp, flags.lock_wait()));
        match opened {
            Ok(state) => job.set_state(state),
            Err(err) => return ExitCode::from(report(err.into()).0),
        }
    }
    if let Some(spec) = shard_spec {
        let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
        let settings = run_settings(&job);
        let fingerprint = crate::run::state::fingerprint(&args, &settings);
        match fingerprint {
            Ok(fingerprint) => {
                let args = crate::run::state::counted_args(&args).iter().map(|a| a.to_string_lossy().into()).collect();
                let made = crate::run::shard::Made { fingerprint, args, settings };
                job.set_sharding(crate::run::shard::Sharding::new(spec, made));
            }
            Err(err) => return ExitCode::from(report(err.into()).0),
        }
    }
    let started = Runtime::start(job.config().process(), job.config().threads(), rank.as_ref());
    if let Err(err) = started.map(|r| job.set_runtime(r)) {
        let (code, outcome, message) = report(err.into());
        if let Some(session) = session {
            session.finish(None, code, outcome, message);
        }
        return ExitCode::from(code);
    }
    let outcome = program(&job, args);
    job.runtime().goodbye();
    let (code, outcome, message, left_out) = match outcome {
        Ok(()) if job.is_leader() => match LeftOut::of(&job) {
            Some(left_out) => (Status::Incomplete as u8, "incomplete", None, Some(left_out)),
            None => (Status::Success as u8, "success", None, None),
        },
        Ok(()) => (Status::Success as u8, "success", None, None),
        Err(err) => {
            let (code, outcome, message) = report(err);
            (code, outcome, message, None)
        }
    };
    // A worker (another rank) exits with the job's status, once the leader
    // ends the job.
    if !job.is_leader() && code == Status::Success as u8 {
        job.runtime().await_end();
    }
    // A run that finished keeps what it read for the next one.
    let (code, outcome, message) =
        match job.take_state().filter(|_| code == Status::Success as u8 || code == Status::Incomplete as u8) {
            Some(state) => match state.commit() {
                Ok(()) => (code, outcome, message),
                Err(err) => report(err.into()),
            },
            None => (code, outcome, message),
        };
    // A shard that finished writes its file; a merge step checks it merged
    // every action the shards ran.
    let finished = code == Status::Success as u8 || code == Status::Incomplete as u8;
    let (code, outcome, message) = match job.take_sharding().filter(|_| finished) {
        Some(crate::run::shard::Sharding::Shard(shard)) => {
            let id = shard.id();
            match shard.write() {
                Ok(path) => {
                    diag!(
                        "shoal: shard {} of {} done: {} (merge the shards with --merge)",
                        id.index,
                        id.count,
                        path.display()
                    );
                    (code, outcome, message)
                }
                Err(err) => report(err.into()),
            }
        }
        Some(crate::run::shard::Sharding::Merge(merging)) => match merging.finish() {
            Ok(()) => (code, outcome, message),
            Err(err) => report(err.into()),
        },
        None => (code, outcome, message),
    };
    if let Some(session) = session {
        session.finish(Some(job.facts()), code, outcome, message);
    }
    // Shuts the workers down (leader) before the process exits, so what they
    // still print comes before the summary, the last line of stderr; they
    // (other ranks too) exit with this status.
    job.runtime().set_exit_status(code);
    drop(job);
    if let Some(left_out) = left_out {
        diag!("{left_out}");
    }
    ExitCode::from(code)
}

/// The settings that change results, as resolved (from flags or the
/// environment), for the run's fingerprint: the split size fixes the order
/// partials fold in.
fn run_settings(job: &Job) -> String {
    let config = job.config();
    format!("split={:?};record={}", config.split_size(), config.max_record_size())
}

/// Parses the command line into the program's arguments and the standard
/// flags, adding the flags to the program's parser unless it has them.
/// Usage errors exit with status 2 (clap's own).
fn parse_args<A: clap::Parser>() -> (A, Flags) {
    let mut command = A::command();
    let has_flags = command.get_arguments().any(|arg| arg.get_id() == Flags::MARKER);
    if !has_flags {
        // The program's own description stays on top of its help, not the
        // docs of `Flags` that clap would put there.
        let (about, long_about) = (command.get_about().cloned(), command.get_long_about().cloned());
        command = Flags::augment_args(command);
        command = match about {
            Some(about) => command.about(about),
            None => command.about(None::<&'static str>),
        };
        command = match long_about {
            Some(long) => command.long_about(long),
            None => command.long_about(None::<&'static str>),
        };
    }
    let mut matches = command.get_matches();
    let flags = Flags::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let args = A::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.format(&mut A::command()).exit());
    (args, flags)
}

/// Prints an error and picks the exit status; returns it, the outcome in a
/// word, and the error's message for the run report.
fn report(err: BoxError) -> (u8, &'static str, Option<String>) {
    if is_broken_pipe(&*err) {
        return (Status::Success as u8, "success", None);
    }
    if let Some(status) = signals::interrupted() {
        return (status as u8, "interrupted", Some(err.to_string()));
    }
    diag!("error: {err}");
    // Show causes the message does not already include.
    let mut shown = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !shown.contains(&text) {
            diag!("  caused by: {text}");
            shown.push_str(&text);
        }
        source = cause.source();
    }
    let status = status_of(&err);
    let outcome = if status == Status::Locked { "locked" } else { "failed" };
    (status as u8, outcome, Some(shown))
}

fn is_broken_pipe(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        cur = e.source();
    }
    false
}
