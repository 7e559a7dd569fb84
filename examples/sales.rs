//! Sales per region and product in 2025, from CSV files.
//!
//! Input: CSV files or directories of them (every `*.csv` below,
//! recursively) with exactly the header
//! `order_id,date,region,product,quantity,unit_price,note` (another header
//! is an error before anything is read). Quoted fields may hold delimiters,
//! doubled quotes and line breaks. Every row is checked, whatever its date:
//!
//! * `order_id`: 1 to 19 ASCII digits;
//! * `date`: `YYYY-MM-DD` (month 01-12, day 01-31);
//! * `region`, `product`: UTF-8 text;
//! * `quantity`: 1 to 18 ASCII digits;
//! * `unit_price`: an optional `-`, 1 to 18 digits, then optionally `.` and
//!   1 to 9 decimals (`7`, `12.34`, `19.995`, `-0.5`; not `7.` or `.5`),
//!   summed exactly;
//! * `note`: anything.
//!
//! With `--null-values NA,` (a comma-separated list; an empty item is the
//! empty field), a field equal to one of them is missing: a missing `note`
//! is fine, a missing value in any other column makes the row malformed.
//!
//! Output: one line `REGION,PRODUCT,TOTAL_QUANTITY,REVENUE` per region and
//! product over the rows dated in 2025, sorted by region then product (UTF-8
//! bytes), no header line; names holding `,`, `"`, CR or LF are quoted CSV
//! style. Revenue is the sum of `quantity * unit_price`, exact, printed
//! rounded half away from zero to two decimals. Then one line `rows,N`: the
//! number of data rows read (good and rejected). A row that fails a check
//! (or has the wrong field count) is malformed and follows `--on-malformed`
//! (`fail`, `skip` or `quarantine=FILE`); a summary of rejected records goes
//! to stderr.
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
    /// Field values that mean "missing", comma-separated (`NA,` is `NA` and
    /// the empty field): allowed in `note` only
    #[arg(long, value_name = "LIST", value_delimiter = ',', num_args = 1)]
    null_values: Vec<String>,
    /// CSV files, or directories searched recursively for `*.csv`.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

/// A group: region and product.
type Key = (String, String);
/// Of a group: total quantity, and revenue in billionths (exact, see [`price`]).
type Totals = (u128, i128);

/// The header every file must have.
const HEADER: [&str; 7] = ["order_id", "date", "region", "product", "quantity", "unit_price", "note"];

/// The columns, by position in [`HEADER`].
const ORDER_ID: usize = 0;
const DATE: usize = 1;
const REGION: usize = 2;
const PRODUCT: usize = 3;
const QUANTITY: usize = 4;
const UNIT_PRICE: usize = 5;
const NOTE: usize = 6;

fn main() -> ExitCode {
    shoal::main(|job: &Job, cli: Cli| {
        let inputs = Inputs::new(&cli.inputs).include("*.csv");
        let nulls: Vec<&[u8]> = cli.null_values.iter().map(|v| v.as_bytes()).collect();
        let totals: HashMap<Key, Totals> = job
            .csv(inputs)
            .expect_headers(HEADER)
            .on_malformed(cli.on_malformed)
            .records()
            // Rows of other years are checked here and dropped if good; a bad
            // one goes on, so that `parse_row` rejects it with its reason below.
            .filter(|r: &&Record| is_2025(r) || !is_good_row(r, &nulls))
            .try_key_pair_by(|r: &Record| -> Result<((&str, &str), Totals), shoal::Error> {
                // A bad value rejects the row under the --on-malformed policy.
                let row = parse_row(r, &nulls).map_err(shoal::Error::malformed)?;
                // The key stays borrowed from the record; it is copied once per
                // new (region, product) in each split.
                Ok(((row.region, row.product), (u128::from(row.quantity), row.price * i128::from(row.quantity))))
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

/// Whether a row's date is in 2025 (checked in full by [`parse_row`]).
fn is_2025(r: &Record) -> bool {
    matches!(r.get(DATE), Some([b'2', b'0', b'2', b'5', b'-', ..]))
}

/// The columns of a row that the totals use.
struct Row<'a> {
    region: &'a str,
    product: &'a str,
    quantity: u64,
    /// Billionths per unit.
    price: i128,
}

/// Whether every column of a row passes its check (see the module docs):
/// [`parse_row`] without building values or messages, for the rows that are
/// only checked.
#[inline]
fn is_good_row(r: &Record, nulls: &[&[u8]]) -> bool {
    let (Some(id), Some(date), Some(region), Some(product), Some(quantity), Some(price), Some(_note)) =
        (r.get(ORDER_ID), r.get(DATE), r.get(REGION), r.get(PRODUCT), r.get(QUANTITY), r.get(UNIT_PRICE), r.get(NOTE))
    else {
        return false;
    };
    if !nulls.is_empty() && [id, date, region, product, quantity, price].iter().any(|v| nulls.contains(v)) {
        return false;
    }
    is_order_id(id)
        && is_date(date)
        && is_text(region)
        && is_text(product)
        && is_quantity(quantity)
        && price_parts(price).is_some()
}

/// Checks every column of a row (see the module docs) and reads the ones
/// the totals use.
#[inline]
fn parse_row<'a>(r: &'a Record, nulls: &[&[u8]]) -> Result<Row<'a>, String> {
    if !is_good_row(r, nulls) {
        return Err(why_bad(r, nulls));
    }
    // Every field is there and checked.
    let get = |i: usize| r.get(i).unwrap_or_default();
    let (Ok(region), Ok(product)) = (std::str::from_utf8(get(REGION)), std::str::from_utf8(get(PRODUCT))) else {
        return Err(why_bad(r, nulls));
    };
    Ok(Row {
        region,
        product,
        quantity: get(QUANTITY).iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')),
        price: price_parts(get(UNIT_PRICE)).map_or(0, price),
    })
}

/// Why a row fails [`is_good_row`]: its first bad column.
#[cold]
fn why_bad(r: &Record, nulls: &[&[u8]]) -> String {
    let checks: [fn(&[u8]) -> bool; 7] =
        [is_order_id, is_date, is_text, is_text, is_quantity, |v| price_parts(v).is_some(), |_| true];
    for (i, check) in checks.iter().enumerate() {
        let Some(value) = r.get(i) else { return format!("too few fields: no {}", HEADER[i]) };
        if i != NOTE && nulls.contains(&value) {
            return format!("missing {} ({:?} is a null value)", HEADER[i], String::from_utf8_lossy(value));
        }
        if !check(value) {
            let value = String::from_utf8_lossy(value);
            return match i {
                REGION | PRODUCT => format!("{} is not UTF-8: {value:?}", HEADER[i]),
                _ => format!("bad {} {value:?}", HEADER[i]),
            };
        }
    }
    "a bad row".to_owned()
}

/// UTF-8 text.
#[inline]
fn is_text(field: &[u8]) -> bool {
    field.is_ascii() || std::str::from_utf8(field).is_ok()
}

/// An order id: 1 to 19 ASCII digits.
#[inline]
fn is_order_id(field: &[u8]) -> bool {
    (1..=19).contains(&field.len()) && field.iter().all(u8::is_ascii_digit)
}

/// A date: `YYYY-MM-DD`, month 01-12, day 01-31.
#[inline]
fn is_date(field: &[u8]) -> bool {
    match *field {
        [y0, y1, y2, y3, b'-', m1, m2, b'-', d1, d2] => {
            [y0, y1, y2, y3].iter().all(u8::is_ascii_digit)
                && m1.is_ascii_digit()
                && m2.is_ascii_digit()
                && (1..=12).contains(&((m1 - b'0') * 10 + (m2 - b'0')))
                && d1.is_ascii_digit()
                && d2.is_ascii_digit()
                && (1..=31).contains(&((d1 - b'0') * 10 + (d2 - b'0')))
        }
        _ => false,
    }
}

/// A quantity: 1 to 18 ASCII digits.
#[inline]
fn is_quantity(field: &[u8]) -> bool {
    (1..=18).contains(&field.len()) && field.iter().all(u8::is_ascii_digit)
}

/// Billionths per unit: prices may have up to nine decimals.
const SCALE: i128 = 1_000_000_000;

/// A price's sign, integer digits and decimals, if it is one: an optional
/// `-`, 1 to 18 digits, then optionally `.` and 1 to 9 decimals (`12.34`,
/// `-0.5`, `19.995`, `7`; not `7.` or `.5`).
#[inline]
fn price_parts(field: &[u8]) -> Option<(bool, &[u8], &[u8])> {
    let (negative, digits) = match field.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, field),
    };
    let end = digits.iter().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    let (int, rest) = digits.split_at(end);
    let frac = match rest {
        [] => rest,
        [b'.', frac @ ..] if !frac.is_empty() && frac.iter().all(u8::is_ascii_digit) => frac,
        _ => return None,
    };
    ((1..=18).contains(&int.len()) && frac.len() <= 9).then_some((negative, int, frac))
}

/// A price in billionths, exactly, from its [`price_parts`].
fn price((negative, int, frac): (bool, &[u8], &[u8])) -> i128 {
    let whole = int.iter().fold(0i128, |n, d| n * 10 + i128::from(d - b'0'));
    let part = frac.iter().fold(0i128, |n, d| n * 10 + i128::from(d - b'0')) * 10i128.pow(9 - frac.len() as u32);
    let value = whole * SCALE + part;
    if negative { -value } else { value }
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
