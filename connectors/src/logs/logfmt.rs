//! logfmt lines: `ts=2025-10-10T13:55:36Z level=info msg="user logged in" id=42`.
//!
//! Rules (those of `go-logfmt`): pairs are separated by spaces; a key is a
//! run of bytes other than space, `=` and `"`; `key=value` takes the value up
//! to the next space, `key="..."` a quoted value with JSON escapes (`\"`,
//! `\\`, `\n`, `\t`, `\r`, `\uXXXX`), `key=` an empty value, and a bare `key`
//! an empty value too. An unterminated quote, a bad escape or a pair without
//! a key is malformed; a blank line is skipped.

use super::parser::{LineParser, Malformed};
use super::time::LogTime;
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::borrow::Cow;

/// One logfmt line: its pairs in order. Values borrow from the line unless
/// they had escapes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogfmtRecord<'a> {
    pairs: Vec<(&'a str, Cow<'a, str>)>,
}

impl<'a> LogfmtRecord<'a> {
    /// The value of the first pair named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| &**v)
    }

    /// The pairs, in line order.
    pub fn pairs(&self) -> impl Iterator<Item = (&'a str, &str)> {
        self.pairs.iter().map(|(k, v)| (*k, &**v))
    }

    /// How many pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether the line had no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The RFC 3339 time of the first of the keys `ts`, `time` or
    /// `timestamp` that is present; `None` if none is, or it does not parse.
    pub fn time(&self) -> Option<LogTime> {
        ["ts", "time", "timestamp"].iter().find_map(|k| self.get(k)).and_then(LogTime::parse_rfc3339)
    }
}

/// Serializes as a map in line order (a repeated key appears twice).
impl Serialize for LogfmtRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.pairs.len()))?;
        for (k, v) in &self.pairs {
            map.serialize_entry(k, &**v)?;
        }
        map.end()
    }
}

/// logfmt lines: `ts=2025-10-10T13:55:36Z level=info msg="user logged in" id=42`.
///
/// Rules (those of `go-logfmt`): pairs are separated by spaces; a key is a
/// run of bytes other than space, `=` and `"`; `key=value` takes the value up
/// to the next space, `key="..."` a quoted value with JSON escapes (`\"`,
/// `\\`, `\n`, `\t`, `\r`, `\uXXXX`), `key=` an empty value, and a bare `key`
/// an empty value too. An unterminated quote, a bad escape or a pair without
/// a key is malformed; a blank line is skipped.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogfmtParser {
    _private: (),
}

impl LogfmtParser {
    /// A parser.
    pub fn new() -> Self {
        LogfmtParser::default()
    }
}

impl LineParser for LogfmtParser {
    type Record<'a> = LogfmtRecord<'a>;

    fn parse<'a>(&self, line: &'a str) -> Result<Option<LogfmtRecord<'a>>, Malformed> {
        let bytes = line.as_bytes();
        let mut pairs = Vec::new();
        let mut i = 0;
        loop {
            while bytes.get(i) == Some(&b' ') || bytes.get(i) == Some(&b'\t') {
                i += 1;
            }
            if i == bytes.len() {
                break;
            }
            let key_start = i;
            while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'=' | b'"') {
                i += 1;
            }
            if i == key_start {
                return Err(Malformed::new("a pair has no key"));
            }
            let key = &line[key_start..i];
            let value = match bytes.get(i) {
                Some(b'=') => {
                    i += 1;
                    if bytes.get(i) == Some(&b'"') {
                        let (value, end) = quoted(line, i + 1)?;
                        i = end;
                        if !matches!(bytes.get(i), None | Some(b' ' | b'\t')) {
                            return Err(Malformed::new("text right after a quoted value"));
                        }
                        value
                    } else {
                        let start = i;
                        while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t') {
                            if bytes[i] == b'"' {
                                return Err(Malformed::new("a quote inside an unquoted value"));
                            }
                            i += 1;
                        }
                        Cow::Borrowed(&line[start..i])
                    }
                }
                Some(b'"') => return Err(Malformed::new("a quote inside a key")),
                _ => Cow::Borrowed(""),
            };
            pairs.push((key, value));
        }
        Ok(if pairs.is_empty() { None } else { Some(LogfmtRecord { pairs }) })
    }
}

/// The quoted value starting after its opening quote at `start`, and the
/// position after its closing quote.
fn quoted(line: &str, start: usize) -> Result<(Cow<'_, str>, usize), Malformed> {
    const UNTERMINATED: Malformed = Malformed::new("unterminated quoted value");
    let bytes = line.as_bytes();
    let close = memchr::memchr2(b'"', b'\\', &bytes[start..]).ok_or(UNTERMINATED)? + start;
    if bytes[close] == b'"' {
        return Ok((Cow::Borrowed(&line[start..close]), close + 1));
    }
    // Escapes: decode the JSON string with serde_json, which knows them all.
    let mut i = close;
    loop {
        match bytes.get(i) {
            None => return Err(UNTERMINATED),
            Some(b'\\') => i += 2,
            Some(b'"') => break,
            Some(_) => i += 1,
        }
    }
    let json = line.get(start - 1..=i).ok_or(UNTERMINATED)?;
    let value: String = serde_json::from_str(json).map_err(|_| Malformed::new("bad escape in a quoted value"))?;
    Ok((Cow::Owned(value), i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Option<LogfmtRecord<'_>>, Malformed> {
        LogfmtParser::new().parse(line)
    }

    #[test]
    fn pairs_quotes_and_escapes() {
        let r = parse(r#"ts=2025-10-10T13:55:36+02:00 level=info msg="user \"bob\" logged in\n" dry empty= id=42"#)
            .unwrap()
            .unwrap();
        let pairs: Vec<_> = r.pairs().collect();
        assert_eq!(
            pairs,
            [
                ("ts", "2025-10-10T13:55:36+02:00"),
                ("level", "info"),
                ("msg", "user \"bob\" logged in\n"),
                ("dry", ""),
                ("empty", ""),
                ("id", "42")
            ]
        );
        assert_eq!(r.time().unwrap().to_string(), "2025-10-10T13:55:36+02:00");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"ts":"2025-10-10T13:55:36+02:00","level":"info","msg":"user \"bob\" logged in\n","dry":"","empty":"","id":"42"}"#
        );
        let r = parse(r#"a="x y" b="""#).unwrap().unwrap();
        assert_eq!((r.get("a"), r.get("b"), r.get("c")), (Some("x y"), Some(""), None));
    }

    #[test]
    fn blank_lines_are_skipped_and_bad_ones_rejected() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("   ").unwrap(), None);
        for bad in [r#"a="unterminated"#, "=x", r#"a="x"b"#, r#"a=x"y"#, r#"a="\q""#, r#"k"ey=1"#, r#"a="\"#] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
