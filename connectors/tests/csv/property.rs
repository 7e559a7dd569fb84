//! The parallel reader yields exactly the sequential `csv::Reader` records,
//! for random documents, split sizes and thread counts.

use crate::util::{Dir, Recs, fields, job, sequential};
use proptest::prelude::*;
use shoal::prelude::*;
use shoal::read::MmapChoice;
use shoal_connectors::csv::{CsvExt, Record};

/// One field as written in the file.
fn field() -> impl Strategy<Value = String> {
    let plain = "[a-c ;]{0,4}";
    // A quote inside an unquoted field is data to csv-core (`ab"c`).
    let stray = "[a-c][a-c\"]{0,3}";
    let quoted = proptest::collection::vec(
        prop_oneof![
            Just("a".to_string()),
            Just(",".to_string()),
            Just("\"\"".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\r".to_string()),
            Just(" ".to_string()),
        ],
        0..5,
    )
    .prop_map(|parts| format!("\"{}\"", parts.concat()));
    prop_oneof![6 => plain.prop_map(String::from), 1 => stray.prop_map(String::from), 3 => quoted]
}

/// Records of fields, each followed by its terminator except, unless
/// `trailing`, the last.
fn join(records: Vec<(Vec<String>, &str)>, trailing: bool) -> Vec<u8> {
    let mut out = String::new();
    let n = records.len();
    for (i, (fields, term)) in records.into_iter().enumerate() {
        out.push_str(&fields.join(","));
        if i + 1 < n || trailing {
            out.push_str(term);
        }
    }
    out.into_bytes()
}

/// A document: records of fields, LF or CRLF (per record), blank lines, and
/// an optional missing final terminator.
fn document() -> impl Strategy<Value = Vec<u8>> {
    let record = (proptest::collection::vec(field(), 1..5), prop_oneof![Just("\n"), Just("\r\n"), Just("\n\n")]);
    (proptest::collection::vec(record, 0..12), any::<bool>()).prop_map(|(records, trailing)| join(records, trailing))
}

fn parallel(path: &std::path::Path, threads: usize, split: u64, mmap: MmapChoice) -> Recs {
    let job = job(threads, split, mmap);
    job.csv(path).has_headers(false).flexible(true).records().map(|r: &Record| fields(r)).collect().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parallel_reads_equal_sequential(doc in document(), split in 1u64..64, threads in 1usize..5, mapped: bool) {
        let dir = Dir::new();
        let path = dir.write("doc.csv", &doc);
        let want = sequential(&doc);
        let mmap = if mapped { MmapChoice::Always } else { MmapChoice::Never };
        let got = parallel(&path, threads, split, mmap);
        prop_assert_eq!(got, want, "doc {:?}", String::from_utf8_lossy(&doc));
    }
}

/// Long fields: the tokenizer and the quote scan work on 64-byte blocks, so
/// fields and quoted runs here span block edges.
fn long_field() -> impl Strategy<Value = String> {
    let plain = "[a-c ;]{0,90}";
    let stray = "[a-c][a-c\"]{0,70}";
    let quoted = proptest::collection::vec(
        prop_oneof![
            3 => "[a-c ]{1,40}".prop_map(String::from),
            1 => Just(",".to_string()),
            1 => Just("\"\"".to_string()),
            1 => Just("\n".to_string()),
            1 => Just("\r\n".to_string()),
        ],
        0..8,
    )
    .prop_map(|parts| format!("\"{}\"", parts.concat()));
    prop_oneof![5 => plain.prop_map(String::from), 1 => stray.prop_map(String::from), 4 => quoted]
}

/// Documents of a few hundred bytes to a few kilobytes.
fn long_document() -> impl Strategy<Value = Vec<u8>> {
    let record = (proptest::collection::vec(long_field(), 1..6), prop_oneof![Just("\n"), Just("\r\n")]);
    (proptest::collection::vec(record, 0..30), any::<bool>()).prop_map(|(records, trailing)| join(records, trailing))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn long_fields_across_blocks_read_as_sequential(doc in long_document(), split in 1u64..700, threads in 1usize..4) {
        let dir = Dir::new();
        let path = dir.write("doc.csv", &doc);
        let want = sequential(&doc);
        let got = parallel(&path, threads, split, MmapChoice::Auto);
        prop_assert_eq!(got, want, "doc {:?}", String::from_utf8_lossy(&doc));
    }
}

/// Every split size of a few tricky documents, exhaustively.
#[test]
fn every_split_size_of_tricky_documents() {
    let docs: &[&[u8]] = &[
        b"a,b\n\"x\ny\",\"\"\"\"\r\n\"q,\r\n\"\"\",z",
        b"ab\"c,d\n\"e\nf\",g\"h\n\"\"\"\n\"\n",
        b"\"a\"\"\nb\",c\r\r\n\n\nd,\"\"\n",
        b"1,2\n3,4",
    ];
    let dir = Dir::new();
    for (i, doc) in docs.iter().enumerate() {
        let path = dir.write(&format!("d{i}.csv"), doc);
        let want = sequential(doc);
        for split in 1..=doc.len() as u64 + 1 {
            for threads in [1, 2, 3] {
                let got = parallel(&path, threads, split, MmapChoice::Auto);
                assert_eq!(got, want, "doc {i} split {split} threads {threads}");
            }
        }
    }
}
