#!/usr/bin/env python3
"""Weather (One Billion Row Challenge) with polars: the polars peer of the comparison.

Usage: weather_polars.py FILE_OR_DIR...
Lazy scan_csv + group_by, collected with the streaming engine (all cores).
"""

import argparse

import polars as pl

from weather_common import expand_inputs, write_report


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    tenths = (pl.col("temp") * 10).round().cast(pl.Int64)
    total, n = pl.col("total"), pl.col("n")
    df = (
        pl.scan_csv(
            expand_inputs(args.inputs),
            separator=";",
            has_header=False,
            quote_char=None,  # names may hold `"`
            schema={"station": pl.String, "temp": pl.Float64},
        )
        .group_by("station")
        .agg(
            tenths.min().alias("lo"),
            tenths.max().alias("hi"),
            tenths.sum().alias("total"),
            pl.len().cast(pl.Int64).alias("n"),
        )
        # The mean rounded half away from zero, exactly, in integers.
        .select(
            "station",
            "lo",
            (total.sign() * ((2 * total.abs() + n) // (2 * n))).alias("mean"),
            "hi",
        )
        .collect(engine="streaming")
    )
    write_report(df.iter_rows())


if __name__ == "__main__":
    main()
