//! High-cardinality group-by input: `K<n>;-12.3` lines with `n` uniform in
//! `0..K`, so the number of distinct keys is set by `--keys` (with 50M rows
//! and 20M keys, about 18.4M distinct keys appear). The format is the
//! weather format, so `examples/weather` aggregates it as it is.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::common::{self, Rng};
use crate::weather::{MAX_TENTHS, push_tenths};

/// Rows per independently seeded block.
const BLOCK_ROWS: u64 = 1_000_000;

/// The random stream of this generator (see [`Rng::for_unit`]).
const STREAM: u64 = 0x6b65_7973;

/// Arguments of the `keys` subcommand.
#[derive(Debug, clap::Args)]
pub(crate) struct KeysArgs {
    /// Number of rows (accepts `1000`, `10k`, `50M`, ...).
    #[arg(long, value_parser = common::parse_count)]
    pub(crate) rows: u64,
    /// Keys to draw from: each row's key is uniform in `K0..K<keys-1>`.
    #[arg(long, value_parser = common::parse_count)]
    pub(crate) keys: u64,
    /// Output file (parent directories are created).
    #[arg(long)]
    pub(crate) out: PathBuf,
}

/// Runs the `keys` subcommand.
pub(crate) fn run(args: &KeysArgs, seed: u64, threads: usize) -> Result<()> {
    if args.keys == 0 {
        bail!("--keys must be at least 1");
    }
    let mut out = common::create_file(&args.out)?;
    write(&mut out, &args.out, args.rows, args.keys, seed, threads)?;
    common::finish_file(out, &args.out)
}

/// Writes `rows` rows over `keys` keys to `out` (`path` names it in errors).
pub(crate) fn write<W: std::io::Write + ?Sized>(
    out: &mut W,
    path: &Path,
    rows: u64,
    keys: u64,
    seed: u64,
    threads: usize,
) -> Result<()> {
    let blocks = rows.div_ceil(BLOCK_ROWS);
    common::write_blocks(out, path, blocks, threads, |block, buf| {
        let first = block * BLOCK_ROWS;
        let count = BLOCK_ROWS.min(rows - first);
        let mut rng = Rng::for_unit(seed, STREAM, block);
        buf.reserve(count as usize * 16);
        let mut digits = itoa_buffer();
        for _ in 0..count {
            buf.push(b'K');
            buf.extend_from_slice(format_u64(&mut digits, rng.below(keys)));
            buf.push(b';');
            let tenths = rng.below(2 * MAX_TENTHS as u64 + 1) as i32 - MAX_TENTHS;
            push_tenths(buf, tenths);
            buf.push(b'\n');
        }
    })
}

/// Scratch space for [`format_u64`].
fn itoa_buffer() -> [u8; 20] {
    [0; 20]
}

/// The decimal digits of `n`, written into the end of `buf`.
fn format_u64(buf: &mut [u8; 20], mut n: u64) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generate(rows: u64, keys: u64, threads: usize) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, Path::new("<memory>"), rows, keys, 7, threads).unwrap();
        out
    }

    #[test]
    fn rows_are_weather_lines_over_the_requested_keys() {
        let text = generate(2_500_000, 1000, 2);
        let mut seen = std::collections::HashSet::new();
        let mut lines = 0;
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let line = std::str::from_utf8(line).unwrap();
            let (key, temp) = line.split_once(';').unwrap();
            let n: u64 = key.strip_prefix('K').unwrap().parse().unwrap();
            assert!(n < 1000, "{line}");
            let t: f64 = temp.parse().unwrap();
            assert!((-99.9..=99.9).contains(&t), "{line}");
            assert_eq!(temp.split_once('.').unwrap().1.len(), 1, "{line}");
            seen.insert(n);
            lines += 1;
        }
        assert_eq!(lines, 2_500_000);
        assert_eq!(seen.len(), 1000, "every key appears at this ratio");
    }

    #[test]
    fn output_does_not_depend_on_threads() {
        assert_eq!(generate(2_100_000, 77, 1), generate(2_100_000, 77, 3));
    }

    #[test]
    fn digits_format() {
        let mut buf = itoa_buffer();
        assert_eq!(format_u64(&mut buf, 0), b"0");
        assert_eq!(format_u64(&mut buf, 18_446_744_073_709_551_615), b"18446744073709551615");
    }
}
