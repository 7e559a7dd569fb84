//! Integration tests of the sinks: CSV and JSON lines, partitioned output
//! with hostile key values, atomic commits (an interrupted commit leaves the
//! old output), and the polars `DataFrame` and Parquet round trip, read back by polars and
//! DuckDB with the row type's schema.

#[cfg(feature = "polars")]
mod columnar;
mod commit;
mod formats;
#[cfg(feature = "polars")]
mod polars;
mod shards;
mod util;
