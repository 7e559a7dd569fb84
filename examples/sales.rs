//! Sales per region and product in 2025, from CSV files.
//!
//! Input: CSV files or directories of them (every `*.csv` below,
//! recursively) with the header
//! `order_id,date,region,product,quantity,unit_price,note`. Quoted fields
//! may hold delimiters, doubled quotes and line breaks.
//!
//! Output: one line `REGION,PRODUCT,TOTAL_QUANTITY,REVENUE` per region and
//! product over the rows dated in 2025, sorted by region then product (UTF-8
//! bytes), no header line; names holding `,`, `"`, CR or LF are quoted CSV
//! style. Revenue is the sum of `quantity * unit_price` in exact integer
//! cents (`unit_price` must have exactly two decimals), printed with two
//! decimals. Then one line `rows,N`: the number of data rows read (good and
//! rejected). Malformed records follow `--on-malformed` (`fail`, `skip` or
//! `quarantine=FILE`); a summary of rejected records goes to stderr.
//!
//! ```text
//! cargo run --release -p shoal-datasets -- sales --rows 1000000 --out /tmp/s.csv
//! cargo run --release --example sales -- /tmp/s.csv
//! ```

use clap::Parser;
use shoal::prelude::*;
use shoal::{OnMalformed, plan::Inputs};
use shoal_connectors::csv::{CsvExt, REJECTED, ROWS, Record};
use std::path::PathBuf;
use std::process::ExitCode;

/// Quantity and revenue (cents) per region and product in 2025.
#[derive(Parser)]
struct Cli {
    /// What to do with a malformed record: fail, skip or quarantine=FILE
    #[arg(long, default_value = "fail", value_name = "POLICY")]
    on_malformed: OnMalformed,
    /// CSV files, or directories searched recursively for `*.csv`.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

/// A group: region and product.
type Key = (String, String);
/// Of a group: total quantity, and revenue in billionths (exact, see [`parse_price`]).
type Totals = (u128, i128);

/// The columns used, by position in the header above.
const DATE: usize = 1;
const REGION: usize = 2;
const PRODUCT: usize = 3;
const QUANTITY: usize = 4;
const UNIT_PRICE: usize = 5;

fn main() -> ExitCode {
    shoal::main(|job: &Job, cli: Cli| {
        let inputs = Inputs::new(&cli.inputs).include("*.csv");
        let totals: HashMap<Key, Totals> = job
            .csv(inputs)
            .on_malformed(cli.on_malformed)
            .records()
            .filter(|r: &&Record| matches!(r.get(DATE), Some([b'2', b'0', b'2', b'5', b'-', ..])))
            .try_key_pair_by(|r: &Record| -> Result<((&str, &str), Totals), shoal::Error> {
                // A bad value rejects the row under the --on-malformed policy.
                let field = |i: usize| r.get(i).ok_or_else(|| shoal::Error::malformed("too few fields"));
                let quantity = parse_quantity(field(QUANTITY)?).map_err(shoal::Error::malformed)?;
                let price = parse_price(field(UNIT_PRICE)?).map_err(shoal::Error::malformed)?;
                let region = text(field(REGION)?).map_err(shoal::Error::malformed)?;
                let product = text(field(PRODUCT)?).map_err(shoal::Error::malformed)?;
                // The key stays borrowed from the record; it is copied once per
                // new (region, product) in each split.
                Ok(((region, product), (u128::from(quantity), price * i128::from(quantity))))
            })
            .aggregate_by_key()?;

        let mut rows: Vec<_> = totals.into_iter().collect();
        rows.sort_unstable_by(|a, b| (a.0.0.as_bytes(), a.0.1.as_bytes()).cmp(&(b.0.0.as_bytes(), b.0.1.as_bytes())));
        let mut out = String::with_capacity(rows.len() * 48);
        for ((region, product), (quantity, cents)) in &rows {
            push_field(&mut out, region);
            out.push(',');
            push_field(&mut out, product);
            out.push_str(&format!(",{quantity},{}\n", money(*cents)));
        }
        let report = job.report();
        out.push_str(&format!("rows,{}\n", report.counter(ROWS)));
        let mut stdout = job.stdout();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
        let rejected = report.counter(REJECTED);
        if rejected > 0 && job.is_leader() {
            let all = report.counter(ROWS);
            eprintln!("sales: {all} rows = {} good + {rejected} malformed, rejected; the first:", all - rejected);
            for sample in &report.rejects.samples {
                eprintln!("  {sample}");
            }
        }
        Ok(())
    })
}

fn text(field: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(field).map_err(|_| format!("not UTF-8: {:?}", String::from_utf8_lossy(field)))
}

/// A quantity: ASCII digits, at most 18 of them.
fn parse_quantity(field: &[u8]) -> Result<u64, String> {
    if field.is_empty() || field.len() > 18 || !field.iter().all(u8::is_ascii_digit) {
        return Err(format!("bad quantity {:?}", String::from_utf8_lossy(field)));
    }
    Ok(field.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Billionths per unit: prices may have up to nine decimals.
const SCALE: i128 = 1_000_000_000;

/// A price (`12.34`, `-0.5`, `19.995`, `7`) in billionths, exactly.
fn parse_price(field: &[u8]) -> Result<i128, String> {
    let bad = || format!("bad unit_price {:?}", String::from_utf8_lossy(field));
    let (negative, digits) = match field.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, field),
    };
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &b""[..]),
    };
    if int.is_empty() || int.len() > 18 || frac.len() > 9 || !int.iter().chain(frac).all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let whole = int.iter().fold(0i128, |n, d| n * 10 + i128::from(d - b'0'));
    let part = frac.iter().fold(0i128, |n, d| n * 10 + i128::from(d - b'0')) * 10i128.pow(9 - frac.len() as u32);
    let value = whole * SCALE + part;
    Ok(if negative { -value } else { value })
}

/// Billionths as money: rounded half away from zero to cents, two decimals,
/// never `-0.00`.
fn money(billionths: i128) -> String {
    let unit = SCALE / 100;
    let cents = (billionths.unsigned_abs() + unit.unsigned_abs() / 2) / unit.unsigned_abs();
    let sign = if billionths < 0 && cents > 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// Appends `name`, quoted CSV style when it holds `,`, `"`, CR or LF.
fn push_field(out: &mut String, name: &str) {
    if name.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&name.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(name);
    }
}
