//! `--schedule "CRON"`: the program as a long-running service that runs its
//! job on a cron schedule (for containers and systemd services).
//!
//! The scheduling process never runs the job itself: at each slot it
//! starts the same program with the same arguments, without `--schedule`,
//! as a child, waits for it and logs its outcome in one line. So every run
//! starts fresh (memory, workers, state), writes its own `--report`, and
//! takes `--lock` like a run from cron would.
//!
//! * Never two runs at once: the next slot is computed when a run ends.
//!   Slots that passed while a run was going are missed; one catch-up run
//!   starts at once for them, then the schedule resumes.
//! * `SIGTERM` or `SIGINT` between runs exits at once (143 or 130); during
//!   a run it is passed on to the run, which stops cleanly, and the
//!   scheduler exits with the run's status once it has.
//! * The run dies with the scheduler (`PR_SET_PDEATHSIG`).
//!
//! Times follow the machine's local time zone, as cron's do. The pattern
//! has five fields (minute to day of week), six (seconds first) or seven (a
//! year last), or is a nickname (`@hourly`, `@daily`, `@weekly`, ...): the
//! patterns of the `croner` crate. One that never fires is refused.

use crate::diag::diag;
use chrono::{DateTime, Local};
use croner::Cron;
use std::ffi::OsString;
use std::process::{Child, Command, ExitCode};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Stop signals received so far (a second one kills a run that does not stop).
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// How often the scheduler looks at the clock and the signals.
const TICK: Duration = Duration::from_millis(100);

/// A parsed `--schedule` pattern.
pub(crate) fn parse(pattern: &str) -> Result<Cron, String> {
    let cron = Cron::from_str(pattern).map_err(|e| format!("`{pattern}` is not a cron schedule: {e}"))?;
    // A pattern no date matches (`0 0 30 2 *`) is refused now, not at run time.
    cron.find_next_occurrence(&Local::now(), false).map_err(|e| format!("`{pattern}` never fires ({e})"))?;
    Ok(cron)
}

/// The command line of one run: this program's arguments without
/// `--schedule PATTERN` (or `--schedule=PATTERN`).
fn run_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut skip = false;
    for arg in args {
        if skip {
            skip = false;
            continue;
        }
        match arg.to_str() {
            Some("--schedule") => skip = true,
            Some(a) if a.starts_with("--schedule=") => {}
            _ => out.push(arg),
        }
    }
    out
}

/// The signal (number) that asked the scheduler to stop, if any.
fn stop_signal(flag: &AtomicUsize) -> Option<i32> {
    match flag.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig as i32),
    }
}

/// Runs the schedule until a signal stops it; returns the exit status.
pub(crate) fn serve(cron: &Cron, pattern: &str) -> ExitCode {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicUsize::new(0));
    for sig in [SIGINT, SIGTERM] {
        let _ = signal_hook::flag::register_usize(sig, stop.clone(), sig as usize);
        // SAFETY: the handler only does an atomic add, which is
        // async-signal-safe.
        let _ = unsafe {
            signal_hook::low_level::register(sig, || {
                SIGNALS.fetch_add(1, Ordering::SeqCst);
            })
        };
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            diag!("error: cannot find this program to run it: {e}");
            return ExitCode::from(1);
        }
    };
    let args = run_args(std::env::args_os().skip(1));
    diag!("shoal: running on the schedule `{pattern}` (local time); SIGTERM stops");
    let mut slot = match next_after(cron, &Local::now()) {
        Some(t) => t,
        None => return ExitCode::from(1),
    };
    loop {
        diag!("shoal: next run at {}", slot.format("%Y-%m-%d %H:%M:%S %z"));
        while Local::now() < slot {
            if let Some(sig) = stop_signal(&stop) {
                return ExitCode::from((128 + sig) as u8);
            }
            let left = (slot - Local::now()).to_std().unwrap_or_default();
            std::thread::sleep(left.min(TICK));
        }
        let started = Instant::now();
        let status = match spawn(&exe, &args) {
            Ok(child) => wait(child, &stop),
            Err(e) => {
                diag!("shoal: run of {} could not start: {e}", slot.format("%H:%M:%S"));
                None
            }
        };
        let code = status.unwrap_or(1);
        diag!(
            "shoal: run of {} ended: {} (exit status {code}) in {:.1} s",
            slot.format("%Y-%m-%d %H:%M:%S"),
            outcome(code),
            started.elapsed().as_secs_f64()
        );
        if let Some(sig) = stop_signal(&stop) {
            // The run was asked to stop too; its status says how it ended.
            return ExitCode::from(if code == 0 { (128 + sig) as u8 } else { code });
        }
        let now = Local::now();
        slot = match next_after(cron, &slot) {
            // A slot passed during the run: one catch-up run now.
            Some(next) if next < now => {
                diag!("shoal: the run overran the slot of {}: catching up once", next.format("%H:%M:%S"));
                now
            }
            Some(next) => next,
            None => return ExitCode::from(1),
        };
    }
}

fn next_after(cron: &Cron, t: &DateTime<Local>) -> Option<DateTime<Local>> {
    match cron.find_next_occurrence(t, false) {
        Ok(next) => Some(next),
        Err(e) => {
            diag!("error: the schedule has no next time: {e}");
            None
        }
    }
}

/// The words for a run's exit status (see `--help`).
fn outcome(code: u8) -> &'static str {
    match code {
        0 => "success",
        2 => "usage error",
        3 => "finished with records or splits left out",
        4 => "skipped: another run holds the lock",
        130 | 143 => "interrupted",
        _ => "failed",
    }
}

fn spawn(exe: &std::path::Path, args: &[OsString]) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let scheduler = std::process::id();
    let mut cmd = Command::new(exe);
    cmd.args(args);
    // SAFETY: the closure runs in the child between fork and exec and only
    // calls prctl(2) and getppid(2), which are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).map_err(std::io::Error::from)?;
            // The scheduler died before the death signal was set: do not run.
            if std::os::unix::process::parent_id() != scheduler {
                return Err(std::io::Error::other("the scheduler is gone"));
            }
            Ok(())
        });
    }
    cmd.spawn()
}

/// Waits for a run; passes a stop signal on to it, and kills it at a
/// second one (a run that does not stop). `None` if it could not be
/// waited for.
fn wait(mut child: Child, stop: &AtomicUsize) -> Option<u8> {
    use std::os::unix::process::ExitStatusExt;
    let mut passed_on = false;
    let mut signals_seen = SIGNALS.load(Ordering::SeqCst);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Some(match (status.code(), status.signal()) {
                    (Some(code), _) => code.clamp(0, 255) as u8,
                    (None, Some(sig)) => (128 + sig).clamp(0, 255) as u8,
                    (None, None) => 1,
                });
            }
            Ok(None) => {}
            Err(_) => return None,
        }
        if !passed_on && let Some(sig) = stop_signal(stop) {
            passed_on = true;
            signals_seen = SIGNALS.load(Ordering::SeqCst);
            let signal = nix::sys::signal::Signal::try_from(sig).unwrap_or(nix::sys::signal::Signal::SIGTERM);
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal);
        } else if passed_on && SIGNALS.load(Ordering::SeqCst) > signals_seen {
            let _ = child.kill();
        }
        std::thread::sleep(TICK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_gets_every_argument_but_the_schedule() {
        let args = ["-t", "2", "--schedule", "*/5 * * * *", "data/", "--schedule=0 * * * *", "--report", "r.json"];
        let got = run_args(args.iter().map(OsString::from));
        assert_eq!(got, ["-t", "2", "data/", "--report", "r.json"].map(OsString::from));
    }

    #[test]
    fn patterns_of_five_and_six_fields_parse_and_bad_ones_say_why() {
        let every_quarter = parse("*/15 * * * *").unwrap();
        let t = chrono::TimeZone::with_ymd_and_hms(&Local, 2026, 1, 1, 10, 7, 0).unwrap();
        let next = every_quarter.find_next_occurrence(&t, false).unwrap();
        assert_eq!(next.format("%H:%M:%S").to_string(), "10:15:00");
        assert!(parse("*/2 * * * * *").is_ok(), "seconds first");
        let err = parse("every hour").unwrap_err();
        assert!(err.starts_with("`every hour` is not a cron schedule"), "{err}");
        assert!(parse("0 0 30 2 *").unwrap_err().contains("never fires"));
    }
}
