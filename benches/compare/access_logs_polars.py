#!/usr/bin/env python3
"""access_logs with polars: the polars peer of the comparison.

Usage: access_logs_polars.py FILE_OR_DIR...
Every file is scanned lazily as one string column of lines (scan_csv without quoting,
a separator that never occurs in a well-formed line, invalid UTF-8 replaced by U+FFFD),
gzip files decompressed by polars; the regular expression of access_logs_common.py
extracts the fields (`str.extract_groups`) in one lazy query collected with the
streaming engine (all cores), and the three small group-bys run on its result. A line holding U+FFFD counts as
malformed: the generated logs have none in well-formed lines.
"""

import argparse

import polars as pl

from access_logs_common import LINE_PATTERN, expand_inputs, write_report


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args()

    files = expand_inputs(args.inputs)
    lines = pl.concat(
        [
            pl.scan_csv(
                f,
                has_header=False,
                separator="\x1f",
                quote_char=None,
                schema={"line": pl.String},
                encoding="utf8-lossy",
                truncate_ragged_lines=True,
            )
            for f in files
        ]
    )
    m = pl.col("m")
    # One pass over the lines (the regular expression is the expensive part),
    # materialized once; the small group-bys then run on its columns.
    parsed = (
        lines.select(
            pl.when(pl.col("line").str.contains("\ufffd", literal=True))
            .then(None)
            .otherwise(pl.col("line").str.strip_suffix("\r"))
            .str.extract_groups(LINE_PATTERN)
            .alias("m")
        )
        .select(
            m.struct.field("ts").is_not_null().alias("ok"),
            m.struct.field("path").alias("path"),
            m.struct.field("status").cast(pl.Int64).alias("status"),
            pl.when(m.struct.field("bytes") == "-")
            .then(0)
            .otherwise(m.struct.field("bytes").cast(pl.Int64, strict=False))
            .alias("bytes"),
            (m.struct.field("ts").str.strptime(pl.Datetime("us", "UTC"), "%d/%b/%Y:%H:%M:%S %z").dt.epoch("s") // 3600)
            .alias("hour"),
        )
        .collect(engine="streaming")
    )
    good = parsed.filter(pl.col("ok"))
    status = good.group_by("status").agg(pl.len())
    paths = good.group_by("path").agg(pl.col("bytes").sum())
    hours = good.group_by("hour").agg(pl.len())
    bad = parsed.height - good.height
    import time

    write_report(
        dict(status.iter_rows()),
        dict(paths.iter_rows()),
        {time.strftime("%Y-%m-%dT%H", time.gmtime(h * 3600)): n for h, n in hours.iter_rows()},
        bad,
    )


if __name__ == "__main__":
    main()
