//! Benches for keyed actions at high cardinality (issue 15.4): the phases
//! of a sorted group-by after the records are read, on one million keys.
//!
//! ```text
//! CARGO_TARGET_DIR=/tmp/target-benches cargo bench --bench keyed -- --warm-up-time 1 --measurement-time 5
//! ```
//!
//! * `sorted_1M_keys/absorb`: absorbing 2M records with borrowed keys
//!   into one partial (the hot table fills with the first 16K keys; the
//!   rest go to the radix partitions), on one thread.
//! * `sorted_1M_keys/finish`: aggregating and sorting the radix partitions
//!   of a partial that holds 2M pairs over 1M keys (`K<n>`, `Stats<i64>`,
//!   as the `keys` dataset), on two threads.
//! * `sorted_1M_keys/iterate`: iterating the sorted result: the merge of
//!   its runs through the tree of losers (on its own thread) and the
//!   caller's decoding of each group.
//!
//! Every iteration checks its result: `absorb` the pairs that left the
//! hot table, `finish` the number of groups, `iterate` their order, number
//! and the records their values count.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use shoal::Stats;
use shoal::action::{Absorb, Action, AggregateByKey, Sorted, SortedGroups};
use std::hint::black_box;

const KEYS: u64 = 1_000_000;
const PAIRS: u64 = 2 * KEYS;

type Action2 = Sorted<AggregateByKey<Vec<u8>, Stats<i64>>>;

fn action() -> Action2 {
    Sorted(AggregateByKey::new().threads(2))
}

/// [`PAIRS`] records over [`KEYS`] keys, in a scattered order: `K<n>` and a
/// temperature in tenths.
fn records() -> Vec<(Vec<u8>, i64)> {
    let mut x = 0x5EED_0015_u64;
    (0..PAIRS)
        .map(|i| {
            // A multiplicative walk over the keys: every key twice.
            let key = (i * 7_919) % KEYS;
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (format!("K{key}").into_bytes(), (x >> 33) as i64 % 1_000 - 500)
        })
        .collect()
}

/// A partial of `records`, absorbed with borrowed keys as a pipeline does.
fn absorb(action: &Action2, records: &[(Vec<u8>, i64)]) -> <Action2 as Action>::Partial {
    let mut partial = action.identity();
    for (key, tenths) in records {
        action.absorb(&mut partial, (key.as_slice(), Stats::of(*tenths))).expect("absorbs");
    }
    partial
}

/// Iterates `groups`, checking their order and number.
fn iterate(groups: SortedGroups<Vec<u8>, Stats<i64>>) {
    let mut last: Option<Vec<u8>> = None;
    let (mut n, mut records) = (0u64, 0u64);
    for group in groups {
        let (key, stats) = group.expect("reads back");
        assert!(last.as_ref().is_none_or(|l| *l < key), "out of order");
        records += black_box(stats).count;
        last = Some(key);
        n += 1;
    }
    assert_eq!((n, records), (KEYS, PAIRS));
}

fn sorted(c: &mut Criterion) {
    let action = action();
    let mut group = c.benchmark_group("sorted_1M_keys");
    group.sample_size(10);
    group.throughput(Throughput::Elements(KEYS));
    let records = records();
    let partial = || absorb(&action, &records);
    group.bench_function("absorb", |b| {
        // The partial is dropped outside the timing.
        b.iter_with_large_drop(|| {
            let p = absorb(&action, &records);
            // The first 16K keys stay in the hot table, both their records.
            assert_eq!(p.partitioned_pairs() + 2 * 16_384, PAIRS);
            p
        });
    });
    group.bench_function("finish", |b| {
        b.iter_batched(
            partial,
            |p| {
                let groups = action.finish(p).expect("finishes");
                assert_eq!(groups.len() as u64, KEYS);
                groups
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("iterate", |b| {
        b.iter_batched(|| action.finish(partial()).expect("finishes"), iterate, BatchSize::PerIteration);
    });
    group.finish();
}

criterion_group!(benches, sorted);
criterion_main!(benches);
