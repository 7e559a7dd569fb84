//! CSV and JSON lines, single-file and partitioned.

use crate::util::{HOSTILE, Row, jobs, names, rows, tree};
use shoal::prelude::*;
use shoal_connectors::logs::LogsExt;
use shoal_connectors::sink::partition::{escape_value, unescape_value};
use shoal_connectors::sink::{Output, SinkExt};

#[test]
fn csv_keeps_input_order_and_quotes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rows.csv");
    for (label, job) in jobs() {
        let written = job.iter(rows()).map(|r: &Row| r.clone()).write(Output::csv(&out)).unwrap();
        assert_eq!(written.rows, 40, "{label}");
        let back: Vec<Row> = csv::Reader::from_path(&out).unwrap().deserialize().map(Result::unwrap).collect();
        assert_eq!(back, rows(), "{label}");
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.starts_with("id,key,note\n0,../x,\"comma, \"\"quote\"\"\nnewline\"\n1,/,n1\n"), "{label}");
        assert_eq!(names(dir.path()), ["rows.csv"], "{label}: no temporary files");
    }
}

#[test]
fn partitions_escape_hostile_keys_and_stay_inside() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (label, job) in jobs() {
        let written = job
            .iter(rows())
            .map(|r: &Row| r.clone())
            .write(Output::json_lines(&out).partition_by("key", |r: &Row| r.key.clone()))
            .unwrap();
        assert_eq!(written.rows, 40);
        assert_eq!(written.files.len(), HOSTILE.len(), "{label}: no two keys share a folder");
        assert_eq!(names(dir.path()), ["out"], "{label}: nothing outside the output folder");
        let mut folders = names(&out);
        let mut want: Vec<String> = HOSTILE.iter().map(|k| format!("key={}", escape_value(k))).collect();
        want.sort();
        folders.sort();
        assert_eq!(folders, want, "{label}");
        for (key_index, key) in HOSTILE.iter().enumerate() {
            let folder = format!("key={}", escape_value(key));
            assert_eq!(unescape_value(&folder["key=".len()..]), *key);
            let text = std::fs::read_to_string(out.join(&folder).join("part-00000.jsonl")).unwrap();
            let ids: Vec<u64> = text.lines().map(|l| serde_json::from_str::<Row>(l).unwrap()).map(|r| r.id).collect();
            let want: Vec<u64> = (0..40).filter(|i| i % HOSTILE.len() as u64 == key_index as u64).collect();
            assert_eq!(ids, want, "{label} {key:?}");
        }
    }
}

#[test]
fn borrowed_log_records_write_as_csv_partitioned_by_status() {
    let dir = tempfile::tempdir().unwrap();
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/samples/logs");
    let out = dir.path().join("by-status");
    let job = Job::builder().threads(2).build().unwrap();
    let written = job
        .access_log(samples)
        .on_malformed(shoal::OnMalformed::Skip)
        .write(
            Output::csv(&out)
                .partition_by("status", |r: &shoal_connectors::logs::AccessRecord<'_>| r.status.to_string()),
        )
        .unwrap();
    assert_eq!(written.rows, 146);
    let files = tree(&out);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "status=200/part-00000.csv",
            "status=301/part-00000.csv",
            "status=302/part-00000.csv",
            "status=304/part-00000.csv",
            "status=404/part-00000.csv",
            "status=500/part-00000.csv"
        ]
    );
    let header = files[0].1.lines().next().unwrap();
    assert_eq!(header, "host,ident,user,time,method,path,protocol,status,bytes,referer,user_agent");
    assert!(files[3].1.lines().nth(1).unwrap().contains(",304,,"), "304 has no bytes: {}", files[3].1);
    assert_eq!(files[0].1.lines().count(), 126);
}

#[test]
fn empty_output_and_unwritable_rows() {
    let dir = tempfile::tempdir().unwrap();
    let job = Job::builder().threads(2).build().unwrap();
    let out = dir.path().join("none.csv");
    let written = job.range(0..0u64).write(Output::csv(&out)).unwrap();
    assert_eq!((written.rows, std::fs::read(&out).unwrap().len()), (0, 0));
    // CSV cannot hold a nested map: an error, and no file.
    let nested = dir.path().join("nested.csv");
    let err = job
        .range(0..3u64)
        .map(|n| std::collections::BTreeMap::from([("n", vec![n])]))
        .write(Output::csv(&nested))
        .unwrap_err();
    assert!(err.to_string().contains("CSV"), "{err}");
    assert!(!nested.exists());
    assert_eq!(names(dir.path()), ["none.csv"]);
}

#[test]
fn nested_partitions_write_one_folder_per_level() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (label, job) in jobs() {
        let written = job
            .iter(rows())
            .map(|r: &Row| r.clone())
            .write(
                Output::csv(&out)
                    .partition_by("parity", |r: &Row| if r.id.is_multiple_of(2) { "even" } else { "odd" })
                    .partition_by("tens", |r: &Row| (r.id / 10).to_string())
                    .partition_by("key", |r: &Row| r.key.clone()),
            )
            .unwrap();
        assert_eq!(written.rows, 40, "{label}");
        let files = tree(&out);
        assert_eq!(files.len(), written.files.len(), "{label}");
        assert!(files.iter().all(|(p, _)| p.matches('/').count() == 3), "{label}: three levels");
        let mut back: Vec<Row> = written
            .files
            .iter()
            .flat_map(|f| csv::Reader::from_path(f).unwrap().deserialize().map(Result::unwrap).collect::<Vec<Row>>())
            .collect();
        back.sort_by_key(|r| r.id);
        assert_eq!(back, rows(), "{label}: every row once");
        let first = &written.files[0];
        assert!(first.starts_with(out.join("parity=even/tens=0")), "{label}: {}", first.display());
    }
}

/// Issue 15.3: an output larger than `--memory-limit` is written from
/// chunks spilled on the way (in every thread's partial and in the merge),
/// byte for byte as an unbounded run writes it, single-file and
/// partitioned, on one thread and two; the spill directory is left empty.
#[test]
fn an_output_past_the_memory_limit_is_written_from_spilled_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let read_tree = |root: &std::path::Path| {
        let mut files = tree(root);
        files.sort();
        files
    };
    let unbounded = Job::builder().threads(2).build().unwrap();
    let want_csv = dir.path().join("want.csv");
    let want_parts = dir.path().join("want-parts");
    fn items(job: &Job, per_split: u64) -> impl for<'a> shoal::Pipeline<Item<'a> = (u64, String, u64)> + '_ {
        job.range(0..300_000u64)
            .items_per_split(per_split)
            .map(|i: u64| (i, format!("row {i} with a note long enough to weigh something"), i % 7))
    }
    items(&unbounded, 5_000).write(Output::csv(&want_csv)).unwrap();
    items(&unbounded, 5_000)
        .write(Output::json_lines(&want_parts).partition_by("m", |r: &(u64, String, u64)| r.2.to_string()))
        .unwrap();
    let want_parts = read_tree(&want_parts);
    assert_eq!(want_parts.len(), 7);
    // 5,000 rows a split, and all of them in one split (as a stream is),
    // whose chunks are cut into pieces under the limit.
    for (threads, per_split) in [(1, 5_000), (2, 5_000), (2, 300_000)] {
        let job = Job::builder().threads(threads).memory_limit(4 << 20).spill_dir(&spill).build().unwrap();
        let got_csv = dir.path().join(format!("got-{threads}-{per_split}.csv"));
        let got_parts = dir.path().join(format!("got-parts-{threads}-{per_split}"));
        let written = items(&job, per_split).write(Output::csv(&got_csv)).unwrap();
        assert_eq!(written.rows, 300_000);
        assert!(
            std::fs::read(&got_csv).unwrap() == std::fs::read(&want_csv).unwrap(),
            "threads={threads} per_split={per_split}: CSV differs"
        );
        items(&job, per_split)
            .write(Output::json_lines(&got_parts).partition_by("m", |r: &(u64, String, u64)| r.2.to_string()))
            .unwrap();
        assert!(read_tree(&got_parts) == want_parts, "threads={threads} per_split={per_split}: partitions differ");
        let rounds = job.report().counters.get("spill rounds").copied().unwrap_or(0);
        assert!(rounds >= 4, "threads={threads} per_split={per_split}: {rounds} spill rounds");
        assert_eq!(std::fs::read_dir(&spill).unwrap().count(), 0, "threads={threads}: spill directory left");
    }
}
