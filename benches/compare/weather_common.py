"""Shared input expansion and output formatting for the Python weather peers.

The report format (see README.md): one line per station, `STATION,MIN,MEAN,MAX`,
sorted by the station's UTF-8 bytes, numbers with exactly one decimal; the mean is
the exact integer sum of tenths over the count, rounded half away from zero.
"""

import os
import sys


def expand_inputs(paths):
    """Files as given; directories walked recursively, every file below, sorted."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = []
            for root, _dirs, names in os.walk(path):
                found.extend(os.path.join(root, name) for name in names)
            files.extend(sorted(found))
        else:
            files.append(path)
    return files


def mean_tenths(total, count):
    """`total / count` rounded half away from zero, in exact integer arithmetic."""
    q = (2 * abs(total) + count) // (2 * count)
    return -q if total < 0 else q


def fmt_tenths(tenths):
    """-123 -> '-12.3'; zero is always '0.0'."""
    sign = "-" if tenths < 0 else ""
    a = abs(tenths)
    return f"{sign}{a // 10}.{a % 10}"


def csv_field(name):
    if any(c in name for c in ',"\r\n'):
        return '"' + name.replace('"', '""') + '"'
    return name


def write_report(rows):
    """rows: iterable of (station str, min tenths, mean tenths, max tenths), any order.

    Sorting by code point is the same order as by UTF-8 bytes.
    """
    out = [
        f"{csv_field(s)},{fmt_tenths(lo)},{fmt_tenths(mean)},{fmt_tenths(hi)}\n"
        for s, lo, mean, hi in sorted(rows, key=lambda r: r[0])
    ]
    sys.stdout.buffer.write("".join(out).encode("utf-8"))
    sys.stdout.flush()
