//! Benches for the splitter: line framing over memory, the planner, and split
//! reading end to end (issue 2).
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-benches cargo bench --bench splitter -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! * `lines_64MiB`: `read::lines::{owned_lines, for_each_line, for_each_str_line}`
//!   over a generated in-memory buffer, against a bare `memchr` count (the floor).
//! * `owned_lines_only`: the Hadoop boundary rule alone, per split.
//! * `plan`: `SplitOptions::plan` over synthetic file lists (no file system).
//! * `byte_lines_count_256MiB`: `job.byte_lines(path).count()` over a
//!   generated file, by thread count and mmap choice.
//!
//! Every iteration checks its result against the generator's line count.

mod weather_data;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shoal::plan::{FileKind, InputFile, SplitOptions};
use shoal::prelude::*;
use shoal::read::MmapChoice;
use shoal::read::lines::{Owned, for_each_line, for_each_str_line, owned_lines};
use std::convert::Infallible;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::LazyLock;
use weather_data::{Generator, Summary};

const SEED: u64 = 0x5EED_0002;
const BUFFER_LEN: usize = 64 << 20;
const FILE_LEN: u64 = 256 << 20;

/// Generated weather lines, valid UTF-8, and what they hold.
struct Buffer {
    text: String,
    summary: Summary,
}

static BUFFER: LazyLock<Buffer> = LazyLock::new(|| {
    let mut generator = Generator::new(SEED);
    let mut bytes = Vec::new();
    generator.fill(&mut bytes, BUFFER_LEN);
    let text = String::from_utf8(bytes).expect("the generator writes UTF-8");
    let summary = generator.summary();
    assert_eq!(summary.stations, weather_data::STATIONS, "every station occurs");
    Buffer { text, summary }
});

/// Lines and line bytes (terminators excluded) seen by a framing loop.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    lines: u64,
    bytes: u64,
}

impl Tally {
    #[inline]
    fn add(&mut self, len: usize) -> Result<(), Infallible> {
        self.lines += 1;
        self.bytes += len as u64;
        Ok(())
    }
}

/// What every framing loop over [`BUFFER`] must see: every line, and every
/// byte but the `\n`s (the generator writes no `\r`).
fn expected_tally() -> Tally {
    let b = &*BUFFER;
    Tally { lines: b.summary.lines, bytes: b.text.len() as u64 - b.summary.lines }
}

fn tally_lines(region: &[u8]) -> Tally {
    let mut t = Tally::default();
    let Ok(()) = for_each_line(region, |_, line| t.add(line.len()));
    t
}

fn tally_str_lines(region: &str) -> Tally {
    let mut t = Tally::default();
    let Ok(()) = for_each_str_line(region, |_, line| t.add(line.len()));
    t
}

/// Frames `bytes` the way a line source frames a file: nominal splits of
/// `split` bytes, each finding the lines it owns in a window that starts one
/// byte early and looks 64 KiB ahead, as `source/lines.rs` maps it.
fn tally_splits(bytes: &[u8], split: usize) -> Tally {
    const LOOKAHEAD: usize = 64 << 10;
    let len = bytes.len();
    let mut t = Tally::default();
    let mut start = 0;
    while start < len {
        let end = (start + split).min(len);
        let window_start = start.saturating_sub(1);
        let window_end = (end + LOOKAHEAD).min(len);
        let window = &bytes[window_start..window_end];
        match owned_lines(window, window_start as u64, start as u64, end as u64, window_end == len) {
            Owned::Lines(region) => {
                let Ok(()) = for_each_line(&window[region], |_, line| t.add(line.len()));
            }
            Owned::Empty => {}
            Owned::NeedMore => unreachable!("generated lines are far shorter than the lookahead"),
        }
        start = end;
    }
    t
}

fn bench_framing(c: &mut Criterion) {
    let text = BUFFER.text.as_str();
    let bytes = text.as_bytes();
    let want = expected_tally();

    let mut group = c.benchmark_group("lines_64MiB");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("memchr_count", |b| {
        b.iter(|| {
            let n = memchr::memchr_iter(b'\n', black_box(bytes)).count() as u64;
            assert_eq!(n, want.lines);
        })
    });
    group.bench_function("for_each_line", |b| {
        b.iter(|| assert_eq!(tally_lines(black_box(bytes)), want));
    });
    group.bench_function("for_each_str_line", |b| {
        b.iter(|| assert_eq!(tally_str_lines(black_box(text)), want));
    });
    // What the `&str` line source does: validate the whole region once, then frame.
    group.bench_function("from_utf8+for_each_str_line", |b| {
        b.iter(|| {
            let text = std::str::from_utf8(black_box(bytes)).expect("generated text is UTF-8");
            assert_eq!(tally_str_lines(text), want);
        })
    });
    for (name, split) in [("64KiB", 64 << 10), ("1MiB", 1 << 20), ("32MiB", 32 << 20)] {
        group.bench_with_input(BenchmarkId::new("owned_lines+for_each_line", name), &split, |b, &split| {
            b.iter(|| assert_eq!(tally_splits(black_box(bytes), split), want));
        });
    }
    group.finish();

    // The boundary rule alone: one `owned_lines` per 4 KiB split, no framing.
    let split = 4usize << 10;
    let splits = bytes.len().div_ceil(split);
    let mut group = c.benchmark_group("owned_lines_only");
    group.throughput(Throughput::Elements(splits as u64));
    group.bench_function("4KiB_splits", |b| {
        b.iter(|| {
            let bytes = black_box(bytes);
            let mut owned = 0usize;
            for start in (0..bytes.len()).step_by(split) {
                let end = (start + split).min(bytes.len());
                let window_start = start.saturating_sub(1);
                let window = &bytes[window_start..];
                match owned_lines(window, window_start as u64, start as u64, end as u64, true) {
                    Owned::Lines(region) => owned += region.len(),
                    Owned::Empty => {}
                    Owned::NeedMore => unreachable!("the window reaches the end"),
                }
            }
            // Owned regions tile the buffer exactly.
            assert_eq!(owned, bytes.len());
        })
    });
    group.finish();
}

/// Synthetic file lists for the planner: nothing touches the file system.
fn file_lists() -> Vec<(&'static str, Vec<InputFile>)> {
    let regular = |path: String, len: u64| InputFile {
        path: PathBuf::from(path),
        len: Some(len),
        kind: FileKind::Regular,
        spool: None,
        modified: None,
    };
    // Small-file sizes from a fixed LCG: 1 byte to 64 KiB.
    let mut state = SEED;
    let mut next_len = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        1 + (state >> 33) % (64 << 10)
    };
    let small: Vec<InputFile> =
        (0..20_000).map(|i| regular(format!("logs/2025/day-{:03}/part-{i:05}.log", i % 365), next_len())).collect();
    let big = regular("big/weather-100GiB.txt".to_string(), 100 << 30);
    let mut mixed = vec![big.clone()];
    mixed.extend(small.iter().cloned());
    mixed.extend((0..100).map(|i| InputFile {
        path: PathBuf::from(format!("zz/archive-{i:03}.gz")),
        len: Some(1 << 20),
        kind: FileKind::Gzip,
        spool: None,
        modified: None,
    }));
    vec![("1_big_file", vec![big]), ("20000_small_files", small), ("1_big+20000_small+100_gz", mixed)]
}

fn bench_planner(c: &mut Criterion) {
    let mut group = c.benchmark_group("plan");
    for (name, files) in file_lists() {
        let options = SplitOptions { split_size: None, threads: 2 };
        let reference = options.plan(files.clone());
        let want_splits = reference.splits.len();
        let want_total: u64 = files.iter().filter_map(|f| f.len).sum();
        assert_eq!(reference.total(), want_total, "{name}: the plan covers every byte");
        group.throughput(Throughput::Elements(files.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &files, |b, files| {
            b.iter_batched(
                || files.clone(),
                |files| {
                    let plan = black_box(options).plan(files);
                    assert_eq!(plan.splits.len(), want_splits);
                    plan
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn bench_split_reading(c: &mut Criterion) {
    // One file per bench run, removed when `dir` drops at the end.
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("weather.txt");
    let summary = weather_data::write_file(&path, SEED, FILE_LEN).expect("write the weather file");
    let len = std::fs::metadata(&path).expect("stat the weather file").len();

    let mut group = c.benchmark_group("byte_lines_count_256MiB");
    group.throughput(Throughput::Bytes(len));
    group.sample_size(10);
    for (mmap_name, mmap) in [("mmap", MmapChoice::Auto), ("no_mmap", MmapChoice::Never)] {
        for threads in [1, 2] {
            let job = Job::builder().threads(threads).mmap(mmap).build().expect("job");
            let id = BenchmarkId::new(mmap_name, format!("{threads}_threads"));
            group.bench_function(id, |b| {
                b.iter(|| {
                    let n = job.byte_lines(black_box(path.as_path())).count().expect("count lines");
                    assert_eq!(n, summary.lines);
                })
            });
        }
    }
    group.finish();
    drop(dir);
}

criterion_group!(benches, bench_framing, bench_planner, bench_split_reading);
criterion_main!(benches);
