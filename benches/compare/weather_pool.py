#!/usr/bin/env python3
"""Weather (One Billion Row Challenge) with multiprocessing.Pool: the plain-Python peer.

Usage: weather_pool.py [--processes N] FILE_OR_DIR...
Each file is cut into byte ranges aligned to line starts; the pool's workers each
aggregate a range into a dict station -> [min, max, sum, count] (tenths of a
degree), and the parent merges the dicts.
"""

import argparse
import os
import sys
from multiprocessing import Pool

from weather_common import expand_inputs, write_report

CHUNK = 16 << 20


def chunks(path):
    """(path, start, end) byte ranges of ~CHUNK bytes, each starting at a line start."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as f:
        while cuts[-1] + CHUNK < size:
            f.seek(cuts[-1] + CHUNK)
            f.readline()  # move to the start of the next line
            cuts.append(min(f.tell(), size))
    cuts.append(size)
    return [(path, a, b) for a, b in zip(cuts, cuts[1:]) if a < b]


def aggregate(job):
    path, start, end = job
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    stats = {}
    lines = data.split(b"\n")
    if lines[-1] == b"":  # the range ends with a newline
        lines.pop()
    for line in lines:
        station, sep, temp = line.rstrip(b"\r").rpartition(b";")
        if not sep:
            raise ValueError(f"{path}: no `;` in line {line!r}")
        t = int(temp[:-2] + temp[-1:])  # "-12.3" -> -123
        if temp[-2:-1] != b".":
            raise ValueError(f"{path}: bad temperature in line {line!r}")
        s = stats.get(station)
        if s is None:
            stats[station] = [t, t, t, 1]
        else:
            if t < s[0]:
                s[0] = t
            if t > s[1]:
                s[1] = t
            s[2] += t
            s[3] += 1
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=os.cpu_count())
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    jobs = [c for path in expand_inputs(args.inputs) for c in chunks(path)]
    total = {}
    with Pool(args.processes) as pool:
        for part in pool.imap_unordered(aggregate, jobs):
            for station, (lo, hi, s, n) in part.items():
                t = total.get(station)
                if t is None:
                    total[station] = [lo, hi, s, n]
                else:
                    t[0] = min(t[0], lo)
                    t[1] = max(t[1], hi)
                    t[2] += s
                    t[3] += n
    rows = []
    for station, (lo, hi, s, n) in total.items():
        q = (2 * abs(s) + n) // (2 * n)
        rows.append((station.decode("utf-8"), lo, -q if s < 0 else q, hi))
    write_report(rows)


if __name__ == "__main__":
    sys.exit(main())
