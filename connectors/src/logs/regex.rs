//! Lines read by a user's regular expression with named groups.
//!
//! ```text
//! (?<level>[A-Z]+) (?<time>\S+) (?<message>.*)
//! ```
//!
//! A line that the expression does not match is malformed (anchor it with
//! `^...$` to match whole lines). One group can be named the time, parsed
//! with a [`TimeFormat`]; a time that does not parse makes the line malformed.

use super::parser::{LineParser, Malformed};
use super::time::LogTime;
use regex::Regex;
use serde::ser::{Serialize, SerializeMap, Serializer};
use shoal::{Error, ErrorKind};
use std::sync::Arc;

/// How the time group of a [`RegexParser`] is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeFormat {
    /// `10/Oct/2025:13:55:36 +0200` (access logs).
    Clf,
    /// `2025-10-10T13:55:36.5+02:00` (RFC 3339).
    Rfc3339,
    /// A `strftime` format (jiff's `strptime`); without `%z` the time is UTC.
    Strftime(String),
}

impl TimeFormat {
    fn parse(&self, text: &str) -> Option<LogTime> {
        match self {
            TimeFormat::Clf => LogTime::parse_clf(text),
            TimeFormat::Rfc3339 => LogTime::parse_rfc3339(text),
            TimeFormat::Strftime(format) => {
                let tm = jiff::fmt::strtime::parse(format, text).ok()?;
                let offset = tm.offset().unwrap_or(jiff::tz::Offset::UTC);
                let instant = tm.to_datetime().ok()?.to_zoned(jiff::tz::TimeZone::fixed(offset)).ok()?.timestamp();
                Some(LogTime::new(instant, offset))
            }
        }
    }
}

/// The group names of a pattern, shared by its records.
type Names = Arc<[Option<Box<str>>]>;

/// One matched line: the named groups' text, borrowed from the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexRecord<'a> {
    names: Names,
    values: Vec<Option<&'a str>>,
    time: Option<LogTime>,
}

impl<'a> RegexRecord<'a> {
    /// The text of the group `name`, if it took part in the match.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        let i = self.names.iter().position(|n| n.as_deref() == Some(name))?;
        self.values.get(i).copied().flatten()
    }

    /// The text of group `index` (0 is the whole match).
    pub fn group(&self, index: usize) -> Option<&'a str> {
        self.values.get(index).copied().flatten()
    }

    /// The parsed time, when the parser has a time group.
    pub fn time(&self) -> Option<LogTime> {
        self.time
    }

    /// The named groups and their text, in pattern order.
    pub fn named(&self) -> impl Iterator<Item = (&str, Option<&'a str>)> {
        self.names.iter().zip(&self.values).filter_map(|(n, v)| n.as_deref().map(|n| (n, *v)))
    }
}

/// Serializes as a map of the named groups (`null` for a group that did not
/// take part), in pattern order.
impl Serialize for RegexRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.named() {
            map.serialize_entry(name, &value)?;
        }
        map.end()
    }
}

/// Lines read by a user's regular expression with named groups.
///
/// ```text
/// (?<level>[A-Z]+) (?<time>\S+) (?<message>.*)
/// ```
///
/// A line that the expression does not match is malformed (anchor it with
/// `^...$` to match whole lines). One group can be named the time, parsed
/// with a [`TimeFormat`]; a time that does not parse makes the line malformed.
#[derive(Debug, Clone)]
pub struct RegexParser {
    regex: Regex,
    names: Names,
    time: Option<(usize, TimeFormat)>,
}

impl RegexParser {
    /// A parser for `pattern` (the `regex` crate's syntax).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for an invalid pattern.
    pub fn new(pattern: &str) -> shoal::Result<Self> {
        let regex = Regex::new(pattern)
            .map_err(|e| Error::new(ErrorKind::Config, format!("bad log pattern `{pattern}`")).with_source(e))?;
        let names = regex.capture_names().map(|n| n.map(Box::from)).collect();
        Ok(RegexParser { regex, names, time: None })
    }

    /// Parses group `name` as the record's time, written in `format`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the pattern has no group `name`.
    pub fn time(mut self, name: &str, format: TimeFormat) -> shoal::Result<Self> {
        let index = self.names.iter().position(|n| n.as_deref() == Some(name)).ok_or_else(|| {
            Error::new(ErrorKind::Config, format!("log pattern `{}` has no group named `{name}`", self.regex.as_str()))
        })?;
        self.time = Some((index, format));
        Ok(self)
    }

    /// The regular expression.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }
}

impl LineParser for RegexParser {
    type Record<'a> = RegexRecord<'a>;

    fn parse<'a>(&self, line: &'a str) -> Result<Option<RegexRecord<'a>>, Malformed> {
        let caps = self.regex.captures(line).ok_or(Malformed::new("line does not match the pattern"))?;
        let values: Vec<Option<&'a str>> = caps.iter().map(|m| m.map(|m| m.as_str())).collect();
        let time = match &self.time {
            None => None,
            Some((index, format)) => {
                let text = values.get(*index).copied().flatten().ok_or(Malformed::new("no time"))?;
                Some(format.parse(text).ok_or(Malformed::new("bad time"))?)
            }
        };
        Ok(Some(RegexRecord { names: self.names.clone(), values, time }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_groups_and_time() {
        let p = RegexParser::new(r"^(?<level>[A-Z]+) \[(?<time>[^\]]+)\] (?<msg>.*?)(?: id=(?<id>\d+))?$")
            .unwrap()
            .time("time", TimeFormat::Rfc3339)
            .unwrap();
        let r = p.parse("WARN [2025-10-10T13:55:36+02:00] disk almost full id=7").unwrap().unwrap();
        assert_eq!((r.get("level"), r.get("msg"), r.get("id")), (Some("WARN"), Some("disk almost full"), Some("7")));
        assert_eq!(r.time().unwrap().unix_seconds(), 1_760_097_336);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"level":"WARN","time":"2025-10-10T13:55:36+02:00","msg":"disk almost full","id":"7"}"#
        );
        let r = p.parse("INFO [2025-10-10T13:55:36Z] ok").unwrap().unwrap();
        assert_eq!(r.get("id"), None);
        assert_eq!(p.parse("INFO [yesterday] ok").unwrap_err().reason(), "bad time");
        assert_eq!(p.parse("info [2025-10-10T13:55:36Z] ok").unwrap_err().reason(), "line does not match the pattern");
    }

    #[test]
    fn strftime_times_and_config_errors() {
        let p = RegexParser::new(r"^(?<t>\S+ \S+) (?<m>.*)$")
            .unwrap()
            .time("t", TimeFormat::Strftime("%Y-%m-%d %H:%M:%S".into()))
            .unwrap();
        let r = p.parse("2025-10-10 13:55:36 hello").unwrap().unwrap();
        assert_eq!(r.time().unwrap().to_string(), "2025-10-10T13:55:36+00:00");
        assert_eq!(RegexParser::new("(").unwrap_err().kind(), ErrorKind::Config);
        assert_eq!(
            RegexParser::new("(?<a>x)").unwrap().time("b", TimeFormat::Clf).unwrap_err().kind(),
            ErrorKind::Config
        );
    }
}
