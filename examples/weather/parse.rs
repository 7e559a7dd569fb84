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
        assert_eq!(station_name(b"\xff"), Err(LineError::InvalidUtf8));
        assert_eq!(station_name("Zürich".as_bytes()), Ok("Zürich"));
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
