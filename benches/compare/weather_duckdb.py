#!/usr/bin/env python3
"""Weather (One Billion Row Challenge) with DuckDB SQL: the DuckDB peer of the comparison.

Usage: weather_duckdb.py [--threads N] FILE_OR_DIR...
DuckDB uses every core by default.
"""

import argparse

import duckdb

from weather_common import expand_inputs, write_report


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    # No quoting or escaping (names may hold `"`), no sniffing: two columns.
    # Temperatures have one decimal, so round(temp * 10) of the DOUBLE is exact.
    rows = con.execute(
        """
        WITH agg AS (
            SELECT station,
                   min(tenths) AS lo,
                   max(tenths) AS hi,
                   sum(tenths)::BIGINT AS total,
                   count(*) AS n
            FROM (
                SELECT station, round(temp * 10)::BIGINT AS tenths
                FROM read_csv($files, delim = ';', header = false, quote = '', escape = '',
                              auto_detect = false,
                              columns = {'station': 'VARCHAR', 'temp': 'DOUBLE'})
            )
            GROUP BY station
        )
        SELECT station, lo,
               sign(total) * ((2 * abs(total) + n) // (2 * n)) AS mean,
               hi
        FROM agg
        """,
        {"files": expand_inputs(args.inputs)},
    ).fetchall()
    # Sorted in Python: code-point order is UTF-8 byte order, whatever DuckDB's collation.
    write_report(rows)


if __name__ == "__main__":
    main()
