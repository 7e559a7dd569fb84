#!/usr/bin/env python3
"""access_logs with DuckDB SQL: the DuckDB peer of the comparison.

Usage: access_logs_duckdb.py [--threads N] FILE_OR_DIR...
Each file is read as one VARCHAR column of lines (read_csv without quoting, a
delimiter that never occurs in a log line, gzip decompressed by DuckDB; the reader
treats CR as a line end, so CRLF leaves empty rows, which are dropped: the generated
logs have no empty lines). Lines that
are not valid UTF-8 are rejected by the reader and counted from its reject table; the
others are matched in SQL with the regular expression of access_logs_common.py.
DuckDB uses every core by default.
"""

import argparse
import time

import duckdb

from access_logs_common import LINE_PATTERN, expand_inputs, write_report


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    files = expand_inputs(args.inputs)
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    con.execute(
        """
        CREATE TEMP TABLE parsed AS
        SELECT regexp_extract(line, $pattern, ['ts', 'path', 'status', 'bytes']) AS m
        FROM read_csv($files, columns = {'line': 'VARCHAR'}, header = false, delim = chr(31) || chr(30),
                      quote = '', escape = '', auto_detect = false, new_line = '\\n', null_padding = false,
                      ignore_errors = true, store_rejects = true, strict_mode = false, allow_quoted_nulls = false)
        -- The reader ends a row at CR too, so a CRLF line end gives an extra empty row (NULL): drop
        -- those (the data has no empty lines of its own).
        WHERE line IS NOT NULL
        """,
        {"pattern": LINE_PATTERN, "files": files},
    )
    rejected = con.execute("SELECT count(DISTINCT (file_id, line)) FROM reject_errors").fetchone()[0]
    bad = con.execute("SELECT count(*) FROM parsed WHERE coalesce(m.ts, '') = ''").fetchone()[0]
    good = "FROM parsed WHERE coalesce(m.ts, '') <> ''"
    status = dict(con.execute(f"SELECT TRY_CAST(m.status AS INTEGER), count(*) {good} GROUP BY 1").fetchall())
    path_bytes = dict(con.execute(
        f"SELECT m.path, sum(CASE WHEN m.bytes = '-' THEN 0 ELSE TRY_CAST(m.bytes AS BIGINT) END)::BIGINT {good} GROUP BY 1"
    ).fetchall())
    hours = con.execute(
        f"SELECT epoch(strptime(m.ts, '%d/%b/%Y:%H:%M:%S %z'))::BIGINT // 3600 AS h, count(*) {good} GROUP BY 1"
    ).fetchall()
    hours = {time.strftime("%Y-%m-%dT%H", time.gmtime(h * 3600)): n for h, n in hours}
    write_report(status, path_bytes, hours, bad + rejected)


if __name__ == "__main__":
    main()
