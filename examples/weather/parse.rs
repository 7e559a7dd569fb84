//! Line parsing and report formatting for the weather workload.
//!
//! Shared by `examples/weather` and the hand-written baseline in
//! `benches/compare/weather_baseline.rs` (through `#[path]`), so the comparison
//! measures the framework and nothing else.

use std::fmt;

/// Why a weather line was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineError {
    /// The line has no `;` between station and temperature.
    MissingSeparator,
    /// The temperature is not `-?D{1,3}.D`.
    BadTemperature,
    /// The station name is not UTF-8.
    InvalidUtf8,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineError::MissingSeparator => "expected `STATION;TEMPERATURE`: no `;` in the line",
            LineError::BadTemperature => "the temperature is not a number with one decimal (like -12.3)",
            LineError::InvalidUtf8 => "the station name is not valid UTF-8",
        })
    }
}

impl std::error::Error for LineError {}

/// Splits `Station name;-12.3` into the station's bytes and the temperature in
/// tenths of a degree.
///
/// The separator is the last `;` on the line, so a station name may itself contain `;`.
/// A trailing `\r` must already be stripped. The name is not checked here:
/// [`station_name`] checks each *distinct* name once, which costs nothing per
/// line (a name that is not UTF-8 never equals one that is).
#[inline(always)]
pub(crate) fn parse_line(line: &[u8]) -> Result<(&[u8], i64), LineError> {
    match parse_line_swar(line) {
        Some(parsed) => Ok(parsed),
        None => parse_line_slow(line),
    }
}

const LANES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;
/// `BYTE[i]`: byte `i` of a word; `ABOVE[i]`: the bytes above it. These
/// tables replace shifts by a variable amount, which on x86-64 without BMI2
/// go through `cl` (callgrind: 3.6% fewer instructions in all; the time
/// moved within noise).
const BYTE: [u64; 8] = shifted(0xff);
const ABOVE: [u64; 8] = shifted(u64::MAX << 8);

/// `[m, m << 8, m << 16, ..., m << 56]`.
const fn shifted(m: u64) -> [u64; 8] {
    let mut t = [0u64; 8];
    let mut i = 0;
    while i < 8 {
        t[i] = m << (8 * i);
        i += 1;
    }
    t
}

/// What a valid line's last eight bytes are xored with: `'0'` in every byte
/// but the point's (byte 6), which gets `'.'`.
const TEMPLATE: u64 = (b'0' as u64 * LANES) ^ (((b'0' ^ b'.') as u64) << 48);
/// Per byte, what to add to the low seven bits of `w ^ TEMPLATE` so that bit
/// 7 says "not a digit" (`0x76`: 10 and up), or, for the point, "not `.`"
/// (`0x7f`: 1 and up).
const FLAG_FROM: u64 = (0x76 * LANES) ^ ((0x76 ^ 0x7f) << 48);

/// The fast path of [`parse_line`]: the last eight bytes of the line in one
/// word, the separator and the digits found and checked without a branch on
/// the temperature's shape, so random lengths (`1.2`, `-12.3`) cost no
/// mispredictions.
///
/// `None` for lines shorter than eight bytes and for every line that is not
/// valid; [`parse_line_slow`] then gives the answer (or names the error). It
/// accepts exactly what `parse_line_slow` accepts, with the same result (an
/// exhaustive test below checks this).
#[inline(always)]
fn parse_line_swar(line: &[u8]) -> Option<(&[u8], i64)> {
    let (_, tail) = line.split_last_chunk::<8>()?;
    // Byte i of `w` is line[n - 8 + i]: the fraction digit is byte 7, the
    // point byte 6, the ones digit byte 5, up to two more integer digits
    // before it, then an optional `-`, then the separator (byte 1 to 4).
    let w = u64::from_le_bytes(*tail);
    // Whether byte `i` is `c`, through a table of byte masks, not a shift.
    let byte_is = |i: u32, c: u8| (w ^ (c as u64 * LANES)) & BYTE[i as usize & 7] == 0;
    // Digit values in the low bytes, and the point (byte 6) as zero.
    let d = w ^ TEMPLATE;
    // 0x80 in every byte that is not a digit, and in byte 6 if it is not the
    // point: `d + 0x76` carries into bit 7 from 10 up, `d + 0x7f` from 1 up.
    let not_digit = (((d & !HIGH) + FLAG_FROM) | d) & HIGH;
    // `p`: the last byte before the integer digits, the highest non-digit of
    // bytes 0 to 5 (a marker bit stands in at byte 0 when all are digits).
    // It is the separator, or a `-` with the separator before it.
    let p = ((not_digit & 0x0000_8080_8080_8080) | 0x80).ilog2() / 8;
    let negative = byte_is(p, b'-');
    // Wraps only for `p == 0`, which `valid` rejects before `sep` is used.
    let sep = p.wrapping_sub(u32::from(negative));
    // One to three integer digits (`p` is 2 to 4), the separator, the point
    // and a fraction digit.
    let valid = p.wrapping_sub(2) <= 2 && byte_is(sep, b';') && not_digit & 0x8080_0000_0000_0000 == 0;
    if !valid {
        return None;
    }
    let tenths = tenths(d, p, negative);
    // `sep & 7 == sep`: the mask shows the compiler that the station ends
    // 1 to 8 bytes before the end of a line of at least 8, so the slice
    // needs no bounds check.
    let station = &line[..line.len() - (8 - (sep & 7)) as usize];
    Some((station, tenths))
}

/// The temperature in tenths from `d`, the line's last eight bytes xored
/// with [`TEMPLATE`] (digit values in bytes `p + 1` to 5 and 7, zero in
/// byte 6), for a valid line whose last non-digit before the number is byte
/// `p` (2 to 4): the sign, or the separator.
#[inline(always)]
fn tenths(d: u64, p: u32, negative: bool) -> i64 {
    #[cfg(target_arch = "x86_64")]
    return tenths_sse2(d, p, negative);
    #[cfg(not(target_arch = "x86_64"))]
    return tenths_swar(d, p, negative);
}

/// [`tenths`] as one multiply-add of the eight bytes, widened to 16 bits, by
/// a row of weights that [`WEIGHTS`] picks by `p` and the sign: `±[0, .., 0,
/// 1000, 100, 10, 0, 1]`, zero for the bytes up to `p`, so those (the sign,
/// the separator, the station) need no masking. About 5% less CPU time for
/// the whole weather example than [`tenths_swar`] (BENCHMARKS.md, session 6).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn tenths_sse2(d: u64, p: u32, negative: bool) -> i64 {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_cvtsi64_si128, _mm_cvtsi128_si64, _mm_load_si128, _mm_madd_epi16,
        _mm_setzero_si128, _mm_shuffle_epi32, _mm_unpacklo_epi8,
    };
    let row = &WEIGHTS.0[(p as usize & 3) * 2 + usize::from(negative)];
    // SAFETY: these intrinsics need only SSE2, part of every x86-64 target's
    // baseline. The load reads the 16 bytes of `row`, which `Weights`
    // aligns to 16.
    unsafe {
        let bytes = _mm_unpacklo_epi8(_mm_cvtsi64_si128(d as i64), _mm_setzero_si128());
        // Four sums of two products: [0, 1000a, 100b + 10c, f], then the
        // halves added: `(0 + 100b + 10c) | (1000a + f) << 32`.
        let sums = _mm_madd_epi16(bytes, _mm_load_si128(row.as_ptr().cast::<__m128i>()));
        let sums = _mm_add_epi32(sums, _mm_shuffle_epi32::<0b01_00_11_10>(sums));
        let halves = _mm_cvtsi128_si64(sums);
        i64::from(halves as i32) + (halves >> 32)
    }
}

/// Rows of 16-bit weights for [`tenths_sse2`], at `(p & 3) * 2 + negative`.
#[repr(align(16))]
struct Weights([[i16; 8]; 8]);

static WEIGHTS: Weights = {
    let mut rows = [[0i16; 8]; 8];
    let mut p = 2;
    while p <= 4 {
        // Byte 7 the fraction, byte 5 the ones, then tens and hundreds
        // where `p` leaves room for them.
        let row = [0, 0, 0, if p == 2 { 1000 } else { 0 }, if p <= 3 { 100 } else { 0 }, 10, 0, 1];
        let mut i = 0;
        while i < 8 {
            rows[(p & 3) * 2][i] = row[i];
            rows[(p & 3) * 2 + 1][i] = -row[i];
            i += 1;
        }
        p += 1;
    }
    Weights(rows)
};

/// [`tenths`] in plain integer arithmetic (other targets, and the test that
/// checks [`tenths_sse2`]).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn tenths_swar(d: u64, p: u32, negative: bool) -> i64 {
    // The digits as `[a, b, c, f]` for `abc.f`, zero for absent leading
    // digits.
    let digits = d & ABOVE[p as usize & 7];
    let abcf = (digits >> 24) as u32 | ((digits >> 56) as u32) << 24;
    // Pairs, then the pair of pairs: `[10a + b, _, 10c + f, _]`, then
    // `100 (10a + b) + 10c + f`. No byte overflows: 10 * 9 + 9 < 256.
    let pairs = (abcf * 10 + (abcf >> 8)) & 0x00ff_00ff;
    let tenths = i64::from((pairs * 100 + (pairs >> 16)) & 0xffff);
    if negative { -tenths } else { tenths }
}

/// [`parse_line`] one byte at a time: short lines, and the error of a bad one.
fn parse_line_slow(line: &[u8]) -> Result<(&[u8], i64), LineError> {
    // A valid temperature is 3 to 6 bytes (`1.2` to `-123.4`), so the last `;`
    // is one of four bytes from the end: look there first, nearest first, and
    // search the whole line only to name the error.
    let n = line.len();
    let at = |k: usize| n >= k && line[n - k] == b';';
    let sep = if at(4) {
        Some(n - 4)
    } else if at(5) {
        Some(n - 5)
    } else if at(6) {
        Some(n - 6)
    } else if at(7) {
        Some(n - 7)
    } else {
        None
    };
    let Some(sep) = sep else {
        return Err(if memchr::memchr(b';', line).is_some() {
            LineError::BadTemperature
        } else {
            LineError::MissingSeparator
        });
    };
    let temp = parse_tenths(&line[sep + 1..]).ok_or(LineError::BadTemperature)?;
    Ok((&line[..sep], temp))
}

/// A station name as text, or [`LineError::InvalidUtf8`].
pub(crate) fn station_name(bytes: &[u8]) -> Result<&str, LineError> {
    std::str::from_utf8(bytes).map_err(|_| LineError::InvalidUtf8)
}

/// Parses `-?D{1,3}.D` into tenths: `-12.3` is `-123`.
#[inline(always)]
pub(crate) fn parse_tenths(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    let d = |b: u8| b.is_ascii_digit().then(|| i64::from(b - b'0'));
    let value = match *digits {
        [a, b'.', f] => d(a)? * 10 + d(f)?,
        [a, b, b'.', f] => d(a)? * 100 + d(b)? * 10 + d(f)?,
        [a, b, c, b'.', f] => d(a)? * 1000 + d(b)? * 100 + d(c)? * 10 + d(f)?,
        _ => return None,
    };
    Some(if neg { -value } else { value })
}

/// The mean in tenths: `sum / count` rounded half away from zero, in exact integer arithmetic.
pub(crate) fn mean_tenths(sum: i64, count: u64) -> i64 {
    debug_assert!(count > 0);
    let count = i128::from(count);
    let sum = i128::from(sum);
    let q = (2 * sum.abs() + count) / (2 * count);
    let q = i64::try_from(q).expect("the mean lies between min and max");
    if sum < 0 { -q } else { q }
}

/// Writes tenths with one decimal; zero is always `0.0`, never `-0.0`.
pub(crate) fn write_tenths(out: &mut String, tenths: i64) {
    use fmt::Write as _;
    let sign = if tenths < 0 { "-" } else { "" };
    let abs = tenths.unsigned_abs();
    let _ = write!(out, "{sign}{}.{}", abs / 10, abs % 10);
}

/// Writes a CSV field, quoted when it holds a comma, a quote or a line break.
pub(crate) fn write_csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// One output line: `STATION,MIN,MEAN,MAX` plus `\n`.
pub(crate) fn write_row(out: &mut String, station: &str, min: i64, sum: i64, count: u64, max: i64) {
    write_csv_field(out, station);
    out.push(',');
    write_tenths(out, min);
    out.push(',');
    write_tenths(out, mean_tenths(sum, count));
    out.push(',');
    write_tenths(out, max);
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines() {
        assert_eq!(parse_line(b"Ab;-12.3"), Ok((&b"Ab"[..], -123)));
        assert_eq!(parse_line(b"a;b;0.0"), Ok((&b"a;b"[..], 0)));
        assert_eq!(parse_line(b"x;100.5"), Ok((&b"x"[..], 1005)));
        assert_eq!(parse_line(b"x"), Err(LineError::MissingSeparator));
        assert_eq!(parse_line(b""), Err(LineError::MissingSeparator));
        assert_eq!(parse_line(b"x;12345678.9"), Err(LineError::BadTemperature));
        assert_eq!(parse_line(b";1.0"), Ok((&b""[..], 10)));
        assert_eq!(parse_line(b"x;1.23"), Err(LineError::BadTemperature));
        assert_eq!(parse_line(b"x;.2"), Err(LineError::BadTemperature));
        assert_eq!(parse_line(b"x;-"), Err(LineError::BadTemperature));
        assert_eq!(parse_line(b"x;1a.2"), Err(LineError::BadTemperature));
        assert_eq!(parse_line(b"x;-123.4"), Ok((&b"x"[..], -1234)));
        assert_eq!(parse_line(b"x;;-1.4"), Ok((&b"x;"[..], -14)));
        assert_eq!(parse_line(b"x;--1.4"), Err(LineError::BadTemperature));
        assert_eq!(parse_line(b"x;1.4;"), Err(LineError::BadTemperature));
        assert_eq!(parse_line(b"x;-12345.6"), Err(LineError::BadTemperature));
        assert_eq!(parse_line(b"-00000;;"), Err(LineError::BadTemperature));
        assert_eq!(station_name(b"\xff"), Err(LineError::InvalidUtf8));
        assert_eq!(station_name("Zürich".as_bytes()), Ok("Zürich"));
    }

    /// Every line over a small alphabet up to seven bytes, alone and after
    /// three station names (so the eight bytes the fast path reads are any
    /// of them): the word-at-a-time path accepts exactly what the
    /// byte-at-a-time path accepts, with the same station and temperature.
    /// The alphabet has the bytes next to the digits in ASCII (`/`, `:`), a
    /// byte of a multi-byte character and the extreme digits.
    #[test]
    fn fast_path_agrees_with_slow_path() {
        const ALPHABET: &[u8] = b";-.09/:\xc3";
        let mut tail = Vec::new();
        let mut accepted = 0;
        for len in 0..=7u32 {
            for mut code in 0..ALPHABET.len().pow(len) {
                tail.clear();
                for _ in 0..len {
                    tail.push(ALPHABET[code % ALPHABET.len()]);
                    code /= ALPHABET.len();
                }
                for line in [tail.clone(), [&b"Ab;"[..], &tail].concat(), [&b"A9"[..], &tail].concat()] {
                    let slow = parse_line_slow(&line);
                    assert_eq!(parse_line(&line), slow, "{:?}", String::from_utf8_lossy(&line));
                    if let Some(fast) = parse_line_swar(&line) {
                        assert_eq!(Ok(fast), slow, "{:?}", String::from_utf8_lossy(&line));
                        accepted += 1;
                    }
                }
            }
        }
        assert!(accepted > 1000, "the fast path took {accepted} lines");
    }

    /// Every eight-byte window the fast path reads, over an alphabet with
    /// the separator, the sign, the point, digits and their ASCII
    /// neighbours, after a one-byte name: the fast path agrees with the slow
    /// one on all 1.7M of them.
    #[test]
    fn fast_path_agrees_on_every_window() {
        const ALPHABET: &[u8] = b";-.07:";
        let mut line = [b'Z'; 9];
        for mut code in 0..ALPHABET.len().pow(8) {
            for byte in &mut line[1..] {
                *byte = ALPHABET[code % ALPHABET.len()];
                code /= ALPHABET.len();
            }
            let slow = parse_line_slow(&line);
            assert_eq!(parse_line(&line), slow, "{:?}", String::from_utf8_lossy(&line));
        }
    }

    /// Both ways of combining the digits agree for every shape, sign and
    /// digit, whatever the bytes at and below `p` hold.
    #[test]
    fn digit_combines_agree() {
        for p in 2..=4u32 {
            for negative in [false, true] {
                for digits in 0..10_000u64 {
                    let [a, b, c, f] = [digits / 1000, digits / 100 % 10, digits / 10 % 10, digits % 10];
                    // Bytes 0 to p: junk; then the digits; byte 6 zero.
                    let mut d = 0x9d0b_1d3c_5a7f_e1ffu64 & (u64::MAX >> (64 - 8 * (p + 1)));
                    for (byte, digit) in [(3, a), (4, b), (5, c), (7, f)] {
                        if byte > p {
                            d |= digit << (8 * byte);
                        }
                    }
                    let want = tenths_swar(d, p, negative);
                    let magnitude = [a * 1000 + b * 100, b * 100, 0][p as usize - 2] + c * 10 + f;
                    assert_eq!(want, if negative { -(magnitude as i64) } else { magnitude as i64 });
                    #[cfg(target_arch = "x86_64")]
                    assert_eq!(tenths_sse2(d, p, negative), want, "p {p} negative {negative} digits {digits}");
                }
            }
        }
    }

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(mean_tenths(3, 2), 2);
        assert_eq!(mean_tenths(-3, 2), -2);
        assert_eq!(mean_tenths(-1, 3), 0);
        let mut s = String::new();
        write_tenths(&mut s, mean_tenths(-1, 3));
        assert_eq!(s, "0.0");
    }
}
