"""Shared input expansion and output formatting for the Python sales peers.

The report format (see README.md): one line per (region, product) over the rows
dated in 2025, `REGION,PRODUCT,TOTAL_QUANTITY,REVENUE`, sorted by region then
product (UTF-8 bytes; code-point order is the same), names quoted CSV-style when
they hold `,`, `"`, CR or LF, revenue in exact cents printed with two decimals;
then `rows,N` with the count of all data rows.
"""

import os
import sys


def expand_inputs(paths):
    """Files as given; directories walked recursively for `*.csv`, sorted by path bytes."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = []
            for root, _dirs, names in os.walk(path):
                found.extend(os.path.join(root, n) for n in names if n.endswith(".csv"))
            files.extend(sorted(found, key=os.fsencode))
        else:
            files.append(path)
    return files


def csv_field(name):
    if any(c in name for c in ',"\r\n'):
        return '"' + name.replace('"', '""') + '"'
    return name


def money(cents):
    sign = "-" if cents < 0 else ""
    a = abs(cents)
    return f"{sign}{a // 100}.{a % 100:02d}"


def write_report(groups, rows):
    """groups: iterable of (region, product, quantity, revenue cents); rows: all data rows."""
    out = [
        f"{csv_field(r)},{csv_field(p)},{q},{money(c)}\n"
        for r, p, q, c in sorted(groups, key=lambda g: (g[0], g[1]))
    ]
    out.append(f"rows,{rows}\n")
    sys.stdout.buffer.write("".join(out).encode("utf-8"))
    sys.stdout.flush()
