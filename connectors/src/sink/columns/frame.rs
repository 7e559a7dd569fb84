//! Typed columns ([`Values`]) as a polars `DataFrame`.

use super::values::{Fields, MAX_DECIMAL_DIGITS, Text, Values};
use polars::prelude::*;

/// The `DataFrame` of a table: a struct root's fields are its columns; any
/// other root is one column named `value`; no rows at all is an empty frame.
///
/// # Errors
/// Values polars refuses (which the [`Values`] invariants rule out).
pub(crate) fn data_frame(root: Values) -> PolarsResult<DataFrame> {
    match root {
        Values::Null(0) => Ok(DataFrame::empty()),
        Values::Struct { fields, .. } => {
            let height = fields.len;
            let columns = fields.columns.into_iter().map(|c| series(&c.name, c.values).map(Column::from));
            DataFrame::new(height, columns.collect::<PolarsResult<_>>()?)
        }
        other => {
            let height = other.len();
            DataFrame::new(height, vec![Column::from(series("value", other)?)])
        }
    }
}

/// One column as a `Series`.
fn series(name: &str, values: Values) -> PolarsResult<Series> {
    let name = PlSmallStr::from_str(name);
    Ok(match values {
        Values::Null(n) => Series::full_null(name, n, &DataType::Null),
        Values::Bool(v) => Series::new(name, v),
        Values::I8(v) => Series::new(name, v),
        Values::I16(v) => Series::new(name, v),
        Values::I32(v) => Series::new(name, v),
        Values::I64(v) => Series::new(name, v),
        Values::U8(v) => Series::new(name, v),
        Values::U16(v) => Series::new(name, v),
        Values::U32(v) => Series::new(name, v),
        Values::U64(v) => Series::new(name, v),
        Values::F32(v) => Series::new(name, v),
        Values::F64(v) => Series::new(name, v),
        Values::Str(t) => StringChunked::from_iter_options(name, texts(&t).map(|b| b.map(utf8))).into_series(),
        Values::Bytes(t) => BinaryChunked::from_iter_options(name, texts(&t)).into_series(),
        Values::Date(v) => Int32Chunked::from_slice_options(name, &v).into_date().into_series(),
        Values::Timestamp(v) => Int64Chunked::from_slice_options(name, &v)
            .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
            .into_series(),
        Values::Decimal { scale, values } => Int128Chunked::from_slice_options(name, &values)
            .into_decimal(MAX_DECIMAL_DIGITS as usize, scale as usize)?
            .into_series(),
        Values::Struct { fields, valid } => struct_series(name, fields, &valid)?,
        Values::List { ends, valid, items } => {
            let items = series("item", *items)?;
            let mut start = 0;
            let lists: ListChunked = ends
                .iter()
                .zip(&valid)
                .map(|(&end, &ok)| {
                    let list = ok.then(|| items.slice(start as i64, end - start));
                    start = end;
                    list
                })
                .collect();
            lists.with_name(name).into_series()
        }
    })
}

fn struct_series(name: PlSmallStr, fields: Fields, valid: &[bool]) -> PolarsResult<Series> {
    let len = fields.len;
    let fields: Vec<Series> =
        fields.columns.into_iter().map(|c| series(&c.name, c.values)).collect::<PolarsResult<_>>()?;
    let mut ca = StructChunked::from_series(name, len, fields.iter())?;
    if valid.iter().any(|ok| !ok) {
        // The struct's own nulls, as a bitmap taken from a boolean array.
        let mask = BooleanChunked::from_slice(PlSmallStr::EMPTY, valid);
        let bitmap = mask.downcast_iter().next().map(|a| a.values().clone());
        ca = ca.rechunk().into_owned().with_outer_validity(bitmap);
    }
    Ok(ca.into_series())
}

fn texts(t: &Text) -> impl Iterator<Item = Option<&[u8]>> {
    (0..t.valid.len()).map(|i| t.get(i))
}

/// Text pushed as `&str` is UTF-8; a broken invariant shows as U+FFFD, not
/// as undefined behaviour.
fn utf8(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or("\u{FFFD}")
}
