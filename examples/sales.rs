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
    #[command(flatten)]
    shoal: Flags,
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

impl AsRef<Flags> for Cli {
    fn as_ref(&self) -> &Flags {
        &self.shoal
    }
}

/// A group: region and product.
type Key = (String, String);
/// Of a group: total quantity, and revenue in billionths (exact, see [`parse_price`]).
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
            // one goes on, so that `parse_row` rejects it below.
            .filter(|r: &&Record| is_2025(r) || parse_row(r, &nulls).is_err())
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
        Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
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

/// Checks every column of a row (see the module docs).
fn parse_row<'a>(r: &'a Record, nulls: &[&[u8]]) -> Result<Row<'a>, String> {
    let field = |i: usize| -> Result<&'a [u8], String> {
        let value = r.get(i).ok_or_else(|| format!("too few fields: no {}", HEADER[i]))?;
        if nulls.contains(&value) {
            return Err(format!("missing {} ({:?} is a null value)", HEADER[i], String::from_utf8_lossy(value)));
        }
        Ok(value)
    };
    parse_order_id(field(ORDER_ID)?)?;
    parse_date(field(DATE)?)?;
    Ok(Row {
        region: text(field(REGION)?, "region")?,
        product: text(field(PRODUCT)?, "product")?,
        quantity: parse_quantity(field(QUANTITY)?)?,
        price: parse_price(field(UNIT_PRICE)?)?,
    })
}

fn text<'a>(field: &'a [u8], column: &str) -> Result<&'a str, String> {
    std::str::from_utf8(field).map_err(|_| format!("{column} is not UTF-8: {:?}", String::from_utf8_lossy(field)))
}

/// An order id: 1 to 19 ASCII digits.
fn parse_order_id(field: &[u8]) -> Result<(), String> {
    if field.is_empty() || field.len() > 19 || !field.iter().all(u8::is_ascii_digit) {
        return Err(format!("bad order_id {:?}", String::from_utf8_lossy(field)));
    }
    Ok(())
}

/// A date: `YYYY-MM-DD`, month 01-12, day 01-31.
fn parse_date(field: &[u8]) -> Result<(), String> {
    let number =
        |digits: &[u8]| digits.iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')));
    let ok = match field {
        [y @ .., b'-', m1, m2, b'-', d1, d2] if y.len() == 4 => {
            number(y).is_some()
                && number(&[*m1, *m2]).is_some_and(|m| (1..=12).contains(&m))
                && number(&[*d1, *d2]).is_some_and(|d| (1..=31).contains(&d))
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err(format!("bad date {:?}", String::from_utf8_lossy(field))) }
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

/// A price (`12.34`, `-0.5`, `19.995`, `7`; not `7.` or `.5`) in
/// billionths, exactly.
fn parse_price(field: &[u8]) -> Result<i128, String> {
    let bad = || format!("bad unit_price {:?}", String::from_utf8_lossy(field));
    let (negative, digits) = match field.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, field),
    };
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(dot) if dot + 1 < digits.len() => (&digits[..dot], &digits[dot + 1..]),
        Some(_) => return Err(bad()),
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
