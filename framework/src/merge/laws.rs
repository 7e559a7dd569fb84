//! Property tests: every `Merge` implementation obeys identity, associativity
//! and commutativity on random inputs.

use super::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

/// Checks the laws for values built from three random inputs.
fn check_laws<M, V>(a: &[u8], b: &[u8], c: &[u8], build: impl Fn(&[u8]) -> M, view: impl Fn(M) -> V)
where
    M: Merge,
    V: PartialEq + Debug,
{
    let merged = |x: M, y: M| {
        let mut x = x;
        x.merge(y);
        x
    };
    // identity on both sides
    assert_eq!(view(merged(M::default(), build(a))), view(build(a)));
    assert_eq!(view(merged(build(a), M::default())), view(build(a)));
    // associativity
    let left = merged(merged(build(a), build(b)), build(c));
    let right = merged(build(a), merged(build(b), build(c)));
    assert_eq!(view(left), view(right));
    // commutativity
    assert_eq!(view(merged(build(a), build(b))), view(merged(build(b), build(a))));
}

fn stats_of(xs: &[u8]) -> Stats<i64> {
    let mut s = Stats::default();
    for &x in xs {
        s.add(i64::from(x) - 100);
    }
    s
}

proptest! {
    #[test]
    fn integers(a: Vec<u8>, b: Vec<u8>, c: Vec<u8>) {
        check_laws(&a, &b, &c, |x| x.iter().map(|&v| u64::from(v)).sum::<u64>(), |m| m);
    }

    #[test]
    fn min_max(a: Vec<u8>, b: Vec<u8>, c: Vec<u8>) {
        check_laws(&a, &b, &c, |x| { let mut m = Min::default(); x.iter().for_each(|&v| m.add(v)); m }, |m| m);
        check_laws(&a, &b, &c, |x| { let mut m = Max::default(); x.iter().for_each(|&v| m.add(v)); m }, |m| m);
    }

    #[test]
    fn stats(a: Vec<u8>, b: Vec<u8>, c: Vec<u8>) {
        check_laws(&a, &b, &c, stats_of, |m| m);
        let all: Vec<u8> = a.iter().chain(&b).chain(&c).copied().collect();
        let mut merged = stats_of(&a);
        merged.merge(stats_of(&b));
        merged.merge(stats_of(&c));
        prop_assert_eq!(merged, stats_of(&all));
    }

    #[test]
    fn maps(a: Vec<u8>, b: Vec<u8>, c: Vec<u8>) {
        let hash = |x: &[u8]| { let mut m = HashMap::<u8, u64>::new(); x.iter().for_each(|&v| *m.entry(v % 7).or_default() += 1); m };
        check_laws(&a, &b, &c, hash, |m| m.into_iter().collect::<BTreeMap<_, _>>());
        let brown = |x: &[u8]| { let mut m = hashbrown::HashMap::<u8, Stats<i64>>::new(); x.iter().for_each(|&v| m.entry(v % 5).or_default().add(i64::from(v))); m };
        check_laws(&a, &b, &c, brown, |m| m.into_iter().collect::<BTreeMap<_, _>>().into_iter().map(|(k, s)| (k, s.count, s.sum, s.min, s.max)).collect::<Vec<_>>());
        let btree = |x: &[u8]| { let mut m = BTreeMap::<u8, Max<u8>>::new(); x.iter().for_each(|&v| m.entry(v % 3).or_default().add(v)); m };
        check_laws(&a, &b, &c, btree, |m| m);
    }

    #[test]
    fn ordered(a: Vec<u8>, b: Vec<u8>, c: Vec<u8>) {
        // Each input is one run; the tag is derived from the content so runs are unique per test.
        let build = |x: &[u8]| { let mut o = Ordered::default(); o.push_run(x.len() as u64 * 1000 + u64::from(x.first().copied().unwrap_or(0)), x.to_vec()); o };
        if a.len() != b.len() && b.len() != c.len() && a.len() != c.len() {
            check_laws(&a, &b, &c, build, |o| o.into_vec());
        }
    }

    #[test]
    fn top_k(a: Vec<u8>, b: Vec<u8>, c: Vec<u8>, k in 0usize..6) {
        let build = |x: &[u8]| { let mut t = TopK::new(k); x.iter().for_each(|&v| t.add(v)); t };
        check_laws(&a, &b, &c, build, |t| t.into_sorted_vec());
        let mut all: Vec<u8> = a.iter().chain(&b).chain(&c).copied().collect();
        all.sort_unstable_by(|x, y| y.cmp(x));
        all.truncate(k);
        let mut merged = build(&a);
        merged.merge(build(&b));
        merged.merge(build(&c));
        prop_assert_eq!(merged.into_sorted_vec(), all);
    }

    #[test]
    fn options_and_tuples(a: Vec<u8>, b: Vec<u8>, c: Vec<u8>) {
        let build = |x: &[u8]| (x.first().map(|&v| u32::from(v)), x.len() as u64, stats_of(x));
        check_laws(&a, &b, &c, build, |m| m);
    }
}
