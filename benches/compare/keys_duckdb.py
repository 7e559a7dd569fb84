#!/usr/bin/env python3
"""High-cardinality group-by with DuckDB SQL: the weather report over millions of keys.

Usage: keys_duckdb.py [--threads N] [--memory-limit SIZE] FILE_OR_DIR...

The same report as the weather example (`STATION,MIN,MEAN,MAX`, sorted by the
name's bytes), but sorted and formatted inside DuckDB and written with COPY, so
that Python touches none of the millions of rows. Key names of the `keys`
dataset (`K<n>`) need no CSV quoting. With --memory-limit, DuckDB spills its
aggregate and sort to its temporary directory.
"""

import argparse

import duckdb

from weather_common import expand_inputs


def tenths(col):
    """SQL text of a tenths column as `-12.3`."""
    return (f"(CASE WHEN {col} < 0 THEN '-' ELSE '' END || (abs({col}) // 10)::VARCHAR "
            f"|| '.' || (abs({col}) % 10)::VARCHAR)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    ap.add_argument("--memory-limit", help="DuckDB memory_limit, like 1GB (default: DuckDB's)")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
    files = ", ".join("'" + f.replace("'", "''") + "'" for f in expand_inputs(args.inputs))
    con.execute(
        f"""
        COPY (
            WITH agg AS (
                SELECT station, min(tenths) AS lo, max(tenths) AS hi,
                       sum(tenths)::BIGINT AS total, count(*) AS n
                FROM (
                    SELECT station, round(temp * 10)::BIGINT AS tenths
                    FROM read_csv([{files}], delim = ';', header = false, quote = '', escape = '',
                                  auto_detect = false,
                                  columns = {{'station': 'VARCHAR', 'temp': 'DOUBLE'}})
                )
                GROUP BY station
            ), rows AS (
                SELECT station, lo, hi, sign(total) * ((2 * abs(total) + n) // (2 * n)) AS mean
                FROM agg
            )
            SELECT station || ',' || {tenths('lo')} || ',' || {tenths('mean')} || ',' || {tenths('hi')}
            FROM rows
            ORDER BY station
        ) TO '/dev/stdout' (FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\t')
        """
    )


if __name__ == "__main__":
    main()
