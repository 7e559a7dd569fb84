//! The hand-tuned peer of the weather comparison (issue 15.7): a
//! self-contained One Billion Row Challenge program in the style of the
//! fastest 1BRC entries, sharing no code with Shoal or with
//! `examples/weather`. It is the bar the framework is measured against.
//!
//! * Each input file is memory-mapped; one thread per core (or `--threads`)
//!   takes chunks of about [`CHUNK`] bytes from an atomic counter, each
//!   chunk owning the lines that start in it.
//! * Per line: the first sixteen bytes in two words, the `;` found by a SWAR
//!   zero-byte test in both at once; the name's bytes, masked, are the key
//!   of an open-addressing table. Longer names continue word by word.
//! * The temperature (`-?\d?\d\.\d`) is parsed from the eight bytes after
//!   the `;` without a branch: the position of the `.` from one bit test,
//!   the digits combined by one multiply. Its length gives the next line's
//!   start, so the newline is never searched for.
//! * One table per thread, merged and sorted by name bytes at the end.
//!
//! Output is exactly that of `examples/weather` (`STATION,MIN,MEAN,MAX`,
//! sorted by the name's bytes, the mean rounded half away from zero, CSV
//! quoting) for the dataset generator's output: names of valid UTF-8 and
//! temperatures within ±99.9. Lines of other shapes (CRLF, a missing `;`,
//! three integer digits) go through a byte-at-a-time path that handles
//! `-?\d{1,3}\.\d` and CRLF and stops with an error otherwise; names are
//! not validated.
//!
//! Usage: `weather_tuned [--threads T] FILE...`

use std::fs::File;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use memmap2::Mmap;

/// Bytes per unit of work: small enough that a thread slowed by a
/// neighbour's load leaves little for the others to wait on.
const CHUNK: usize = 4 << 20;

/// Lines starting this close to the end of a file are parsed by the slow
/// path, so the fast path's word loads (sixteen name bytes, eight after the
/// `;`) stay inside the mapping for names up to 100 bytes.
const TAIL: usize = 128;

/// Slots of each thread's table at first (a power of two); it doubles when
/// more than half full. Small, so that a few hundred stations' slots stay
/// in the first-level caches.
const INITIAL_SLOTS: usize = 1 << 14;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of each byte of `w` that is `;`, exact for the lowest such byte
/// (higher bytes may be flagged falsely only above a true one).
#[inline(always)]
fn semicolons(w: u64) -> u64 {
    let x = w ^ (ONES * u64::from(b';'));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The eight bytes at `at` as a little-endian word (bounds-checked: the
/// callers keep `at + 8` inside the mapping, so the check never fails).
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// Parses the temperature at the start of `w` (the eight bytes after the
/// `;`): `-?\d?\d\.\d` followed by `\n`. Returns the value in tenths and the
/// length through the `\n`. Branch-free: `.` is the only byte of the shape
/// with bit 4 clear among bytes 1 to 3.
#[inline(always)]
fn parse_temperature(w: u64) -> (i64, usize) {
    let dot = (!w & 0x1010_1000).trailing_zeros();
    // All ones when the first byte is `-` (bit 4 of `-`, 0x2d, is clear;
    // of a digit, set).
    let negative = ((!w << 59) as i64) >> 63;
    let digits = ((w & !(negative as u64 & 0xff)) << (28 - dot)) & 0x000f_000f_0f00;
    let abs = ((digits.wrapping_mul(0x640a_0001)) >> 32) & 0x3ff;
    let value = ((abs as i64) ^ negative) - negative;
    (value, (dot as usize >> 3) + 3)
}

/// Whether `w` starts with the shape [`parse_temperature`] reads: an
/// optional `-`, one or two digits, `.`, a digit and `\n` (every byte
/// checked; the tests hold [`is_short_temperature_fast`] against it).
#[cfg(test)]
fn is_short_temperature(w: u64) -> bool {
    let b = w.to_le_bytes();
    let digit = |i: usize| b[i].is_ascii_digit();
    let s = usize::from(b[0] == b'-');
    let shape =
        |n: usize| (0..n).all(|i| digit(s + i)) && b[s + n] == b'.' && digit(s + n + 1) && b[s + n + 2] == b'\n';
    shape(1) || shape(2)
}

/// One station's figures, in tenths of a degree.
#[derive(Clone, Copy, Debug)]
struct Stats {
    min: i64,
    max: i64,
    sum: i64,
    count: u64,
}

impl Stats {
    const EMPTY: Stats = Stats { min: i64::MAX, max: i64::MIN, sum: 0, count: 0 };

    #[inline(always)]
    fn add(&mut self, t: i64) {
        self.min = self.min.min(t);
        self.max = self.max.max(t);
        self.sum += t;
        self.count += 1;
    }

    fn merge(&mut self, o: &Stats) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.count += o.count;
    }
}

/// A slot of [`Table`]: the name's first sixteen bytes (zero-padded), its
/// length (0 marks a free slot, so lengths are stored plus one), where the
/// whole name lies in the table's arena, and the figures.
#[derive(Clone, Copy, Debug)]
struct Slot {
    key0: u64,
    key1: u64,
    len_plus_one: u32,
    name_at: u32,
    stats: Stats,
}

const FREE: Slot = Slot { key0: 0, key1: 0, len_plus_one: 0, name_at: 0, stats: Stats::EMPTY };

/// Open addressing with linear probing on the name's first sixteen bytes;
/// names longer than that are compared in full against the arena.
#[derive(Debug)]
struct Table {
    slots: Vec<Slot>,
    used: usize,
    names: Vec<u8>,
}

#[inline(always)]
fn hash(key0: u64, key1: u64, len: usize) -> u64 {
    (key0 ^ key1.rotate_left(23) ^ len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Table {
    fn new() -> Self {
        Table { slots: vec![FREE; INITIAL_SLOTS], used: 0, names: Vec::new() }
    }

    /// The slot of the name `name` whose first sixteen bytes are `key0`,
    /// `key1`, inserting it when new.
    #[inline(always)]
    fn slot(&mut self, key0: u64, key1: u64, name: &[u8]) -> &mut Stats {
        let len_plus_one = name.len() as u32 + 1;
        let mask = self.slots.len() - 1;
        let mut i = (hash(key0, key1, name.len()) >> 32) as usize & mask;
        loop {
            let s = &self.slots[i];
            if s.key0 == key0 && s.key1 == key1 && s.len_plus_one == len_plus_one {
                if name.len() <= 16 || self.names[s.name_at as usize..][..name.len()] == *name {
                    return &mut self.slots[i].stats;
                }
            } else if s.len_plus_one == 0 {
                return self.insert(i, key0, key1, name);
            }
            i = (i + 1) & mask;
        }
    }

    #[cold]
    #[inline(never)]
    fn insert(&mut self, mut i: usize, key0: u64, key1: u64, name: &[u8]) -> &mut Stats {
        if 2 * (self.used + 1) > self.slots.len() {
            self.grow();
            let mask = self.slots.len() - 1;
            i = (hash(key0, key1, name.len()) >> 32) as usize & mask;
            while self.slots[i].len_plus_one != 0 {
                i = (i + 1) & mask;
            }
        }
        let name_at = self.names.len() as u32;
        self.names.extend_from_slice(name);
        self.slots[i] = Slot { key0, key1, len_plus_one: name.len() as u32 + 1, name_at, stats: Stats::EMPTY };
        self.used += 1;
        &mut self.slots[i].stats
    }

    fn grow(&mut self) {
        let doubled = vec![FREE; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for s in old.into_iter().filter(|s| s.len_plus_one != 0) {
            let mut i = (hash(s.key0, s.key1, s.len_plus_one as usize - 1) >> 32) as usize & mask;
            while self.slots[i].len_plus_one != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }

    /// The name's first sixteen bytes as two zero-padded words.
    fn keys_of(name: &[u8]) -> (u64, u64) {
        let mut padded = [0u8; 16];
        let n = name.len().min(16);
        padded[..n].copy_from_slice(&name[..n]);
        let (a, b) = padded.split_at(8);
        (u64::from_le_bytes(a.try_into().unwrap_or_default()), u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    /// Every station and its figures.
    fn entries(&self) -> impl Iterator<Item = (&[u8], &Stats)> {
        self.slots.iter().filter(|s| s.len_plus_one != 0).map(|s| {
            let len = s.len_plus_one as usize - 1;
            (&self.names[s.name_at as usize..][..len], &s.stats)
        })
    }
}

/// Aggregates the lines starting in `bytes[start..end]` (`start` is a line
/// start) into `table`. Returns the offset of a line it could not parse.
///
/// The range is cut at line starts into [`LANES`] parts read in lockstep, a
/// line of each per step: each line's parse depends on the one before it
/// (its start is the previous line's end), so interleaving independent
/// parts lets the CPU overlap their latencies.
fn aggregate(bytes: &[u8], start: usize, end: usize, table: &mut Table) -> Result<(), usize> {
    let fast_end = end.min(bytes.len().saturating_sub(TAIL));
    let mut bounds = [end; LANES + 1];
    bounds[0] = start;
    for i in 1..LANES {
        let target = (start + (end - start) * i / LANES).max(bounds[i - 1]);
        bounds[i] = memchr::memchr(b'\n', &bytes[target..end]).map_or(end, |n| target + n + 1);
    }
    let mut pos: [usize; LANES] = std::array::from_fn(|i| bounds[i]);
    let stop: [usize; LANES] = std::array::from_fn(|i| bounds[i + 1].min(fast_end));
    // Written out for the three lanes: a loop over them is not unrolled
    // (it returns early on errors), and its exit costs a branch.
    let [a, b, c] = &mut pos;
    while *a < stop[0] && *b < stop[1] && *c < stop[2] {
        *a = line(bytes, *a, table)?;
        *b = line(bytes, *b, table)?;
        *c = line(bytes, *c, table)?;
    }
    for i in 0..LANES {
        while pos[i] < stop[i] {
            pos[i] = line(bytes, pos[i], table)?;
        }
        while pos[i] < bounds[i + 1] {
            pos[i] = slow_line(bytes, pos[i], table)?;
        }
    }
    Ok(())
}

/// Parts of a chunk read in lockstep by [`aggregate`].
const LANES: usize = 3;

/// Adds the line at `pos` (which starts at least [`TAIL`] bytes before the
/// end of `bytes`) and returns the next line's start.
#[inline(always)]
fn line(bytes: &[u8], pos: usize, table: &mut Table) -> Result<usize, usize> {
    let w0 = word(bytes, pos);
    let w1 = word(bytes, pos + 8);
    let m0 = semicolons(w0);
    let m1 = semicolons(w1);
    // No branch on whether the name is shorter than eight bytes: `first`
    // is all ones when the `;` is in the first word, and selects the
    // masks and the length arithmetically.
    let (key0, key1, len) = if m0 | m1 != 0 {
        let first = u64::from(m0 != 0).wrapping_neg();
        let keep0 = (m0 ^ m0.wrapping_sub(1)) >> 8 | !first;
        let keep1 = (m1 ^ m1.wrapping_sub(1)) >> 8 & !first;
        let bits = u64::from(m0.trailing_zeros()) & first | (64 + u64::from(m1.trailing_zeros())) & !first;
        (w0 & keep0, w1 & keep1, bits as usize / 8)
    } else {
        // A long name: on word by word.
        let mut at = pos + 16;
        let len = loop {
            if at + 8 > bytes.len() {
                return Err(pos);
            }
            let m = semicolons(word(bytes, at));
            if m != 0 {
                break at - pos + m.trailing_zeros() as usize / 8;
            }
            at += 8;
        };
        (w0, w1, len)
    };
    let after = pos + len + 1;
    let tw = word(bytes, after);
    if !is_short_temperature_fast(tw) {
        return slow_line(bytes, pos, table);
    }
    let (t, tlen) = parse_temperature(tw);
    table.slot(key0, key1, &bytes[pos..pos + len]).add(t);
    Ok(after + tlen)
}

/// A cheap check that `w` has the shape `-?\d?\d\.\d\n` as
/// [`parse_temperature`] reads it: a byte with bit 4 clear at byte 1, 2 or
/// 3 (the `.`), the `\n` two bytes after it, and a `-` first when the `.`
/// is at byte 3. Lines that fail it (CRLF, a third integer digit, no `.`)
/// go to the slow path, which checks every byte; a line that passes it with
/// other bytes than digits in the digits' places is misread (the dataset
/// generator writes none).
#[inline(always)]
fn is_short_temperature_fast(w: u64) -> bool {
    // A stand-in bit at byte 5 when bytes 1 to 3 all have bit 4 set.
    let dot = ((!w & 0x1010_1000) | 1 << 44).trailing_zeros();
    // `dot` is `8 * byte + 4`, so the `\n` two bytes on is at bit `dot + 12`.
    let newline = (w >> ((dot + 12) & 63)) as u8 == b'\n';
    let three_digits = (dot == 28) & (w as u8 != b'-');
    newline & (dot != 44) & !three_digits
}

/// Parses the line at `pos` one byte at a time (`-?\d{1,3}\.\d`, LF or
/// CRLF, possibly without a final `\n`), adds it, and returns the next
/// line's start; `Err(pos)` when it is not a weather line.
#[cold]
fn slow_line(bytes: &[u8], pos: usize, table: &mut Table) -> Result<usize, usize> {
    let rest = &bytes[pos..];
    let (line, next) = match memchr::memchr(b'\n', rest) {
        Some(i) => (&rest[..i], pos + i + 1),
        None => (rest, bytes.len()),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let sep = memchr::memrchr(b';', line).ok_or(pos)?;
    let (name, temp) = (&line[..sep], &line[sep + 1..]);
    let (negative, digits) = match temp {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, temp),
    };
    let [int @ .., b'.', frac] = digits else { return Err(pos) };
    if int.is_empty() || int.len() > 3 || !int.iter().chain([frac]).all(u8::is_ascii_digit) {
        return Err(pos);
    }
    let value = int.iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0')) * 10 + i64::from(frac - b'0');
    let (key0, key1) = Table::keys_of(name);
    table.slot(key0, key1, name).add(if negative { -value } else { value });
    Ok(next)
}

/// `(start, end)` chunks of about [`CHUNK`] bytes, each starting at a line
/// start.
fn chunks(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let target = (start + CHUNK).min(bytes.len());
        let end = memchr::memchr(b'\n', &bytes[target..]).map_or(bytes.len(), |i| target + i + 1);
        out.push((start, end));
        start = end;
    }
    out
}

/// The mean in tenths, rounded half away from zero.
fn mean_tenths(sum: i64, count: u64) -> i64 {
    let (sum, count) = (i128::from(sum), i128::from(count));
    let q = ((2 * sum.abs() + count) / (2 * count)) as i64;
    if sum < 0 { -q } else { q }
}

fn push_tenths(out: &mut Vec<u8>, t: i64) {
    if t < 0 {
        out.push(b'-');
    }
    let abs = t.unsigned_abs();
    let _ = write!(out, "{}.{}", abs / 10, abs % 10);
}

fn push_field(out: &mut Vec<u8>, name: &[u8]) {
    if name.iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &b in name {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(name);
    }
}

fn run() -> Result<Vec<u8>, String> {
    let mut args = std::env::args().skip(1);
    let mut threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut paths = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--threads" || arg == "-t" {
            let n = args.next().ok_or("--threads needs a number")?;
            threads = n.parse().map_err(|e| format!("--threads {n}: {e}"))?;
        } else {
            paths.push(arg);
        }
    }
    if paths.is_empty() {
        return Err("usage: weather_tuned [--threads T] FILE...".into());
    }
    let maps = paths
        .iter()
        .map(|p| {
            let file = File::open(p).map_err(|e| format!("{p}: {e}"))?;
            // SAFETY: a mapping is sound only while no one truncates or
            // rewrites the file (truncation turns reads into SIGBUS); the
            // inputs are benchmark files nothing modifies during the run.
            unsafe { Mmap::map(&file) }.map_err(|e| format!("{p}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let work: Vec<(usize, usize, usize)> =
        maps.iter().enumerate().flat_map(|(f, m)| chunks(m).into_iter().map(move |(s, e)| (f, s, e))).collect();

    let next = AtomicUsize::new(0);
    let tables: Vec<Result<Table, String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut table = Table::new();
                    while let Some(&(f, s, e)) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                        aggregate(&maps[f], s, e, &mut table)
                            .map_err(|at| format!("{}: bad line at byte {at}", paths[f]))?;
                    }
                    Ok(table)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| Err("a worker panicked".into()))).collect()
    });

    let mut all: Vec<(Vec<u8>, Stats)> = Vec::new();
    let mut index = std::collections::HashMap::<Vec<u8>, usize>::new();
    for table in tables {
        for (name, stats) in table?.entries() {
            match index.get(name) {
                Some(&i) => all[i].1.merge(stats),
                None => {
                    index.insert(name.to_vec(), all.len());
                    all.push((name.to_vec(), *stats));
                }
            }
        }
    }
    all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut out = Vec::with_capacity(all.len() * 32);
    for (name, s) in &all {
        push_field(&mut out, name);
        out.push(b',');
        push_tenths(&mut out, s.min);
        out.push(b',');
        push_tenths(&mut out, mean_tenths(s.sum, s.count));
        out.push(b',');
        push_tenths(&mut out, s.max);
        out.push(b'\n');
    }
    Ok(out)
}

fn main() -> ExitCode {
    match run().and_then(|out| {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(&out).and_then(|()| stdout.flush()).map_err(|e| format!("writing the report: {e}"))
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word_of(s: &[u8]) -> u64 {
        let mut b = [0u8; 8];
        b[..s.len()].copy_from_slice(s);
        u64::from_le_bytes(b)
    }

    #[test]
    fn every_short_temperature() {
        for t in -999i64..=999 {
            let sign = if t < 0 { "-" } else { "" };
            let text = format!("{sign}{}.{}\nAbcdef", t.unsigned_abs() / 10, t.unsigned_abs() % 10);
            let w = word_of(&text.as_bytes()[..8]);
            assert!(is_short_temperature(w) && is_short_temperature_fast(w), "{text:?}");
            assert_eq!(parse_temperature(w), (t, text.len() - 6), "{text:?}");
        }
        for bad in [&b"100.0\nab"[..], b"1.0\r\nabc", b"-100.1\na"] {
            assert!(!is_short_temperature_fast(word_of(bad)), "{bad:?}");
        }
    }

    #[test]
    fn lines_of_every_name_length() {
        let mut text = Vec::new();
        for len in 0..40 {
            text.extend(std::iter::repeat_n(b'a' + (len % 26) as u8, len));
            text.extend_from_slice(if len % 3 == 0 { b";-12.3\n" } else { b";4.5\r\n" });
        }
        text.extend_from_slice(b"last;100.0");
        let mut table = Table::new();
        aggregate(&text, 0, text.len(), &mut table).unwrap();
        assert_eq!(table.entries().count(), 41);
        assert_eq!(table.entries().map(|(_, s)| s.sum).sum::<i64>(), -123 * 14 + 45 * 26 + 1000);
    }
}
