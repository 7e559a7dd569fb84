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
    /// The station name holds this control byte (NUL, another C0 control
    /// or DEL; tab is allowed).
    ControlByte(u8),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LineError::MissingSeparator => "expected `STATION;TEMPERATURE`: no `;` in the line",
            LineError::BadTemperature => "the temperature is not a number with one decimal (like -12.3)",
            LineError::InvalidUtf8 => "the station name is not valid UTF-8",
            LineError::ControlByte(b) => {
                return write!(f, "the station name holds the control byte 0x{b:02x} (only tab is allowed)");
            }
        })
    }
}

impl std::error::Error for LineError {}

/// Splits `Station name;-12.3` into the station's bytes and the temperature in
/// tenths of a degree.
///
/// The separator is the last `;` on the line, so a station name may itself contain `;`.
/// A trailing `\r` must already be stripped. The name is not checked here:
/// [`station_name`] checks each *distinct* name once (UTF-8, no control
/// bytes), which costs nothing per line (a bad name never equals a good one).
#[inline(always)]
pub(crate) fn parse_line(line: &[u8]) -> Result<(&[u8], i64), LineError> {
    match fast_path(line) {
        Some(parsed) => Ok(parsed),
        None => parse_line_slow(line),
    }
}

/// The fast path for this target: `None` for every line it does not take
/// (short or invalid), which [`parse_line_slow`] then handles.
#[inline(always)]
fn fast_path(line: &[u8]) -> Option<(&[u8], i64)> {
    #[cfg(target_arch = "x86_64")]
    return parse_line_sse2(line);
    #[cfg(not(target_arch = "x86_64"))]
    return parse_line_swar(line);
}

const LANES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;
/// `BYTE[i]`: byte `i` of a word; `ABOVE[i]`: the bytes above it. These
/// tables replace shifts by a variable amount, which on x86-64 without BMI2
/// go through `cl` (BENCHMARKS.md, "Figures behind design choices").
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

/// The fast path of [`parse_line`] in plain integer arithmetic (targets
/// other than x86-64, and the tests everywhere): the last eight bytes of the
/// line in one word, the separator and the digits found and checked without
/// a branch on the temperature's shape, so random lengths (`1.2`, `-12.3`)
/// cost no mispredictions.
///
/// `None` for lines shorter than eight bytes and for every line that is not
/// valid; [`parse_line_slow`] then gives the answer (or names the error). It
/// accepts exactly what `parse_line_slow` accepts, with the same result (the
/// exhaustive tests below check this).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
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
    // The digits: bytes `p + 1` to 5, and 7; as `[a, b, c, f]` for `abc.f`,
    // zero for absent leading digits. Byte 6, the point, is zero in `d`.
    let digits = d & ABOVE[p as usize & 7];
    let abcf = (digits >> 24) as u32 | ((digits >> 56) as u32) << 24;
    // Pairs, then the pair of pairs: `[10a + b, _, 10c + f, _]`, then
    // `100 (10a + b) + 10c + f`. No byte overflows: 10 * 9 + 9 < 256.
    let pairs = (abcf * 10 + (abcf >> 8)) & 0x00ff_00ff;
    let tenths = i64::from((pairs * 100 + (pairs >> 16)) & 0xffff);
    // `sep & 7 == sep`: the mask shows the compiler that the station ends
    // 1 to 8 bytes before the end of a line of at least 8, so the slice
    // needs no bounds check.
    let station = &line[..line.len() - (8 - (sep & 7)) as usize];
    Some((station, if negative { -tenths } else { tenths }))
}

/// The fast path of [`parse_line`] on x86-64: the same checks as
/// [`parse_line_swar`], done on the eight bytes in an SSE2 register.
/// Compares give one bit per byte for "is a digit", "is `;`", "is `-`" and
/// "is `.`", so the shape checks are bit tests; the digits are then combined
/// by one multiply-add with a row of [`WEIGHTS`] picked by the shape and the
/// sign: `±[0, .., 0, 1000, 100, 10, 0, 1]`, zero for the bytes up to `p`,
/// so those (the sign, the separator, the station) need no masking and the
/// sign no negation. It is faster than the word-at-a-time path
/// (BENCHMARKS.md, "Figures behind design choices").
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn parse_line_sse2(line: &[u8]) -> Option<(&[u8], i64)> {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_cmpeq_epi8, _mm_cvtsi64_si128, _mm_cvtsi128_si64, _mm_load_si128, _mm_madd_epi16,
        _mm_min_epu8, _mm_movemask_epi8, _mm_set1_epi8, _mm_setzero_si128, _mm_shuffle_epi32, _mm_sub_epi8,
        _mm_unpacklo_epi8,
    };
    let (_, tail) = line.split_last_chunk::<8>()?;
    // Byte i is line[n - 8 + i], as in `parse_line_swar`. The register's
    // upper eight bytes are zero: no bit below is read from them.
    // SAFETY: these intrinsics need only SSE2, part of every x86-64 target's
    // baseline; none touches memory.
    let (values, digit, semicolon, minus, point) = unsafe {
        let bytes = _mm_cvtsi64_si128(i64::from_le_bytes(*tail));
        // Digit values in the digit bytes; a byte is a digit iff its value
        // is at most 9 (unsigned).
        let values = _mm_sub_epi8(bytes, _mm_set1_epi8(b'0' as i8));
        let digit = _mm_cmpeq_epi8(_mm_min_epu8(values, _mm_set1_epi8(9)), values);
        let is = |c: u8| _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(c as i8))) as u32;
        (values, _mm_movemask_epi8(digit) as u32, is(b';'), is(b'-'), is(b'.'))
    };
    // `p`: the highest non-digit of bytes 0 to 5 (bit 0 stands in when all
    // are digits); the separator, or a `-` with the separator before it.
    let p = ((!digit & 0x3f) | 1).ilog2();
    let negative = (minus >> p) & 1;
    // Wraps only for `p == 0`, which `valid` rejects.
    let sep = p.wrapping_sub(negative);
    // One to three integer digits (`p` is 2 to 4), the separator, the point
    // (byte 6) and a fraction digit (byte 7).
    let valid = p.wrapping_sub(2) <= 2 && (semicolon >> (sep & 7)) & (digit >> 7) & (point >> 6) & 1 == 1;
    if !valid {
        return None;
    }
    let row = &WEIGHTS.0[(p as usize & 3) * 2 + negative as usize];
    // SAFETY: SSE2 only, as above. The load reads the 16 bytes of `row`:
    // `Weights` is aligned to 16 and each row is 16 bytes long, so every
    // row starts on a 16-byte boundary.
    let tenths = unsafe {
        // Four sums of two products, `[0, 1000a, 100b + 10c, f]` (signed),
        // then the halves added: `(0 + 100b + 10c) | (1000a + f) << 32`.
        let wide = _mm_unpacklo_epi8(values, _mm_setzero_si128());
        let sums = _mm_madd_epi16(wide, _mm_load_si128(row.as_ptr().cast::<__m128i>()));
        let sums = _mm_add_epi32(sums, _mm_shuffle_epi32::<0b01_00_11_10>(sums));
        let halves = _mm_cvtsi128_si64(sums);
        i64::from(halves as i32) + (halves >> 32)
    };
    // As in `parse_line_swar`: no bounds check for the slice.
    let station = &line[..line.len() - (8 - (sep & 7)) as usize];
    Some((station, tenths))
}

/// Rows of 16-bit weights for [`parse_line_sse2`], at `(p & 3) * 2 +
/// negative`.
#[cfg(target_arch = "x86_64")]
#[repr(align(16))]
struct Weights([[i16; 8]; 8]);

#[cfg(target_arch = "x86_64")]
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

/// A station name as text: UTF-8 without control bytes (NUL, the other C0
/// controls and DEL; tab is allowed), else [`LineError::InvalidUtf8`] or
/// [`LineError::ControlByte`]. Called once per distinct name, not per line.
pub(crate) fn station_name(bytes: &[u8]) -> Result<&str, LineError> {
    let name = std::str::from_utf8(bytes).map_err(|_| LineError::InvalidUtf8)?;
    match bytes.iter().find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        Some(&b) => Err(LineError::ControlByte(b)),
        None => Ok(name),
    }
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
    if tenths < 0 {
        out.push('-');
    }
    let abs = tenths.unsigned_abs();
    // Digits from the right: at most 20 for the integer part, the point and
    // the tenth (no formatting machinery: this runs once per output row).
    let mut buf = [0u8; 24];
    let mut at = buf.len() - 2;
    buf[at] = b'.';
    buf[at + 1] = b'0' + (abs % 10) as u8;
    let mut n = abs / 10;
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
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
        assert_eq!(station_name(b"Tab\tbed"), Ok("Tab\tbed"));
        assert_eq!(station_name(b"Nul\0l"), Err(LineError::ControlByte(0)));
        assert_eq!(station_name(&[0u8; 4096]), Err(LineError::ControlByte(0)));
        assert_eq!(station_name(b"esc\x1b[0m"), Err(LineError::ControlByte(0x1b)));
        assert_eq!(station_name(b"del\x7f"), Err(LineError::ControlByte(0x7f)));
    }

    /// What each fast path makes of `line`: the word-at-a-time one, and on
    /// x86-64 the SSE2 one.
    fn fast_paths(line: &[u8]) -> Vec<Option<(&[u8], i64)>> {
        let mut paths = vec![parse_line_swar(line)];
        #[cfg(target_arch = "x86_64")]
        paths.push(parse_line_sse2(line));
        paths
    }

    /// Checks `parse_line` against the byte-at-a-time path, and every fast
    /// path against both: each takes exactly the same lines, and what it
    /// takes it reads as the slow path does. Returns whether they took it.
    fn check_line(line: &[u8]) -> bool {
        let text = String::from_utf8_lossy(line);
        let slow = parse_line_slow(line);
        assert_eq!(parse_line(line), slow, "{text:?}");
        let paths = fast_paths(line);
        for fast in &paths {
            assert_eq!(*fast, paths[0], "the fast paths disagree on {text:?}");
            if let Some(fast) = fast {
                assert_eq!(Ok(*fast), slow, "{text:?}");
            }
        }
        paths[0].is_some()
    }

    /// Every line over a small alphabet up to seven bytes, alone and after
    /// three station names (so the eight bytes the fast paths read are any
    /// of them): each fast path accepts exactly the same lines, all of
    /// which the byte-at-a-time path accepts, with the same station and
    /// temperature. The alphabet has the bytes next to the digits in ASCII
    /// (`/`, `:`), a byte of a multi-byte character and the extreme digits.
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
                    accepted += usize::from(check_line(&line));
                }
            }
        }
        assert!(accepted > 1000, "the fast paths took {accepted} lines");
    }

    /// Every eight-byte window the fast paths read, over an alphabet with
    /// the separator, the sign, the point, digits and their ASCII
    /// neighbours, after a one-byte name: the fast paths agree with the slow
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
            check_line(&line);
        }
    }

    /// Every temperature from -999.9 to 999.9, written with and without a
    /// leading zero where it has one, after names of 4 and 7 bytes: every
    /// fast path takes it and reads its value (each digit in each place,
    /// with each sign).
    #[test]
    fn every_temperature_takes_the_fast_path() {
        for tenths in -9999i64..=9999 {
            let sign = if tenths < 0 { "-" } else { "" };
            let (int, frac) = (tenths.unsigned_abs() / 10, tenths.unsigned_abs() % 10);
            let mut texts = vec![format!("{sign}{int}.{frac}")];
            if int < 100 {
                texts.push(format!("{sign}0{int}.{frac}"));
            }
            for text in texts {
                for name in ["Oslo", "Zürich"] {
                    let line = format!("{name};{text}");
                    for fast in fast_paths(line.as_bytes()) {
                        assert_eq!(fast, Some((name.as_bytes(), tenths)), "{line:?}");
                    }
                }
            }
        }
    }

    /// The hand-written digits agree with `format!` over small values and
    /// the extremes.
    #[test]
    fn write_tenths_agrees_with_format() {
        let extremes = [i64::MIN, i64::MIN + 1, i64::MAX, -10, 10, -9, 9];
        for t in (-2000i64..=2000).chain(extremes) {
            let mut s = String::new();
            write_tenths(&mut s, t);
            let abs = t.unsigned_abs();
            let sign = if t < 0 { "-" } else { "" };
            assert_eq!(s, format!("{sign}{}.{}", abs / 10, abs % 10), "{t}");
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
