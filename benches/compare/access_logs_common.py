"""Shared input expansion, line rules and output formatting for the Python access_logs peers.

The report (see README.md, "The access_logs workload"):

    status,CODE,COUNT            one per status code, by code
    top_path_bytes,PATH,BYTES    ten, most bytes first, ties by path bytes (`-` counts 0)
    hour,YYYY-MM-DDTHH,COUNT     requests per UTC hour, by hour
    malformed,COUNT              lines that are not well-formed

A line is well-formed when it is valid UTF-8 and matches LINE_RE (LF or CRLF
terminator removed): the combined log format with every field parsing, exactly the
rules of shoal_connectors::logs::AccessLogParser on the generated data.
"""

import calendar
import gzip
import os
import re
import sys

MONTHS = {m: i + 1 for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])}

# Named groups use the (?P<name>...) syntax that Python, RE2 (DuckDB) and Rust (polars) share.
# HOST IDENT USER [dd/Mon/yyyy:HH:MM:SS +hhmm] "METHOD PATH PROTO" STATUS BYTES "REF" "UA"
QUOTED = r'[^"]*'
LINE_PATTERN = (
    r'^[^ ]+ [^ ]+ [^ ]+ \[(?P<ts>\d\d/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
    r'"[^ "]+ (?P<path>[^ "]+) [^ "]+" (?P<status>\d{3}) (?P<bytes>\d+|-) "' + QUOTED + r'" "' + QUOTED + r'"$'
)
LINE_RE = re.compile(LINE_PATTERN)


def expand_inputs(paths):
    """Files as given; directories walked recursively for *.log and *.log.gz, sorted by path."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            for root, _dirs, names in os.walk(path):
                files.extend(os.path.join(root, n) for n in names if n.endswith((".log", ".log.gz")))
        else:
            files.append(path)
    return sorted(set(files), key=os.fsencode)


def read_text(path):
    """The decompressed bytes of a file (a zero-byte .gz is empty)."""
    if path.endswith(".gz"):
        if os.path.getsize(path) == 0:
            return b""
        with gzip.open(path, "rb") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def utc_hour(ts, cache={}):
    """'10/Oct/2025:13:55:36 +0200' -> '2025-10-10T11' (UTC), memoized per minute."""
    key = ts[:17] + ts[20:]
    hour = cache.get(key)
    if hour is None:
        day, mon, year = int(ts[0:2]), MONTHS[ts[3:6]], int(ts[7:11])
        h, m = int(ts[12:14]), int(ts[15:17])
        off = (int(ts[22:24]) * 60 + int(ts[24:26])) * (1 if ts[21] == "+" else -1)
        secs = calendar.timegm((year, mon, day, h, m, 0, 0, 0, 0)) - off * 60
        y, mo, d, hh = __import__("time").gmtime(secs)[:4]
        hour = cache[key] = f"{y:04d}-{mo:02d}-{d:02d}T{hh:02d}"
    return hour


def write_report(status, path_bytes, hours, malformed, out=None):
    """status: {int: count}; path_bytes: {str: bytes}; hours: {'YYYY-MM-DDTHH': count}."""
    lines = [f"status,{code},{n}\n" for code, n in sorted(status.items())]
    top = sorted(path_bytes.items(), key=lambda kv: (-kv[1], kv[0].encode("utf-8")))[:10]
    lines += [f"top_path_bytes,{p},{b}\n" for p, b in top]
    lines += [f"hour,{h},{n}\n" for h, n in sorted(hours.items())]
    lines.append(f"malformed,{malformed}\n")
    (out or sys.stdout.buffer).write("".join(lines).encode("utf-8"))
    if out is None:
        sys.stdout.flush()
