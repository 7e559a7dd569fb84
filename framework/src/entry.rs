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
use crate::error::BoxError;
use crate::exec::process::leader::Leader;
use crate::exec::process::worker::{WorkerLink, is_worker_process};
use crate::exit::{LeftOut, Status, status_of};
use crate::job::{Job, Role};
use crate::signals;
use std::process::ExitCode;

/// Runs a Shoal program.
///
/// `A` is the program's clap parser; it flattens [`Flags`] and says where
/// with `AsRef<Flags>`. Use `Flags` itself when the program has no flags of
/// its own.
///
/// ```no_run
/// use shoal::prelude::*;
///
/// fn main() -> std::process::ExitCode {
///     shoal::main(|job: &Job, flags: shoal::Flags| {
///         let n = job.range(0..1_000_000u64).filter(|x| x % 3 == 0).count()?;
///         println!("{n}");
///         Ok::<(), shoal::Error>(())
///     })
/// }
/// ```
pub fn main<A, F, E>(program: F) -> ExitCode
where
    A: clap::Parser + AsRef<Flags>,
    F: FnOnce(&Job, A) -> Result<(), E>,
    E: Into<BoxError>,
{
    signals::report_bus_errors();
    let worker = is_worker_process();
    if !worker {
        signals::watch_interrupts();
    }
    let args = A::parse();
    let mut job = match args.as_ref().job() {
        Ok(job) => job,
        Err(err) => {
            eprintln!("error: {err}");
            return Status::Usage.into();
        }
    };
    let role = if worker {
        WorkerLink::connect_from_env(job.config().threads).map(Role::Worker)
    } else if job.config().process.processes > 1 || job.config().process.listen.is_some() {
        Leader::start(job.config().process.clone()).map(|l| Role::Leader(Box::new(l)))
    } else {
        Ok(Role::Local)
    };
    match role {
        Ok(role) => job.set_role(role),
        Err(err) => return report(err.into()),
    }
    let outcome = program(&job, args);
    if let Role::Worker(link) = job.role() {
        link.goodbye();
    }
    let (code, left_out) = match outcome {
        Ok(()) if job.is_leader() => match LeftOut::of(&job) {
            Some(left_out) => (Status::Incomplete.into(), Some(left_out)),
            None => (Status::Success.into(), None),
        },
        Ok(()) => (Status::Success.into(), None),
        Err(err) => (report(err.into()), None),
    };
    // Shuts the workers down (leader) before the process exits, so what they
    // still print comes before the summary, the last line of stderr.
    drop(job);
    if let Some(left_out) = left_out {
        eprintln!("{left_out}");
    }
    code
}

/// Prints an error and picks the exit status.
fn report(err: BoxError) -> ExitCode {
    if is_broken_pipe(&*err) {
        return Status::Success.into();
    }
    if let Some(status) = signals::interrupted() {
        return ExitCode::from(status as u8);
    }
    eprintln!("error: {err}");
    // Show causes the message does not already include.
    let mut shown = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !shown.contains(&text) {
            eprintln!("  caused by: {text}");
            shown.push_str(&text);
        }
        source = cause.source();
    }
    status_of(&err).into()
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
