//! The item types of a CSV source: raw, string and typed records.

use super::record::Record;
use super::source::Csv;
use csv::{ByteRecord, StringRecord};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shoal::plumbing::{Consumer, Source};
use shoal::plumbing::{Plan, Split};
use shoal::{Job, Result};
use std::fmt;
use std::marker::PhantomData;

/// What became of one record.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It was decoded and pushed on.
    Pushed,
    /// It could not be decoded, for this reason.
    Rejected(String),
}

/// How a record becomes an item.
pub(crate) trait Decode: Sync {
    /// The item borrowed from the record.
    type Item<'a>;

    /// Decodes `rec` (in the first file's column order) and pushes it;
    /// `scratch` is a reused buffer.
    ///
    /// # Errors
    /// The consumer's error (user code), which stops the split.
    fn push<C>(
        &self,
        rec: &Record,
        scratch: &mut ByteRecord,
        headers: Option<&ByteRecord>,
        consumer: &mut C,
    ) -> Result<Outcome>
    where
        C: for<'a> Consumer<Self::Item<'a>>;
}

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
    ($(#[$doc:meta])* $name:ident [$($gen:tt)*] [$($bound:tt)*] $item:ty, |$self:ident, $rec:ident, $scratch:ident, $headers:ident, $consumer:ident| $body:block) => {
        $(#[$doc])*
        #[must_use = "pipelines are lazy: call an action to run them"]
        pub struct $name<'j, $($gen)*> {
            csv: Csv<'j>,
            _item: PhantomData<fn() -> ($($gen,)*)>,
        }

        impl<'j, $($gen)*> $name<'j, $($gen)*> {
            pub(crate) fn new(csv: Csv<'j>) -> Self {
                $name { csv, _item: PhantomData }
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
        }

        impl<$($gen)*> Source for $name<'_, $($gen)*> where $($bound)* {
            type Item<'a> = $item;

            fn job(&self) -> &Job {
                self.csv.job()
            }

            fn plan(&self) -> Result<Plan> {
                self.csv.plan()
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
    Records [] [] &'a Record, |self, rec, _scratch, _headers, consumer| {
        consumer.push(rec)?;
        Ok(Outcome::Pushed)
    }
}

source_pipeline! {
    /// Raw records as `&csv::ByteRecord`. Built by [`Csv::byte_records`].
    ByteRecords [] [] &'a ByteRecord, |self, rec, scratch, _headers, consumer| {
        rec.fill(scratch);
        consumer.push(scratch)?;
        Ok(Outcome::Pushed)
    }
}

source_pipeline! {
    /// Records as `&csv::StringRecord`. Built by [`Csv::string_records`].
    StringRecords [] [] &'a StringRecord, |self, rec, scratch, _headers, consumer| {
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
                let reason = utf8_reason(&e);
                *scratch = e.into_byte_record();
                Ok(Outcome::Rejected(reason))
            }
        }
    }
}

source_pipeline! {
    /// Typed rows of an owned type `T`. Built by [`Csv::rows`].
    Rows [T] [T: DeserializeOwned] T, |self, rec, scratch, headers, consumer| {
        rec.fill(scratch);
        match scratch.deserialize::<T>(headers) {
            Ok(row) => consumer.push(row).map(|()| Outcome::Pushed),
            Err(e) => Ok(Outcome::Rejected(deserialize_reason(&e))),
        }
    }
}

source_pipeline! {
    /// Typed rows borrowing from their record. Built by [`Csv::borrowed_rows`].
    BorrowedRows [R] [R: Row] R::Row<'a>, |self, rec, scratch, headers, consumer| {
        rec.fill(scratch);
        let fields: &ByteRecord = scratch;
        match fields.deserialize::<R::Row<'_>>(headers) {
            Ok(row) => consumer.push(row).map(|()| Outcome::Pushed),
            Err(e) => Ok(Outcome::Rejected(deserialize_reason(&e))),
        }
    }
}

fn utf8_reason(e: &csv::FromUtf8Error) -> String {
    let err = e.utf8_error();
    format!("field {} is not valid UTF-8 (at byte {} of the field)", err.field() + 1, err.valid_up_to())
}

fn deserialize_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(i) => format!("field {}: {}", i + 1, err.kind()),
            None => err.kind().to_string(),
        },
        _ => e.to_string(),
    }
}
