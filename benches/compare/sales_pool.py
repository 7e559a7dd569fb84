#!/usr/bin/env python3
"""Sales per region and product in 2025 with multiprocessing.Pool: the plain-Python peer.

Usage: sales_pool.py [--processes N] FILE_OR_DIR...
Large files are cut into ~16 MiB byte ranges that start at record starts: the
parent counts quote characters per range (bytes.count, in C) and moves each cut
to the first line break outside quotes, which is exact for RFC 4180 files such
as the generator's. Small files are batched whole. Workers parse with the csv
module and return a dict (region, product) -> [quantity, cents] and a row count.
"""

import argparse
import csv
import io
import os
import sys
from multiprocessing import Pool

from sales_common import expand_inputs, write_report

CHUNK = 16 << 20
BATCH = 4 << 20  # bytes of small files per task


def cuts(path):
    """(path, start, end, has_header) ranges of one file, each starting at a record start."""
    size = os.path.getsize(path)
    if size <= CHUNK:
        return [(path, 0, size, True)]
    out = []
    with open(path, "rb") as f:
        data = f.read()
    start, inside, pos = 0, False, 0
    while start < size:
        nominal = start + CHUNK
        if nominal >= size:
            out.append((path, start, size, start == 0))
            break
        inside ^= data.count(b'"', pos, nominal) % 2 == 1
        pos = nominal
        # The first LF outside quotes at or after the nominal cut.
        while True:
            nl = data.find(b"\n", pos)
            if nl < 0:
                pos = size
                break
            inside ^= data.count(b'"', pos, nl) % 2 == 1
            pos = nl + 1
            if not inside:
                break
        out.append((path, start, pos, start == 0))
        start = pos
    return out


def to_cents(price):
    units, dot, frac = price.partition(".")
    if not dot or len(frac) != 2:
        raise ValueError(f"bad unit_price {price!r}")
    c = int(units.lstrip("-") or "0") * 100 + int(frac)
    return -c if price.startswith("-") else c


def work(tasks):
    groups = {}
    rows = 0
    for path, start, end, has_header in tasks:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start)
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        if has_header:
            next(reader, None)
        for rec in reader:
            if not rec:
                continue
            rows += 1
            if rec[1].startswith("2025-"):
                q = int(rec[4])
                key = (rec[2], rec[3])
                g = groups.get(key)
                if g is None:
                    groups[key] = [q, q * to_cents(rec[5])]
                else:
                    g[0] += q
                    g[1] += q * to_cents(rec[5])
    return groups, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=os.cpu_count())
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    tasks, batch, batch_bytes = [], [], 0
    for path in expand_inputs(args.inputs):
        for c in cuts(path):
            if c[2] - c[1] >= CHUNK // 2:
                tasks.append([c])
                continue
            batch.append(c)
            batch_bytes += c[2] - c[1]
            if batch_bytes >= BATCH:
                tasks.append(batch)
                batch, batch_bytes = [], 0
    if batch:
        tasks.append(batch)
    total, rows = {}, 0
    with Pool(args.processes) as pool:
        for part, n in pool.imap_unordered(work, tasks):
            rows += n
            for key, (q, c) in part.items():
                t = total.get(key)
                if t is None:
                    total[key] = [q, c]
                else:
                    t[0] += q
                    t[1] += c
    write_report(((r, p, q, c) for (r, p), (q, c) in total.items()), rows)


if __name__ == "__main__":
    sys.exit(main())
