//! Benches for the per-record path: what the framework costs per line over a
//! plain loop doing the same work (issue 2).
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-benches cargo bench --bench record_path -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! * `weather_aggregate_256MiB`: the weather example's pipeline
//!   (`byte_lines → try_key_by(parse_line) → aggregate_by_key`) against the
//!   same parsing and the same table (`shoal::action::Groups`) in a single-threaded
//!   loop over the mapped file. `shoal/1_thread` against `plain_loop/*` is the
//!   framework's cost; `plain_loop/premapped` also leaves out mapping and
//!   page faults.
//! * `stage_fusion_256MiB`: `lines()`, then `.map(..)`, then `.map(..).filter(..)`,
//!   all counted on one thread, against the same loop by hand: fused stages
//!   should cost next to nothing. `lines.map(bool).sum` computes the same
//!   count with no branch per line, to tell a stage's cost from a
//!   mispredicted branch (the predicate keeps about half the lines).
//!
//! * `line_framing_256MiB`: `shoal::read::lines::for_each_line` alone,
//!   summing line lengths, over the weather file (LF) and the same lines
//!   with CRLF: the per-line cost of finding and handing on lines, which
//!   every line source pays (issue 15.7: in LF text no line reads the byte
//!   before its `\n`).
//!
//! Every iteration checks its result; before timing, the framework's and the
//! plain loop's weather reports are compared byte for byte.

// Checked with `cfg(test)` but no test harness under `cargo clippy --all-targets`,
// parse.rs keeps its test module's `use super::*` and helpers while its
// `#[test]`s vanish.
#[allow(unused_imports, dead_code)]
#[path = "../examples/weather/parse.rs"]
mod parse;
mod weather_data;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shoal::prelude::*;
use shoal::read::lines::for_each_line;
use shoal::read::{FileRange, MmapChoice};
use std::fs::File;
use std::hint::black_box;
use std::path::Path;

const SEED: u64 = 0x5EED_0002;
const FILE_LEN: u64 = 256 << 20;

/// The plain loop's table: the same as the partials of Shoal's keyed actions.
type Map = shoal::action::Groups<Vec<u8>, Stats<i64>>;

/// The weather example's pipeline.
fn shoal_aggregate(job: &Job, path: &Path) -> HashMap<Vec<u8>, Stats<i64>> {
    job.byte_lines(path)
        .try_key_by(|line: &[u8]| parse::parse_line(line).map(|(station, tenths)| (station, Stats::of(tenths))))
        .aggregate_by_key()
        .expect("the generated file parses")
}

/// The same work as [`shoal_aggregate`] as one loop: frame with memchr,
/// parse, then `upsert`.
fn plain_aggregate(bytes: &[u8]) -> Map {
    let mut map = Map::default();
    let mut add = |line: &[u8]| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let (station, tenths) = parse::parse_line(line).expect("the generated file parses");
        map.upsert(station, Stats::of(tenths), Stats::merge);
    };
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', bytes) {
        add(&bytes[start..nl]);
        start = nl + 1;
    }
    if start < bytes.len() {
        add(&bytes[start..]);
    }
    map
}

/// Maps the whole file, as the framework would for one split.
fn map_file(path: &Path) -> FileRange {
    let file = File::open(path).expect("open the weather file");
    let len = file.metadata().expect("stat the weather file").len();
    FileRange::open(&file, path, 0, len, MmapChoice::Always).expect("map the weather file")
}

/// Checks an aggregate: every station, every line.
fn check<'a>(stats: impl Iterator<Item = &'a Stats<i64>>, want: weather_data::Summary) {
    let (mut stations, mut lines) = (0usize, 0u64);
    for s in stats {
        stations += 1;
        lines += s.count;
    }
    assert_eq!((stations, lines), (want.stations, want.lines));
}

/// The weather example's output for an aggregate.
fn report<'a>(rows: impl Iterator<Item = (&'a [u8], &'a Stats<i64>)>) -> String {
    let mut rows: Vec<_> = rows.collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut out = String::new();
    for (station, s) in rows {
        let station = parse::station_name(station).expect("generated names are UTF-8");
        parse::write_row(&mut out, station, s.min, s.sum, s.count, s.max);
    }
    out
}

/// The lines of `bytes` and the sum of their lengths, by `for_each_line`.
fn frame(bytes: &[u8]) -> (u64, u64) {
    let (mut lines, mut len) = (0u64, 0u64);
    let framed = for_each_line::<()>(bytes, |_, line| {
        lines += 1;
        len += line.len() as u64;
        Ok(())
    });
    assert!(framed.is_ok());
    (lines, len)
}

/// `bytes` with every `\n` written as `\r\n`.
fn to_crlf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 8);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        match line.strip_suffix(b"\n") {
            Some(body) => {
                out.extend_from_slice(body);
                out.extend_from_slice(b"\r\n");
            }
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// The fused stages under test, shared by the pipeline and the plain loop.
fn stage_map(line: &str) -> usize {
    line.len()
}

fn stage_filter(len: &usize) -> bool {
    *len > 12
}

/// `lines().map(stage_map).filter(stage_filter).count()` by hand: validate
/// once, frame with memchr.
fn plain_map_filter_count(bytes: &[u8]) -> u64 {
    let text = std::str::from_utf8(bytes).expect("generated text is UTF-8");
    let keep = |line: &str| stage_filter(&stage_map(line.strip_suffix('\r').unwrap_or(line)));
    let mut count = 0;
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', bytes) {
        if keep(&text[start..nl]) {
            count += 1;
        }
        start = nl + 1;
    }
    if start < text.len() && keep(&text[start..]) {
        count += 1;
    }
    count
}

fn bench_record_path(c: &mut Criterion) {
    // One file per bench run, removed when `dir` drops at the end.
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("weather.txt");
    let summary = weather_data::write_file(&path, SEED, FILE_LEN).expect("write the weather file");
    assert_eq!(summary.stations, weather_data::STATIONS, "every station occurs");
    let len = std::fs::metadata(&path).expect("stat the weather file").len();
    let path = path.as_path();
    let one = Job::builder().threads(1).build().expect("job");
    let two = Job::builder().threads(2).build().expect("job");

    // Before timing anything: both paths give the example's output, byte for byte.
    let framework = shoal_aggregate(&two, path);
    let plain = plain_aggregate(&map_file(path));
    let want = report(framework.iter().map(|(k, v)| (k.as_slice(), v)));
    assert_eq!(report(plain.iter().map(|(k, v)| (&**k, v))), want, "framework and plain loop disagree");

    let mut group = c.benchmark_group("weather_aggregate_256MiB");
    group.throughput(Throughput::Bytes(len));
    group.sample_size(10);
    for (name, job) in [("1_thread", &one), ("2_threads", &two)] {
        group.bench_function(BenchmarkId::new("shoal", name), |b| {
            b.iter(|| check(shoal_aggregate(job, black_box(path)).values(), summary));
        });
    }
    group.bench_function(BenchmarkId::new("plain_loop", "map_each_iter"), |b| {
        b.iter(|| check(plain_aggregate(&map_file(black_box(path))).iter().map(|(_, v)| v), summary));
    });
    let mapped = map_file(path);
    group.bench_function(BenchmarkId::new("plain_loop", "premapped"), |b| {
        b.iter(|| check(plain_aggregate(black_box(&mapped)).iter().map(|(_, v)| v), summary));
    });
    group.finish();

    // Framing alone, on the mapped LF file and on its CRLF copy: the same
    // lines and lengths.
    let want = frame(&mapped);
    assert_eq!(want.0, summary.lines);
    let crlf = to_crlf(&mapped);
    assert_eq!(frame(&crlf), want, "CRLF framing drops the \\r");
    let mut group = c.benchmark_group("line_framing_256MiB");
    group.throughput(Throughput::Elements(summary.lines));
    group.sample_size(10);
    group.bench_function("for_each_line/lf", |b| b.iter(|| assert_eq!(frame(black_box(&mapped)), want)));
    group.bench_function("for_each_line/crlf", |b| b.iter(|| assert_eq!(frame(black_box(&crlf)), want)));
    group.finish();
    drop(crlf);

    // Stage fusion, all on one thread. The expected counts come from std.
    let text = std::str::from_utf8(&mapped).expect("generated text is UTF-8");
    let kept = text.lines().filter(|l| stage_filter(&stage_map(l))).count() as u64;
    assert_eq!(text.lines().count() as u64, summary.lines);
    drop(mapped);

    let mut group = c.benchmark_group("stage_fusion_256MiB");
    group.throughput(Throughput::Bytes(len));
    group.sample_size(10);
    group.bench_function("shoal/lines.count", |b| {
        b.iter(|| assert_eq!(one.lines(black_box(path)).count().expect("count"), summary.lines));
    });
    group.bench_function("shoal/lines.map.count", |b| {
        b.iter(|| assert_eq!(one.lines(black_box(path)).map(stage_map).count().expect("count"), summary.lines));
    });
    group.bench_function("shoal/lines.map.filter.count", |b| {
        b.iter(|| {
            let n = one.lines(black_box(path)).map(stage_map).filter(stage_filter).count().expect("count");
            assert_eq!(n, kept);
        });
    });
    // The same count without a branch per line: `filter` → `count` keeps one.
    group.bench_function("shoal/lines.map(bool).sum", |b| {
        b.iter(|| {
            let n: u64 =
                one.lines(black_box(path)).map(|l: &str| u64::from(stage_filter(&stage_map(l)))).sum().expect("sum");
            assert_eq!(n, kept);
        });
    });
    group.bench_function("plain_loop/map.filter.count", |b| {
        b.iter(|| assert_eq!(plain_map_filter_count(&map_file(black_box(path))), kept));
    });
    group.finish();
    drop(dir);
}

criterion_group!(benches, bench_record_path);
criterion_main!(benches);
