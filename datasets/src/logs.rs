//! `logs`: web-server access logs in the nginx/Apache "combined" format.
//!
//! ```text
//! IP - USER [10/Oct/2025:13:55:36 +0000] "GET /path HTTP/1.1" STATUS BYTES "REFERER" "USER-AGENT"
//! ```
//!
//! * Time: the logs cover `--days` days from 2025-10-10T00:00:00Z; file `i`
//!   covers the `i`-th of `F` equal slices, lines are in non-decreasing time
//!   order within and across files (compared in UTC). The zone offset is per
//!   file, by index: `i % 8 == 1` → `+0200`, `i % 8 == 4` → `-0500`,
//!   `i % 8 == 6` → `+0530`, all others `+0000`; the local time printed is
//!   the UTC instant shifted by that offset.
//! * Clients: 2000 clients with skewed (Zipf, s = ½) activity; about 3% have
//!   IPv6 addresses; each has a fixed user agent; about 3% are logged-in
//!   users (`USER` is a name), the rest write `-`.
//! * Requests: 200 paths with Zipf (s = 1) popularity; `GET` 90%, `POST` 7%,
//!   `HEAD` 1.5%, `PUT` 1%, `DELETE` 0.5%; `HTTP/1.1` 70%, `HTTP/2.0` 25%,
//!   `HTTP/1.0` 5%. Scanner paths (`/.env`, `/wp-login.php`, …) always 404.
//!   One path is written as nginx escapes non-ASCII bytes:
//!   `/wiki/Z\xC3\xBCrich` (literal backslashes).
//! * Status: 200 88%, 304 4%, 301 2.5%, 302 1%, 404 3%, 500 1%, 503 0.5%.
//! * Bytes: a decimal integer, except that every 304 response writes `-`
//!   (Apache's `%b` for an empty body); `HEAD` requests write `0`.
//! * Line ends: LF, except in files with `i % 8 == 2`, where each line ends
//!   with CRLF with probability 30% (mixed endings in one file).
//! * Malformed lines: by default 0.1% of lines (`--malformed-ppm`) are one of
//!   [`Malformed`]: a truncated line, a line of random bytes, or an otherwise
//!   well-formed line with invalid UTF-8 in the path.
//! * Files: `DIR/access-00000.log`, …; file `i` is gzip-compressed as
//!   `DIR/access-0000i.log.gz` when `i % K == 0` (`--gzip-every K`, default
//!   10; `0` disables compression).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::common::{self, Rng, splitmix64, stream};
use crate::text::{self, days_from_civil};

/// Arguments of the `logs` subcommand.
#[derive(Debug, clap::Args)]
pub(crate) struct LogsArgs {
    /// Number of log files (accepts `10k` etc.).
    #[arg(long, value_parser = common::parse_count)]
    pub(crate) files: u64,
    /// Lines in each file, malformed ones included (accepts `100k` etc.).
    #[arg(long, value_parser = common::parse_count)]
    pub(crate) lines_per_file: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Gzip every K-th file (files 0, K, 2K, …); 0 compresses none.
    #[arg(long, default_value_t = 10, value_name = "K")]
    pub(crate) gzip_every: u64,
    /// Number of days the logs span, from 2025-10-10T00:00:00Z.
    #[arg(long, default_value_t = 5)]
    pub(crate) days: u64,
    /// Malformed lines per million lines (default 1000 = 0.1%).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub(crate) malformed_ppm: u32,
}

/// Generation parameters, as passed to [`write()`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogParams {
    /// Number of files.
    pub(crate) files: u64,
    /// Lines per file.
    pub(crate) lines_per_file: u64,
    /// Gzip files whose index is a multiple of this (0: none).
    pub(crate) gzip_every: u64,
    /// Days covered by all files together.
    pub(crate) days: u64,
    /// Malformed lines per million.
    pub(crate) malformed_ppm: u32,
}

/// The first instant covered: 2025-10-10T00:00:00Z, in seconds since the epoch.
pub(crate) const START_SECONDS: i64 = days_from_civil(2025, 10, 10) * 86_400;

/// Number of distinct clients.
const CLIENTS: usize = 2000;

/// Number of distinct request paths.
const PATHS: usize = 200;

/// Lines are flushed to the file in chunks of about this many bytes.
const CHUNK: usize = 1 << 20;

/// English month abbreviations, as in `10/Oct/2025`.
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// User agents; each client uses one.
const USER_AGENTS: [&str; 16] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:143.0) Gecko/20100101 Firefox/143.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36 Edg/141.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:143.0) Gecko/20100101 Firefox/143.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Go-http-client/1.1",
    "Wget/1.21.4",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Prometheus/2.53.0",
    "-",
];

/// Referers other than `-` and the site's own pages.
const EXTERNAL_REFERERS: [&str; 6] = [
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://t.co/x7Kq2LmZ",
    "https://www.reddit.com/r/rust/",
];

/// Names of logged-in users.
const USERS: [&str; 8] = ["alice", "bob", "carol", "dave", "erin", "frank", "svc-backup", "admin"];

/// Paths requested by vulnerability scanners; always answered with 404.
const SCANNER_PATHS: [&str; 6] =
    ["/.env", "/wp-login.php", "/phpmyadmin/index.php", "/.git/config", "/admin/config.php", "/cgi-bin/luci"];

/// The most popular paths, in popularity order; the rest are generated.
const HEAD_PATHS: [&str; 30] = [
    "/",
    "/static/js/app.3f9a1c.js",
    "/static/css/main.8b2e4d.css",
    "/favicon.ico",
    "/index.html",
    "/api/v1/health",
    "/login",
    "/products",
    "/search?q=shoes",
    "/about",
    "/robots.txt",
    "/api/v1/cart",
    "/images/logo.svg",
    "/contact",
    "/blog",
    "/api/v1/orders?page=1",
    "/sitemap.xml",
    "/logout",
    "/static/fonts/inter.woff2",
    "/search?q=caf%C3%A9",
    "/api/v1/users/me",
    "/checkout",
    "/wiki/Z\\xC3\\xBCrich",
    "/feed.xml",
    "/api/v1/orders?page=2",
    "/terms",
    "/privacy",
    "/docs/",
    "/api/v2/search?q=a%20b&limit=50",
    "/.well-known/security.txt",
];

/// Invalid UTF-8 sequences used in [`Malformed::InvalidUtf8`] lines.
const INVALID_UTF8: [&[u8]; 5] = [
    b"caf\xE9",         // Latin-1 é
    b"\xFF\xFE\xFD",    // bytes never valid in UTF-8
    b"\xC3\x28",        // bad continuation byte
    b"\xED\xA0\x80",    // encoded surrogate
    b"abc\xF0\x9F\x98", // truncated 4-byte sequence
];

/// The kinds of malformed line, drawn with equal probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// A well-formed line cut after `k` bytes, `1 <= k < len`, then the line
    /// terminator: it always lacks at least the closing `"` of the user agent.
    Truncated,
    /// 1 to 120 random bytes (any value except `\n` and `\r`), then the line
    /// terminator; almost always invalid UTF-8.
    Garbage,
    /// A structurally well-formed line whose path is `/search?q=` followed by
    /// one of [`INVALID_UTF8`].
    InvalidUtf8,
}

/// A request path and how the server answers it.
#[derive(Debug)]
struct PathInfo {
    /// The path as written in the request line.
    path: Box<[u8]>,
    /// Typical response body size in bytes.
    size: u64,
    /// Scanner path: always 404.
    missing: bool,
}

/// A client: address, user and user agent, pre-encoded.
#[derive(Debug)]
struct Client {
    /// `IP - USER ` (with the trailing space).
    prefix: Box<[u8]>,
    /// Index into [`USER_AGENTS`].
    agent: usize,
}

/// Everything shared by all lines of all files.
#[derive(Debug)]
struct Tables {
    /// The request paths, most popular first.
    paths: Vec<PathInfo>,
    /// Cumulative Zipf weights of `paths`.
    path_weights: Vec<u64>,
    /// The clients, most active first.
    clients: Vec<Client>,
    /// Cumulative Zipf weights of `clients`.
    client_weights: Vec<u64>,
}

/// Runs the `logs` subcommand.
pub(crate) fn run(args: &LogsArgs, seed: u64, threads: usize) -> Result<()> {
    let params = LogParams {
        files: args.files,
        lines_per_file: args.lines_per_file,
        gzip_every: args.gzip_every,
        days: args.days,
        malformed_ppm: args.malformed_ppm,
    };
    write(&args.out, params, seed, threads)
}

/// The file name of log file `index`.
pub(crate) fn file_name(index: u64, gzip_every: u64) -> String {
    if gzip_every > 0 && index.is_multiple_of(gzip_every) {
        format!("access-{index:05}.log.gz")
    } else {
        format!("access-{index:05}.log")
    }
}

/// The UTC offset of file `index` in minutes.
pub(crate) fn offset_minutes(index: u64) -> i64 {
    match index % 8 {
        1 => 120,
        4 => -300,
        6 => 330,
        _ => 0,
    }
}

/// Whether file `index` has some CRLF-terminated lines.
pub(crate) fn has_crlf(index: u64) -> bool {
    index % 8 == 2
}

/// Writes all log files into `dir`.
pub(crate) fn write(dir: &Path, params: LogParams, seed: u64, threads: usize) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
    let tables = Tables::new(seed);
    common::for_each_parallel(params.files, threads, |index| {
        let path = dir.join(file_name(index, params.gzip_every));
        let file = common::create_file(&path)?;
        if path.extension().is_some_and(|e| e == "gz") {
            let mut gz = GzEncoder::new(file, Compression::default());
            tables.write_file(&mut gz, &path, index, params, seed)?;
            let file = gz.finish().with_context(|| format!("cannot write {}", path.display()))?;
            common::finish_file(file, &path)
        } else {
            let mut file = file;
            tables.write_file(&mut file, &path, index, params, seed)?;
            common::finish_file(file, &path)
        }
    })
}

/// Cumulative integer weights for a Zipf-like law `1 / (rank + 1)^s` with
/// `s = 1` (`sqrt == false`) or `s = 1/2` (`sqrt == true`). Uses only exactly
/// rounded operations, so the table is the same on every platform.
fn zipf_cumulative(n: usize, sqrt: bool) -> Vec<u64> {
    let mut total = 0;
    (0..n)
        .map(|rank| {
            let r = (rank + 1) as f64;
            let weight = 1e9 / if sqrt { r.sqrt() } else { r };
            total += weight as u64 + 1;
            total
        })
        .collect()
}

/// Draws an index from cumulative weights.
#[inline]
fn draw_weighted(rng: &mut Rng, cumulative: &[u64]) -> usize {
    let total = *cumulative.last().expect("non-empty table");
    let u = rng.below(total);
    cumulative.partition_point(|&c| c <= u)
}

impl Tables {
    /// Builds the path and client tables; clients depend on `seed`.
    fn new(seed: u64) -> Self {
        let mut paths: Vec<(Vec<u8>, bool)> = HEAD_PATHS.iter().map(|p| (p.as_bytes().to_vec(), false)).collect();
        let mut n = 0u64;
        while paths.len() < PATHS {
            // Scanner paths sit at ranks 40, 65, 90, …; the rest is generated.
            let rank = paths.len();
            let scanner =
                (rank >= 40 && (rank - 40).is_multiple_of(25)).then(|| SCANNER_PATHS.get((rank - 40) / 25)).flatten();
            if let Some(scanner) = scanner {
                paths.push((scanner.as_bytes().to_vec(), true));
                continue;
            }
            n += 1;
            let path = match n % 5 {
                0 => format!("/products/{}", 1000 + n * 7),
                1 => format!("/blog/2025/post-{n:03}"),
                2 => format!("/api/v1/orders/{}", 50_000 + n * 13),
                3 => format!("/images/photo-{n:04}.jpg"),
                _ => format!("/docs/page-{n}.html"),
            };
            paths.push((path.into_bytes(), false));
        }
        let paths = paths
            .into_iter()
            .enumerate()
            .map(|(i, (path, missing))| {
                let h = splitmix64(i as u64 ^ 0x9A7B);
                let size = if path.ends_with(b".jpg") {
                    20_000 + h % 400_000
                } else if path.ends_with(b".js") || path.ends_with(b".css") {
                    30_000 + h % 200_000
                } else if path.starts_with(b"/api/") {
                    40 + h % 4_000
                } else {
                    1_000 + h % 60_000
                };
                PathInfo { path: path.into_boxed_slice(), size, missing }
            })
            .collect();

        let mut rng = Rng::for_unit(seed, stream::LOGS_CLIENTS, 0);
        let clients = (0..CLIENTS)
            .map(|_| {
                let mut prefix = if rng.chance_ppm(30_000) {
                    format!("2001:db8:{:x}:{:x}::{:x}", rng.below(0x1_0000), rng.below(0x1_0000), rng.range(1, 0xFFFF))
                } else {
                    let first = loop {
                        let a = rng.range(1, 223);
                        if a != 10 && a != 127 {
                            break a;
                        }
                    };
                    format!("{first}.{}.{}.{}", rng.below(256), rng.below(256), rng.range(1, 254))
                };
                let user = if rng.chance_ppm(30_000) { *rng.pick(&USERS) } else { "-" };
                prefix.push_str(" - ");
                prefix.push_str(user);
                prefix.push(' ');
                Client { prefix: prefix.into_bytes().into_boxed_slice(), agent: rng.index(USER_AGENTS.len()) }
            })
            .collect();
        Self {
            paths,
            path_weights: zipf_cumulative(PATHS, false),
            clients,
            client_weights: zipf_cumulative(CLIENTS, true),
        }
    }

    /// Writes the lines of file `index` to `out`.
    fn write_file<W: Write>(&self, out: &mut W, path: &Path, index: u64, params: LogParams, seed: u64) -> Result<()> {
        let mut rng = Rng::for_unit(seed, stream::LOGS, index);
        let span_ms = i128::from(params.days) * 86_400_000;
        let files = i128::from(params.files.max(1));
        let slice_start = (span_ms * i128::from(index) / files) as i64;
        let slice_end = (span_ms * (i128::from(index) + 1) / files) as i64;
        let mut times: Vec<i64> = (0..params.lines_per_file)
            .map(|_| slice_start + rng.below((slice_end - slice_start).max(1) as u64) as i64)
            .collect();
        times.sort_unstable();

        let offset = offset_minutes(index);
        let mut zone = Vec::with_capacity(5);
        zone.push(if offset < 0 { b'-' } else { b'+' });
        text::push_two(&mut zone, (offset.unsigned_abs() / 60) as u32);
        text::push_two(&mut zone, (offset.unsigned_abs() % 60) as u32);
        let crlf = has_crlf(index);

        let mut buf = Vec::with_capacity(CHUNK + 4096);
        for &ms in &times {
            let local = START_SECONDS + ms.div_euclid(1000) + offset * 60;
            let malformed = if rng.chance_ppm(params.malformed_ppm) {
                Some(match rng.below(3) {
                    0 => Malformed::Truncated,
                    1 => Malformed::Garbage,
                    _ => Malformed::InvalidUtf8,
                })
            } else {
                None
            };
            let start = buf.len();
            if malformed == Some(Malformed::Garbage) {
                for _ in 0..rng.range(1, 120) {
                    // 254 values: every byte except 0x0A and 0x0D.
                    let mut b = rng.below(254) as u8;
                    if b >= b'\n' {
                        b += 1;
                    }
                    if b >= b'\r' {
                        b += 1;
                    }
                    buf.push(b);
                }
            } else {
                self.push_line(&mut buf, &mut rng, local, &zone, malformed);
                if malformed == Some(Malformed::Truncated) {
                    let len = (buf.len() - start) as u64;
                    buf.truncate(start + rng.range(1, len - 1) as usize);
                }
            }
            if crlf && rng.chance_ppm(300_000) {
                buf.push(b'\r');
            }
            buf.push(b'\n');
            if buf.len() >= CHUNK {
                out.write_all(&buf).with_context(|| format!("cannot write {}", path.display()))?;
                buf.clear();
            }
        }
        out.write_all(&buf).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Appends one combined-format line (without terminator) for the local
    /// time `local` (seconds) in zone `zone` (`+hhmm`).
    fn push_line(&self, buf: &mut Vec<u8>, rng: &mut Rng, local: i64, zone: &[u8], malformed: Option<Malformed>) {
        let client = &self.clients[draw_weighted(rng, &self.client_weights)];
        buf.extend_from_slice(&client.prefix);

        let (year, month, day) = text::civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400) as u32;
        buf.push(b'[');
        text::push_two(buf, day);
        buf.push(b'/');
        buf.extend_from_slice(MONTHS[month as usize - 1].as_bytes());
        buf.push(b'/');
        text::push_padded(buf, year as u64, 4);
        buf.push(b':');
        text::push_two(buf, secs / 3600);
        buf.push(b':');
        text::push_two(buf, secs / 60 % 60);
        buf.push(b':');
        text::push_two(buf, secs % 60);
        buf.push(b' ');
        buf.extend_from_slice(zone);
        buf.extend_from_slice(b"] \"");

        let method: &[u8] = match rng.below(1000) {
            0..900 => b"GET",
            900..970 => b"POST",
            970..985 => b"HEAD",
            985..995 => b"PUT",
            _ => b"DELETE",
        };
        buf.extend_from_slice(method);
        buf.push(b' ');
        let path = &self.paths[draw_weighted(rng, &self.path_weights)];
        if malformed == Some(Malformed::InvalidUtf8) {
            buf.extend_from_slice(b"/search?q=");
            buf.extend_from_slice(rng.pick::<&[u8]>(&INVALID_UTF8));
        } else {
            buf.extend_from_slice(&path.path);
        }
        buf.extend_from_slice(match rng.below(100) {
            0..70 => b" HTTP/1.1\" ",
            70..95 => b" HTTP/2.0\" ",
            _ => b" HTTP/1.0\" ",
        });

        let status: u64 = if path.missing {
            404
        } else {
            match rng.below(1000) {
                0..880 => 200,
                880..920 => 304,
                920..945 => 301,
                945..955 => 302,
                955..985 => 404,
                985..995 => 500,
                _ => 503,
            }
        };
        text::push_u64(buf, status);
        buf.push(b' ');
        if status == 304 {
            buf.push(b'-');
        } else if method == b"HEAD" {
            buf.push(b'0');
        } else {
            let bytes = match status {
                200 => path.size * rng.range(90, 110) / 100,
                301 | 302 => rng.range(162, 178),
                404 => rng.range(146, 580),
                _ => rng.range(0, 600),
            };
            text::push_u64(buf, bytes);
        }

        buf.extend_from_slice(b" \"");
        match rng.below(100) {
            0..45 => buf.push(b'-'),
            45..80 => {
                buf.extend_from_slice(b"https://shoal.example");
                buf.extend_from_slice(&self.paths[rng.index(HEAD_PATHS.len())].path);
            }
            _ => buf.extend_from_slice(rng.pick(&EXTERNAL_REFERERS).as_bytes()),
        }
        buf.extend_from_slice(b"\" \"");
        buf.extend_from_slice(USER_AGENTS[client.agent].as_bytes());
        buf.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::common::{TempDir, read_tree};

    /// A parsed well-formed line: UTC seconds, status, body bytes (`-` → None).
    #[derive(Debug)]
    struct Line {
        utc: i64,
        zone_minutes: i64,
        status: u16,
        bytes: Option<u64>,
    }

    /// Parses a combined-format line (without terminator), byte-wise.
    fn parse(line: &[u8]) -> Option<Line> {
        let s = line;
        let open = s.iter().position(|&b| b == b'[')?;
        let head = std::str::from_utf8(&s[..open]).ok()?;
        let mut parts = head.split(' ');
        let ip = parts.next()?;
        if ip.is_empty() || parts.next()? != "-" || parts.next()?.is_empty() {
            return None;
        }
        if !parts.next()?.is_empty() || parts.next().is_some() {
            return None;
        }
        let ts = std::str::from_utf8(s.get(open + 1..open + 27)?).ok()?;
        if s.get(open + 27..open + 30)? != b"] \"" {
            return None;
        }
        let day: u32 = ts.get(0..2)?.parse().ok()?;
        let mon = ts.get(3..6)?;
        let month = MONTHS.iter().position(|&m| m == mon)? as u32 + 1;
        let year: i64 = ts.get(7..11)?.parse().ok()?;
        let h: i64 = ts.get(12..14)?.parse().ok()?;
        let m: i64 = ts.get(15..17)?.parse().ok()?;
        let sec: i64 = ts.get(18..20)?.parse().ok()?;
        let sign = match ts.get(21..22)? {
            "+" => 1,
            "-" => -1,
            _ => return None,
        };
        let zone = sign * (ts.get(22..24)?.parse::<i64>().ok()? * 60 + ts.get(24..26)?.parse::<i64>().ok()?);
        let local = days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec;
        let rest = &s[open + 30..];
        let close = rest.iter().position(|&b| b == b'"')?;
        let request = &rest[..close];
        let mut req = request.split(|&b| b == b' ');
        let method = req.next()?;
        let _path = req.next()?;
        let proto = req.next()?;
        if req.next().is_some() || method.is_empty() || !proto.starts_with(b"HTTP/") {
            return None;
        }
        let tail = std::str::from_utf8(&rest[close + 1..]).ok()?;
        let tail = tail.strip_prefix(' ')?;
        let (status, tail) = tail.split_once(' ')?;
        let (bytes, tail) = tail.split_once(' ')?;
        let tail = tail.strip_prefix('"')?;
        let (_referer, tail) = tail.split_once("\" \"")?;
        let agent = tail.strip_suffix('"')?;
        if agent.contains('"') {
            return None;
        }
        Some(Line {
            utc: local - zone * 60,
            zone_minutes: zone,
            status: status.parse().ok()?,
            bytes: if bytes == "-" { None } else { Some(bytes.parse().ok()?) },
        })
    }

    fn decompress(name: &Path, bytes: &[u8]) -> Vec<u8> {
        if name.extension().is_some_and(|e| e == "gz") {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
            out
        } else {
            bytes.to_vec()
        }
    }

    fn params(files: u64, lines: u64, ppm: u32) -> LogParams {
        LogParams { files, lines_per_file: lines, gzip_every: 4, days: 3, malformed_ppm: ppm }
    }

    #[test]
    fn deterministic_across_runs_and_thread_counts() {
        let tmp = TempDir::new("logs-determinism");
        let p = params(9, 300, 5000);
        let dirs: Vec<PathBuf> = (0..4).map(|i| tmp.path().join(i.to_string())).collect();
        write(&dirs[0], p, 1, 1).unwrap();
        write(&dirs[1], p, 1, 2).unwrap();
        write(&dirs[2], p, 1, 3).unwrap();
        write(&dirs[3], p, 2, 2).unwrap();
        let tree = read_tree(&dirs[0]);
        assert_eq!(tree, read_tree(&dirs[1]));
        assert_eq!(tree, read_tree(&dirs[2]));
        assert_ne!(tree, read_tree(&dirs[3]));
        let names: Vec<String> = tree.keys().map(|k| k.display().to_string()).collect();
        assert_eq!(names[0], "access-00000.log.gz");
        assert_eq!(names[1], "access-00001.log");
        assert_eq!(names[4], "access-00004.log.gz");
        assert_eq!(names[8], "access-00008.log.gz");
        assert_eq!(names.iter().filter(|n| n.ends_with(".gz")).count(), 3);
    }

    #[test]
    fn lines_are_well_formed_ordered_and_malformed_at_the_given_rate() {
        let tmp = TempDir::new("logs-content");
        let (files, lines) = (16u64, 2_000u64);
        write(tmp.path(), params(files, lines, 15_000), 3, 2).unwrap();
        let tree = read_tree(tmp.path());
        assert_eq!(tree.len() as u64, files);
        let mut last_utc = i64::MIN;
        let (mut truncated, mut garbage, mut invalid_utf8) = (0, 0, 0);
        let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
        let mut dash_bytes = 0;
        for (index, (name, bytes)) in tree.iter().enumerate() {
            let index = index as u64;
            let content = decompress(name, bytes);
            assert!(content.ends_with(b"\n"));
            let mut file_lines = 0;
            let mut crlf_lines = 0;
            for raw in content.split_inclusive(|&b| b == b'\n') {
                file_lines += 1;
                let line = raw.strip_suffix(b"\n").unwrap();
                let line = match line.strip_suffix(b"\r") {
                    Some(l) => {
                        crlf_lines += 1;
                        l
                    }
                    None => line,
                };
                match parse(line) {
                    Some(parsed) if std::str::from_utf8(line).is_ok() => {
                        assert!(parsed.utc >= last_utc, "time order in {}", name.display());
                        last_utc = parsed.utc;
                        assert!(parsed.utc >= START_SECONDS);
                        assert!(parsed.utc < START_SECONDS + 3 * 86_400);
                        assert_eq!(parsed.zone_minutes, offset_minutes(index));
                        *statuses.entry(parsed.status).or_default() += 1;
                        if parsed.bytes.is_none() {
                            assert_eq!(parsed.status, 304);
                            dash_bytes += 1;
                        }
                    }
                    Some(_) => invalid_utf8 += 1,
                    None if std::str::from_utf8(line).is_ok() && line.contains(&b'[') => truncated += 1,
                    None => garbage += 1,
                }
            }
            assert_eq!(file_lines, lines, "{}", name.display());
            assert_eq!(crlf_lines > 0, has_crlf(index), "{}", name.display());
        }
        let total = (files * lines) as f64;
        let malformed = (truncated + garbage + invalid_utf8) as f64;
        assert!((0.011..0.019).contains(&(malformed / total)), "{malformed}");
        assert!(truncated > 50 && garbage > 50 && invalid_utf8 > 50);
        let ok = statuses[&200] as f64 / total;
        assert!((0.80..0.92).contains(&ok), "{statuses:?}");
        for status in [301, 304, 404, 500] {
            assert!(statuses.contains_key(&status), "{statuses:?}");
        }
        assert!(dash_bytes > 0);
    }

    #[test]
    fn default_rate_is_a_tenth_of_a_percent() {
        let tables = Tables::new(1);
        let mut out = Vec::new();
        tables.write_file(&mut out, Path::new("<memory>"), 0, params(1, 200_000, 1000), 1).unwrap();
        let bad = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .filter(|l| parse(l).is_none() || std::str::from_utf8(l).is_err())
            .count();
        assert!((130..=270).contains(&bad), "{bad}");
    }

    #[test]
    fn popular_paths_are_skewed() {
        let tables = Tables::new(1);
        assert_eq!(tables.paths.len(), PATHS);
        let mut unique: Vec<&[u8]> = tables.paths.iter().map(|p| &*p.path).collect();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), PATHS);
        assert_eq!(tables.paths.iter().filter(|p| p.missing).count(), SCANNER_PATHS.len());
        let mut rng = Rng::for_unit(1, 1, 1);
        let mut counts = vec![0u64; PATHS];
        for _ in 0..100_000 {
            counts[draw_weighted(&mut rng, &tables.path_weights)] += 1;
        }
        assert!(counts[0] > 10 * counts[50], "{} vs {}", counts[0], counts[50]);
        assert!(counts[PATHS - 1] > 0);
    }
}
