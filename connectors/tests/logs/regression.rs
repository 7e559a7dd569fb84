//! Regression tests named after their issue.

use crate::util::{ACCESS, Dir, configs};
use shoal::OnMalformed;
use shoal::prelude::*;
use shoal_connectors::logs::LogsExt;

/// Issue 18.2: rejects from plain (mapped) files name their line, in every
/// split, under skip and quarantine as under fail.
#[test]
fn issue_18_2_rejects_of_mapped_files_name_their_line() {
    let dir = Dir::new();
    let good: Vec<&str> = ACCESS.lines().collect();
    let mut text = String::new();
    let mut want = Vec::new();
    for i in 0..400usize {
        if i % 19 == 4 {
            want.push((i as u64 + 1, text.len() as u64));
            text.push_str(&format!("garbage {i}\n"));
        } else if i % 29 == 6 {
            want.push((i as u64 + 1, text.len() as u64));
            text.push_str("bad \u{0} utf8 \u{0}\n");
            // Not UTF-8: rejected by the region check, not the parser.
            text.pop();
            text.push('\n');
        } else {
            text.push_str(good[i % good.len()]);
            text.push('\n');
        }
    }
    let mut bytes = text.into_bytes();
    for b in bytes.iter_mut() {
        if *b == 0 {
            *b = 0xff;
        }
    }
    let path = dir.write("a.log", &bytes);
    for (label, job) in configs([100, 4096, 1 << 20]) {
        let q = dir.path().join(format!("q-{}.jsonl", label.replace([' ', '='], "_")));
        job.access_log(&path).on_malformed(OnMalformed::Quarantine(q.clone())).count().unwrap();
        let got: Vec<(u64, u64)> = std::fs::read_to_string(&q)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| {
                (v["line"].as_u64().unwrap_or_else(|| panic!("{label}: no line in {v}")), v["offset"].as_u64().unwrap())
            })
            .collect();
        assert_eq!(got, want, "{label}");
        let before = job.report().rejects.count;
        job.access_log(&path).on_malformed(OnMalformed::Skip).count().unwrap();
        let report = job.report();
        assert_eq!(report.rejects.count - before, want.len() as u64, "{label}");
        for s in &report.rejects.samples {
            assert!(want.contains(&(s.line.expect("a line number"), s.offset)), "{label}: {s}");
        }
    }
}
