//! `sales`: a CSV of orders that exercises the corners of RFC 4180.
//!
//! Header: `order_id,date,region,product,quantity,unit_price,note`.
//!
//! * `order_id`: 1, 2, 3, … in file order.
//! * `date`: `YYYY-MM-DD`, uniform over 2022-01-01..=2026-12-31.
//! * `region`: one of the eight [`REGIONS`] (never quoted).
//! * `product`: one of 500 names; most are like `Widget 042`, some hold
//!   commas, double quotes or non-ASCII UTF-8 and are quoted as RFC 4180 says.
//! * `quantity`: 1..=50.
//! * `unit_price`: exactly two decimals, 0.50..=999.99.
//! * `note`: see [`NoteKind`]: usually empty (written as nothing or as `""`)
//!   or a short phrase; about 2% hold commas, doubled quotes and LF or CRLF
//!   line breaks inside quotes.
//!
//! Records end with LF, or CRLF with `--crlf` (header included); line breaks
//! inside quoted notes are kept as generated (LF or CRLF) either way.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::common::{self, Rng, splitmix64, stream};
use crate::text::{self, csv_field, csv_quoted, days_from_civil};

/// Rows per independently seeded block.
pub(crate) const BLOCK_ROWS: u64 = 250_000;

/// The header line, without its terminator.
pub(crate) const HEADER: &str = "order_id,date,region,product,quantity,unit_price,note";

/// The sales regions.
pub(crate) const REGIONS: [&str; 8] =
    ["North America", "Europe", "Asia Pacific", "Latin America", "Middle East", "Africa", "Oceania", "Nordics"];

/// How many products the catalogue has.
pub(crate) const PRODUCT_COUNT: usize = 500;

/// Base nouns of the regular product names (`Widget 001`, `Gadget 002`, …).
const PRODUCT_NOUNS: [&str; 20] = [
    "Widget", "Gadget", "Gizmo", "Sprocket", "Bracket", "Valve", "Hinge", "Flange", "Bearing", "Gasket", "Spring",
    "Clamp", "Nozzle", "Pulley", "Adapter", "Cable", "Filter", "Sensor", "Module", "Panel",
];

/// Product names that need quoting or are non-ASCII; they replace every
/// product whose index is 12 modulo 25.
const SPECIAL_PRODUCTS: [&str; 20] = [
    "Bolts, hex, M8 (100 pcs)",
    "Crème brûlée torch",
    "Monitor 27\" 4K",
    "Müsli bowl, set of 4",
    "Straßenschild",
    "Pipe 1/2\", brass",
    "Ølkrus 0,5 L",
    "Jalapeño sauce",
    "Piñata, large",
    "Açaí powder",
    "Smörgåsbord tray",
    "Škoda model car",
    "日本茶 teapot",
    "Eisbär 🐻 plush",
    "Łódź city poster",
    "Café table, round",
    "\"Deluxe\" Gizmo",
    "Čokoláda mold",
    "Ærø mug",
    "Crêpe pan 28cm",
];

/// Short plain notes (never need quoting; some are non-ASCII).
const PLAIN_NOTES: [&str; 16] = [
    "gift",
    "express shipping",
    "repeat customer",
    "backorder",
    "paid by card",
    "pickup in store",
    "bulk discount applied",
    "first order",
    "priority",
    "price match",
    "loyalty member",
    "no invoice",
    "Lieferung über Nachbarn",
    "envoi prioritaire",
    "café delivery",
    "signed for",
];

/// Notes with RFC 4180 special content: commas, double quotes, LF and CRLF.
const SPECIAL_NOTES: [&str; 16] = [
    "Leave at door, ring twice",
    "Customer asked for \"express\" shipping",
    "Call before delivery\nDock 4",
    "Invoice to HQ\r\nAttn: Accounts",
    "\"Fragile\", handle with care",
    "Line 1\nLine 2\nLine 3",
    "Größe: XL, Farbe: blau",
    "Box 1 of 2, see \"order notes\"\r\nShip together",
    "\"\"",
    ", leading comma",
    "trailing newline\n",
    "Café order, \"no sugar\"\nthanks!",
    "12\" pizza box, qty 3",
    "Returned item\r\n\r\nRefund pending",
    "Back-ordered\n\"ETA\": March, 2026",
    "Note:\n  - item A\n  - item B",
];

/// Parts per million of rows whose note is one of [`SPECIAL_NOTES`] (2%).
pub(crate) const SPECIAL_NOTE_PPM: u32 = 20_000;

/// The kinds of `note` field, with their share of rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoteKind {
    /// 2%: a [`SPECIAL_NOTES`] entry, quoted with inner quotes doubled.
    Special,
    /// 55%: empty, written as nothing (`…,12.50` then the terminator).
    Empty,
    /// 10%: empty, written as an empty quoted field (`…,12.50,""`).
    EmptyQuoted,
    /// 30%: a [`PLAIN_NOTES`] phrase, unquoted.
    Plain,
    /// 3%: a [`PLAIN_NOTES`] phrase, quoted although it need not be.
    PlainQuoted,
}

impl NoteKind {
    /// Draws a note kind with the documented shares.
    fn draw(rng: &mut Rng) -> Self {
        let u = rng.below(1_000_000);
        match u {
            _ if u < u64::from(SPECIAL_NOTE_PPM) => Self::Special,
            _ if u < 570_000 => Self::Empty,
            _ if u < 670_000 => Self::EmptyQuoted,
            _ if u < 970_000 => Self::Plain,
            _ => Self::PlainQuoted,
        }
    }
}

/// Arguments of the `sales` subcommand.
#[derive(Debug, clap::Args)]
pub(crate) struct SalesArgs {
    /// Number of data rows, header excluded (accepts `10k`, `10M`, …).
    #[arg(long, value_parser = common::parse_count)]
    pub(crate) rows: u64,
    /// Output file (parent directories are created).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// End records with CRLF instead of LF.
    #[arg(long)]
    pub(crate) crlf: bool,
}

/// Runs the `sales` subcommand.
pub(crate) fn run(args: &SalesArgs, seed: u64, threads: usize) -> Result<()> {
    let mut out = common::create_file(&args.out)?;
    write(&mut out, &args.out, args.rows, args.crlf, seed, threads)?;
    common::finish_file(out, &args.out)
}

/// Writes the header and `rows` rows to `out` (`path` only names the
/// destination in error messages).
pub(crate) fn write<W: Write + ?Sized>(
    out: &mut W,
    path: &Path,
    rows: u64,
    crlf: bool,
    seed: u64,
    threads: usize,
) -> Result<()> {
    let tables = Tables::new();
    let terminator: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut header = Vec::new();
    tables.push_header(&mut header, terminator);
    out.write_all(&header).with_context(|| format!("cannot write {}", path.display()))?;
    let days = DayRange::years(2022, 2026);
    let blocks = rows.div_ceil(BLOCK_ROWS);
    common::write_blocks(out, path, blocks, threads, |block, buf| {
        let first = block * BLOCK_ROWS;
        let count = BLOCK_ROWS.min(rows - first);
        let mut rng = Rng::for_unit(seed, stream::SALES, block);
        buf.reserve(count as usize * 72);
        for row in first..first + count {
            tables.push_row(buf, &mut rng, row + 1, days, terminator);
        }
    })
}

/// A range of calendar days, as days since 1970-01-01.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DayRange {
    /// The first day.
    pub(crate) first: i64,
    /// How many days (at least one).
    pub(crate) len: u64,
}

impl DayRange {
    /// January 1 of `from` to December 31 of `to`.
    pub(crate) const fn years(from: i64, to: i64) -> Self {
        let first = days_from_civil(from, 1, 1);
        Self { first, len: (days_from_civil(to + 1, 1, 1) - first) as u64 }
    }
}

/// One catalogue product.
#[derive(Debug)]
struct Product {
    /// The name as a CSV field (quoted when needed).
    field: Box<[u8]>,
    /// The list price in cents; rows vary it by ±10%.
    base_cents: u32,
}

/// Pre-encoded fields, shared by every row.
#[derive(Debug)]
pub(crate) struct Tables {
    /// The catalogue, [`PRODUCT_COUNT`] entries.
    products: Vec<Product>,
    /// [`SPECIAL_NOTES`] as quoted CSV fields.
    special_notes: Vec<Box<[u8]>>,
    /// [`PLAIN_NOTES`] as quoted CSV fields (for [`NoteKind::PlainQuoted`]).
    quoted_plain_notes: Vec<Box<[u8]>>,
}

impl Tables {
    /// Builds the tables. They do not depend on the seed.
    pub(crate) fn new() -> Self {
        let products = (0..PRODUCT_COUNT)
            .map(|i| {
                let name = if i % 25 == 12 {
                    SPECIAL_PRODUCTS[i / 25].to_owned()
                } else {
                    format!("{} {:03}", PRODUCT_NOUNS[i % PRODUCT_NOUNS.len()], i + 1)
                };
                Product {
                    field: csv_field(&name).into_bytes().into_boxed_slice(),
                    base_cents: base_price_cents(i as u64),
                }
            })
            .collect();
        let quote_all = |notes: &[&str]| -> Vec<Box<[u8]>> {
            notes.iter().map(|n| csv_quoted(n).into_bytes().into_boxed_slice()).collect()
        };
        Self { products, special_notes: quote_all(&SPECIAL_NOTES), quoted_plain_notes: quote_all(&PLAIN_NOTES) }
    }

    /// Appends the header line.
    pub(crate) fn push_header(&self, buf: &mut Vec<u8>, terminator: &[u8]) {
        buf.extend_from_slice(HEADER.as_bytes());
        buf.extend_from_slice(terminator);
    }

    /// Appends one record with the given `order_id` and a date in `days`.
    pub(crate) fn push_row(&self, buf: &mut Vec<u8>, rng: &mut Rng, order_id: u64, days: DayRange, terminator: &[u8]) {
        text::push_u64(buf, order_id);
        buf.push(b',');
        text::push_iso_date(buf, days.first + rng.below(days.len) as i64);
        buf.push(b',');
        buf.extend_from_slice(rng.pick(&REGIONS).as_bytes());
        buf.push(b',');
        let product = rng.pick(&self.products);
        buf.extend_from_slice(&product.field);
        buf.push(b',');
        text::push_u64(buf, rng.range(1, 50));
        buf.push(b',');
        let cents = (u64::from(product.base_cents) * rng.range(90, 110) / 100).clamp(50, 99_999);
        text::push_u64(buf, cents / 100);
        buf.push(b'.');
        text::push_two(buf, (cents % 100) as u32);
        buf.push(b',');
        match NoteKind::draw(rng) {
            NoteKind::Special => buf.extend_from_slice(rng.pick::<Box<[u8]>>(&self.special_notes)),
            NoteKind::Empty => {}
            NoteKind::EmptyQuoted => buf.extend_from_slice(b"\"\""),
            NoteKind::Plain => buf.extend_from_slice(rng.pick(&PLAIN_NOTES).as_bytes()),
            NoteKind::PlainQuoted => buf.extend_from_slice(rng.pick::<Box<[u8]>>(&self.quoted_plain_notes)),
        }
        buf.extend_from_slice(terminator);
    }
}

/// The list price of product `index`, in cents: one of four price tiers
/// (0.50–9.99, 10.00–99.99, 100.00–499.99, 500.00–999.99), fixed per product.
fn base_price_cents(index: u64) -> u32 {
    let h = splitmix64(index ^ 0x5A1E_5000);
    let (lo, hi): (u64, u64) = match h % 4 {
        0 => (50, 999),
        1 => (1_000, 9_999),
        2 => (10_000, 49_999),
        _ => (50_000, 99_999),
    };
    (lo + (h >> 8) % (hi - lo + 1)) as u32
}

/// A minimal RFC 4180 reader for the tests: splits `input` into records of
/// fields, checking that quotes are well-formed.
#[cfg(test)]
pub(crate) fn parse_csv(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = Vec::new();
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'"' {
            // Quoted field: runs to the closing quote; `""` is a literal quote.
            if !field.is_empty() {
                return Err(format!("quote inside unquoted field at byte {i}"));
            }
            i += 1;
            loop {
                match input.get(i) {
                    None => return Err("unterminated quoted field".into()),
                    Some(b'"') if input.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&b) => {
                        field.push(b);
                        i += 1;
                    }
                }
            }
            match input.get(i) {
                None | Some(b',' | b'\n') => {}
                Some(b'\r') if input.get(i + 1) == Some(&b'\n') => {}
                Some(&b) => return Err(format!("byte {b:#x} after closing quote at {i}")),
            }
            continue;
        }
        match input[i] {
            b',' => {
                record.push(std::mem::take(&mut field));
                i += 1;
            }
            b'\r' if input.get(i + 1) == Some(&b'\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                i += 2;
            }
            b'\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                i += 1;
            }
            b'\r' => return Err(format!("bare CR in unquoted field at byte {i}")),
            b => {
                field.push(b);
                i += 1;
            }
        }
    }
    if !field.is_empty() || !record.is_empty() {
        return Err("last record has no terminator".into());
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(rows: u64, crlf: bool, seed: u64, threads: usize) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, Path::new("<memory>"), rows, crlf, seed, threads).unwrap();
        out
    }

    /// Checks every record of a generated file and returns the data records.
    fn check_file(out: &[u8], rows: u64) -> Vec<Vec<Vec<u8>>> {
        let mut records = parse_csv(out).expect("valid RFC 4180");
        assert_eq!(records.len() as u64, rows + 1);
        let header: Vec<&[u8]> = HEADER.as_bytes().split(|&b| b == b',').collect();
        assert_eq!(records[0], header);
        for (i, record) in records[1..].iter().enumerate() {
            assert_eq!(record.len(), 7, "row {i}: {record:?}");
            let field = |n: usize| std::str::from_utf8(&record[n]).expect("UTF-8 field");
            assert_eq!(field(0).parse::<u64>().unwrap(), i as u64 + 1);
            let date = field(1);
            assert_eq!(date.len(), 10, "{date}");
            assert!(("2022-01-01"..="2026-12-31").contains(&date), "{date}");
            assert!(REGIONS.contains(&field(2)));
            assert!(!field(3).is_empty());
            assert!((1..=50).contains(&field(4).parse::<u32>().unwrap()));
            let (units, cents) = field(5).split_once('.').unwrap();
            assert_eq!(cents.len(), 2, "{}", field(5));
            let price: u32 = units.parse::<u32>().unwrap() * 100 + cents.parse::<u32>().unwrap();
            assert!((50..=99_999).contains(&price), "{}", field(5));
            field(6);
        }
        records.split_off(1)
    }

    #[test]
    fn every_row_parses_with_seven_fields() {
        for crlf in [false, true] {
            let out = generate(50_000, crlf, 11, 2);
            check_file(&out, 50_000);
            let header = format!("{HEADER}{}", if crlf { "\r\n" } else { "\n" });
            assert!(out.starts_with(header.as_bytes()));
        }
    }

    #[test]
    fn about_two_percent_of_notes_are_special() {
        let out = generate(200_000, false, 5, 2);
        let rows = check_file(&out, 200_000);
        let special = rows.iter().filter(|r| r[6].iter().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))).count();
        let share = special as f64 / rows.len() as f64;
        assert!((0.017..0.023).contains(&share), "special share {share}");
        let with_lf = rows.iter().filter(|r| r[6].contains(&b'\n')).count();
        let with_crlf = rows.iter().filter(|r| r[6].windows(2).any(|w| w == b"\r\n")).count();
        let with_quote = rows.iter().filter(|r| r[6].contains(&b'"')).count();
        assert!(with_lf > 0 && with_crlf > 0 && with_quote > 0);
        // Both spellings of an empty note occur.
        assert!(out.windows(4).any(|w| w == b",\"\"\n"));
        assert!(out.windows(2).any(|w| w == b",\n"));
    }

    #[test]
    fn products_cover_quoting_cases() {
        let tables = Tables::new();
        assert_eq!(tables.products.len(), PRODUCT_COUNT);
        let fields: Vec<&[u8]> = tables.products.iter().map(|p| &*p.field).collect();
        assert!(fields.iter().any(|f| f.starts_with(b"\"") && f.contains(&b',')));
        assert!(fields.iter().any(|f| f.windows(2).any(|w| w == b"\"\"")));
        assert!(fields.iter().any(|f| !f.is_ascii()));
        assert!(fields.contains(&&b"Widget 001"[..]));
        let mut unique = fields.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), PRODUCT_COUNT);
    }

    #[test]
    fn deterministic_across_runs_and_thread_counts() {
        let rows = 2 * BLOCK_ROWS + 777;
        let a = generate(rows, false, 3, 1);
        assert_eq!(a, generate(rows, false, 3, 1));
        assert_eq!(a, generate(rows, false, 3, 2));
        assert_eq!(a, generate(rows, false, 3, 3));
        assert_ne!(a, generate(rows, false, 4, 2));
    }

    #[test]
    fn crlf_only_changes_terminators() {
        let lf = generate(5_000, false, 8, 2);
        let crlf = generate(5_000, true, 8, 2);
        let lf_rows = parse_csv(&lf).unwrap();
        let crlf_rows = parse_csv(&crlf).unwrap();
        assert_eq!(lf_rows, crlf_rows);
        assert!(crlf.len() > lf.len());
    }

    #[test]
    fn test_parser_rejects_bad_csv() {
        assert!(parse_csv(b"a,\"b\nc\n").is_err());
        assert!(parse_csv(b"a,\"b\"x\n").is_err());
        assert!(parse_csv(b"a,b").is_err());
        assert_eq!(
            parse_csv(b"a,\"b,\"\"c\"\"\r\nd\"\n,\n").unwrap(),
            vec![vec![b"a".to_vec(), b"b,\"c\"\r\nd".to_vec()], vec![vec![], vec![]]]
        );
    }
}
