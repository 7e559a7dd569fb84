//! nginx/Apache access logs: the Common and Combined Log Formats.
//!
//! ```text
//! 127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://x/" "Mozilla/4.08"
//! HOST      IDENT USER [TIME]                    "METHOD TARGET PROTOCOL" STATUS BYTES "REFERER" "USER-AGENT"
//! ```
//!
//! A line is a record only if every field parses (strict, so truncated lines
//! are caught): one space between fields, `HOST` non-empty, `IDENT` and `USER`
//! non-empty (`-` is none), `TIME` a valid CLF time with offset, the request
//! exactly three non-empty space-separated parts, `STATUS` three digits,
//! `BYTES` digits or `-` (none), and the quoted `REFERER` and `USER-AGENT`
//! (`-` is none) ending the line. Quoted fields may contain `\"` (Apache's
//! escape); fields are borrowed as written, escapes included.

use super::parser::{LineParser, Malformed};
use super::time::LogTime;
use serde::Serialize;

/// One access-log line. Fields borrow from the line, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AccessRecord<'a> {
    /// The client address or host name.
    pub host: &'a str,
    /// The RFC 1413 identity (`None` for `-`).
    pub ident: Option<&'a str>,
    /// The authenticated user (`None` for `-`).
    pub user: Option<&'a str>,
    /// When the request was received, with the server's offset.
    pub time: LogTime,
    /// The request method (`GET`).
    pub method: &'a str,
    /// The request target: path and query string (`/a?b=1`).
    pub path: &'a str,
    /// The protocol (`HTTP/1.1`).
    pub protocol: &'a str,
    /// The response status (`200`).
    pub status: u16,
    /// The response body size (`None` for `-`).
    pub bytes: Option<u64>,
    /// The `Referer` header (`None` for `-`; always `None` in the common format).
    pub referer: Option<&'a str>,
    /// The `User-Agent` header (`None` for `-`; always `None` in the common format).
    pub user_agent: Option<&'a str>,
}

/// Which access-log format lines are in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AccessFormat {
    /// The combined format: common plus quoted referer and user agent.
    #[default]
    Combined,
    /// The common format: ends after the byte count.
    Common,
}

/// nginx/Apache access logs: the Common and Combined Log Formats.
///
/// ```text
/// 127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://x/" "Mozilla/4.08"
/// HOST      IDENT USER [TIME]                    "METHOD TARGET PROTOCOL" STATUS BYTES "REFERER" "USER-AGENT"
/// ```
///
/// A line is a record only if every field parses (strict, so truncated lines
/// are caught): one space between fields, `HOST` non-empty, `IDENT` and `USER`
/// non-empty (`-` is none), `TIME` a valid CLF time with offset, the request
/// exactly three non-empty space-separated parts, `STATUS` three digits,
/// `BYTES` digits or `-` (none), and the quoted `REFERER` and `USER-AGENT`
/// (`-` is none) ending the line. Quoted fields may contain `\"` (Apache's
/// escape); fields are borrowed as written, escapes included.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessLogParser {
    format: AccessFormat,
}

impl AccessLogParser {
    /// A parser for `format`.
    pub fn new(format: AccessFormat) -> Self {
        AccessLogParser { format }
    }

    /// The format parsed.
    pub fn format(&self) -> AccessFormat {
        self.format
    }
}

/// A cursor over a line's bytes.
struct Cursor<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// The text up to the next space (non-empty), and past that space.
    ///
    /// A plain loop: these fields are short (often `-`), where a `memchr`
    /// call costs more than it saves.
    #[inline]
    fn token(&mut self, what: &'static str) -> Result<&'a str, Malformed> {
        let rest = &self.line.as_bytes()[self.pos..];
        match rest.iter().position(|&b| b == b' ') {
            Some(0) | None => Err(Malformed::new(what)),
            Some(n) => {
                let token = &self.line[self.pos..self.pos + n];
                self.pos += n + 1;
                Ok(token)
            }
        }
    }

    /// Expects `literal` next (compared byte by byte: literals are 1 to 3
    /// bytes, too short for `memcmp`).
    #[inline]
    fn expect(&mut self, literal: &[u8], what: &'static str) -> Result<(), Malformed> {
        let rest = &self.line.as_bytes()[self.pos..];
        if rest.len() >= literal.len() && literal.iter().zip(rest).all(|(a, b)| a == b) {
            self.pos += literal.len();
            Ok(())
        } else {
            Err(Malformed::new(what))
        }
    }

    /// A quoted field's contents (after its opening quote), up to the first
    /// quote not escaped by a backslash, and past that quote.
    #[inline]
    fn quoted(&mut self, what: &'static str) -> Result<&'a str, Malformed> {
        let bytes = self.line.as_bytes();
        let start = self.pos;
        let mut from = start;
        loop {
            let Some(i) = memchr::memchr(b'"', &bytes[from..]) else {
                return Err(Malformed::new(what));
            };
            let quote = from + i;
            let backslashes = bytes[start..quote].iter().rev().take_while(|&&b| b == b'\\').count();
            if backslashes % 2 == 0 {
                self.pos = quote + 1;
                return Ok(&self.line[start..quote]);
            }
            from = quote + 1;
        }
    }

    fn at_end(&self) -> bool {
        self.pos == self.line.len()
    }
}

fn dash(field: &str) -> Option<&str> {
    if field == "-" { None } else { Some(field) }
}

/// `METHOD TARGET PROTOCOL`: three non-empty parts, two spaces.
#[inline]
fn split_request(request: &str) -> Option<(&str, &str, &str)> {
    let bytes = request.as_bytes();
    let first = bytes.iter().position(|&b| b == b' ')?;
    let second = first + 1 + bytes[first + 1..].iter().position(|&b| b == b' ')?;
    let protocol = &bytes[second + 1..];
    if first == 0 || second == first + 1 || protocol.is_empty() || protocol.contains(&b' ') {
        return None;
    }
    // The cuts sit next to ASCII spaces, so they are char boundaries.
    Some((&request[..first], &request[first + 1..second], &request[second + 1..]))
}

#[inline]
fn parse_status(text: &str) -> Option<u16> {
    match text.as_bytes() {
        [a @ b'0'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

#[inline]
fn parse_bytes(text: &str) -> Result<Option<u64>, Malformed> {
    const BAD: Malformed = Malformed::new("bad byte count");
    if text == "-" {
        return Ok(None);
    }
    if text.is_empty() || text.len() > 20 {
        return Err(BAD);
    }
    let mut n: u64 = 0;
    for &c in text.as_bytes() {
        if !c.is_ascii_digit() {
            return Err(BAD);
        }
        n = n.checked_mul(10).and_then(|n| n.checked_add(u64::from(c - b'0'))).ok_or(BAD)?;
    }
    Ok(Some(n))
}

impl LineParser for AccessLogParser {
    type Record<'a> = AccessRecord<'a>;

    #[inline]
    fn parse<'a>(&self, line: &'a str) -> Result<Option<AccessRecord<'a>>, Malformed> {
        let mut c = Cursor { line, pos: 0 };
        let host = c.token("no host")?;
        let ident = c.token("no ident field")?;
        let user = c.token("no user field")?;
        c.expect(b"[", "no `[` before the time")?;
        let time_text = line.get(c.pos..c.pos + 26).ok_or(Malformed::new("truncated time"))?;
        let time = LogTime::parse_clf(time_text).ok_or(Malformed::new("bad time"))?;
        c.pos += 26;
        c.expect(b"] \"", "no `] \"` after the time")?;
        let request = c.quoted("unterminated request")?;
        let (method, path, protocol) =
            split_request(request).ok_or(Malformed::new("request is not `METHOD TARGET PROTOCOL`"))?;
        c.expect(b" ", "no space after the request")?;
        let status = parse_status(c.token("no status")?).ok_or(Malformed::new("status is not three digits"))?;
        let (bytes, referer, user_agent) = match self.format {
            AccessFormat::Common => {
                let bytes = parse_bytes(&line[c.pos..])?;
                (bytes, None, None)
            }
            AccessFormat::Combined => {
                let bytes = parse_bytes(c.token("no byte count")?)?;
                c.expect(b"\"", "no quoted referer")?;
                let referer = c.quoted("unterminated referer")?;
                c.expect(b" \"", "no quoted user agent")?;
                let agent = c.quoted("unterminated user agent")?;
                if !c.at_end() {
                    return Err(Malformed::new("text after the user agent"));
                }
                (bytes, dash(referer), dash(agent))
            }
        };
        Ok(Some(AccessRecord {
            host,
            ident: dash(ident),
            user: dash(user),
            time,
            method,
            path,
            protocol,
            status,
            bytes,
            referer,
            user_agent,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NGINX: &str = r#"203.0.113.9 - - [11/Oct/2025:18:35:30 +0200] "GET /docs/page-94.html?x=1 HTTP/1.1" 200 37141 "https://shoal.example/sitemap.xml" "Mozilla/5.0 (X11; Linux x86_64)""#;
    const APACHE: &str = r#"2001:db8::1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a\"b.gif HTTP/1.0" 304 - "-" "-""#;

    #[test]
    fn parses_nginx_and_apache_lines() {
        let p = AccessLogParser::default();
        let r = p.parse(NGINX).unwrap().unwrap();
        assert_eq!((r.host, r.ident, r.user), ("203.0.113.9", None, None));
        assert_eq!(r.time.to_string(), "2025-10-11T18:35:30+02:00");
        assert_eq!((r.method, r.path, r.protocol), ("GET", "/docs/page-94.html?x=1", "HTTP/1.1"));
        assert_eq!((r.status, r.bytes), (200, Some(37141)));
        assert_eq!(r.referer, Some("https://shoal.example/sitemap.xml"));
        assert_eq!(r.user_agent, Some("Mozilla/5.0 (X11; Linux x86_64)"));
        let r = p.parse(APACHE).unwrap().unwrap();
        assert_eq!(
            (r.host, r.user, r.path, r.status, r.bytes),
            ("2001:db8::1", Some("frank"), r#"/a\"b.gif"#, 304, None)
        );
        assert_eq!((r.referer, r.user_agent), (None, None));
    }

    #[test]
    fn every_truncation_of_a_line_is_malformed() {
        let p = AccessLogParser::default();
        for line in [NGINX, APACHE] {
            for cut in 0..line.len() {
                assert!(p.parse(&line[..cut]).is_err(), "cut at {cut}: {:?}", &line[..cut]);
            }
        }
    }

    #[test]
    fn common_format_ends_after_the_byte_count() {
        let p = AccessLogParser::new(AccessFormat::Common);
        let r = p.parse(r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326"#).unwrap().unwrap();
        assert_eq!(r.bytes, Some(2326));
        assert!(p.parse(r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "-""#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_is_malformed(line in "\\PC{0,200}") {
            let _ = AccessLogParser::default().parse(&line);
            let _ = AccessLogParser::new(AccessFormat::Common).parse(&line);
        }

        #[test]
        fn written_records_parse_back(
            host in "[0-9a-f:.]{1,39}",
            user in "[a-z-]{1,8}",
            day in 1u8..=28, month in 0usize..12, year in 1970i64..2100,
            h in 0u8..24, m in 0u8..60, s in 0u8..60,
            east in proptest::bool::ANY, oh in 0u8..15, om in 0u8..60,
            method in "[A-Z]{1,7}", path in "/[!#-~]{0,40}",
            status in 100u16..600, bytes in proptest::option::of(0u64..u64::MAX),
            referer in "[ !#-\\[\\]-~]{0,30}", agent in "[ !#-\\[\\]-~]{1,30}",
        ) {
            let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            let sign = if east { '+' } else { '-' };
            let size = bytes.map_or("-".to_string(), |b| b.to_string());
            let line = format!(
                "{host} - {user} [{day:02}/{}/{year}:{h:02}:{m:02}:{s:02} {sign}{oh:02}{om:02}] \"{method} {path} HTTP/1.1\" {status} {size} \"{referer}\" \"{agent}\"",
                months[month]
            );
            let r = AccessLogParser::default().parse(&line).unwrap().unwrap();
            let local = crate::logs::time::days_from_civil(year, month as u8 + 1, day) * 86_400
                + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
            let offset = (i64::from(oh) * 3600 + i64::from(om) * 60) * if east { 1 } else { -1 };
            proptest::prop_assert_eq!(r.time.unix_seconds(), local - offset);
            proptest::prop_assert_eq!((r.host, r.user, r.method, r.path), (host.as_str(), dash(&user), method.as_str(), path.as_str()));
            proptest::prop_assert_eq!((r.status, r.bytes), (status, bytes));
            proptest::prop_assert_eq!((r.referer, r.user_agent), (dash(&referer), dash(&agent)));
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let p = AccessLogParser::default();
        let cases = [
            (r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 2000 1 "-" "-""#, "status is not three digits"),
            (r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1x "-" "-""#, "bad byte count"),
            (r#"h - - [10/Oct/2000:13:55:36 -0700] "GET /" 200 1 "-" "-""#, "request is not `METHOD TARGET PROTOCOL`"),
            (r#"h - - [32/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1 "-" "-""#, "bad time"),
            (r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1 "-" "-" x"#, "text after the user agent"),
            (r#"h  - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 1 "-" "-""#, "no ident field"),
            ("", "no host"),
        ];
        for (line, why) in cases {
            assert_eq!(p.parse(line).unwrap_err().reason(), why, "{line}");
        }
    }
}
