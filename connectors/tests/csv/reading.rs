//! Headers, dialects and file shapes, through every configuration.

use crate::util::{Dir, configs, fields};
use shoal::prelude::*;
use shoal_connectors::csv::{CsvExt, Record, Trim};

fn strings(recs: Vec<Vec<Vec<u8>>>) -> Vec<Vec<String>> {
    recs.into_iter().map(|r| r.into_iter().map(|f| String::from_utf8(f).unwrap()).collect()).collect()
}

#[test]
fn crlf_bom_missing_newline_empty_and_header_only_files() {
    let dir = Dir::new();
    dir.write("d/1-crlf.csv", "\u{feff}id,name\r\n1,\"a\r\nb\"\r\n2,\"\"\r\n");
    dir.write("d/2-empty.csv", "");
    dir.write("d/3-header-only.csv", "id,name\n");
    dir.write("d/4-no-newline.csv", "id,name\n3,c");
    dir.write("d/5-blank-lines.csv", "\n\nid,name\n\n4,d\n\n");
    let want = vec![vec!["1", "a\r\nb"], vec!["2", ""], vec!["3", "c"], vec!["4", "d"]];
    for (label, job) in configs([1, 3, 7, 20, 1000]) {
        let got = job.csv(dir.path().join("d")).records().map(|r: &Record| fields(r)).collect().unwrap();
        assert_eq!(strings(got), want, "{label}");
    }
    let job = Job::builder().threads(2).build().unwrap();
    let headers = job.csv(dir.path().join("d")).headers().unwrap().unwrap();
    assert_eq!(headers.iter().collect::<Vec<_>>(), ["id", "name"], "the byte order mark is not part of the name");
}

#[test]
fn typed_rows_owned_and_borrowed() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Owned {
        name: String,
        n: u32,
    }
    #[derive(serde::Deserialize)]
    struct Borrowed<'a> {
        name: &'a str,
        n: u32,
    }
    shoal_connectors::borrowed_row!(Borrowed);
    let dir = Dir::new();
    let path = dir.write("t.csv", "n,name\n1,\"x,y\"\n2,\n3,\"q\"\"\"\n");
    for (label, job) in configs([1, 5, 100]) {
        let rows: Vec<(String, u32)> = job.csv(&path).rows::<Owned>().map(|r: Owned| (r.name, r.n)).collect().unwrap();
        assert_eq!(rows, [("x,y".into(), 1), (String::new(), 2), ("q\"".into(), 3)], "{label}");
        let total: u64 = job
            .csv(&path)
            .borrowed_rows::<Borrowed<'static>>()
            .filter(|r: &Borrowed<'_>| !r.name.is_empty())
            .map(|r: Borrowed<'_>| u64::from(r.n) * r.name.len() as u64)
            .sum()
            .unwrap();
        assert_eq!(total, 3 + 3 * 2, "{label}");
    }
}

#[test]
fn dialect_options() {
    let dir = Dir::new();
    let path = dir.write("s.csv", "# a comment, with \"quote\nid; name\n1 ;'a;b'\n# another\n2;'it\\'s'\n");
    for (label, job) in configs([1, 4, 9, 100]) {
        let got = job
            .csv(&path)
            .delimiter(b';')
            .quote(Some(b'\''))
            .escape(Some(b'\\'))
            .comment(Some(b'#'))
            .trim(Trim::All)
            .records()
            .map(|r: &Record| fields(r))
            .collect()
            .unwrap();
        assert_eq!(strings(got), [vec!["1", "a;b"], vec!["2", "it's"]], "{label}");
    }
}

#[test]
fn files_with_different_headers() {
    let dir = Dir::new();
    dir.write("d/a.csv", "x,y\n1,2\n");
    dir.write("d/b.csv", "y,x,extra\n3,4,5\n");
    let job = Job::builder().threads(2).build().unwrap();
    let err = job.csv(dir.path().join("d")).records().count().unwrap_err();
    assert!(err.to_string().contains("b.csv"), "{err}");
    assert!(err.to_string().contains("match_columns_by_name"), "{err}");
    // A header is not a record: no policy skips a file with another header.
    let skip = job.csv(dir.path().join("d")).on_malformed(shoal::OnMalformed::Skip).records().count();
    assert!(skip.unwrap_err().to_string().contains("b.csv"));
    for (label, job) in configs([1, 3, 100]) {
        let got = job
            .csv(dir.path().join("d"))
            .match_columns_by_name()
            .records()
            .map(|r: &Record| fields(r))
            .collect()
            .unwrap();
        assert_eq!(strings(got), [vec!["1", "2"], vec!["4", "3"]], "{label}");
    }
    dir.write("d/c.csv", "x\n6\n");
    let err = job.csv(dir.path().join("d")).match_columns_by_name().records().count().unwrap_err();
    assert!(err.to_string().contains("c.csv") && err.to_string().contains("\"y\""), "{err}");
}

#[test]
fn a_large_file_is_cut_into_many_splits() {
    let dir = Dir::new();
    let mut text = String::from("id,note\n");
    for i in 0..20_000 {
        if i % 7 == 0 {
            text.push_str(&format!("{i},\"line\nbreak, \"\"quoted\"\"\r\n\"\n"));
        } else {
            text.push_str(&format!("{i},plain\n"));
        }
    }
    let path = dir.write("big.csv", &text);
    let job = Job::builder().threads(2).split_size(10_000).build().unwrap();
    let source = job.csv(&path).records();
    let plan = source.explain().unwrap();
    assert!(plan.splits.len() > 20, "{}", plan.splits.len());
    let ids: Vec<u64> =
        source.map(|r: &Record| std::str::from_utf8(&r[0]).unwrap().parse().unwrap()).collect().unwrap();
    assert_eq!(ids, (0..20_000).collect::<Vec<u64>>());
}

#[test]
fn the_committed_sales_sample_reads_like_csv_reader_at_every_split_size() {
    // 200 generated rows with LF and CRLF inside quoted notes and quoted names.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/samples/sales-200.csv");
    let bytes = std::fs::read(&path).unwrap();
    let mut want = crate::util::sequential(&bytes);
    want.remove(0); // the header
    assert_eq!(want.len(), 200);
    let step = (bytes.len() / 97).max(1) as u64;
    for (label, job) in configs((1..=bytes.len() as u64 + step).step_by(step as usize)) {
        let got = job.csv(&path).records().map(|r: &Record| fields(r)).collect().unwrap();
        assert!(got == want, "{label}");
    }
}

#[test]
fn compressed_files_read_like_plain_ones() {
    use std::io::Write as _;
    let dir = Dir::new();
    let text = "id,note\n1,\"a\nb\"\n2,c\n";
    dir.write("d/a.csv", text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    dir.write("d/b.csv.gz", gz.finish().unwrap());
    for (label, job) in configs([1, 5, 100]) {
        let got = job.csv(dir.path().join("d")).records().map(|r: &Record| fields(r)).collect().unwrap();
        assert_eq!(strings(got), [vec!["1", "a\nb"], vec!["2", "c"], vec!["1", "a\nb"], vec!["2", "c"]], "{label}");
    }
}

#[test]
fn files_parity_cannot_split_are_still_split_exactly() {
    // `b"c` holds a quote that csv-core reads as data: parity would be wrong.
    let dir = Dir::new();
    let path = dir.write("amb.csv", "h1,h2\na,b\"c\nd,\"e\nf\"\ng,h\n");
    let want = vec![vec!["a", "b\"c"], vec!["d", "e\nf"], vec!["g", "h"]];
    for (label, job) in configs([1, 2, 3, 5, 8]) {
        let got = job.csv(&path).records().map(|r: &Record| fields(r)).collect().unwrap();
        // (The plan counts csv.sequential_scans, but outside any split, in
        // a process-wide report that parallel tests take from each other.)
        assert_eq!(strings(got), want, "{label}");
    }
}

#[test]
fn keys_borrowed_from_records() {
    let dir = Dir::new();
    let path = dir.write("k.csv", "region,n\nEurope,1\n\"Asia, East\",2\nEurope,3\n");
    for (label, job) in configs([1, 9, 100]) {
        let sums: HashMap<String, u64> = job
            .csv(&path)
            .records()
            .try_key_by(|r: &Record| -> Result<(&str, u64), String> {
                let region = r.get_str(0).ok_or("region is not UTF-8")?;
                let n = r.get_str(1).and_then(|n| n.parse().ok()).ok_or("bad n")?;
                Ok((region, n))
            })
            .aggregate_by_key()
            .unwrap();
        assert_eq!((sums["Europe"], sums["Asia, East"], sums.len()), (4, 2, 2), "{label}");
    }
}
