//! Hand-written baseline for the weather comparison: the same line framing, line parsing,
//! hash map and report code as `examples/weather`, with no framework — memory-mapped files cut into
//! ~16 MiB chunks aligned to line ends, std threads pulling chunk indices from an atomic
//! counter, one map per thread, merged at the end.
//!
//! Usage: `weather_baseline [--threads T] FILE_OR_DIR...` (directories are walked
//! recursively, in sorted order). Prints `STATION,MIN,MEAN,MAX` lines sorted by station.

#[path = "../../examples/weather/parse.rs"]
mod parse;

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use clap::Parser;
use memmap2::Mmap;
use shoal::action::Groups;
use shoal::read::lines::for_each_line;

/// Target chunk size; each cut moves forward to just after the next `\n`.
const CHUNK: usize = 16 << 20;

#[derive(Parser)]
#[command(about = "Weather aggregation without the framework (comparison baseline)")]
struct Args {
    /// Worker threads (default: available parallelism).
    #[arg(long)]
    threads: Option<usize>,
    /// Input files or directories.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

/// Per-station aggregate, in tenths of a degree.
#[derive(Clone, Copy)]
struct Stats {
    min: i64,
    max: i64,
    sum: i64,
    count: u64,
}

impl Stats {
    fn of(t: i64) -> Self {
        Stats { min: t, max: t, sum: t, count: 1 }
    }

    fn merge(&mut self, other: &Stats) {
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// The same table as Shoal's keyed results (a hash table is not framework).
type Map = Groups<Vec<u8>, Stats>;

/// A failed line: the file index, the byte offset of the line start, and why.
type LineFailure = (usize, usize, parse::LineError);

/// Pushes `path`, or every file below it when it is a directory, in sorted order.
fn collect_inputs(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries = std::fs::read_dir(path)?.map(|e| e.map(|e| e.path())).collect::<std::io::Result<Vec<_>>>()?;
    entries.sort();
    entries.iter().try_for_each(|p| collect_inputs(p, out))
}

/// Aggregates the lines of `bytes` (whole lines; the last may lack its `\n`) into `map`.
/// On error returns the offset of the failing line within `bytes`.
///
/// Lines are cut by Shoal's line framing function (`for_each_line`: LF or CRLF, a
/// newline bitmask per 64 bytes), the same code the example's source uses, so that
/// the comparison measures the framework around it (planning, scheduling, stages,
/// partials) and not a different way of finding line ends.
fn aggregate(bytes: &[u8], map: &mut Map) -> Result<(), (usize, parse::LineError)> {
    for_each_line(bytes, |start, line| {
        let (station, t) = parse::parse_line(line).map_err(|e| (start, e))?;
        map.upsert(station, Stats::of(t), |s, t| s.merge(&t));
        Ok(())
    })
}

/// Cuts `bytes` into `(start, end)` ranges of about `CHUNK` bytes, each ending after a `\n`.
fn cut(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let target = (start + CHUNK).min(bytes.len());
        let end = memchr::memchr(b'\n', &bytes[target..]).map_or(bytes.len(), |i| target + i + 1);
        ranges.push((start, end));
        start = end;
    }
    ranges
}

fn run(args: Args) -> Result<String, String> {
    let mut paths = Vec::new();
    for input in &args.inputs {
        collect_inputs(input, &mut paths).map_err(|e| format!("{}: {e}", input.display()))?;
    }
    let maps = paths
        .iter()
        .map(|p| {
            let file = File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
            // SAFETY: the mapping is only sound while nobody truncates or rewrites the file
            // underneath us (truncation would turn reads into SIGBUS). The inputs are
            // benchmark files that nothing modifies while this program runs.
            unsafe { Mmap::map(&file) }.map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let chunks: Vec<(usize, usize, usize)> =
        maps.iter().enumerate().flat_map(|(f, m)| cut(m).into_iter().map(move |(s, e)| (f, s, e))).collect();

    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Vec<Result<Map, LineFailure>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut map = Map::default();
                    while !failed.load(Ordering::Relaxed) {
                        let Some(&(f, s, e)) = chunks.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        aggregate(&maps[f][s..e], &mut map).map_err(|(off, err)| {
                            failed.store(true, Ordering::Relaxed);
                            (f, s + off, err)
                        })?;
                    }
                    Ok(map)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker panicked")).collect()
    });

    let mut total = Map::default();
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(map) => total.merge_with(map, |t, s| t.merge(&s)),
            Err(e) => errors.push(e),
        }
    }
    // Report the earliest failure found (other threads stop early, so not necessarily
    // the earliest in the input).
    if let Some((f, off, err)) = errors.into_iter().min_by_key(|&(f, off, _)| (f, off)) {
        let line = memchr::memchr_iter(b'\n', &maps[f][..off]).count() + 1;
        return Err(format!("{}: line {line}: {err}", paths[f].display()));
    }

    // Names are checked once per distinct station, like the Shoal example; a bad
    // one is located by reading again for its first line.
    let mut rows = Vec::with_capacity(total.len());
    for (station, s) in total.into_map() {
        match parse::station_name(&station) {
            Ok(name) => rows.push((name.to_owned(), s)),
            Err(why) => return Err(locate_bad_name(&paths, &maps, &station, &why)),
        }
    }
    rows.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::with_capacity(rows.len() * 32);
    for (station, s) in &rows {
        parse::write_row(&mut out, station, s.min, s.sum, s.count, s.max);
    }
    Ok(out)
}

/// The first line whose station is `bad`, as an error message.
fn locate_bad_name(paths: &[PathBuf], maps: &[Mmap], bad: &[u8], why: &parse::LineError) -> String {
    for (path, map) in paths.iter().zip(maps) {
        let mut line_no = 0;
        let found = for_each_line(map, |_, line| {
            line_no += 1;
            match parse::parse_line(line) {
                Ok((station, _)) if station == bad => Err(line_no),
                _ => Ok(()),
            }
        });
        if let Err(line_no) = found {
            return format!("{}: line {line_no}: {why}", path.display());
        }
    }
    why.to_string()
}

fn main() -> ExitCode {
    let result = run(Args::parse()).and_then(|out| {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()).map_err(|e| format!("writing the report: {e}"))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
