//! Benches for the CSV source (issue 4): how fast records come out of a file,
//! by item type and by how much of the input is quoted.
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-csv cargo bench --bench csv_records -- --warm-up-time 1 --measurement-time 4
//! ```
//!
//! Inputs (generated once, seeded, ~64 MiB each, in a temp dir), the same
//! rows written four ways:
//!
//! * `sales`: like `shoal-datasets sales`: 2% of notes quoted with commas,
//!   doubled quotes and line breaks, 13% quoted otherwise.
//! * `newlines`: every note is quoted and holds a line break.
//! * `quoted`: the same notes with the line break replaced by a space, quoted.
//! * `plain`: the same notes unquoted (no quote byte in the file).
//!
//! Groups:
//!
//! * `records_1t` / `records_2t`: `job.csv(path).records().count()` on one
//!   and two threads, per input: planning (the parallel quote scan) plus
//!   reading. The throughput of `newlines` against `quoted` and `plain` is the
//!   cost of quoted line breaks.
//! * `items_1t`: `records()` (`&Record`) against `byte_records()`
//!   (`&csv::ByteRecord`) and `string_records()`, and the `csv` crate's
//!   sequential `read_byte_record` loop over the same bytes in memory.
//!
//! Every iteration checks the record count.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shoal::prelude::*;
use shoal_connectors::csv::{ByteRecord, CsvExt, Dialect};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::LazyLock;

const ROWS: u64 = 1_000_000;

/// The four inputs, their paths and the row count.
struct Inputs {
    _dir: tempfile::TempDir,
    files: Vec<(&'static str, PathBuf, Vec<u8>)>,
}

/// A small seeded generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const REGIONS: [&str; 8] =
    ["North America", "Europe", "Asia Pacific", "Latin America", "Middle East", "Africa", "Oceania", "Nordics"];
const NOTES: [&str; 4] = ["Call before delivery\nDock 4", "Line 1\nLine 2", "Leave at door\nring twice", "gift\nwrap"];

/// One row; `style` picks how the note is written.
fn row(out: &mut String, rng: &mut Rng, id: u64, style: &str) {
    let note = NOTES[rng.below(4) as usize];
    let (y, m, d) = (2022 + rng.below(5), 1 + rng.below(12), 1 + rng.below(28));
    let region = REGIONS[rng.below(8) as usize];
    let (product, qty, cents) = (rng.below(500), 1 + rng.below(50), 50 + rng.below(99_950));
    let kind = rng.below(100);
    out.push_str(&format!(
        "{id},{y}-{m:02}-{d:02},{region},Widget {product:03},{qty},{}.{:02},",
        cents / 100,
        cents % 100
    ));
    match style {
        "sales" if kind < 2 => out.push_str(&format!("\"{}, \"\"ok\"\"\"", note)),
        "sales" if kind < 15 => out.push_str("\"\""),
        "sales" if kind < 50 => out.push_str("paid by card"),
        "sales" => {}
        "newlines" => out.push_str(&format!("\"{note}\"")),
        "quoted" => out.push_str(&format!("\"{}\"", note.replace('\n', " "))),
        _ => out.push_str(&note.replace('\n', " ")),
    }
    out.push('\n');
}

static INPUTS: LazyLock<Inputs> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for style in ["sales", "newlines", "quoted", "plain"] {
        let mut rng = Rng(0x5EED_0004);
        let mut text = String::from("order_id,date,region,product,quantity,unit_price,note\n");
        for id in 1..=ROWS {
            row(&mut text, &mut rng, id, style);
        }
        let path = dir.path().join(format!("{style}.csv"));
        std::fs::write(&path, &text).expect("write input");
        files.push((style, path, text.into_bytes()));
    }
    Inputs { _dir: dir, files }
});

fn job(threads: usize) -> Job {
    Job::builder().threads(threads).build().expect("job")
}

fn records(c: &mut Criterion) {
    for threads in [1, 2] {
        let mut group = c.benchmark_group(format!("records_{threads}t"));
        group.sample_size(10);
        let job = job(threads);
        for (style, path, bytes) in &INPUTS.files {
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_with_input(BenchmarkId::from_parameter(style), path, |b, path| {
                b.iter(|| {
                    let n = job.csv(path).records().count().expect("count");
                    assert_eq!(n, ROWS);
                    black_box(n)
                })
            });
        }
        group.finish();
    }
}

fn items(c: &mut Criterion) {
    let mut group = c.benchmark_group("items_1t");
    group.sample_size(10);
    let job = job(1);
    let (_, path, bytes) = &INPUTS.files[0];
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("records", |b| b.iter(|| assert_eq!(job.csv(path).records().count().unwrap(), ROWS)));
    group
        .bench_function("byte_records", |b| b.iter(|| assert_eq!(job.csv(path).byte_records().count().unwrap(), ROWS)));
    group.bench_function("string_records", |b| {
        b.iter(|| assert_eq!(job.csv(path).string_records().count().unwrap(), ROWS))
    });
    group.bench_function("csv_crate_sequential", |b| {
        b.iter(|| {
            let mut rdr = Dialect::default().reference_builder().from_reader(&bytes[..]);
            let mut rec = ByteRecord::new();
            let mut n = 0u64;
            while rdr.read_byte_record(&mut rec).expect("read") {
                n += 1;
            }
            assert_eq!(n, ROWS + 1, "header included");
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, records, items);
criterion_main!(benches);
