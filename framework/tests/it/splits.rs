//! Every record is read exactly once, for every split size: the lines of a
//! split-up read equal a sequential `str::lines` of each file.

use crate::util::{Dir, configs};
use shoal::prelude::*;

const CORPUS: &[(&str, &str)] = &[
    ("lf", "alpha\nbeta\ngamma\n"),
    ("crlf", "alpha\r\nbeta\r\n\r\ngamma\r\n"),
    ("no-final-newline", "alpha\nbeta\ngamma"),
    ("empty-lines", "\n\na\n\n\nb\n\n"),
    ("empty", ""),
    ("one-newline", "\n"),
    ("utf8", "Zürich;1.0\nSão Paulo;2.0\n日本語テキスト\n🦀🦀🦀\nKraków;-3.5"),
    ("long-line", "short\nthis line is much longer than most of the split sizes tried here\nend\n"),
];

fn reference(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

#[test]
fn every_split_size_reads_every_line_once() {
    let dir = Dir::new();
    for (name, text) in CORPUS {
        let path = dir.write(name, text);
        let want = reference(text);
        for (label, job) in configs(1..=text.len() as u64 + 1) {
            let got: Vec<String> = job.lines(&path).map(str::to_owned).collect().unwrap();
            assert_eq!(got, want, "{name} {label}");
            let bytes: Vec<Vec<u8>> = job.byte_lines(&path).map(<[u8]>::to_vec).collect().unwrap();
            let want_bytes: Vec<Vec<u8>> = want.iter().map(|s| s.as_bytes().to_vec()).collect();
            assert_eq!(bytes, want_bytes, "{name} bytes {label}");
        }
    }
}

#[test]
fn many_files_pack_and_split_in_input_order() {
    let dir = Dir::new();
    let mut want = Vec::new();
    // Names sort in this order; nested folders are walked recursively.
    for (i, (name, text)) in CORPUS.iter().enumerate() {
        dir.write(&format!("d/{i:02}/{name}.txt"), text);
        want.extend(reference(text));
    }
    let total: u64 = CORPUS.iter().map(|(_, t)| t.len() as u64).sum();
    for size in [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, total, total * 2] {
        for (label, job) in configs([size]) {
            let got: Vec<String> = job.lines(dir.path().join("d")).map(str::to_owned).collect().unwrap();
            assert_eq!(got, want, "{label}");
        }
    }
}

#[test]
fn a_file_larger_than_the_lookahead_splits_exactly() {
    // Lines longer than the 64 KiB lookahead force the reader to map more.
    let dir = Dir::new();
    let long = "x".repeat(150_000);
    let text = format!("a\n{long}\nb\n{long}\r\nc");
    let path = dir.write("big.txt", &text);
    let want = reference(&text);
    for size in [1, 1000, 65_536, 70_000, 150_000, 1 << 20] {
        for (label, job) in configs([size]) {
            let got: Vec<String> = job.lines(&path).map(str::to_owned).collect().unwrap();
            assert_eq!(got.len(), want.len(), "{label}");
            assert!(got == want, "{label}");
        }
    }
}

#[test]
fn compressed_and_plain_files_read_alike() {
    use std::io::Write as _;
    let dir = Dir::new();
    let text = "one\ntwo\r\nthree";
    dir.write("logs/a.log", text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    dir.write("logs/b.log.gz", gz.finish().unwrap());
    dir.write("logs/c.log.gz", b"");
    let mut want = reference(text);
    want.extend(reference(text));
    for (label, job) in configs([1, 4, 100]) {
        let got: Vec<String> = job.lines(dir.path().join("logs")).map(str::to_owned).collect().unwrap();
        assert_eq!(got, want, "{label}");
    }
}
