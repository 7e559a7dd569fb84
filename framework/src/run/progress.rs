//! `--progress`: how far the running action is, across every process.
//!
//! What counts is input consumed, in the plan's unit (bytes of the files as
//! stored, so compressed bytes for `.gz` and `.zst`; items for in-memory
//! sources):
//!
//! * a split adds its whole size when it ends ([`split_done`]); the leader
//!   adds the size of each split whose partial it merges, so a worker's
//!   finished splits count once, when they count for the result;
//! * a stream (compressed file, pipe) also counts as it is read: its reader
//!   ([`Counted`]) adds each block read to the running split's own counter,
//!   registered while the split runs, so a long compressed file moves the
//!   bar instead of jumping at its end. At the split's end its counter
//!   leaves the registry as its whole size joins the finished total;
//! * a worker's heartbeat carries the bytes its running splits' streams
//!   have read so far ([`streaming`]); the leader adds every worker's latest.
//!
//! The record path never touches any of this: the counters move per split
//! and per 256 KiB block read. A thread of the leader draws every 200 ms
//! (indicatif on a terminal, one plain line every 5 s otherwise).

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When to show progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal; otherwise a plain line every few
    /// seconds, once an action has run that long.
    #[default]
    Auto,
    /// Like `auto`, but plain lines start at once and each action ends with
    /// one (a line per action even for short ones, for logs).
    Always,
    /// Nothing.
    Never,
}

/// Input of finished splits, in this process (plan units).
static DONE: AtomicU64 = AtomicU64::new(0);
/// Records given to actions by finished splits, in this process.
static RECORDS: AtomicU64 = AtomicU64::new(0);
/// The stream counters of the splits running in this process.
static RUNNING: Mutex<Vec<Arc<AtomicU64>>> = Mutex::new(Vec::new());
/// Records given to actions by the blocks of streams whose split is still
/// running (`plumbing::fanout`): counted as each block ends, so a stream's
/// progress shows records while it is read, and taken out again when its
/// split is done and counts them all.
static BLOCK_RECORDS: AtomicU64 = AtomicU64::new(0);
/// The latest streamed bytes each worker reported.
static WORKERS: Mutex<Option<HashMap<usize, u64>>> = Mutex::new(None);

thread_local! {
    /// The running split's stream counter, for the streams it opens.
    static CURRENT: RefCell<Option<Arc<AtomicU64>>> = const { RefCell::new(None) };
}

/// A split running on this thread.
#[derive(Debug)]
pub(crate) struct SplitProgress {
    streamed: Arc<AtomicU64>,
}

/// Starts counting a split on this thread.
pub(crate) fn split_started() -> SplitProgress {
    let streamed = Arc::new(AtomicU64::new(0));
    RUNNING.lock().unwrap_or_else(|p| p.into_inner()).push(streamed.clone());
    CURRENT.with(|c| *c.borrow_mut() = Some(streamed.clone()));
    SplitProgress { streamed }
}

impl SplitProgress {
    /// The split ended, having covered `size` and given `records`.
    pub(crate) fn done(self, size: u64, records: u64) {
        CURRENT.with(|c| *c.borrow_mut() = None);
        RUNNING.lock().unwrap_or_else(|p| p.into_inner()).retain(|r| !Arc::ptr_eq(r, &self.streamed));
        // What its stream counted leaves the running total as the whole
        // split joins the finished one; a stream of unknown size (a pipe,
        // planned as 0 bytes) joins with what it read.
        let size = if size == 0 { self.streamed.load(Ordering::Relaxed) } else { size };
        DONE.fetch_add(size, Ordering::Relaxed);
        RECORDS.fetch_add(records, Ordering::Relaxed);
    }
}

/// The leader merged a worker's split of `size` with `records`.
pub(crate) fn split_done(size: u64, records: u64) {
    DONE.fetch_add(size, Ordering::Relaxed);
    RECORDS.fetch_add(records, Ordering::Relaxed);
}

/// Records of the blocks of a running split, counted while it runs; they
/// leave the count when the guard drops (its split then counts them, or
/// failed).
#[derive(Debug, Default)]
pub(crate) struct BlockRecords(AtomicU64);

impl BlockRecords {
    /// A block ended, having given `records`.
    pub(crate) fn add(&self, records: u64) {
        self.0.fetch_add(records, Ordering::Relaxed);
        BLOCK_RECORDS.fetch_add(records, Ordering::Relaxed);
    }
}

impl Drop for BlockRecords {
    fn drop(&mut self) {
        BLOCK_RECORDS.fetch_sub(*self.0.get_mut(), Ordering::Relaxed);
    }
}

/// What the streams of this process's running splits have read so far
/// (a worker sends it with its heartbeats).
pub(crate) fn streaming() -> u64 {
    RUNNING.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|r| r.load(Ordering::Relaxed)).sum()
}

/// A worker's heartbeat said its streams have read `bytes`.
pub(crate) fn worker_streaming(worker: usize, bytes: u64) {
    WORKERS.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashMap::new).insert(worker, bytes);
}

/// Input consumed and records out, job-wide as this process sees it.
fn totals() -> (u64, u64) {
    let workers: u64 = WORKERS.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map_or(0, |w| w.values().sum());
    let records = RECORDS.load(Ordering::Relaxed) + BLOCK_RECORDS.load(Ordering::Relaxed);
    (DONE.load(Ordering::Relaxed) + streaming() + workers, records)
}

/// A reader that counts what it reads for the split that opened it.
pub(crate) struct Counted<R> {
    inner: R,
    counter: Option<Arc<AtomicU64>>,
}

impl<R> Counted<R> {
    /// Wraps `inner`, counting for the split running on this thread (if any).
    pub(crate) fn new(inner: R) -> Counted<R> {
        Counted { inner, counter: CURRENT.with(|c| c.borrow().clone()) }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = &self.counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for Counted<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Some(c) = &self.counter {
            c.fetch_add(amt as u64, Ordering::Relaxed);
        }
        self.inner.consume(amt);
    }
}

/// How an action's progress is drawn.
enum Draw {
    Bar(indicatif::ProgressBar),
    Lines { last: Option<Instant>, eager: bool },
}

/// The drawing of one action's progress; dropping it draws the last state
/// and clears it.
#[derive(Debug)]
pub(crate) struct Display {
    drawer: &'static Drawer,
}

/// How often the drawing thread looks at the counters.
const TICK: Duration = Duration::from_millis(200);
/// How often a plain line is written when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// One action's drawing, as the drawing thread keeps it.
struct Session {
    draw: Draw,
    number: u64,
    label: String,
    total: u64,
    bytes: bool,
    /// The counters when the action started.
    base: (u64, u64),
    started: Instant,
    /// The action ended: draw once more and clear.
    stop: bool,
}

impl Session {
    /// One look at the counters (the last one when `self.stop`).
    fn tick(&mut self) {
        let (done, records) = totals();
        // An unknown total (a pipe) does not cap what was read.
        let done = done.saturating_sub(self.base.0);
        let done = if self.total > 0 { done.min(self.total) } else { done };
        let records = records.saturating_sub(self.base.1);
        let stopping = self.stop;
        match &mut self.draw {
            Draw::Bar(bar) => {
                bar.set_position(done);
                bar.set_message(records.to_string());
            }
            Draw::Lines { last, eager } => {
                let due = match last {
                    Some(at) => at.elapsed() >= LINE_EVERY || stopping,
                    None => *eager || self.started.elapsed() >= LINE_EVERY,
                };
                if due {
                    *last = Some(Instant::now());
                    let line =
                        line(self.number, &self.label, done, self.total, records, self.bytes, self.started.elapsed());
                    crate::diag::diag!("{line}");
                }
            }
        }
    }
}

/// The process's one drawing thread and the action it draws. The thread
/// is started by the first action that draws and lives as long as the
/// process, parked between actions: a thread that ends hands its malloc
/// arena to the next thread started (the merge of a sorted result), which
/// then grows a heap of its own where it would have reused what the pool's
/// threads freed (160 MB more peak RSS and 7% more time at 18M keys;
/// BENCHMARKS.md, session 15).
struct Drawer {
    session: Mutex<Option<Session>>,
    changed: std::sync::Condvar,
    alive: AtomicBool,
}

impl std::fmt::Debug for Drawer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drawer").finish_non_exhaustive()
    }
}

impl Drawer {
    /// The drawing thread's loop.
    fn run(&self) {
        struct Dead<'d>(&'d Drawer);
        impl Drop for Dead<'_> {
            fn drop(&mut self) {
                self.0.alive.store(false, Ordering::Release);
                self.0.changed.notify_all();
            }
        }
        let _dead = Dead(self);
        let mut slot = self.session.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let Some(session) = slot.as_mut() else {
                slot = self.changed.wait(slot).unwrap_or_else(|p| p.into_inner());
                continue;
            };
            session.tick();
            if session.stop {
                if let Some(Session { draw: Draw::Bar(bar), .. }) = slot.take() {
                    bar.finish_and_clear();
                }
                self.changed.notify_all();
                continue;
            }
            slot = self.changed.wait_timeout(slot, TICK).unwrap_or_else(|p| p.into_inner()).0;
        }
    }
}

/// The drawing thread, started on first use; `None` if it cannot start.
fn drawer() -> Option<&'static Drawer> {
    static DRAWER: std::sync::OnceLock<Option<&'static Drawer>> = std::sync::OnceLock::new();
    *DRAWER.get_or_init(|| {
        let drawer: &'static Drawer = Box::leak(Box::new(Drawer {
            session: Mutex::new(None),
            changed: std::sync::Condvar::new(),
            alive: AtomicBool::new(true),
        }));
        std::thread::Builder::new().name("shoal-progress".into()).spawn(move || drawer.run()).ok().map(|_| drawer)
    })
}

impl Display {
    /// Starts drawing action `number` (`label`) of `total` plan units
    /// (`bytes`: whether units are bytes), as `mode` says.
    pub(crate) fn start(mode: ProgressMode, number: u64, label: &str, total: u64, bytes: bool) -> Option<Display> {
        use std::io::IsTerminal;
        let terminal = std::io::stderr().is_terminal();
        let draw = match mode {
            ProgressMode::Never => return None,
            ProgressMode::Auto | ProgressMode::Always if terminal => {
                let unit = if bytes {
                    "{binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec}"
                } else {
                    "{human_pos}/{human_len} items {per_sec}"
                };
                let template = format!("{{prefix}} [{{bar:30}}] {unit} · {{msg}} records · {{eta}} left");
                let style = indicatif::ProgressStyle::with_template(&template)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                    .progress_chars("=> ");
                let target = indicatif::ProgressDrawTarget::stderr_with_hz(5);
                let bar =
                    indicatif::ProgressBar::with_draw_target((total > 0).then_some(total), target).with_style(style);
                bar.set_prefix(format!("action {number} {label}"));
                Draw::Bar(bar)
            }
            ProgressMode::Auto => Draw::Lines { last: None, eager: false },
            ProgressMode::Always => Draw::Lines { last: None, eager: true },
        };
        // Workers report their streams again for this action.
        if let Some(w) = WORKERS.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            w.clear();
        }
        let drawer = drawer()?;
        let mut slot = drawer.session.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() || !drawer.alive.load(Ordering::Acquire) {
            // An action run inside another's stage: the outer one is drawn.
            return None;
        }
        let label = label.to_string();
        *slot =
            Some(Session { draw, number, label, total, bytes, base: totals(), started: Instant::now(), stop: false });
        drawer.changed.notify_all();
        Some(Display { drawer })
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        let drawer = self.drawer;
        let mut slot = drawer.session.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(session) = slot.as_mut() {
            session.stop = true;
            drawer.changed.notify_all();
        }
        // The last state is drawn before the action's result is printed.
        while slot.is_some() && drawer.alive.load(Ordering::Acquire) {
            slot = drawer.changed.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// `shoal: action 0 aggregate_by_key: 512.0 MiB of 1.3 GiB (38%), 420.0 MiB/s, 1234 records, about 2 s left`
fn line(number: u64, label: &str, done: u64, total: u64, records: u64, bytes: bool, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = done as f64 / secs;
    let left = if rate > 0.0 { (total.saturating_sub(done)) as f64 / rate } else { f64::INFINITY };
    let (d, t, r) = if bytes {
        (crate::diag::size(done as f64), crate::diag::size(total as f64), format!("{}/s", crate::diag::size(rate)))
    } else {
        (format!("{done} items"), format!("{total}"), format!("{rate:.0} items/s"))
    };
    if total == 0 {
        // A pipe: how much is coming is not known.
        return format!("shoal: action {number} {label}: {d} read, {r}, {records} records");
    }
    let pct = done as f64 * 100.0 / total as f64;
    let left = if left.is_finite() { format!("about {left:.0} s left") } else { "time left unknown".to_string() };
    format!("shoal: action {number} {label}: {d} of {t} ({pct:.0}%), {r}, {records} records, {left}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One thread draws every action of the process, one at a time: an
    /// action run inside another's stage is not drawn, and the thread stays
    /// for the next action (a thread that ends would hand its malloc arena
    /// to the next one started).
    #[test]
    fn one_drawing_thread_draws_one_action_at_a_time() {
        let outer = Display::start(ProgressMode::Auto, 0, "outer", 0, true).expect("drawn");
        assert!(Display::start(ProgressMode::Auto, 1, "inner", 0, true).is_none(), "the outer one is drawn");
        drop(outer);
        let drawer = drawer().expect("started");
        assert!(drawer.session.lock().unwrap().is_none(), "the last state was drawn before the drop returned");
        let next = Display::start(ProgressMode::Auto, 2, "next", 0, true).expect("drawn by the same thread");
        assert!(std::ptr::eq(next.drawer, drawer) && drawer.alive.load(Ordering::Acquire));
        drop(next);
        assert!(Display::start(ProgressMode::Never, 3, "never", 0, true).is_none());
    }

    #[test]
    fn a_split_counts_its_stream_as_it_reads_and_the_rest_at_its_end() {
        let before = totals().0;
        let split = split_started();
        let mut r = Counted::new(&b"0123456789"[..]);
        let mut buf = [0u8; 4];
        r.read_exact(&mut buf).unwrap();
        assert!(streaming() >= 4);
        split.done(25, 3);
        // Other tests of this binary may count at the same time: at least ours.
        assert!(totals().0 >= before + 25);
    }

    #[test]
    fn plain_lines_say_how_far_and_how_long() {
        let l = line(0, "aggregate_by_key", 512 << 20, 1 << 30, 12, true, Duration::from_secs(2));
        assert_eq!(
            l,
            "shoal: action 0 aggregate_by_key: 512.0 MiB of 1.0 GiB (50%), 256.0 MiB/s, 12 records, about 2 s left"
        );
        let l = line(1, "count", 0, 10, 0, false, Duration::from_secs(1));
        assert!(l.ends_with("time left unknown"), "{l}");
        let l = line(0, "count", 3 << 20, 0, 7, true, Duration::from_secs(1));
        assert_eq!(l, "shoal: action 0 count: 3.0 MiB read, 3.0 MiB/s, 7 records");
    }
}
