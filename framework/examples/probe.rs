//! A probe for the process executor's tests: a small line-counting job with
//! knobs to crash, hang, panic or slow down on chosen records.
//!
//! Output (stdout, leader only): `lines,N`, `bytes,N`, then `key,K,COUNT`
//! per first byte of the line, sorted, then `counter,NAME,N` for every
//! counter of the job's report but the counts of worker deaths
//! (`again,lines,N` first with `--twice`).

use clap::Parser;
use shoal::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
struct Cli {
    /// Sleep this many milliseconds every `--sleep-every` records.
    #[arg(long, default_value_t = 0)]
    sleep_ms: u64,
    #[arg(long, default_value_t = 1000)]
    sleep_every: u64,
    /// Panic on a line equal to this text.
    #[arg(long)]
    panic_on: Option<String>,
    /// Abort the process (worker crash) on a line equal to this text.
    #[arg(long)]
    abort_on: Option<String>,
    /// Fail (a bad record: an error naming file, line and offset) on a line
    /// equal to this text; may be given more than once.
    #[arg(long)]
    fail_on: Vec<String>,
    /// Hang forever on a line equal to this text.
    #[arg(long)]
    hang_on: Option<String>,
    /// Print a line from every process before the first action.
    #[arg(long)]
    hello: bool,
    /// Also run a job-wide limit of this capacity over 40 slow items and print
    /// the most holders seen at once.
    #[arg(long)]
    limit: Option<usize>,
    /// Run a second action (a line count) over the same inputs and print
    /// `again,lines,N`.
    #[arg(long)]
    twice: bool,
    /// Also collect every line in input order and print
    /// `collect,COUNT,FIRST,LAST,HASH` (HASH over the lines in order).
    #[arg(long)]
    collect: bool,
    /// Also group by the whole line, with each keyed action (high
    /// cardinality), and print `distinct,LINE,COUNT,BYTES,TIMES` sorted.
    #[arg(long)]
    distinct: bool,
    /// With `--distinct` and `--collect`: the forms whose results stream
    /// (`*_sorted`, `collect_iter`), for results past `--memory-limit`.
    #[arg(long)]
    streamed: bool,
    inputs: Vec<PathBuf>,
}

fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

fn main() -> ExitCode {
    shoal::main(|job: &Job, cli: Cli| {
        if cli.hello {
            println!("hello from {}", job.worker_id().map_or("the leader".to_string(), |i| format!("worker {i}")));
        }
        let seen = std::sync::atomic::AtomicU64::new(0);
        let keys: HashMap<String, (u64, u64)> = job
            .lines(&cli.inputs)
            .inspect(|line| {
                if cli.panic_on.as_deref() == Some(*line) {
                    panic!("probe panics on {line:?}");
                }
                if cli.abort_on.as_deref() == Some(*line) && !job.is_leader() {
                    std::process::abort();
                }
                if cli.hang_on.as_deref() == Some(*line) {
                    loop {
                        std::thread::sleep(Duration::from_secs(60));
                    }
                }
                let n = seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if cli.sleep_ms > 0 && n.is_multiple_of(cli.sleep_every) {
                    std::thread::sleep(Duration::from_millis(cli.sleep_ms));
                }
                shoal::report::count("probe.lines", 1);
            })
            .try_map(|line: &str| {
                if cli.fail_on.iter().any(|bad| bad == line) {
                    return Err(format!("probe rejects {line:?}"));
                }
                Ok((line.bytes().next().map_or("".to_string(), |b| (b as char).to_string()), (1u64, line.len() as u64)))
            })
            .aggregate_by_key()?;
        let mut rows: Vec<_> = keys.into_iter().collect();
        rows.sort();
        let mut out = job.stdout();
        let lines: u64 = rows.iter().map(|(_, (n, _))| n).sum();
        let bytes: u64 = rows.iter().map(|(_, (_, b))| b).sum();
        writeln!(out, "lines,{lines}")?;
        writeln!(out, "bytes,{bytes}")?;
        for (k, (n, _)) in &rows {
            writeln!(out, "key,{k},{n}")?;
        }
        if cli.distinct && cli.streamed {
            let counts = job.lines(&cli.inputs).count_by_value_sorted()?;
            let bytes = job
                .lines(&cli.inputs)
                .map(|line: &str| (line.to_string(), line.len() as u64))
                .reduce_by_key_sorted(|a, b| *a += b)?;
            let times =
                job.byte_lines(&cli.inputs).key_by(|line: &[u8]| (line, Stats::of(1))).aggregate_by_key_sorted()?;
            // All three in key order: walk them side by side.
            let (mut bytes, mut times) = (bytes.into_iter(), times.into_iter());
            for group in counts {
                let (line, n): (String, u64) = group?;
                let (b_line, b) = bytes.next().transpose()?.unwrap_or_default();
                let (t_line, t): (Vec<u8>, Stats<i64>) = times.next().transpose()?.unwrap_or_default();
                let b = if b_line == line { b } else { 0 };
                let t = if t_line == line.as_bytes() { t.count } else { 0 };
                writeln!(out, "distinct,{line},{n},{b},{t}")?;
            }
        } else if cli.distinct {
            let counts: HashMap<String, u64> = job.lines(&cli.inputs).count_by_value()?;
            let bytes: HashMap<String, u64> = job
                .lines(&cli.inputs)
                .map(|line: &str| (line.to_string(), line.len() as u64))
                .reduce_by_key(|a, b| *a += b)?;
            let times: HashMap<Vec<u8>, Stats<i64>> =
                job.byte_lines(&cli.inputs).key_by(|line: &[u8]| (line, Stats::of(1))).aggregate_by_key()?;
            let mut rows: Vec<_> = counts.into_iter().collect();
            rows.sort();
            for (line, n) in rows {
                let times = times.get(line.as_bytes()).map_or(0, |s| s.count);
                writeln!(out, "distinct,{line},{n},{},{times}", bytes.get(&line).copied().unwrap_or(0))?;
            }
        }
        if cli.collect {
            let lines = job.lines(&cli.inputs).map(str::to_string);
            let (mut count, mut first, mut last, mut hash) = (0u64, None, String::new(), 0xcbf2_9ce4_8422_2325u64);
            let mut each = |line: String| {
                hash = line.bytes().chain([b'\n']).fold(hash, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
                count += 1;
                first.get_or_insert_with(|| line.clone());
                last = line;
            };
            if cli.streamed {
                lines.collect_iter()?.for_each(|line| -> shoal::Result<()> {
                    each(line);
                    Ok(())
                })?;
            } else {
                let lines: Vec<String> = lines.collect()?;
                lines.into_iter().for_each(&mut each);
            }
            writeln!(out, "collect,{count},{},{last},{hash:016x}", first.unwrap_or_default())?;
        }
        if cli.twice {
            writeln!(out, "again,lines,{}", job.lines(&cli.inputs).count()?)?;
        }
        if let Some(capacity) = cli.limit {
            let limit = job.limit("probe", capacity);
            let spans: Vec<(u64, u64)> = job
                .range(0..40u32)
                .items_per_split(1)
                .map(|_| {
                    let _permit = limit.acquire().expect("permit");
                    let start = now_us();
                    std::thread::sleep(Duration::from_millis(30));
                    (start, now_us())
                })
                .collect()?;
            let mut most = 0;
            for &(s, _) in &spans {
                most = most.max(spans.iter().filter(|&&(a, b)| a <= s && s < b).count());
            }
            writeln!(out, "limit,{}", spans.len())?;
            writeln!(out, "limit_max_holders,{most}")?;
        }
        // Worker deaths vary from run to run; the results must not.
        let varies = ["shoal.split_retries", "shoal.worker_restarts", "shoal.files_reused"];
        for (name, n) in job.report().counters.into_iter().filter(|(name, _)| !varies.contains(&name.as_str())) {
            writeln!(out, "counter,{name},{n}")?;
        }
        out.flush()?;
        Ok(())
    })
}
