//! Signals: interrupts, the parent's death, and bus errors from truncated
//! mappings.
//!
//! * `SIGINT`/`SIGTERM` in a Shoal program kill its worker processes and exit
//!   with status 130/143 ([`watch_interrupts`]); the executor checks
//!   [`interrupted`] so it never respawns a worker during shutdown.
//! * A worker asks the kernel for `SIGKILL` when its leader dies
//!   ([`die_with_parent`]); it also exits when the leader's socket closes.
//! * `SIGBUS` (a mapped input truncated under us) prints which split was
//!   being read and exits with [`EXIT_BUS`] ([`report_bus_errors`]).
//! * Temporary directories that must not outlive the process (spilled
//!   partials) are removed on interrupt too ([`remove_on_interrupt`]); ones
//!   that a `SIGKILL` left behind are removed by the next run.

use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// Exit status of a process killed by a bus error while reading a split.
pub(crate) const EXIT_BUS: i32 = 86;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The exit status an interrupt asks for, set inside the signal handler
/// itself (0: none yet): true as soon as the signal is delivered, before the
/// watcher thread runs, so a worker lost to the same process-group signal is
/// never taken for a crash.
static DELIVERED: std::sync::OnceLock<std::sync::Arc<std::sync::atomic::AtomicUsize>> = std::sync::OnceLock::new();

/// Process ids of live worker processes, killed on interrupt.
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Directories removed on interrupt, before the process exits.
static DOOMED_DIRS: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());

/// Removes `dir` (and all in it) if an interrupt ends the process before
/// [`keep_on_interrupt`] is called for it.
pub(crate) fn remove_on_interrupt(dir: &std::path::Path) {
    DOOMED_DIRS.lock().unwrap_or_else(|p| p.into_inner()).push(dir.to_path_buf());
}

/// Where worker processes may keep spill directories, and the name prefix
/// before their pid (`shoal-spill-<host>-`): on interrupt the leader kills
/// its workers with `SIGKILL`, so it removes their directories itself.
static CHILD_DIRS: Mutex<Vec<(std::path::PathBuf, String)>> = Mutex::new(Vec::new());

/// Notes that worker processes may create directories named
/// `<prefix><pid>-*` under `parent`, to remove on interrupt.
pub(crate) fn remove_child_dirs_on_interrupt(parent: &std::path::Path, prefix: &str) {
    let mut dirs = CHILD_DIRS.lock().unwrap_or_else(|p| p.into_inner());
    if !dirs.iter().any(|(p, x)| p == parent && x == prefix) {
        dirs.push((parent.to_path_buf(), prefix.to_string()));
    }
}

/// Removes the directories of [`remove_child_dirs_on_interrupt`] of the
/// worker processes `children`.
fn remove_child_dirs(children: &[u32]) {
    let dirs = CHILD_DIRS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for (parent, prefix) in dirs {
        let Ok(entries) = std::fs::read_dir(&parent) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_str().and_then(|n| pid_after(n, &prefix)).is_some_and(|pid| children.contains(&pid)) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// The pid in a directory name `<prefix><pid>-<anything>`.
pub(crate) fn pid_after(name: &str, prefix: &str) -> Option<u32> {
    let (pid, _) = name.strip_prefix(prefix)?.split_once('-')?;
    (!pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then(|| pid.parse().ok()).flatten().filter(|&p| p > 0)
}

/// Forgets a directory of [`remove_on_interrupt`] (its owner removes it).
pub(crate) fn keep_on_interrupt(dir: &std::path::Path) {
    DOOMED_DIRS.lock().unwrap_or_else(|p| p.into_inner()).retain(|d| d != dir);
}

/// Removes the directories of [`remove_on_interrupt`] now (the process is
/// about to exit without running destructors).
pub(crate) fn remove_doomed_dirs() {
    let dirs = std::mem::take(&mut *DOOMED_DIRS.lock().unwrap_or_else(|p| p.into_inner()));
    for dir in dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Whether an interrupt arrived; the exit status it asks for.
pub(crate) fn interrupted() -> Option<i32> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Some(128 + SIGNAL.load(Ordering::SeqCst));
    }
    let status = DELIVERED.get()?.load(Ordering::SeqCst);
    (status != 0).then(|| i32::try_from(status).unwrap_or(130))
}

/// Waits up to `limit` for an interrupt of this process; its exit status.
/// For a worker that died of `SIGINT`/`SIGTERM`: a signal sent to the whole
/// process group reaches the leader at the same moment.
pub(crate) fn await_interrupt(limit: std::time::Duration) -> Option<i32> {
    let until = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = interrupted() {
            return Some(status);
        }
        if std::time::Instant::now() >= until || DELIVERED.get().is_none() {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Registers a worker process to kill on interrupt.
pub(crate) fn register_child(pid: u32) {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).push(pid);
}

/// Forgets a worker process that has exited, and removes the spill
/// directories it left (a worker killed, or lost, cannot remove them).
pub(crate) fn forget_child(pid: u32) {
    CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).retain(|&c| c != pid);
    remove_child_dirs(&[pid]);
}

/// Sends `SIGKILL` to a process, ignoring one that is already gone.
pub(crate) fn kill(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
}

fn kill_children() {
    let children = CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).clone();
    for pid in children {
        kill(pid);
    }
}

/// On `SIGINT` or `SIGTERM`: mark the job interrupted, kill every worker
/// process, and exit with 128 + the signal number.
/// What the process does with its last breath after a stop signal, before
/// it exits (the run report's: `run::session`).
static ON_INTERRUPT: std::sync::OnceLock<fn(i32)> = std::sync::OnceLock::new();

/// Sets what to do on a stop signal before exiting (once per process).
pub(crate) fn on_interrupt(last_words: fn(i32)) {
    let _ = ON_INTERRUPT.set(last_words);
}

pub(crate) fn watch_interrupts() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let delivered = DELIVERED.get_or_init(Default::default);
    for sig in [SIGINT, SIGTERM] {
        let _ = signal_hook::flag::register_usize(sig, delivered.clone(), 128 + sig as usize);
    }
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    let _ = std::thread::Builder::new().name("shoal-signals".into()).spawn(move || {
        if let Some(sig) = signals.forever().next() {
            SIGNAL.store(sig, Ordering::SeqCst);
            INTERRUPTED.store(true, Ordering::SeqCst);
            let children = CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).clone();
            kill_children();
            // A second pass catches a worker spawned while we were killing.
            std::thread::sleep(std::time::Duration::from_millis(50));
            let late = CHILDREN.lock().unwrap_or_else(|p| p.into_inner()).clone();
            kill_children();
            remove_doomed_dirs();
            remove_child_dirs(&[children, late].concat());
            if let Some(last_words) = ON_INTERRUPT.get() {
                last_words(sig);
            }
            std::process::exit(128 + sig);
        }
    });
}

/// Asks the kernel to kill this process when its parent dies, and exits at
/// once if the parent `leader_pid` is already gone.
pub(crate) fn die_with_parent(leader_pid: Option<u32>) {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    if leader_pid.is_some_and(|pid| std::os::unix::process::parent_id() != pid) {
        std::process::exit(1);
    }
}

thread_local! {
    /// The name of the split this thread is reading, for the bus-error
    /// message: a pointer and length into a `String` owned by a live
    /// [`SplitGuard`]. `const`-initialized and without destructor, so reading
    /// it is a plain thread-local load, safe in a signal handler.
    static CURRENT_SPLIT: Cell<(*const u8, usize)> = const { Cell::new((std::ptr::null(), 0)) };
}

/// Names what this thread reads from memory-mapped inputs (a split, or a
/// file a planner scans) until dropped: a bus error from a mapping truncated
/// under the thread prints the name. The executor names each split it runs;
/// a source that maps files elsewhere (while planning, on threads of its
/// own) names them the same way. The guard belongs to the thread that made
/// it; a later guard on that thread replaces the name, and dropping either
/// clears it. It cannot move to another thread:
///
/// ```compile_fail
/// fn send<T: Send>(_: T) {}
/// send(shoal::plumbing::SplitGuard::new("#0 a.csv bytes 0..10".into()));
/// ```
#[derive(Debug)]
pub struct SplitGuard {
    _name: String,
    /// Not `Send`: the guard must be dropped on the thread whose name it
    /// set, or that thread would point at a freed string.
    _thread: std::marker::PhantomData<*const ()>,
}

impl SplitGuard {
    /// Names what this thread reads, like `#3 data/a.csv bytes 0..1024`.
    pub fn new(name: String) -> SplitGuard {
        CURRENT_SPLIT.with(|c| c.set((name.as_ptr(), name.len())));
        SplitGuard { _name: name, _thread: std::marker::PhantomData }
    }
}

impl Drop for SplitGuard {
    fn drop(&mut self) {
        CURRENT_SPLIT.with(|c| c.set((std::ptr::null(), 0)));
    }
}

/// Installs the `SIGBUS` reporter (once per process).
pub(crate) fn report_bus_errors() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: the handler only calls async-signal-safe functions
        // (`write`, `_exit`) and reads a const-initialized thread-local that
        // points into a string kept alive by the `SplitGuard` of this thread.
        let _ = unsafe { signal_hook::low_level::register(signal_hook::consts::SIGBUS, on_bus_error) };
    });
}

fn on_bus_error() {
    fn write_all(bytes: &[u8]) {
        // SAFETY: `write` on fd 2 with a valid buffer is async-signal-safe.
        unsafe {
            libc::write(2, bytes.as_ptr().cast(), bytes.len());
        }
    }
    write_all(b"error: bus error while reading");
    let (ptr, len) = CURRENT_SPLIT.with(Cell::get);
    if !ptr.is_null() {
        write_all(b" split ");
        // SAFETY: set by a live `SplitGuard` on this thread from a `String`
        // it owns; the guard outlives the reading that raised the signal.
        write_all(unsafe { std::slice::from_raw_parts(ptr, len) });
    }
    write_all(b": the input file was truncated or replaced while it was memory-mapped (use --no-mmap if inputs change during a run)\n");
    // SAFETY: `_exit` is async-signal-safe and ends the process at once.
    unsafe { libc::_exit(EXIT_BUS) };
}
/// This host's name as it goes into the names of temporary files and
/// directories that say whose they are (spill directories, stdin spools):
/// no `-`.
pub(crate) fn host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let name: String = name.trim().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if name.is_empty() { "host".to_string() } else { name }
}

/// What [`dead_processes_entries`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Real directories (spill and socket directories).
    Dir,
    /// Regular files (standard input's spool).
    File,
}

/// The real directories or regular files (never symbolic links) under
/// `parent`, owned by this user, whose names give (through `pid_of`) the
/// pid of a process that no longer exists: what dead processes of this
/// user left behind (socket directories in `exec/process/stale.rs`, spill
/// directories in `action/spill.rs`, stdin spools in `plan/stdin.rs`).
pub(crate) fn dead_processes_entries(
    parent: &std::path::Path,
    pid_of: impl Fn(&str) -> Option<i32>,
    kind: Entry,
) -> Vec<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(parent) else { return Vec::new() };
    // SAFETY: `geteuid` has no preconditions and cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut dead = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(&pid_of) else { continue };
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        let shape = match kind {
            Entry::Dir => meta.is_dir(),
            Entry::File => meta.file_type().is_file(),
        };
        if shape && meta.uid() == uid && !process_exists(pid) {
            dead.push(path);
        }
    }
    dead
}

/// Whether a process with this pid exists (any user's).
pub(crate) fn process_exists(pid: i32) -> bool {
    let pid = nix::unistd::Pid::from_raw(pid);
    !matches!(nix::sys::signal::kill(pid, None), Err(nix::errno::Errno::ESRCH))
}
