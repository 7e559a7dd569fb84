//! Syslog lines: RFC 5424 and BSD syslog (RFC 3164, as in `/var/log/syslog`).
//!
//! ```text
//! <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 [exampleSDID@32473 iut="3"] 'su root' failed
//! <34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8
//! Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8
//! ```
//!
//! RFC 3164 times carry neither year nor zone; the parser is given both
//! ([`SyslogParser::year`], [`SyslogParser::offset`]; by default the current
//! year and UTC). Fields are borrowed as written; `-` (the RFC 5424 nil
//! value) is `None`.

use super::parser::{LineParser, Malformed};
use super::time::LogTime;
use jiff::tz::Offset;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which syslog format to expect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyslogFormat {
    /// RFC 5424 when the line starts `<PRI>1 `, otherwise RFC 3164.
    #[default]
    Auto,
    /// BSD syslog: `[<PRI>]Mmm dd hh:mm:ss HOST TAG[PID]: MSG`.
    Rfc3164,
    /// `<PRI>1 TIME HOST APP PROCID MSGID SD [MSG]`.
    Rfc5424,
}

/// The severity part of a priority value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    /// 0: system is unusable.
    Emergency,
    /// 1: action must be taken immediately.
    Alert,
    /// 2: critical conditions.
    Critical,
    /// 3: error conditions.
    Error,
    /// 4: warning conditions.
    Warning,
    /// 5: normal but significant condition.
    Notice,
    /// 6: informational messages.
    Informational,
    /// 7: debug-level messages.
    Debug,
}

impl Severity {
    const ALL: [Severity; 8] = [
        Severity::Emergency,
        Severity::Alert,
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Notice,
        Severity::Informational,
        Severity::Debug,
    ];
}

/// The facility part of a priority value (0 = kernel, ..., 23 = local7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Facility(pub u8);

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [&str; 24] = [
            "kern",
            "user",
            "mail",
            "daemon",
            "auth",
            "syslog",
            "lpr",
            "news",
            "uucp",
            "cron",
            "authpriv",
            "ftp",
            "ntp",
            "security",
            "console",
            "solaris-cron",
            "local0",
            "local1",
            "local2",
            "local3",
            "local4",
            "local5",
            "local6",
            "local7",
        ];
        match NAMES.get(usize::from(self.0)) {
            Some(name) => f.write_str(name),
            None => write!(f, "facility{}", self.0),
        }
    }
}

/// One syslog line. Fields borrow from the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyslogRecord<'a> {
    /// The format the line was in ([`SyslogFormat::Rfc3164`] or [`SyslogFormat::Rfc5424`]).
    pub format: SyslogFormat,
    /// The facility, when the line has a `<PRI>`.
    pub facility: Option<Facility>,
    /// The severity, when the line has a `<PRI>`.
    pub severity: Option<Severity>,
    /// The time (`None` for an RFC 5424 `-`).
    pub time: Option<LogTime>,
    /// The host name.
    pub hostname: Option<&'a str>,
    /// The application (RFC 3164: the tag before `[pid]:`).
    pub app_name: Option<&'a str>,
    /// The process id.
    pub proc_id: Option<&'a str>,
    /// The message type (RFC 5424 only).
    pub msg_id: Option<&'a str>,
    /// The structured data as written, brackets included (RFC 5424 only).
    pub structured_data: Option<&'a str>,
    /// The free-form message (an RFC 5424 byte-order mark removed).
    pub message: &'a str,
}

/// Syslog lines: RFC 5424 and BSD syslog (RFC 3164, as in `/var/log/syslog`).
///
/// ```text
/// <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 [exampleSDID@32473 iut="3"] 'su root' failed
/// <34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8
/// Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8
/// ```
///
/// RFC 3164 times carry neither year nor zone; the parser is given both
/// ([`SyslogParser::year`], [`SyslogParser::offset`]; by default the current
/// year and UTC). Fields are borrowed as written; `-` (the RFC 5424 nil
/// value) is `None`.
#[derive(Debug, Clone, Copy)]
pub struct SyslogParser {
    format: SyslogFormat,
    year: i16,
    offset: Offset,
}

impl SyslogParser {
    /// A parser for `format`, with RFC 3164 times in the current year (UTC)
    /// and at UTC.
    pub fn new(format: SyslogFormat) -> Self {
        let year = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).year();
        SyslogParser { format, year, offset: Offset::UTC }
    }

    /// The year of RFC 3164 times.
    pub fn year(mut self, year: i16) -> Self {
        self.year = year;
        self
    }

    /// The UTC offset RFC 3164 times were written in.
    pub fn offset(mut self, offset: Offset) -> Self {
        self.offset = offset;
        self
    }

    fn rfc5424<'a>(&self, line: &'a str) -> Result<SyslogRecord<'a>, Malformed> {
        let (pri, rest) = priority(line).ok_or(Malformed::new("no <PRI>"))?;
        let rest = rest.strip_prefix("1 ").ok_or(Malformed::new("not syslog version 1"))?;
        let mut fields = Fields(rest);
        let time = match fields.next("no time")? {
            "-" => None,
            t => Some(LogTime::parse_rfc3339(t).ok_or(Malformed::new("bad RFC 3339 time"))?),
        };
        let hostname = nil(fields.next("no host name")?);
        let app_name = nil(fields.next("no app name")?);
        let proc_id = nil(fields.next("no proc id")?);
        let msg_id = nil(fields.next("no msg id")?);
        let rest = fields.0;
        let sd_len = structured_data_len(rest).ok_or(Malformed::new("bad structured data"))?;
        let structured_data = nil(&rest[..sd_len]);
        let message = match &rest[sd_len..] {
            "" => "",
            more => more.strip_prefix(' ').ok_or(Malformed::new("no space after the structured data"))?,
        };
        let message = message.strip_prefix('\u{feff}').unwrap_or(message);
        Ok(SyslogRecord {
            format: SyslogFormat::Rfc5424,
            facility: Some(pri.0),
            severity: Some(pri.1),
            time,
            hostname,
            app_name,
            proc_id,
            msg_id,
            structured_data,
            message,
        })
    }

    fn rfc3164<'a>(&self, line: &'a str) -> Result<SyslogRecord<'a>, Malformed> {
        let (pri, rest) = match priority(line) {
            Some((pri, rest)) => (Some(pri), rest),
            None => (None, line),
        };
        let time_text = rest.get(..15).ok_or(Malformed::new("no time"))?;
        let time = LogTime::parse_rfc3164(time_text, self.year, self.offset).ok_or(Malformed::new("bad time"))?;
        let rest = rest[15..].strip_prefix(' ').ok_or(Malformed::new("no space after the time"))?;
        let mut fields = Fields(rest);
        let hostname = fields.next("no host name")?;
        let rest = fields.0;
        // TAG[PID]: MSG, or TAG: MSG; anything else is all message.
        let tag_end = rest.find([':', '[', ' ']).unwrap_or(rest.len());
        let (app_name, proc_id, message) = match rest.as_bytes().get(tag_end) {
            Some(b':') if tag_end > 0 => (Some(&rest[..tag_end]), None, &rest[tag_end + 1..]),
            Some(b'[') if tag_end > 0 => match rest[tag_end..].find("]:") {
                Some(close) => {
                    (Some(&rest[..tag_end]), Some(&rest[tag_end + 1..tag_end + close]), &rest[tag_end + close + 2..])
                }
                None => (None, None, rest),
            },
            _ => (None, None, rest),
        };
        let message = if app_name.is_some() { message.strip_prefix(' ').unwrap_or(message) } else { message };
        Ok(SyslogRecord {
            format: SyslogFormat::Rfc3164,
            facility: pri.map(|p| p.0),
            severity: pri.map(|p| p.1),
            time: Some(time),
            hostname: Some(hostname),
            app_name,
            proc_id,
            msg_id: None,
            structured_data: None,
            message,
        })
    }
}

impl Default for SyslogParser {
    fn default() -> Self {
        SyslogParser::new(SyslogFormat::Auto)
    }
}

/// Space-separated header fields.
struct Fields<'a>(&'a str);

impl<'a> Fields<'a> {
    fn next(&mut self, what: &'static str) -> Result<&'a str, Malformed> {
        match self.0.split_once(' ') {
            Some((field, rest)) if !field.is_empty() => {
                self.0 = rest;
                Ok(field)
            }
            _ => Err(Malformed::new(what)),
        }
    }
}

fn nil(field: &str) -> Option<&str> {
    if field == "-" { None } else { Some(field) }
}

/// `<PRI>` (0..=191, at most three digits, no leading zero) and the rest.
fn priority(line: &str) -> Option<((Facility, Severity), &str)> {
    let rest = line.strip_prefix('<')?;
    let close = rest.find('>')?;
    let digits = &rest[..close];
    if digits.is_empty() || digits.len() > 3 || (digits.len() > 1 && digits.starts_with('0')) {
        return None;
    }
    let value: u8 = digits.parse().ok()?;
    if value > 191 {
        return None;
    }
    Some(((Facility(value / 8), Severity::ALL[usize::from(value % 8)]), &rest[close + 1..]))
}

/// The length of the structured data at the start of `text`: `-`, or one or
/// more `[...]` elements whose values may hold `\]`.
fn structured_data_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.first() == Some(&b'-') {
        return Some(1);
    }
    let mut pos = 0;
    while bytes.get(pos) == Some(&b'[') {
        let mut i = pos + 1;
        let mut in_quotes = false;
        loop {
            match *bytes.get(i)? {
                b'\\' if in_quotes => i += 1,
                b'"' => in_quotes = !in_quotes,
                b']' if !in_quotes => break,
                _ => {}
            }
            i += 1;
        }
        pos = i + 1;
    }
    (pos > 0).then_some(pos)
}

impl LineParser for SyslogParser {
    type Record<'a> = SyslogRecord<'a>;

    fn parse<'a>(&self, line: &'a str) -> Result<Option<SyslogRecord<'a>>, Malformed> {
        let record = match self.format {
            SyslogFormat::Rfc5424 => self.rfc5424(line)?,
            SyslogFormat::Rfc3164 => self.rfc3164(line)?,
            SyslogFormat::Auto => match priority(line) {
                Some((_, rest)) if rest.starts_with("1 ") => self.rfc5424(line)?,
                _ => self.rfc3164(line)?,
            },
        };
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parser() -> SyslogParser {
        SyslogParser::new(SyslogFormat::Auto).year(2025)
    }

    #[test]
    fn rfc5424_examples_from_the_rfc() {
        let p = parser();
        let line = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8";
        let r = p.parse(line).unwrap().unwrap();
        assert_eq!(r.format, SyslogFormat::Rfc5424);
        assert_eq!((r.facility, r.severity), (Some(Facility(4)), Some(Severity::Critical)));
        assert_eq!(r.time.unwrap().to_string(), "2003-10-11T22:14:15.003+00:00");
        assert_eq!(
            (r.hostname, r.app_name, r.proc_id, r.msg_id),
            (Some("mymachine.example.com"), Some("su"), None, Some("ID47"))
        );
        assert_eq!(r.structured_data, None);
        assert_eq!(r.message, "'su root' failed for lonvick on /dev/pts/8");

        let line = r#"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - [exampleSDID@32473 iut="3" eventSource="Appl\]ication" eventID="1011"][x@1 a="b"] An application event"#;
        let r = p.parse(line).unwrap().unwrap();
        assert_eq!(r.facility.unwrap().to_string(), "local4");
        assert_eq!(r.severity, Some(Severity::Notice));
        assert_eq!(r.time.unwrap().offset().seconds(), -7 * 3600);
        assert_eq!(r.proc_id, Some("8710"));
        assert_eq!(
            r.structured_data,
            Some(r#"[exampleSDID@32473 iut="3" eventSource="Appl\]ication" eventID="1011"][x@1 a="b"]"#)
        );
        assert_eq!(r.message, "An application event");

        let r = p.parse("<13>1 - - - - - -").unwrap().unwrap();
        assert_eq!((r.time, r.hostname, r.message), (None, None, ""));
    }

    #[test]
    fn rfc3164_with_and_without_priority() {
        let p = parser();
        let r = p.parse("<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed").unwrap().unwrap();
        assert_eq!(r.format, SyslogFormat::Rfc3164);
        assert_eq!(r.time.unwrap().to_string(), "2025-10-11T22:14:15+00:00");
        assert_eq!((r.hostname, r.app_name, r.proc_id), (Some("mymachine"), Some("su"), Some("230")));
        assert_eq!(r.message, "'su root' failed");
        let r = p.parse("Oct  1 02:03:04 host kernel: [  0.000] Linux version").unwrap().unwrap();
        assert_eq!((r.facility, r.app_name, r.proc_id), (None, Some("kernel"), None));
        assert_eq!(r.message, "[  0.000] Linux version");
        let r = p.parse("Oct  1 02:03:04 host last message repeated 3 times").unwrap().unwrap();
        assert_eq!((r.app_name, r.message), (None, "last message repeated 3 times"));
    }

    #[test]
    fn malformed_syslog_lines() {
        let p = parser();
        for bad in [
            "",
            "<34>",
            "<192>Oct 11 22:14:15 host x: y",
            "<34>1 2003-10-11T22:14:15.003 host su - ID47 - msg",
            "<34>1 2003-10-11T22:14:15Z host su - ID47 [unclosed x=\"y\"",
            "<34>1 2003-10-11T22:14:15Z host su - ID47 -msg",
            "Oct 32 22:14:15 host x: y",
            "Oct 11 22:14:15",
            "hello world",
        ] {
            assert!(p.parse(bad).is_err(), "{bad:?}");
        }
        let strict = SyslogParser::new(SyslogFormat::Rfc5424);
        assert!(strict.parse("<34>Oct 11 22:14:15 host x: y").is_err());
    }
}
