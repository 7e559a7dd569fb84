//! Every action, on every source shape and executor configuration, against a
//! sequential reference computed with std iterators.

use crate::util::{Dir, configs};
use shoal::prelude::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

fn numbers() -> Vec<i64> {
    // Deterministic, with negatives, duplicates and a spread of magnitudes.
    (0..2000i64).map(|i| (i * 7919 % 1009) - 500).collect()
}

fn sorted<K: Ord, V>(map: HashMap<K, V>) -> BTreeMap<K, V> {
    map.into_iter().collect()
}

#[test]
fn numeric_actions_match_std() {
    let xs = numbers();
    for (label, job) in configs([1, 7, 64, 5000]) {
        let chunk = match label.split_whitespace().next() {
            Some(s) => s.trim_start_matches("split=").parse::<usize>().unwrap(),
            None => 1,
        };
        let src = || job.iter(xs.clone()).items_per_split(chunk).map(|x: &i64| *x);
        assert_eq!(src().count().unwrap(), xs.len() as u64, "{label}");
        assert_eq!(src().sum::<i64>().unwrap(), xs.iter().sum::<i64>(), "{label}");
        assert_eq!(src().min().unwrap(), xs.iter().copied().min(), "{label}");
        assert_eq!(src().max().unwrap(), xs.iter().copied().max(), "{label}");
        assert_eq!(src().reduce(|a, b| a.max(b)).unwrap(), xs.iter().copied().max(), "{label}");
        let folded = src().fold(|| 0i64, |acc, x| acc + x * x, |a, b| a + b).unwrap();
        assert_eq!(folded, xs.iter().map(|x| x * x).sum::<i64>(), "{label}");
        let stats = src().stats().unwrap();
        assert_eq!((stats.count, stats.sum, stats.min, stats.max), (2000, xs.iter().sum(), -500, 508), "{label}");
        let mut want_top = xs.clone();
        want_top.sort_unstable_by(|a, b| b.cmp(a));
        want_top.truncate(10);
        assert_eq!(src().top_k(10).unwrap(), want_top, "{label}");
        assert_eq!(src().collect::<i64>().unwrap(), xs, "{label}");
        let filtered: Vec<i64> = src().filter(|x| x % 3 == 0).collect().unwrap();
        assert_eq!(filtered, xs.iter().copied().filter(|x| x % 3 == 0).collect::<Vec<_>>(), "{label}");
        let flat: Vec<i64> = src().flat_map(|x| [x, -x]).collect().unwrap();
        assert_eq!(flat, xs.iter().flat_map(|&x| [x, -x]).collect::<Vec<_>>(), "{label}");
        let fm: Vec<i64> = src().filter_map(|x| (x > 0).then_some(x * 2)).collect().unwrap();
        assert_eq!(fm, xs.iter().filter(|&&x| x > 0).map(|x| x * 2).collect::<Vec<_>>(), "{label}");
        let seen = AtomicU64::new(0);
        src()
            .inspect(|_| {
                seen.fetch_add(1, Ordering::Relaxed);
            })
            .for_each(|x| assert!(x >= -500))
            .unwrap();
        assert_eq!(seen.load(Ordering::Relaxed), 2000, "{label}");
        let empty: Option<i64> = job.iter(Vec::<i64>::new()).map(|x: &i64| *x).min().unwrap();
        assert_eq!(empty, None);
    }
}

#[test]
fn keyed_actions_match_std() {
    let xs = numbers();
    let mut want_sum: BTreeMap<i64, i64> = BTreeMap::new();
    let mut want_count: BTreeMap<i64, u64> = BTreeMap::new();
    for &x in &xs {
        *want_sum.entry(x.rem_euclid(13)).or_default() += x;
        *want_count.entry(x.rem_euclid(5)).or_default() += 1;
    }
    for (label, job) in configs([1, 3, 100, 10_000]) {
        let pairs = || job.iter(xs.clone()).map(|&x: &i64| (x.rem_euclid(13), x));
        assert_eq!(sorted(pairs().aggregate_by_key().unwrap()), want_sum, "{label}");
        assert_eq!(sorted(pairs().reduce_by_key(|a: &mut i64, b| *a += b).unwrap()), want_sum, "{label}");
        let counts = job.iter(xs.clone()).map(|&x: &i64| x.rem_euclid(5)).count_by_value().unwrap();
        assert_eq!(sorted(counts), want_count, "{label}");
    }
}

#[test]
fn borrowed_keys_from_lines_match_std() {
    let dir = Dir::new();
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&format!("key{};{}\n", i % 17, i));
    }
    let path = dir.write("kv.txt", &text);
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line.split_once(';').unwrap();
        *want.entry(k.to_owned()).or_default() += v.parse::<u64>().unwrap();
    }
    for (label, job) in configs([1, 10, 333, 1 << 20]) {
        let got: HashMap<String, u64> = job
            .lines(&path)
            .key_by(|line: &str| {
                let (k, v) = line.split_once(';').unwrap();
                (k, v.parse::<u64>().unwrap())
            })
            .aggregate_by_key()
            .unwrap();
        assert_eq!(sorted(got), want, "{label}");
        let counted = job.lines(&path).map(|l: &str| l.split(';').next().unwrap().to_owned()).count_by_value().unwrap();
        assert_eq!(counted.values().sum::<u64>(), 500, "{label}");
        let stats: HashMap<String, Stats<i64>> = job
            .byte_lines(&path)
            .try_key_by(|line: &[u8]| {
                let text = std::str::from_utf8(line)?;
                let (k, v) = text.split_once(';').ok_or("no ;")?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((k, Stats::of(v.parse::<i64>()?)))
            })
            .aggregate_by_key()
            .unwrap();
        assert_eq!(stats.values().map(|s| s.count).sum::<u64>(), 500, "{label}");
    }
}

/// Keys of every length from 0 to 40 bytes (the short-key comparison has a
/// path per length class), which differ from each other in their first, a
/// middle or their last byte; as `&str`, `&[u8]` and `(&str, &str)` pairs.
#[test]
fn borrowed_keys_of_every_length_and_pairs_match_std() {
    let dir = Dir::new();
    let mut keys = Vec::new();
    for len in 0..=40usize {
        let base = "k".repeat(len);
        keys.push(base.clone());
        for at in [0, len / 2, len.saturating_sub(1)] {
            if len > 0 {
                let mut k = base.clone().into_bytes();
                k[at] = b'z';
                keys.push(String::from_utf8(k).unwrap());
            }
        }
    }
    keys.sort();
    keys.dedup();
    let mut text = String::new();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    let mut want_pairs: BTreeMap<(String, String), u64> = BTreeMap::new();
    for i in 0..1500usize {
        let (a, b) = (&keys[i * 7 % keys.len()], &keys[i * 13 % keys.len()]);
        text.push_str(&format!("{a}|{b};{i}\n"));
        *want.entry(format!("{a}|{b}")).or_default() += i as u64;
        *want_pairs.entry((a.clone(), b.clone())).or_default() += i as u64;
    }
    let path = dir.write("keys.txt", &text);
    fn split(line: &str) -> (&str, u64) {
        let (k, v) = line.rsplit_once(';').unwrap();
        (k, v.parse::<u64>().unwrap())
    }
    for (label, job) in configs([61, 4096, 1 << 20]) {
        let got: HashMap<String, u64> = job.lines(&path).key_by(split).aggregate_by_key().unwrap();
        assert_eq!(sorted(got), want, "{label}");
        let bytes: HashMap<Vec<u8>, u64> = job
            .byte_lines(&path)
            .key_by(|line: &[u8]| {
                let at = line.iter().rposition(|&b| b == b';').unwrap();
                (&line[..at], std::str::from_utf8(&line[at + 1..]).unwrap().parse::<u64>().unwrap())
            })
            .reduce_by_key(|a: &mut u64, b| *a += b)
            .unwrap();
        let bytes: BTreeMap<String, u64> = bytes.into_iter().map(|(k, v)| (String::from_utf8(k).unwrap(), v)).collect();
        assert_eq!(bytes, want, "{label}");
        let pairs: HashMap<(String, String), u64> = job
            .lines(&path)
            .key_pair_by(|line: &str| {
                let (k, v) = split(line);
                (k.split_once('|').unwrap(), v)
            })
            .aggregate_by_key()
            .unwrap();
        assert_eq!(sorted(pairs), want_pairs, "{label}");
        let pairs: HashMap<(String, String), u64> = job
            .lines(&path)
            .try_key_pair_by(|line: &str| {
                let (k, v) = line.rsplit_once(';').ok_or("no ;")?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>((k.split_once('|').ok_or("no |")?, v.parse::<u64>()?))
            })
            .aggregate_by_key()
            .unwrap();
        assert_eq!(sorted(pairs), want_pairs, "{label}");
    }
}

/// Keys of three and four borrowed parts, of mixed types (`&str` and
/// `&[u8]`), group exactly like owned tuples in a `BTreeMap`, for every split
/// size and thread count; a failing key function names file, line and offset.
#[test]
fn borrowed_triples_and_quads_match_std() {
    let dir = Dir::new();
    let mut text = String::new();
    let mut want3: BTreeMap<(String, String, Vec<u8>), u64> = BTreeMap::new();
    let mut want4: BTreeMap<(String, String, String, Vec<u8>), u64> = BTreeMap::new();
    let parts = ["", "a", "eu", "tea", "a-longer-key-part", "zz"];
    for i in 0..2000usize {
        let (a, b, c, d) = (parts[i % 6], parts[i * 5 % 6], parts[i * 7 % 4], parts[i / 3 % 6]);
        text.push_str(&format!("{a},{b},{c},{d};{i}\n"));
        *want3.entry((a.into(), b.into(), c.as_bytes().to_vec())).or_default() += i as u64;
        *want4.entry((a.into(), b.into(), c.into(), d.as_bytes().to_vec())).or_default() += i as u64;
    }
    let path = dir.write("keys.txt", &text);
    fn fields(line: &str) -> ([&str; 4], u64) {
        let (k, v) = line.rsplit_once(';').unwrap();
        let mut f = k.split(',');
        let mut next = || f.next().unwrap();
        ([next(), next(), next(), next()], v.parse().unwrap())
    }
    for (label, job) in configs([61, 4096, 1 << 20]) {
        let got3: HashMap<(String, String, Vec<u8>), u64> = job
            .lines(&path)
            .key_triple_by(|line: &str| {
                let ([a, b, c, _], v) = fields(line);
                ((a, b, c.as_bytes()), v)
            })
            .aggregate_by_key()
            .unwrap();
        assert_eq!(sorted(got3), want3, "{label}");
        let got4: HashMap<(String, String, String, Vec<u8>), u64> = job
            .lines(&path)
            .try_key_quad_by(|line: &str| {
                let ([a, b, c, d], v) = fields(line);
                Ok::<_, shoal::BoxError>(((a, b, c, d.as_bytes()), v))
            })
            .reduce_by_key(|acc: &mut u64, v| *acc += v)
            .unwrap();
        assert_eq!(sorted(got4), want4, "{label}");
    }
    let bad = dir.write("bad.txt", "a,b,c;1\na,b;2\n");
    let err = configs([1 << 20])[0]
        .1
        .lines(&bad)
        .try_key_triple_by(|line: &str| {
            let (k, v) = line.rsplit_once(';').ok_or("no ;")?;
            let mut f = k.split(',');
            let a = f.next().ok_or("no first part")?;
            let b = f.next().ok_or("no second part")?;
            let c = f.next().ok_or("no third part")?;
            Ok::<_, shoal::BoxError>(((a, b, c), v.parse::<u64>()?))
        })
        .count()
        .unwrap_err();
    assert_eq!((err.line(), err.offset()), (Some(2), Some(8)), "{err}");
    assert!(err.to_string().contains("no third part"), "{err}");
}

#[test]
fn ranges_cover_every_number_once() {
    for (label, job) in configs([1, 9, 1000]) {
        let chunk: u64 = label.split_whitespace().next().unwrap().trim_start_matches("split=").parse().unwrap();
        assert_eq!(job.range(0..1000u64).items_per_split(chunk).sum::<u64>().unwrap(), 499_500, "{label}");
        assert_eq!(
            job.range(-50..50i32).items_per_split(chunk).collect::<i32>().unwrap(),
            (-50..50).collect::<Vec<_>>()
        );
        assert_eq!(job.range(5..5u8).count().unwrap(), 0);
    }
}

/// Counts made outside any split stay with the thread (and so the job) that
/// made them: a second `job.report()` still has them, and a job on another
/// thread never takes them.
#[test]
fn counts_outside_splits_stay_with_their_job() {
    let job = Job::builder().threads(1).build().unwrap();
    shoal::report::count("outside.here", 2);
    let other = std::thread::spawn(|| {
        let job = Job::builder().threads(1).build().unwrap();
        shoal::report::count("outside.there", 5);
        assert_eq!(job.range(0..3u32).count().unwrap(), 3);
        job.report().counters
    })
    .join()
    .unwrap();
    assert_eq!(other.get("outside.there"), Some(&5));
    assert_eq!(other.get("outside.here"), None, "another thread's job does not take this thread's counts");
    assert_eq!(job.report().counter("outside.here"), 2);
    assert_eq!(job.report().counter("outside.here"), 2, "a second call still sees them");
    assert_eq!(job.range(0..3u32).count().unwrap(), 3);
    assert_eq!(job.report().counter("outside.here"), 2, "and so does an action after them");
}
