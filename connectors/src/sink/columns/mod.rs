//! Typed columns: how a row type becomes the columns of a Parquet file or a
//! polars `DataFrame`.
//!
//! Rows are turned into columns by their `Serialize` impl, so the schema is
//! the row type's:
//!
//! | Rust field | column (polars) | Parquet / DuckDB |
//! |---|---|---|
//! | `bool` | `Boolean` | `BOOLEAN` |
//! | `i8` `i16` `i32` `i64` | `Int8` … `Int64` | `TINYINT` … `BIGINT` |
//! | `u8` `u16` `u32` `u64` | `UInt8` … `UInt64` | `UTINYINT` … `UBIGINT` |
//! | `f32` `f64` | `Float32` `Float64` | `FLOAT` `DOUBLE` |
//! | `&str` `String` `char`, unit enum variants | `String` | `VARCHAR` |
//! | `i128` `u128` | `Decimal(38, 0)` | `DECIMAL(38,0)` |
//! | `Option<T>` | `T`, nullable | `T`, nullable |
//! | a struct, a map with string keys, a tuple | `Struct` | `STRUCT` |
//! | `Vec<T>`, slices, sets | `List(T)` | `T[]` |
//! | [`LogTime`](crate::logs::LogTime), or a field with [`timestamp`] | `Datetime(µs, UTC)` | `TIMESTAMP WITH TIME ZONE` |
//! | a field with [`date`] | `Date` | `DATE` |
//! | a field with [`decimal`] | `Decimal(38, s)` | `DECIMAL(38,s)` |
//!
//! A row that is a struct or a map gives one column per field or key, in the
//! order they first appear; a key missing from some rows is null there. A
//! tuple's fields are named `column_0`, `column_1`, …; a row of one value is
//! one column named `value`. Enum variants that carry data cannot be
//! columns, nor can a column hold two types (an error names the column).
//!
//! # Dates, times and decimals
//! Serde has no date, time or decimal type, so a field says what it is with
//! `#[serde(with = …)]`. The helpers here work for any type whose `Display`
//! gives the usual text (RFC 3339 times such as `jiff::Timestamp`, ISO dates
//! such as `jiff::civil::Date`, decimals such as `rust_decimal::Decimal`);
//! CSV and JSON outputs still get exactly that text, columnar outputs get
//! the typed column:
//!
//! ```
//! use shoal_connectors::jiff::{Timestamp, civil::Date};
//! use shoal_connectors::sink::columns;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Sale {
//!     #[serde(with = "columns::date")]
//!     day: Date,
//!     #[serde(with = "columns::timestamp")]
//!     at: Timestamp,
//!     #[serde(with = "columns::timestamp::option")]
//!     refunded: Option<Timestamp>,
//!     /// Any `Display` decimal text: `19.99`, `-0.5`, `7`.
//!     #[serde(with = "columns::decimal")]
//!     price: String,
//! }
//!
//! let sale = Sale {
//!     day: "2024-03-01".parse().unwrap(),
//!     at: "2024-03-01T10:00:00Z".parse().unwrap(),
//!     refunded: None,
//!     price: "19.99".into(),
//! };
//! assert_eq!(
//!     serde_json::to_string(&sale).unwrap(),
//!     r#"{"day":"2024-03-01","at":"2024-03-01T10:00:00Z","refunded":null,"price":"19.99"}"#
//! );
//! ```
//!
//! Times are stored as UTC instants in microseconds (a log line's own offset
//! is not kept in the column: DuckDB's and polars' time zone types hold one
//! zone per column); decimals keep every digit, at the largest scale the
//! column holds (`7` and `19.995` in one column are `7.000` and `19.995`).

#[cfg(feature = "polars")]
pub(crate) mod frame;
#[cfg(feature = "polars")]
pub(crate) mod serialize;
#[cfg(feature = "polars")]
pub(crate) mod values;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt::Display;
use std::str::FromStr;

/// The newtype names that mark a typed column. Serializers other than the
/// columnar one see a newtype and write its inner text unchanged.
pub(crate) const TIMESTAMP: &str = "$shoal::column::timestamp";
pub(crate) const DATE: &str = "$shoal::column::date";
pub(crate) const DECIMAL: &str = "$shoal::column::decimal";

/// A value serialized through its `Display` text.
struct Text<'a, T>(&'a T);

impl<T: Display> Serialize for Text<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// Serializes `value`'s text as the typed column `marker`.
fn serialize_marked<T: Display, S: Serializer>(marker: &'static str, value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_newtype_struct(marker, &Text(value))
}

/// Deserializes a value from its text.
fn deserialize_text<'de, T, D>(what: &str, d: D) -> Result<T, D::Error>
where
    T: FromStr,
    T::Err: Display,
    D: Deserializer<'de>,
{
    let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    text.parse().map_err(|e| serde::de::Error::custom(format!("`{text}` is not a {what}: {e}")))
}

macro_rules! marked {
    ($module:ident, $marker:ident, $what:literal, $doc:literal) => {
        #[doc = $doc]
        pub mod $module {
            use serde::{Deserializer, Serializer};
            use std::fmt::Display;
            use std::str::FromStr;

            /// Serializes the field's text, marked as this column type.
            ///
            /// # Errors
            /// The serializer's.
            pub fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
                super::serialize_marked(super::$marker, value, s)
            }

            /// Deserializes the field from its text.
            ///
            /// # Errors
            /// Text `T` does not parse.
            pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
            where
                T: FromStr,
                T::Err: Display,
                D: Deserializer<'de>,
            {
                super::deserialize_text($what, d)
            }

            /// The same for an `Option` field (`None` is null).
            pub mod option {
                use serde::{Deserialize, Deserializer, Serializer};
                use std::fmt::Display;
                use std::str::FromStr;

                /// Serializes `Some` as the marked text, `None` as null.
                ///
                /// # Errors
                /// The serializer's.
                pub fn serialize<T: Display, S: Serializer>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
                    match value {
                        Some(v) => s.serialize_some(&Marked(v)),
                        None => s.serialize_none(),
                    }
                }

                struct Marked<'a, T>(&'a T);

                impl<T: Display> serde::Serialize for Marked<'_, T> {
                    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                        super::serialize(self.0, s)
                    }
                }

                /// Deserializes null as `None`, text as `Some`.
                ///
                /// # Errors
                /// Text `T` does not parse.
                pub fn deserialize<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
                where
                    T: FromStr,
                    T::Err: Display,
                    D: Deserializer<'de>,
                {
                    let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
                    text.map(|t| {
                        t.parse().map_err(|e| serde::de::Error::custom(format!("`{t}` is not a {}: {e}", $what)))
                    })
                    .transpose()
                }
            }
        }
    };
}

marked!(
    timestamp,
    TIMESTAMP,
    "timestamp",
    "A timestamp column (`Datetime(µs, UTC)`) from a field whose text is an RFC 3339 time with an offset, such as `jiff::Timestamp`."
);
marked!(
    date,
    DATE,
    "date",
    "A date column from a field whose text is an ISO 8601 date (`2024-03-01`), such as `jiff::civil::Date`."
);
marked!(
    decimal,
    DECIMAL,
    "decimal",
    "A decimal column from a field whose text is a decimal number (`-12.50`), such as `rust_decimal::Decimal`."
);

/// Serializes a [`LogTime`](crate::logs::LogTime)-like value as a timestamp
/// column.
pub(crate) fn serialize_timestamp<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    serialize_marked(TIMESTAMP, value, s)
}
