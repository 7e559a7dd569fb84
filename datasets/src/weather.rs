//! `weather`: input for the One Billion Row Challenge.
//!
//! Each line is `Station name;TEMP\n` where the station is drawn uniformly
//! from the first `K` entries of [`STATIONS`] and `TEMP` is the station's mean
//! plus an approximately Gaussian offset (standard deviation 10 °C), rounded
//! to tenths, clamped to `[-99.9, 99.9]` and written with exactly one decimal
//! (`-12.3`, `0.0`, `5.1`; never `-0.0`, never a leading `+` or zero padding).
//!
//! Rows are generated in blocks of [`BLOCK_ROWS`]; block `b` is seeded from
//! `(seed, b)` alone, so the file is byte-identical for any thread count.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::common::{self, Rng, stream};
use crate::stations::STATIONS;

/// Rows per independently seeded block.
pub(crate) const BLOCK_ROWS: u64 = 1_000_000;

/// The most extreme temperature, in tenths of a degree.
pub(crate) const MAX_TENTHS: i32 = 999;

/// Arguments of the `weather` subcommand.
#[derive(Debug, clap::Args)]
pub(crate) struct WeatherArgs {
    /// Number of rows (accepts `1000`, `1_000_000`, `10k`, `100M`, `1B`).
    #[arg(long, value_parser = common::parse_count)]
    pub(crate) rows: u64,
    /// Output file (parent directories are created).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Use only the first K stations of the embedded list [default: all].
    #[arg(long, value_name = "K")]
    pub(crate) stations: Option<usize>,
}

/// Runs the `weather` subcommand.
pub(crate) fn run(args: &WeatherArgs, seed: u64, threads: usize) -> Result<()> {
    let stations = station_count(args.stations)?;
    let mut out = common::create_file(&args.out)?;
    write(&mut out, &args.out, args.rows, stations, seed, threads)?;
    common::finish_file(out, &args.out)
}

/// Validates `--stations`, defaulting to the whole list.
fn station_count(requested: Option<usize>) -> Result<usize> {
    match requested {
        None => Ok(STATIONS.len()),
        Some(k) if (1..=STATIONS.len()).contains(&k) => Ok(k),
        Some(k) => bail!("--stations {k} is out of range: the embedded list has {} stations", STATIONS.len()),
    }
}

/// Writes `rows` weather rows over the first `stations` stations to `out`
/// (`path` only names the destination in error messages).
pub(crate) fn write<W: Write + ?Sized>(
    out: &mut W,
    path: &Path,
    rows: u64,
    stations: usize,
    seed: u64,
    threads: usize,
) -> Result<()> {
    let table = StationTable::new(stations);
    let blocks = rows.div_ceil(BLOCK_ROWS);
    common::write_blocks(out, path, blocks, threads, |block, buf| {
        let first = block * BLOCK_ROWS;
        let count = BLOCK_ROWS.min(rows - first);
        table.fill_block(seed, block, count, buf);
    })
}

/// Bytes reserved per station name in [`StationTable::names`].
const NAME_SLOT: usize = 48;

/// A station name padded to [`NAME_SLOT`] bytes, followed by `;`.
type NameSlot = [u8; NAME_SLOT];

/// A formatted temperature (`-99.9\n` at most) padded to 8 bytes.
type TempSlot = [u8; 8];

/// The stations in use, pre-encoded for fast row formatting.
///
/// Names and temperatures are stored in fixed-size, zero-padded slots: a row
/// is appended as two fixed-size copies, each followed by a `truncate` that
/// drops the padding, which is much cheaper than variable-length copies.
#[derive(Debug)]
struct StationTable {
    /// Each station's UTF-8 name followed by `;`, zero-padded.
    names: Vec<NameSlot>,
    /// How many padding bytes follow each name's `;` in its slot.
    name_padding: Vec<usize>,
    /// Each station's mean temperature in tenths of a degree.
    means: Vec<i32>,
    /// `-999..=999` tenths formatted by [`push_tenths`] plus `\n`, by `tenths + 999`.
    temps: Vec<TempSlot>,
    /// How many padding bytes follow each temperature's `\n`.
    temp_padding: Vec<usize>,
}

impl StationTable {
    /// The first `count` stations of [`STATIONS`].
    fn new(count: usize) -> Self {
        let used = &STATIONS[..count];
        let mut names = Vec::with_capacity(count);
        let mut name_padding = Vec::with_capacity(count);
        for (name, _) in used {
            let bytes = name.as_bytes();
            assert!(bytes.len() < NAME_SLOT, "station name too long: {name}");
            let mut slot = [0; NAME_SLOT];
            slot[..bytes.len()].copy_from_slice(bytes);
            slot[bytes.len()] = b';';
            names.push(slot);
            name_padding.push(NAME_SLOT - bytes.len() - 1);
        }
        let mut temps = Vec::with_capacity(2 * MAX_TENTHS as usize + 1);
        let mut temp_padding = Vec::with_capacity(temps.capacity());
        for tenths in -MAX_TENTHS..=MAX_TENTHS {
            let mut text = Vec::with_capacity(8);
            push_tenths(&mut text, tenths);
            text.push(b'\n');
            let mut slot = [0; 8];
            slot[..text.len()].copy_from_slice(&text);
            temps.push(slot);
            temp_padding.push(8 - text.len());
        }
        Self {
            names,
            name_padding,
            means: used.iter().map(|&(_, mean)| (f64::from(mean) * 10.0).round() as i32).collect(),
            temps,
            temp_padding,
        }
    }

    /// Appends the `count` rows of block `block` to `buf`.
    fn fill_block(&self, seed: u64, block: u64, count: u64, buf: &mut Vec<u8>) {
        let mut rng = Rng::for_unit(seed, stream::WEATHER, block);
        buf.reserve(count as usize * 16 + NAME_SLOT + 8);
        for _ in 0..count {
            let station = rng.index(self.names.len());
            buf.extend_from_slice(&self.names[station]);
            buf.truncate(buf.len() - self.name_padding[station]);
            let tenths = (self.means[station] + gaussian_tenths(&mut rng)).clamp(-MAX_TENTHS, MAX_TENTHS);
            let slot = (tenths + MAX_TENTHS) as usize;
            buf.extend_from_slice(&self.temps[slot]);
            buf.truncate(buf.len() - self.temp_padding[slot]);
        }
    }
}

/// An approximately normal offset with standard deviation 100 tenths (10 °C),
/// rounded to whole tenths.
///
/// Uses the Irwin–Hall construction: the sum of twelve uniform 16-bit values
/// has mean `6 * 65535` and standard deviation ≈ 65536, and is computed in
/// integers only, so it is identical on every platform. Tails end at ±6 sd.
#[inline]
fn gaussian_tenths(rng: &mut Rng) -> i32 {
    /// Sums the four 16-bit lanes of `x`.
    #[inline]
    fn lanes(x: u64) -> i64 {
        let pairs = (x & 0x0000_FFFF_0000_FFFF) + ((x >> 16) & 0x0000_FFFF_0000_FFFF);
        ((pairs & 0xFFFF_FFFF) + (pairs >> 32)) as i64
    }
    let sum = lanes(rng.next_u64()) + lanes(rng.next_u64()) + lanes(rng.next_u64());
    // (sum - 6 * 65535) / 65536 standard deviations, times 100 tenths, rounded.
    let doubled = 2 * sum - 12 * 65535;
    ((doubled * 100 + 65536).div_euclid(131_072)) as i32
}

/// Appends a temperature given in tenths with exactly one decimal:
/// `-123` → `-12.3`, `5` → `0.5`, `0` → `0.0`, `-7` → `-0.7`.
///
/// `tenths` must be within `±999`; zero is never written as `-0.0`.
#[inline]
pub(crate) fn push_tenths(buf: &mut Vec<u8>, tenths: i32) {
    if tenths < 0 {
        buf.push(b'-');
    }
    let abs = tenths.unsigned_abs();
    let whole = abs / 10;
    if whole >= 10 {
        buf.push(b'0' + (whole / 10 % 10) as u8);
    }
    buf.push(b'0' + (whole % 10) as u8);
    buf.push(b'.');
    buf.push(b'0' + (abs % 10) as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(rows: u64, stations: usize, seed: u64, threads: usize) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, Path::new("<memory>"), rows, stations, seed, threads).unwrap();
        out
    }

    #[test]
    fn tenths_formatting() {
        let cases = [
            (0, "0.0"),
            (5, "0.5"),
            (-5, "-0.5"),
            (-3, "-0.3"),
            (120, "12.0"),
            (51, "5.1"),
            (-123, "-12.3"),
            (999, "99.9"),
            (-999, "-99.9"),
            (100, "10.0"),
            (-100, "-10.0"),
        ];
        for (tenths, text) in cases {
            let mut buf = Vec::new();
            push_tenths(&mut buf, tenths);
            assert_eq!(String::from_utf8(buf).unwrap(), text, "{tenths}");
        }
        // Every representable value round-trips through the text form.
        for tenths in -MAX_TENTHS..=MAX_TENTHS {
            let mut buf = Vec::new();
            push_tenths(&mut buf, tenths);
            let text = String::from_utf8(buf).unwrap();
            assert_ne!(text, "-0.0");
            let value: f64 = text.parse().unwrap();
            assert_eq!((value * 10.0).round() as i32, tenths, "{text}");
        }
    }

    #[test]
    fn rows_are_well_formed() {
        let out = generate(200_000, STATIONS.len(), 7, 2);
        let text = std::str::from_utf8(&out).expect("output is UTF-8");
        let mut lines = 0;
        let mut seen = std::collections::HashSet::new();
        for line in text.split_terminator('\n') {
            lines += 1;
            let (name, temp) = line.rsplit_once(';').expect("has a separator");
            assert!(!name.contains(';') && !name.contains('\r'), "{line}");
            assert_ne!(temp, "-0.0");
            let (whole, frac) = temp.split_once('.').expect("has a decimal point");
            assert_eq!(frac.len(), 1, "{line}");
            let digits = whole.strip_prefix('-').unwrap_or(whole);
            assert!((1..=2).contains(&digits.len()), "{line}");
            assert!(digits.len() == 1 || !digits.starts_with('0'), "{line}");
            let value: f64 = temp.parse().unwrap();
            assert!((-99.9..=99.9).contains(&value), "{line}");
            seen.insert(name.to_owned());
        }
        assert_eq!(lines, 200_000);
        assert_eq!(seen.len(), STATIONS.len(), "every station appears");
    }

    #[test]
    fn temperatures_follow_station_means() {
        let out = generate(400_000, 3, 1, 2);
        let text = std::str::from_utf8(&out).unwrap();
        let mut stats = std::collections::HashMap::<&str, (f64, f64, u64)>::new();
        for line in text.lines() {
            let (name, temp) = line.rsplit_once(';').unwrap();
            let v: f64 = temp.parse().unwrap();
            let e = stats.entry(name).or_default();
            e.0 += v;
            e.1 += v * v;
            e.2 += 1;
        }
        for &(name, mean) in &STATIONS[..3] {
            let (sum, sq, n) = stats[name];
            let m = sum / n as f64;
            let sd = (sq / n as f64 - m * m).sqrt();
            assert!((m - f64::from(mean)).abs() < 0.2, "{name}: mean {m}");
            assert!((sd - 10.0).abs() < 0.3, "{name}: sd {sd}");
        }
    }

    #[test]
    fn deterministic_across_runs_and_thread_counts() {
        let rows = 2 * BLOCK_ROWS + 12_345;
        let a = generate(rows, 50, 99, 1);
        assert_eq!(a, generate(rows, 50, 99, 1));
        assert_eq!(a, generate(rows, 50, 99, 2));
        assert_eq!(a, generate(rows, 50, 99, 3));
        assert_ne!(a, generate(rows, 50, 100, 2));
        assert_eq!(a.iter().filter(|&&b| b == b'\n').count() as u64, rows);
    }

    #[test]
    fn first_k_stations_only() {
        let out = generate(10_000, 5, 3, 2);
        let allowed: Vec<&str> = STATIONS[..5].iter().map(|s| s.0).collect();
        for line in std::str::from_utf8(&out).unwrap().lines() {
            let (name, _) = line.rsplit_once(';').unwrap();
            assert!(allowed.contains(&name), "{name}");
        }
        assert!(station_count(Some(0)).is_err());
        assert!(station_count(Some(STATIONS.len() + 1)).is_err());
        assert_eq!(station_count(None).unwrap(), STATIONS.len());
    }

    #[test]
    fn station_list_is_sane() {
        let mut names = std::collections::HashSet::new();
        for &(name, mean) in STATIONS {
            assert!(!name.is_empty());
            assert!(!name.contains([';', '\n', '\r']), "{name}");
            assert!((-30.0..=40.0).contains(&mean), "{name}");
            assert!(names.insert(name), "duplicate {name}");
        }
        assert!(STATIONS.len() >= 400);
        for required in [
            "Zürich",
            "São Paulo",
            "Kraków",
            "Reykjavík",
            "İzmir",
            "Ürümqi",
            "Düsseldorf",
            "Malmö",
            "Washington, D.C.",
            "Saint-Denis, Réunion",
        ] {
            assert!(names.contains(required), "{required}");
        }
    }
}
