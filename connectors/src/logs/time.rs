//! Timestamps of log lines: [`LogTime`] and the fixed formats it is parsed from.
//!
//! The hot formats (the access-log `10/Oct/2025:13:55:36 +0200`, RFC 3339,
//! the syslog `Oct 11 22:14:15`) are parsed by hand at fixed positions: no
//! format string is interpreted per line. Calendar arithmetic is Howard
//! Hinnant's `days_from_civil`; the result is a [`jiff::Timestamp`] plus the
//! [`jiff::tz::Offset`] the line was written with.

use jiff::Timestamp;
use jiff::tz::Offset;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cell::Cell;
use std::fmt;

/// An instant and the UTC offset a log line wrote it with.
///
/// Displays and serializes as RFC 3339 in its own offset
/// (`2025-10-10T13:55:36+02:00`), so nothing of what the line said is lost.
///
/// # Examples
/// ```
/// use shoal_connectors::logs::LogTime;
/// let t = LogTime::parse_clf("10/Oct/2025:13:55:36 +0200").unwrap();
/// assert_eq!(t.to_string(), "2025-10-10T13:55:36+02:00");
/// assert_eq!(t.timestamp().to_string(), "2025-10-10T11:55:36Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogTime {
    instant: Timestamp,
    offset: Offset,
}

thread_local! {
    /// The last minute [`LogTime::parse_clf`] parsed on this thread: its text
    /// (`dd/Mon/yyyy:HH:MM` and ` +hhmm`), its first second, and the offset.
    static LAST_CLF_MINUTE: Cell<Option<([u8; 23], i64, Offset)>> = const { Cell::new(None) };
}

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

impl LogTime {
    /// A time from its instant and offset.
    pub fn new(instant: Timestamp, offset: Offset) -> Self {
        LogTime { instant, offset }
    }

    /// The instant (UTC).
    pub fn timestamp(&self) -> Timestamp {
        self.instant
    }

    /// The offset from UTC the line was written in.
    pub fn offset(&self) -> Offset {
        self.offset
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix_seconds(&self) -> i64 {
        self.instant.as_second()
    }

    /// The time as a zoned date-time in its own fixed offset.
    pub fn zoned(&self) -> jiff::Zoned {
        self.instant.to_zoned(jiff::tz::TimeZone::fixed(self.offset))
    }

    /// Parses the access-log (Common Log Format) time `10/Oct/2025:13:55:36 +0200`:
    /// exactly 26 bytes, two-digit day, English month abbreviation.
    ///
    /// Consecutive lines of a log mostly share their minute, so each thread
    /// remembers the last minute it parsed (date, hour, minute and offset)
    /// and then only reads the seconds.
    pub fn parse_clf(text: &str) -> Option<LogTime> {
        let b: &[u8; 26] = text.as_bytes().try_into().ok()?;
        if b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[14] != b':' || b[17] != b':' || b[20] != b' ' {
            return None;
        }
        let mut key = [0u8; 23];
        key[..17].copy_from_slice(&b[..17]);
        key[17..].copy_from_slice(&b[20..]);
        if let Some((last, minute_start, offset)) = LAST_CLF_MINUTE.get()
            && last == key
        {
            let s = two(b[18], b[19])?;
            if s > 59 {
                return None;
            }
            let instant = Timestamp::from_second(minute_start + i64::from(s)).ok()?;
            return Some(LogTime { instant, offset });
        }
        let parsed = Self::parse_clf_uncached(b)?;
        let minute_start = parsed.instant.as_second() - i64::from(two(b[18], b[19])?);
        LAST_CLF_MINUTE.set(Some((key, minute_start, parsed.offset)));
        Some(parsed)
    }

    fn parse_clf_uncached(b: &[u8; 26]) -> Option<LogTime> {
        let day = two(b[0], b[1])?;
        let month = month_number(&[b[3], b[4], b[5]])?;
        let year = i64::from(two(b[7], b[8])?) * 100 + i64::from(two(b[9], b[10])?);
        let (h, m, s) = (two(b[12], b[13])?, two(b[15], b[16])?, two(b[18], b[19])?);
        let offset = offset_seconds(b[21], two(b[22], b[23])?, two(b[24], b[25])?)?;
        civil(year, month, day, h, m, s, 0, offset)
    }

    /// Parses RFC 3339 (`2025-10-10T13:55:36.123Z`, `…+02:00`): a `T`, `t` or
    /// space between date and time, optional fraction of up to 9 digits,
    /// `Z`/`z` or `±hh:mm`.
    pub fn parse_rfc3339(text: &str) -> Option<LogTime> {
        let b = text.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let year = i64::from(two(b[0], b[1])?) * 100 + i64::from(two(b[2], b[3])?);
        let (month, day) = (two(b[5], b[6])?, two(b[8], b[9])?);
        let (h, m, s) = (two(b[11], b[12])?, two(b[14], b[15])?, two(b[17], b[18])?);
        let mut rest = &b[19..];
        let mut nanos = 0u32;
        if let Some(frac) = rest.strip_prefix(b".") {
            let digits = frac.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 {
                return None;
            }
            for &d in &frac[..digits] {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
            nanos *= 10u32.pow(9 - digits as u32);
            rest = &frac[digits..];
        }
        let offset = match rest {
            [b'Z' | b'z'] => 0,
            [sign, h1, h2, b':', m1, m2] => offset_seconds(*sign, two(*h1, *h2)?, two(*m1, *m2)?)?,
            _ => return None,
        };
        civil(year, month, day, h, m, s, nanos, offset)
    }

    /// Parses the BSD syslog (RFC 3164) time `Oct 11 22:14:15` (day padded
    /// with a space or a zero), which has no year and no zone: they are given.
    pub fn parse_rfc3164(text: &str, year: i16, offset: Offset) -> Option<LogTime> {
        let b: &[u8; 15] = text.as_bytes().try_into().ok()?;
        if b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' {
            return None;
        }
        let month = month_number(&[b[0], b[1], b[2]])?;
        let day = if b[4] == b' ' { digit(b[5])? } else { two(b[4], b[5])? };
        let (h, m, s) = (two(b[7], b[8])?, two(b[10], b[11])?, two(b[13], b[14])?);
        civil(i64::from(year), month, day, h, m, s, 0, offset.seconds())
    }
}

fn digit(c: u8) -> Option<u8> {
    c.is_ascii_digit().then(|| c - b'0')
}

fn two(a: u8, b: u8) -> Option<u8> {
    Some(digit(a)? * 10 + digit(b)?)
}

fn month_number(name: &[u8; 3]) -> Option<u8> {
    MONTHS.iter().position(|m| *m == name).map(|i| i as u8 + 1)
}

fn offset_seconds(sign: u8, hours: u8, minutes: u8) -> Option<i32> {
    if minutes > 59 || hours > 25 {
        return None;
    }
    let magnitude = i32::from(hours) * 3600 + i32::from(minutes) * 60;
    match sign {
        b'+' => Some(magnitude),
        b'-' => Some(-magnitude),
        _ => None,
    }
}

/// Whether `year` is a leap year in the proleptic Gregorian calendar.
fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date (Hinnant).
pub(crate) fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Validates a local civil time written at `offset` seconds east of UTC.
#[allow(clippy::too_many_arguments)]
fn civil(year: i64, month: u8, day: u8, h: u8, m: u8, s: u8, nanos: u32, offset: i32) -> Option<LogTime> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) || h > 23 || m > 59 || s > 59 {
        return None;
    }
    let local = days_from_civil(year, month, day) * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
    let instant = Timestamp::new(local - i64::from(offset), nanos as i32).ok()?;
    let offset = Offset::from_seconds(offset).ok()?;
    Some(LogTime { instant, offset })
}

impl fmt::Display for LogTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.instant.display_with_offset(self.offset), f)
    }
}

/// RFC 3339 text, marked as a timestamp column for columnar outputs (see
/// [`columns`](crate::sink::columns)).
impl Serialize for LogTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::sink::columns::serialize_timestamp(self, serializer)
    }
}

impl<'de> Deserialize<'de> for LogTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        LogTime::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clf_times_parse_with_their_offset() {
        let t = LogTime::parse_clf("10/Oct/2025:13:55:36 +0200").unwrap();
        assert_eq!(t.unix_seconds(), 1_760_097_336); // 2025-10-10T11:55:36Z
        assert_eq!(t.offset().seconds(), 7200);
        let t = LogTime::parse_clf("01/Jan/1970:00:00:00 -0530").unwrap();
        assert_eq!(t.unix_seconds(), 5 * 3600 + 30 * 60);
        assert_eq!(t.to_string(), "1970-01-01T00:00:00-05:30");
        let leap = LogTime::parse_clf("29/Feb/2024:23:59:59 +0000").unwrap();
        assert_eq!(leap.to_string(), "2024-02-29T23:59:59+00:00");
    }

    #[test]
    fn cached_minutes_agree_with_full_parses() {
        let mut texts = Vec::new();
        for zone in ["+0000", "-0530"] {
            for s in ["00", "59", "60", "5x"] {
                texts.push(format!("31/Dec/2024:23:59:{s} {zone}"));
            }
        }
        for text in texts.iter().chain(texts.iter().rev()) {
            let b: &[u8; 26] = text.as_bytes().try_into().unwrap();
            assert_eq!(LogTime::parse_clf(text), LogTime::parse_clf_uncached(b), "{text}");
        }
        assert_eq!(LogTime::parse_clf("31/Dec/2024:23:59:59 +0000").unwrap().to_string(), "2024-12-31T23:59:59+00:00");
    }

    #[test]
    fn bad_clf_times_are_rejected() {
        for bad in [
            "",
            "10/Oct/2025:13:55:36",
            "10/Oct/2025:13:55:36 +02000",
            "29/Feb/2025:00:00:00 +0000",
            "31/Apr/2025:00:00:00 +0000",
            "00/Oct/2025:00:00:00 +0000",
            "10/oct/2025:13:55:36 +0200",
            "10/Oct/2025:24:00:00 +0200",
            "10/Oct/2025:13:60:00 +0200",
            "10/Oct/2025:13:55:36 0200 ",
            "10/Oct/2025 13:55:36 +0200",
            "1x/Oct/2025:13:55:36 +0200",
            "10/Oct/2025:13:55:36 +0260",
        ] {
            assert_eq!(LogTime::parse_clf(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rfc3339_agrees_with_jiff() {
        for text in ["2025-10-10T13:55:36Z", "2025-10-10T13:55:36.5+02:00", "1999-12-31t23:59:59.123456789-07:30"] {
            let ours = LogTime::parse_rfc3339(text).unwrap();
            let theirs: Timestamp = text.parse().unwrap();
            assert_eq!(ours.timestamp(), theirs, "{text}");
            let back = LogTime::parse_rfc3339(&ours.to_string()).unwrap();
            assert_eq!(back, ours);
        }
        for bad in ["2025-10-10T13:55:36", "2025-10-10T13:55:36.Z", "2025-13-10T13:55:36Z", "2025-10-10T13:55:36+0200"]
        {
            assert_eq!(LogTime::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc3164_times_take_year_and_offset() {
        let t = LogTime::parse_rfc3164("Oct  1 02:03:04", 2025, Offset::UTC).unwrap();
        assert_eq!(t.to_string(), "2025-10-01T02:03:04+00:00");
        let t = LogTime::parse_rfc3164("Feb 29 00:00:00", 2024, Offset::from_hours(1).unwrap()).unwrap();
        assert_eq!(t.to_string(), "2024-02-29T00:00:00+01:00");
        assert_eq!(LogTime::parse_rfc3164("Feb 29 00:00:00", 2025, Offset::UTC), None);
        assert_eq!(LogTime::parse_rfc3164("Foo 01 00:00:00", 2025, Offset::UTC), None);
    }

    #[test]
    fn civil_days_match_jiff_over_four_centuries() {
        let mut date = jiff::civil::date(1900, 1, 1);
        let epoch = jiff::civil::date(1970, 1, 1);
        for _ in 0..(400 * 366) {
            let want = (date - epoch).get_days() as i64;
            let got = days_from_civil(i64::from(date.year()), date.month() as u8, date.day() as u8);
            assert_eq!(got, want, "{date}");
            date = date.tomorrow().unwrap();
        }
    }
}
