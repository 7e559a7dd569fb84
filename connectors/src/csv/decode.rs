//! The item types of a CSV source: raw, string and typed records.

use super::nulls::NullValues;
use super::record::Record;
use super::rules::{Decode, Outcome};
use super::schema::{Kind, Shape, column_kinds};
use super::source::Csv;
use csv::{ByteRecord, StringRecord};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shoal::plumbing::{Consumer, Source};
use shoal::plumbing::{Plan, Split};
use shoal::{Error, ErrorKind, Job, Result};
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;
use std::sync::OnceLock;

/// A row type that borrows from its record, registered for
/// [`Csv::borrowed_rows`] by [`borrowed_row!`](crate::borrowed_row).
///
/// Implement it on the `'static` form of the type: `Row<'a>` is the same
/// type at lifetime `'a`.
pub trait Row: 'static {
    /// The row at the lifetime of the record it borrows from.
    type Row<'a>: Deserialize<'a>;
}

/// Registers a row type with one lifetime parameter for
/// [`Csv::borrowed_rows`](crate::csv::Csv::borrowed_rows).
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Sale<'a> {
///     region: &'a str,
///     quantity: u32,
/// }
/// shoal_connectors::borrowed_row!(Sale);
/// ```
#[macro_export]
macro_rules! borrowed_row {
    ($($t:ident),* $(,)?) => {$(
        impl $crate::csv::Row for $t<'static> {
            type Row<'a> = $t<'a>;
        }
    )*};
}

macro_rules! source_pipeline {
    ($(#[$doc:meta])* $name:ident [$($gen:tt)*] [$($bound:tt)*] $item:ty, shape = $shape:expr, |$self:ident, $rec:ident, $scratch:ident, $headers:ident, $consumer:ident| $body:block) => {
        $(#[$doc])*
        #[must_use = "pipelines are lazy: call an action to run them"]
        pub struct $name<'j, $($gen)*> {
            csv: Csv<'j>,
            /// How each reference column reads a null, set by `check`.
            kinds: OnceLock<Vec<Kind>>,
            _item: PhantomData<fn() -> ($($gen,)*)>,
        }

        impl<'j, $($gen)*> $name<'j, $($gen)*> {
            pub(crate) fn new(csv: Csv<'j>) -> Self {
                $name { csv, kinds: OnceLock::new(), _item: PhantomData }
            }
        }

        impl<$($gen)*> fmt::Debug for $name<'_, $($gen)*> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.csv).finish()
            }
        }

        impl<$($gen)*> Decode for $name<'_, $($gen)*> where $($bound)* {
            type Item<'a> = $item;

            #[inline]
            fn push<C>(&$self, $rec: &Record, $scratch: &mut ByteRecord, $headers: Option<&ByteRecord>, $consumer: &mut C) -> Result<Outcome>
            where
                C: for<'a> Consumer<Self::Item<'a>>,
            $body

            fn check(&self, headers: Option<&ByteRecord>, path: &Path) -> Result<()> {
                if self.kinds.get().is_some() {
                    return Ok(());
                }
                let shape: Shape = $shape;
                let kinds = column_kinds(&shape, headers).map_err(|field| missing_column(field, headers, path))?;
                let _ = self.kinds.set(kinds);
                Ok(())
            }
        }

        impl<$($gen)*> Source for $name<'_, $($gen)*> where $($bound)* {
            type Item<'a> = $item;

            fn job(&self) -> &Job {
                self.csv.job()
            }

            fn plan(&self) -> Result<Plan> {
                let plan = self.csv.plan()?;
                self.csv.check(&plan, self)?;
                Ok(plan)
            }

            fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
            where
                C: for<'a> Consumer<Self::Item<'a>>,
            {
                self.csv.drive(plan, split, self, consumer)
            }
        }
    };
}

source_pipeline! {
    /// Raw records as `&Record`. Built by [`Csv::records`].
    Records [] [] &'a Record, shape = Shape::Other, |self, rec, _scratch, _headers, consumer| {
        consumer.push(rec)?;
        Ok(Outcome::Pushed)
    }
}

source_pipeline! {
    /// Raw records as `&csv::ByteRecord`. Built by [`Csv::byte_records`].
    ByteRecords [] [] &'a ByteRecord, shape = Shape::Other, |self, rec, scratch, _headers, consumer| {
        rec.fill(scratch);
        consumer.push(scratch)?;
        Ok(Outcome::Pushed)
    }
}

source_pipeline! {
    /// Records as `&csv::StringRecord`. Built by [`Csv::string_records`].
    StringRecords [] [] &'a StringRecord, shape = Shape::Other, |self, rec, scratch, headers, consumer| {
        // Validate in place: the buffer moves into a StringRecord and back,
        // without copying.
        rec.fill(scratch);
        match StringRecord::from_byte_record(std::mem::take(scratch)) {
            Ok(text) => {
                let pushed = consumer.push(&text);
                *scratch = text.into_byte_record();
                pushed.map(|()| Outcome::Pushed)
            }
            Err(e) => {
                let reason = utf8_reason(&e, headers, rec);
                *scratch = e.into_byte_record();
                Ok(Outcome::Rejected(reason))
            }
        }
    }
}

source_pipeline! {
    /// Typed rows of an owned type `T`. Built by [`Csv::rows`].
    Rows [T] [T: DeserializeOwned] T, shape = Shape::of::<T>(), |self, rec, scratch, headers, consumer| {
        if let Err(reason) = fill_row(rec, &self.csv.options().null_values, &self.kinds, headers, scratch) {
            return Ok(Outcome::Rejected(reason));
        }
        match scratch.deserialize::<T>(headers) {
            Ok(row) => consumer.push(row).map(|()| Outcome::Pushed),
            Err(e) => Ok(Outcome::Rejected(deserialize_reason(&e, headers, scratch))),
        }
    }
}

source_pipeline! {
    /// Typed rows borrowing from their record. Built by [`Csv::borrowed_rows`].
    BorrowedRows [R] [R: Row] R::Row<'a>, shape = Shape::of::<R::Row<'static>>(), |self, rec, scratch, headers, consumer| {
        if let Err(reason) = fill_row(rec, &self.csv.options().null_values, &self.kinds, headers, scratch) {
            return Ok(Outcome::Rejected(reason));
        }
        let fields: &ByteRecord = scratch;
        match fields.deserialize::<R::Row<'_>>(headers) {
            Ok(row) => consumer.push(row).map(|()| Outcome::Pushed),
            Err(e) => Ok(Outcome::Rejected(deserialize_reason(&e, headers, fields))),
        }
    }
}

/// Copies `rec` into `scratch` for serde, nulls as empty fields.
///
/// # Errors
/// The reason when a null is in a column whose field is not an `Option`.
#[inline]
fn fill_row(
    rec: &Record,
    nulls: &NullValues,
    kinds: &OnceLock<Vec<Kind>>,
    headers: Option<&ByteRecord>,
    scratch: &mut ByteRecord,
) -> std::result::Result<(), String> {
    if nulls.is_empty() {
        rec.fill(scratch);
        return Ok(());
    }
    let kinds = kinds.get().map_or(&[][..], Vec::as_slice);
    nulls.fill(rec, kinds, scratch).map_err(|j| {
        format!(
            "{}: null value {} in a field that is not an Option",
            column(headers, j),
            shown(rec.get(j).unwrap_or_default())
        )
    })
}

/// The error for a row field that names no column of the header.
#[cold]
fn missing_column(field: &str, headers: Option<&ByteRecord>, path: &Path) -> Error {
    let names: Vec<String> =
        headers.into_iter().flatten().map(|n| format!("{:?}", String::from_utf8_lossy(n))).collect();
    Error::new(
        ErrorKind::InvalidInput,
        format!("the row type's field {field:?} names no column of the header [{}]", names.join(", ")),
    )
    .with_path(path)
    .with_line(1)
}

/// `column "name" (field 3)`, or `field 3` without headers (1-based).
fn column(headers: Option<&ByteRecord>, i: usize) -> String {
    match headers.and_then(|h| h.get(i)) {
        Some(name) => format!("column {:?} (field {})", String::from_utf8_lossy(name), i + 1),
        None => format!("field {}", i + 1),
    }
}

/// A field's value for messages: quoted, lossy UTF-8, at most 60 characters.
fn shown(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let mut cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

fn utf8_reason(e: &csv::FromUtf8Error, headers: Option<&ByteRecord>, rec: &Record) -> String {
    let err = e.utf8_error();
    let value = rec.get(err.field()).unwrap_or_default();
    format!(
        "{} is not valid UTF-8 (at byte {} of the field): {}",
        column(headers, err.field()),
        err.valid_up_to(),
        shown(value)
    )
}

fn deserialize_reason(e: &csv::Error, headers: Option<&ByteRecord>, rec: &ByteRecord) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field().and_then(|i| usize::try_from(i).ok()) {
            Some(i) => format!("{}: {}: {}", column(headers, i), err.kind(), shown(rec.get(i).unwrap_or_default())),
            None => err.kind().to_string(),
        },
        _ => e.to_string(),
    }
}

/// The item kinds of a CSV source (defined here, beside the pipelines they
/// build, so the source does not depend on them).
impl<'j> Csv<'j> {
    /// Raw records as `&Record`, one buffer reused for each record of a
    /// split: the fastest item.
    pub fn records(self) -> Records<'j> {
        Records::new(self)
    }

    /// Raw records as `&csv::ByteRecord` (for code written against the
    /// `csv` crate; a little slower to fill than [`Record`]).
    pub fn byte_records(self) -> ByteRecords<'j> {
        ByteRecords::new(self)
    }

    /// Records as `&csv::StringRecord`; a record that is not UTF-8 is malformed.
    pub fn string_records(self) -> StringRecords<'j> {
        StringRecords::new(self)
    }

    /// Typed rows: each record deserialized into an owned `T` by header name
    /// (by position without headers); a record that does not deserialize is
    /// malformed.
    pub fn rows<T: DeserializeOwned>(self) -> Rows<'j, T> {
        Rows::new(self)
    }

    /// Typed rows that borrow `&str` fields from the record: `R` is the
    /// row type with a `'static` lifetime, registered with
    /// [`borrowed_row!`](crate::borrowed_row).
    pub fn borrowed_rows<R: Row>(self) -> BorrowedRows<'j, R> {
        BorrowedRows::new(self)
    }
}
