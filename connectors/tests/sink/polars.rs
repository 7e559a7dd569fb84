//! The polars `DataFrame` result and the Parquet round trip (the `polars`
//! feature): written, read back with polars, and compared.

use crate::util::{Row, rows, tree};
use polars::prelude::*;
use shoal::prelude::*;
use shoal_connectors::logs::{AccessRecord, LogsExt};
use shoal_connectors::sink::{Output, SinkExt};

fn expected() -> DataFrame {
    let rows = rows();
    df!(
        "id" => rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        "key" => rows.iter().map(|r| r.key.clone()).collect::<Vec<_>>(),
        "note" => rows.iter().map(|r| r.note.clone()).collect::<Vec<_>>(),
    )
    .unwrap()
}

#[test]
fn dataframe_holds_the_rows_in_order() {
    for (label, job) in crate::util::jobs() {
        let frame = job.iter(rows()).map(|r: &Row| r.clone()).to_dataframe().unwrap();
        assert!(frame.equals(&expected()), "{label}: {frame}");
    }
}

#[test]
fn parquet_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.parquet");
    let job = Job::builder().threads(3).split_size(3).build().unwrap();
    job.iter(rows()).map(|r: &Row| r.clone()).write(Output::parquet(&path)).unwrap();
    let back = ParquetReader::new(std::fs::File::open(&path).unwrap()).finish().unwrap();
    assert!(back.equals(&expected()), "{back}");
}

#[test]
fn partitioned_parquet_of_log_records() {
    let dir = tempfile::tempdir().unwrap();
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/../datasets/samples/logs");
    let out = dir.path().join("logs");
    let job = Job::builder().threads(2).build().unwrap();
    let written = job
        .access_log(samples)
        .on_malformed(shoal::OnMalformed::Skip)
        .write(Output::parquet(&out).partition_by("status", |r: &AccessRecord<'_>| r.status.to_string()))
        .unwrap();
    assert_eq!(written.files.len(), tree(&out).len());
    let ok =
        ParquetReader::new(std::fs::File::open(out.join("status=200/part-00000.parquet")).unwrap()).finish().unwrap();
    assert_eq!(ok.height(), 125);
    let frame = job.access_log(samples).on_malformed(shoal::OnMalformed::Skip).to_dataframe().unwrap();
    assert_eq!(frame.height(), 146);
    let bytes = frame.column("bytes").unwrap().as_materialized_series().u64().unwrap().sum().unwrap();
    let want: u64 =
        job.access_log(samples).on_malformed(shoal::OnMalformed::Skip).map(|r| r.bytes.unwrap_or(0)).sum().unwrap();
    assert_eq!(bytes, want);
}
