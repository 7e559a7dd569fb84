//! Hand-rolled, allocation-free formatting into byte buffers: integers,
//! CSV fields and calendar dates. Used on every generated row instead of
//! `format!`, which would dominate the generators' run time.

/// Appends the decimal digits of `n`.
#[inline]
pub(crate) fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[start..]);
}

/// Appends `n` in decimal, left-padded with zeros to at least `width` digits.
#[inline]
pub(crate) fn push_padded(buf: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = n;
    loop {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for _ in (digits.len() - start)..width {
        buf.push(b'0');
    }
    buf.extend_from_slice(&digits[start..]);
}

/// Appends exactly two zero-padded digits of `n` (`n < 100`).
#[inline]
pub(crate) fn push_two(buf: &mut Vec<u8>, n: u32) {
    buf.push(b'0' + (n / 10) as u8);
    buf.push(b'0' + (n % 10) as u8);
}

/// Whether a CSV field must be quoted under RFC 4180: it contains a comma, a
/// double quote, a carriage return or a line feed.
pub(crate) fn csv_needs_quotes(raw: &str) -> bool {
    raw.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
}

/// `raw` enclosed in double quotes, with every inner `"` doubled.
pub(crate) fn csv_quoted(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 2);
    out.push('"');
    for c in raw.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `raw` encoded as a CSV field: quoted only when RFC 4180 requires it.
pub(crate) fn csv_field(raw: &str) -> String {
    if csv_needs_quotes(raw) { csv_quoted(raw) } else { raw.to_owned() }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `year-month-day`
/// (Howard Hinnant's `days_from_civil`).
pub(crate) const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `(year, month, day)` of `days` since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
pub(crate) const fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// The number of days in `month` of `year`.
pub(crate) const fn days_in_month(year: i64, month: u32) -> u32 {
    let next = if month == 12 { days_from_civil(year + 1, 1, 1) } else { days_from_civil(year, month + 1, 1) };
    (next - days_from_civil(year, month, 1)) as u32
}

/// Appends the date `days` since 1970-01-01 as `YYYY-MM-DD` (years 0..=9999).
#[inline]
pub(crate) fn push_iso_date(buf: &mut Vec<u8>, days: i64) {
    let (year, month, day) = civil_from_days(days);
    push_padded(buf, year as u64, 4);
    buf.push(b'-');
    push_two(buf, month);
    buf.push(b'-');
    push_two(buf, day);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let mut buf = Vec::new();
        push_u64(&mut buf, 0);
        buf.push(b' ');
        push_u64(&mut buf, 1234567890);
        buf.push(b' ');
        push_u64(&mut buf, u64::MAX);
        buf.push(b' ');
        push_padded(&mut buf, 42, 5);
        buf.push(b' ');
        push_padded(&mut buf, 123456, 3);
        buf.push(b' ');
        push_two(&mut buf, 7);
        assert_eq!(String::from_utf8(buf).unwrap(), format!("0 1234567890 {} 00042 123456 07", u64::MAX));
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("Zürich"), "Zürich");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("two\r\nlines"), "\"two\r\nlines\"");
        assert_eq!(csv_quoted(""), "\"\"");
    }

    #[test]
    fn calendar_round_trips() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        for days in days_from_civil(1999, 1, 1)..days_from_civil(2031, 1, 1) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(2025, 12), 31);
        let mut buf = Vec::new();
        push_iso_date(&mut buf, days_from_civil(2026, 12, 31));
        assert_eq!(buf, b"2026-12-31");
    }
}
