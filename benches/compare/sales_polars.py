#!/usr/bin/env python3
"""Sales per region and product in 2025 with polars: the polars peer.

Usage: sales_polars.py FILE_OR_DIR...
Lazy scan_csv + group_by, collected with the streaming engine (all cores).
Prices are read as text and turned into integer cents: exact.
"""

import argparse
import os

import polars as pl

from sales_common import expand_inputs, write_report

SCHEMA = {
    "order_id": pl.Int64, "date": pl.String, "region": pl.String, "product": pl.String,
    "quantity": pl.Int64, "unit_price": pl.String, "note": pl.String,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    # Empty (0-byte) files hold no rows; polars refuses them.
    files = [f for f in expand_inputs(args.inputs) if os.path.getsize(f) > 0]
    lf = pl.scan_csv(files, has_header=True, schema=SCHEMA, quote_char='"')
    cents = pl.col("unit_price").str.replace(".", "", literal=True).cast(pl.Int64)
    in_2025 = pl.col("date").str.starts_with("2025-")
    groups = (
        lf.filter(in_2025)
        .group_by("region", "product")
        .agg(pl.col("quantity").sum().alias("qty"), (pl.col("quantity") * cents).sum().alias("cents"))
    )
    total = lf.select(pl.len().alias("n"))
    g, t = pl.collect_all([groups, total], engine="streaming")
    write_report(g.iter_rows(), t.item())


if __name__ == "__main__":
    main()
