#!/usr/bin/env python3
"""Sales per region and product in 2025 with DuckDB SQL: the DuckDB peer.

Usage: sales_duckdb.py [--threads N] FILE_OR_DIR...
DuckDB uses every core by default. Prices are DECIMAL(18,2): exact.
"""

import argparse
import os

import duckdb

from sales_common import expand_inputs, write_report

COLUMNS = {
    "order_id": "BIGINT", "date": "VARCHAR", "region": "VARCHAR", "product": "VARCHAR",
    "quantity": "BIGINT", "unit_price": "DECIMAL(18,2)", "note": "VARCHAR",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    # Empty (0-byte) files hold no rows; DuckDB cannot read them with a header.
    files = [f for f in expand_inputs(args.inputs) if os.path.getsize(f) > 0]
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    # One scan: per (region, product) over 2025, plus the grand total of rows
    # (the empty grouping set).
    result = con.execute(
        """
        SELECT region, product,
               sum(quantity) FILTER (WHERE date LIKE '2025-%')::BIGINT AS qty,
               (sum(quantity * unit_price) FILTER (WHERE date LIKE '2025-%') * 100)::HUGEINT AS cents,
               count(*) AS n,
               GROUPING(region, product) AS g
        FROM read_csv($files, header = true, delim = ',', quote = '"', escape = '"',
                      auto_detect = false, columns = $columns)
        GROUP BY GROUPING SETS ((region, product), ())
        """,
        {"files": files, "columns": COLUMNS},
    ).fetchall()
    groups = [(r, p, q, c) for r, p, q, c, _n, g in result if g == 0 and q is not None]
    rows = next(n for *_, n, g in result if g != 0)
    write_report(groups, rows)


if __name__ == "__main__":
    main()
