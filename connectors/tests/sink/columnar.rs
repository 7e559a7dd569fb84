//! Typed columns (issue 15.5): a row type with every column type, written as
//! Parquet (also in nested partitions) and as a `DataFrame`, read back by
//! polars (Rust and Python) and DuckDB: the schema is the row type's.

use polars::prelude::*;
use serde::Serialize;
use shoal::prelude::*;
use shoal_connectors::jiff::{Timestamp, civil::Date};
use shoal_connectors::logs::LogTime;
use shoal_connectors::sink::{Output, SinkExt, columns};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, Copy, Serialize)]
struct Point {
    x: f64,
    y: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
enum Mode {
    Card,
    Cash,
}

#[derive(Debug, Clone, Serialize)]
struct Sale {
    tiny: i8,
    small: i16,
    mid: i32,
    big: i64,
    ubyte: u8,
    ushort: u16,
    uint: u32,
    ulong: u64,
    ratio: f32,
    value: f64,
    paid: bool,
    name: String,
    note: Option<String>,
    #[serde(with = "columns::date")]
    day: Date,
    #[serde(with = "columns::timestamp")]
    at: Timestamp,
    logged: LogTime,
    #[serde(with = "columns::decimal")]
    price: rust_decimal::Decimal,
    #[serde(with = "columns::decimal::option")]
    discount: Option<rust_decimal::Decimal>,
    place: Point,
    tags: Vec<String>,
    mode: Mode,
    year: i32,
    month: u8,
}

const ROWS: usize = 60;

fn sales() -> Vec<Sale> {
    (0..ROWS)
        .map(|i| {
            let day = Date::new(2023 + (i % 2) as i16, 1 + (i % 3) as i8, 1 + (i % 28) as i8).unwrap();
            Sale {
                tiny: -(i as i8),
                small: i as i16 * 100,
                mid: i as i32 * 10_000,
                big: i as i64 * 1_000_000_000,
                ubyte: i as u8,
                ushort: i as u16 * 1000,
                uint: i as u32 * 70_000,
                ulong: u64::MAX - i as u64,
                ratio: i as f32 / 4.0,
                value: i as f64 * 1.5,
                paid: i % 2 == 0,
                name: format!("n{i}"),
                note: (i % 3 == 0).then(|| format!("note {i}")),
                day,
                at: Timestamp::from_second(1_700_000_000 + i as i64 * 3600).unwrap(),
                logged: LogTime::parse_clf(&format!("10/Oct/2025:13:55:{:02} +0200", i % 60)).unwrap(),
                price: rust_decimal::Decimal::new(1999 + i as i64, 2),
                discount: (i % 4 == 0).then(|| rust_decimal::Decimal::new(5, 1)),
                place: Point { x: i as f64, y: -(i as f64) },
                tags: (0..i % 3).map(|t| format!("t{t}")).collect(),
                mode: if i % 2 == 0 { Mode::Card } else { Mode::Cash },
                year: day.year().into(),
                month: day.month() as u8,
            }
        })
        .collect()
}

/// The row type's schema, as polars types.
fn polars_schema() -> Vec<(&'static str, DataType)> {
    let utc = || DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    vec![
        ("tiny", DataType::Int8),
        ("small", DataType::Int16),
        ("mid", DataType::Int32),
        ("big", DataType::Int64),
        ("ubyte", DataType::UInt8),
        ("ushort", DataType::UInt16),
        ("uint", DataType::UInt32),
        ("ulong", DataType::UInt64),
        ("ratio", DataType::Float32),
        ("value", DataType::Float64),
        ("paid", DataType::Boolean),
        ("name", DataType::String),
        ("note", DataType::String),
        ("day", DataType::Date),
        ("at", utc()),
        ("logged", utc()),
        ("price", DataType::Decimal(38, 2)),
        ("discount", DataType::Decimal(38, 1)),
        (
            "place",
            DataType::Struct(vec![
                Field::new("x".into(), DataType::Float64),
                Field::new("y".into(), DataType::Float64),
            ]),
        ),
        ("tags", DataType::List(Box::new(DataType::String))),
        ("mode", DataType::String),
        ("year", DataType::Int32),
        ("month", DataType::UInt8),
    ]
}

/// The same schema as DuckDB names it.
const DUCKDB_SCHEMA: [(&str, &str); 23] = [
    ("tiny", "TINYINT"),
    ("small", "SMALLINT"),
    ("mid", "INTEGER"),
    ("big", "BIGINT"),
    ("ubyte", "UTINYINT"),
    ("ushort", "USMALLINT"),
    ("uint", "UINTEGER"),
    ("ulong", "UBIGINT"),
    ("ratio", "FLOAT"),
    ("value", "DOUBLE"),
    ("paid", "BOOLEAN"),
    ("name", "VARCHAR"),
    ("note", "VARCHAR"),
    ("day", "DATE"),
    ("at", "TIMESTAMP WITH TIME ZONE"),
    ("logged", "TIMESTAMP WITH TIME ZONE"),
    ("price", "DECIMAL(38,2)"),
    ("discount", "DECIMAL(38,1)"),
    ("place", "STRUCT(x DOUBLE, y DOUBLE)"),
    ("tags", "VARCHAR[]"),
    ("mode", "VARCHAR"),
    ("year", "INTEGER"),
    ("month", "UTINYINT"),
];

fn schema_of(frame: &DataFrame) -> Vec<(String, DataType)> {
    frame.schema().iter().map(|(n, t)| (n.to_string(), t.clone())).collect()
}

fn want_schema() -> Vec<(String, DataType)> {
    polars_schema().into_iter().map(|(n, t)| (n.to_string(), t)).collect()
}

fn job() -> Job {
    Job::builder().threads(3).split_size(7).build().unwrap()
}

#[test]
fn the_dataframe_has_the_row_types_schema_and_values() {
    let frame = job().iter(sales()).map(|s: &Sale| s.clone()).to_dataframe().unwrap();
    assert_eq!(schema_of(&frame), want_schema());
    assert_eq!(frame.height(), ROWS);
    let col = |n: &str| frame.column(n).unwrap().as_materialized_series().clone();
    assert_eq!(col("ulong").u64().unwrap().get(0), Some(u64::MAX), "u64 is not narrowed");
    assert_eq!(col("note").null_count(), ROWS - ROWS.div_ceil(3));
    assert_eq!(col("discount").null_count(), ROWS - ROWS.div_ceil(4));
    let at = col("logged").datetime().unwrap().physical().get(5).unwrap();
    assert_eq!(at, LogTime::parse_clf("10/Oct/2025:13:55:05 +0200").unwrap().timestamp().as_microsecond());
    let day = col("day").date().unwrap().physical().get(1).unwrap();
    assert_eq!(day, sales()[1].day.since(Date::constant(1970, 1, 1)).unwrap().get_days());
    let price = col("price").decimal().unwrap().physical().get(3).unwrap();
    assert_eq!(price, 2002, "19.99 + 0.03 at scale 2");
    let names: Vec<_> = col("name").str().unwrap().iter().map(|s| s.unwrap().to_string()).collect();
    assert_eq!(names, sales().iter().map(|s| s.name.clone()).collect::<Vec<_>>(), "input order");
}

#[test]
fn parquet_reads_back_with_the_row_types_schema_in_polars_and_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sales.parquet");
    let written = job().iter(sales()).map(|s: &Sale| s.clone()).write(Output::parquet(&path)).unwrap();
    assert_eq!(written.rows, ROWS as u64);
    let back = ParquetReader::new(std::fs::File::open(&path).unwrap()).finish().unwrap();
    assert_eq!(schema_of(&back), want_schema(), "polars (Rust)");
    let frame = job().iter(sales()).map(|s: &Sale| s.clone()).to_dataframe().unwrap();
    assert!(back.equals_missing(&frame), "{back}\n{frame}");

    let peers = read_back(&path, false);
    let duckdb: Vec<(String, String)> = pairs(&peers["duckdb_schema"]);
    let want: Vec<(String, String)> = DUCKDB_SCHEMA.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    assert_eq!(duckdb, want, "DuckDB");
    let totals = &peers["duckdb_totals"];
    let sales = sales();
    assert_eq!(totals["rows"], ROWS);
    assert_eq!(totals["big"], sales.iter().map(|s| s.big).sum::<i64>());
    assert_eq!(totals["price"].as_str().unwrap(), sum_text(sales.iter().map(|s| s.price)));
    assert_eq!(totals["first_logged"].as_str().unwrap(), "2025-10-10 11:55:00+00");
    assert_eq!(totals["first_day"].as_str().unwrap(), sales[0].day.to_string());
    assert_eq!(totals["tags"], sales.iter().map(|s| s.tags.len()).sum::<usize>());
    let polars_py: Vec<(String, String)> = pairs(&peers["polars_schema"]);
    assert_eq!(polars_py.len(), DUCKDB_SCHEMA.len());
    assert_eq!(polars_py[14], ("at".to_string(), "Datetime(time_unit='us', time_zone='UTC')".to_string()));
    assert_eq!(polars_py[16], ("price".to_string(), "Decimal(precision=38, scale=2)".to_string()));
}

#[test]
fn nested_partitions_read_back_as_hive_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sales");
    let written = job()
        .iter(sales())
        .map(|s: &Sale| s.clone())
        .write(
            Output::parquet(&out)
                .partition_by("year", |s: &Sale| s.year.to_string())
                .partition_by("month", |s: &Sale| format!("{:02}", s.month)),
        )
        .unwrap();
    let want: Vec<PathBuf> = ["2023", "2024"]
        .iter()
        .flat_map(|y| ["01", "02", "03"].map(|m| out.join(format!("year={y}/month={m}/part-00000.parquet"))))
        .collect();
    assert_eq!(written.files, want);
    let peers = read_back(&out, true);
    let counts = &peers["duckdb_partitions"];
    for (y, m, n) in counts
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_i64().unwrap(), r[1].as_i64().unwrap(), r[2].as_u64().unwrap()))
    {
        let have = sales().iter().filter(|s| i64::from(s.year) == y && i64::from(s.month) == m).count();
        assert_eq!(n as usize, have, "year={y}/month={m}");
    }
    assert_eq!(counts.as_array().unwrap().len(), 6);
    let one = ParquetReader::new(std::fs::File::open(&want[0]).unwrap()).finish().unwrap();
    assert_eq!(schema_of(&one), want_schema(), "each partition file has the full schema");
}

#[test]
fn a_column_of_two_types_is_an_error_naming_it() {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Loose {
        N(i64),
        S(&'static str),
    }
    #[derive(Serialize)]
    struct Row {
        id: u32,
        v: Loose,
    }
    let job = job();
    let e = job
        .range(0..10u32)
        .map(|id| Row { id, v: if id < 5 { Loose::N(1) } else { Loose::S("x") } })
        .to_dataframe()
        .unwrap_err();
    assert!(e.to_string().contains("column `v`: a string value in a i64 column"), "{e}");
}

/// `a + b + …` of decimals, as DuckDB prints the sum.
fn sum_text(values: impl Iterator<Item = rust_decimal::Decimal>) -> String {
    values.sum::<rust_decimal::Decimal>().to_string()
}

fn pairs(v: &serde_json::Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string()))
        .collect()
}

/// Reads `path` with DuckDB and Python polars (the pinned peers of
/// `benches/compare/setup-venv.sh`) and returns what they saw as JSON.
fn read_back(path: &Path, partitioned: bool) -> serde_json::Value {
    let script = r#"
import json, sys
import duckdb, polars
path, partitioned = sys.argv[1], sys.argv[2] == "1"
out = {}
con = duckdb.connect()
if partitioned:
    rel = f"read_parquet('{path}/**/*.parquet', hive_partitioning = true)"
    out["duckdb_partitions"] = con.execute(
        f"SELECT year::BIGINT, month::BIGINT, count(*) FROM {rel} GROUP BY ALL ORDER BY ALL").fetchall()
else:
    rel = f"read_parquet('{path}')"
    out["duckdb_schema"] = [[r[0], r[1]] for r in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()]
    con.execute("SET TimeZone = 'UTC'")
    row = con.execute(f"""SELECT count(*), sum(big)::BIGINT, sum(price)::VARCHAR, min(logged)::VARCHAR,
        min(day)::VARCHAR, sum(len(tags))::BIGINT FROM {rel}""").fetchone()
    out["duckdb_totals"] = dict(zip(["rows", "big", "price", "first_logged", "first_day", "tags"], row))
    out["polars_schema"] = [[n, repr(t)] for n, t in polars.read_parquet(path).schema.items()]
print(json.dumps(out))
"#;
    let python = peer_python();
    let output = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(path)
        .arg(if partitioned { "1" } else { "0" })
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The Python with DuckDB and polars: `SHOAL_PEER_PYTHON`, else the venv of
/// `benches/compare/setup-venv.sh`, created here when missing (once).
fn peer_python() -> PathBuf {
    if let Some(p) = std::env::var_os("SHOAL_PEER_PYTHON") {
        return p.into();
    }
    static SETUP: std::sync::Once = std::sync::Once::new();
    let compare = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/compare");
    SETUP.call_once(|| {
        let status = Command::new("bash").arg(compare.join("setup-venv.sh")).status().unwrap();
        assert!(status.success(), "benches/compare/setup-venv.sh failed (it needs PyPI)");
    });
    compare.join(".venv/bin/python")
}
