#!/usr/bin/env python3
"""access_logs with multiprocessing.Pool: the plain-Python peer.

Usage: access_logs_pool.py [--processes N] FILE_OR_DIR...
Plain files are cut into ~16 MiB byte ranges at line starts, each .gz file is one
job; workers match each line with the regular expression of access_logs_common.py
and count status codes, bytes per path, requests per UTC hour and malformed lines;
the parent merges the partial counts.
"""

import argparse
import os
import sys
from multiprocessing import Pool

from access_logs_common import LINE_RE, expand_inputs, read_text, utc_hour, write_report

CHUNK = 16 << 20


def jobs_of(path):
    if path.endswith(".gz"):
        return [(path, 0, -1)]
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as f:
        while cuts[-1] + CHUNK < size:
            f.seek(cuts[-1] + CHUNK)
            f.readline()
            cuts.append(min(f.tell(), size))
    cuts.append(size)
    return [(path, a, b) for a, b in zip(cuts, cuts[1:]) if a < b]


def aggregate(job):
    path, start, end = job
    if end < 0:
        data = read_text(path)
    else:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(end - start)
    status, path_bytes, hours, malformed = {}, {}, {}, 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    match = LINE_RE.match
    for raw in lines:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            malformed += 1
            continue
        m = match(line)
        if m is None:
            malformed += 1
            continue
        ts, p, code, nbytes = m.groups()
        code = int(code)
        status[code] = status.get(code, 0) + 1
        b = 0 if nbytes == "-" else int(nbytes)
        path_bytes[p] = path_bytes.get(p, 0) + b
        h = utc_hour(ts)
        hours[h] = hours.get(h, 0) + 1
    return status, path_bytes, hours, malformed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=os.cpu_count())
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    jobs = [j for path in expand_inputs(args.inputs) for j in jobs_of(path)]
    # Compressed files first: each is one job, so a late big one would finish alone.
    jobs.sort(key=lambda j: j[2] >= 0)
    status, path_bytes, hours, malformed = {}, {}, {}, 0
    with Pool(args.processes) as pool:
        for s, pb, h, bad in pool.imap_unordered(aggregate, jobs):
            for k, v in s.items():
                status[k] = status.get(k, 0) + v
            for k, v in pb.items():
                path_bytes[k] = path_bytes.get(k, 0) + v
            for k, v in h.items():
                hours[k] = hours.get(k, 0) + v
            malformed += bad
    write_report(status, path_bytes, hours, malformed)


if __name__ == "__main__":
    sys.exit(main())
