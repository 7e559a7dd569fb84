//! A serde `Serializer` that appends one value to a typed column
//! ([`Values`]): rows become columns without an intermediate text form.

use super::values::{Fields, Values, in_column};
use super::{DATE, DECIMAL, TIMESTAMP};
use serde::ser::{self, Serialize};
use std::fmt;

/// Why a value cannot be a column value (with the column path).
#[derive(Debug)]
pub(crate) struct ColumnError(pub(crate) String);

impl fmt::Display for ColumnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ColumnError {}

impl ser::Error for ColumnError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ColumnError(msg.to_string())
    }
}

impl From<String> for ColumnError {
    fn from(s: String) -> Self {
        ColumnError(s)
    }
}

/// Appends `row` as one value of `root` (a row that is a struct makes
/// `root` a struct column: its fields are the table's columns).
///
/// # Errors
/// A value no column can hold, or whose type differs from its column's.
pub(crate) fn push_row<T: Serialize + ?Sized>(root: &mut Values, row: &T) -> Result<(), ColumnError> {
    row.serialize(Cell(root))
}

/// The serializer of one value into one column.
struct Cell<'a>(&'a mut Values);

fn unsupported(what: &str) -> ColumnError {
    ColumnError(format!("{what} cannot be a column value"))
}

impl<'a> ser::Serializer for Cell<'a> {
    type Ok = ();
    type Error = ColumnError;
    type SerializeSeq = ListCell<'a>;
    type SerializeTuple = StructCell<'a>;
    type SerializeTupleStruct = StructCell<'a>;
    type SerializeTupleVariant = ser::Impossible<(), ColumnError>;
    type SerializeMap = StructCell<'a>;
    type SerializeStruct = StructCell<'a>;
    type SerializeStructVariant = ser::Impossible<(), ColumnError>;

    fn serialize_bool(self, v: bool) -> Result<(), ColumnError> {
        Ok(self.0.push_bool(v)?)
    }
    fn serialize_i8(self, v: i8) -> Result<(), ColumnError> {
        Ok(self.0.push_i8(v)?)
    }
    fn serialize_i16(self, v: i16) -> Result<(), ColumnError> {
        Ok(self.0.push_i16(v)?)
    }
    fn serialize_i32(self, v: i32) -> Result<(), ColumnError> {
        Ok(self.0.push_i32(v)?)
    }
    fn serialize_i64(self, v: i64) -> Result<(), ColumnError> {
        Ok(self.0.push_i64(v)?)
    }
    fn serialize_i128(self, v: i128) -> Result<(), ColumnError> {
        Ok(self.0.push_decimal(v, 0)?)
    }
    fn serialize_u8(self, v: u8) -> Result<(), ColumnError> {
        Ok(self.0.push_u8(v)?)
    }
    fn serialize_u16(self, v: u16) -> Result<(), ColumnError> {
        Ok(self.0.push_u16(v)?)
    }
    fn serialize_u32(self, v: u32) -> Result<(), ColumnError> {
        Ok(self.0.push_u32(v)?)
    }
    fn serialize_u64(self, v: u64) -> Result<(), ColumnError> {
        Ok(self.0.push_u64(v)?)
    }
    fn serialize_u128(self, v: u128) -> Result<(), ColumnError> {
        let v = i128::try_from(v).map_err(|_| ColumnError(format!("{v} does not fit a 38-digit decimal")))?;
        Ok(self.0.push_decimal(v, 0)?)
    }
    fn serialize_f32(self, v: f32) -> Result<(), ColumnError> {
        Ok(self.0.push_f32(v)?)
    }
    fn serialize_f64(self, v: f64) -> Result<(), ColumnError> {
        Ok(self.0.push_f64(v)?)
    }
    fn serialize_char(self, v: char) -> Result<(), ColumnError> {
        Ok(self.0.push_text(v.encode_utf8(&mut [0; 4]).as_bytes(), false)?)
    }
    fn serialize_str(self, v: &str) -> Result<(), ColumnError> {
        Ok(self.0.push_text(v.as_bytes(), false)?)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), ColumnError> {
        Ok(self.0.push_text(v, true)?)
    }
    fn serialize_none(self) -> Result<(), ColumnError> {
        self.0.push_null();
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), ColumnError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), ColumnError> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), ColumnError> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), ColumnError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<(), ColumnError> {
        let typed = match name {
            TIMESTAMP => parse_timestamp,
            DATE => parse_date,
            DECIMAL => parse_decimal,
            _ => return value.serialize(self),
        };
        let text = value.serialize(TextOf)?;
        Ok(typed(self.0, &text)?)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _value: &T,
    ) -> Result<(), ColumnError> {
        Err(unsupported(&format!("the enum variant `{name}::{variant}` (it carries data)")))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<ListCell<'a>, ColumnError> {
        let (ends, valid, items) = self.0.as_list()?;
        Ok(ListCell { ends, valid, items })
    }
    fn serialize_tuple(self, _len: usize) -> Result<StructCell<'a>, ColumnError> {
        StructCell::start(self.0)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<StructCell<'a>, ColumnError> {
        StructCell::start(self.0)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, ColumnError> {
        Err(unsupported(&format!("the enum variant `{name}::{variant}` (it carries data)")))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<StructCell<'a>, ColumnError> {
        StructCell::start(self.0)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<StructCell<'a>, ColumnError> {
        StructCell::start(self.0)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, ColumnError> {
        Err(unsupported(&format!("the enum variant `{name}::{variant}` (it carries data)")))
    }
}

/// A list value: its items go to the list's item column.
struct ListCell<'a> {
    ends: &'a mut Vec<usize>,
    valid: &'a mut Vec<bool>,
    items: &'a mut Values,
}

impl ser::SerializeSeq for ListCell<'_> {
    type Ok = ();
    type Error = ColumnError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ColumnError> {
        value.serialize(Cell(self.items)).map_err(|e| ColumnError(format!("a list item: {e}")))
    }

    fn end(self) -> Result<(), ColumnError> {
        self.ends.push(self.items.len());
        self.valid.push(true);
        Ok(())
    }
}

/// A struct, map or tuple value: each field goes to the column of its name.
struct StructCell<'a> {
    fields: &'a mut Fields,
    valid: &'a mut Vec<bool>,
    /// Where the next field probably is.
    hint: usize,
    /// The next tuple field's index.
    index: usize,
    /// A map's key, between `serialize_key` and `serialize_value`.
    key: Option<String>,
}

impl<'a> StructCell<'a> {
    fn start(values: &'a mut Values) -> Result<Self, ColumnError> {
        let (fields, valid) = values.as_struct()?;
        Ok(StructCell { fields, valid, hint: 0, index: 0, key: None })
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), ColumnError> {
        let len = self.fields.len;
        let column = self.fields.column(name, &mut self.hint);
        if column.values.len() > len {
            return Err(ColumnError(format!("column `{name}`: set twice in one row")));
        }
        value.serialize(Cell(&mut column.values)).map_err(|e| ColumnError(in_column(name, e.0)))
    }

    fn tuple_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ColumnError> {
        let name = format!("column_{}", self.index);
        self.index += 1;
        self.field(&name, value)
    }

    fn finish(self) -> Result<(), ColumnError> {
        self.fields.end_row();
        self.valid.push(true);
        Ok(())
    }
}

impl ser::SerializeStruct for StructCell<'_> {
    type Ok = ();
    type Error = ColumnError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), ColumnError> {
        self.field(key, value)
    }

    fn skip_field(&mut self, _key: &'static str) -> Result<(), ColumnError> {
        Ok(())
    }

    fn end(self) -> Result<(), ColumnError> {
        self.finish()
    }
}

impl ser::SerializeMap for StructCell<'_> {
    type Ok = ();
    type Error = ColumnError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ColumnError> {
        self.key = Some(key.serialize(TextOf).map_err(|e| ColumnError(format!("a map key: {e}")))?);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ColumnError> {
        let key = self.key.take().ok_or_else(|| ColumnError("a map value without a key".into()))?;
        self.field(&key, value)
    }

    fn end(self) -> Result<(), ColumnError> {
        self.finish()
    }
}

impl ser::SerializeTuple for StructCell<'_> {
    type Ok = ();
    type Error = ColumnError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ColumnError> {
        self.tuple_field(value)
    }

    fn end(self) -> Result<(), ColumnError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for StructCell<'_> {
    type Ok = ();
    type Error = ColumnError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ColumnError> {
        self.tuple_field(value)
    }

    fn end(self) -> Result<(), ColumnError> {
        self.finish()
    }
}

/// Microseconds since the epoch of an RFC 3339 time.
fn parse_timestamp(column: &mut Values, text: &str) -> Result<(), String> {
    let t: jiff::Timestamp =
        text.parse().map_err(|e| format!("`{text}` is not an RFC 3339 time with an offset: {e}"))?;
    column.push_timestamp(t.as_microsecond())
}

/// Days since 1970-01-01 of an ISO 8601 date.
fn parse_date(column: &mut Values, text: &str) -> Result<(), String> {
    let d: jiff::civil::Date = text.parse().map_err(|e| format!("`{text}` is not a date (YYYY-MM-DD): {e}"))?;
    let days = d.since(jiff::civil::date(1970, 1, 1)).map_err(|e| format!("`{text}`: {e}"))?.get_days();
    column.push_date(days)
}

/// The unscaled value and scale of a decimal's text: `-12.50` is `(-1250, 2)`.
fn parse_decimal(column: &mut Values, text: &str) -> Result<(), String> {
    let bad = || format!("`{text}` is not a decimal number (digits, an optional sign and point)");
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty() || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let mut unscaled: i128 = 0;
    for b in whole.bytes().chain(fraction.bytes()) {
        unscaled = unscaled
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or_else(|| format!("`{text}` has more digits than a decimal column holds"))?;
    }
    let scale = u32::try_from(fraction.len()).map_err(|_| bad())?;
    if scale > super::values::MAX_DECIMAL_DIGITS {
        return Err(format!("`{text}` has more digits than a decimal column holds"));
    }
    column.push_decimal(if negative { -unscaled } else { unscaled }, scale)
}

/// A serializer that accepts only text (a marked column's `Display` text,
/// or a map key) and returns it.
struct TextOf;

fn not_text() -> ColumnError {
    ColumnError("expected text (a map key must be a string, a number or a unit variant)".into())
}

macro_rules! text_of_display {
    ($($fn:ident: $ty:ty),*) => {
        $(fn $fn(self, v: $ty) -> Result<String, ColumnError> {
            Ok(v.to_string())
        })*
    };
}

impl ser::Serializer for TextOf {
    type Ok = String;
    type Error = ColumnError;
    type SerializeSeq = ser::Impossible<String, ColumnError>;
    type SerializeTuple = ser::Impossible<String, ColumnError>;
    type SerializeTupleStruct = ser::Impossible<String, ColumnError>;
    type SerializeTupleVariant = ser::Impossible<String, ColumnError>;
    type SerializeMap = ser::Impossible<String, ColumnError>;
    type SerializeStruct = ser::Impossible<String, ColumnError>;
    type SerializeStructVariant = ser::Impossible<String, ColumnError>;

    text_of_display!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64,
        serialize_u128: u128, serialize_char: char, serialize_str: &str
    );

    fn serialize_f32(self, _v: f32) -> Result<String, ColumnError> {
        Err(not_text())
    }
    fn serialize_f64(self, _v: f64) -> Result<String, ColumnError> {
        Err(not_text())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, ColumnError> {
        Err(not_text())
    }
    fn serialize_none(self) -> Result<String, ColumnError> {
        Err(not_text())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, ColumnError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, ColumnError> {
        Err(not_text())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, ColumnError> {
        Err(not_text())
    }
    fn serialize_unit_variant(self, _n: &'static str, _i: u32, variant: &'static str) -> Result<String, ColumnError> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _n: &'static str, v: &T) -> Result<String, ColumnError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _n: &'static str,
        _i: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<String, ColumnError> {
        Err(not_text())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, ColumnError> {
        Err(not_text())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, ColumnError> {
        Err(not_text())
    }
    fn serialize_tuple_struct(self, _n: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, ColumnError> {
        Err(not_text())
    }
    fn serialize_tuple_variant(
        self,
        _n: &'static str,
        _i: u32,
        _v: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, ColumnError> {
        Err(not_text())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, ColumnError> {
        Err(not_text())
    }
    fn serialize_struct(self, _n: &'static str, _len: usize) -> Result<Self::SerializeStruct, ColumnError> {
        Err(not_text())
    }
    fn serialize_struct_variant(
        self,
        _n: &'static str,
        _i: u32,
        _v: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, ColumnError> {
        Err(not_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::columns;
    use std::collections::BTreeMap;

    #[derive(serde::Serialize)]
    struct Inner {
        a: u8,
        tags: Vec<&'static str>,
    }

    #[derive(serde::Serialize)]
    struct Row {
        id: u32,
        name: Option<&'static str>,
        inner: Inner,
        #[serde(with = "columns::decimal")]
        price: &'static str,
        #[serde(with = "columns::date")]
        day: &'static str,
        #[serde(with = "columns::timestamp")]
        at: &'static str,
    }

    fn table(rows: &[Row]) -> Fields {
        let mut root = Values::Null(0);
        for r in rows {
            push_row(&mut root, r).unwrap();
        }
        let Values::Struct { fields, .. } = root else { panic!("{root:?}") };
        fields
    }

    #[test]
    fn a_struct_row_gives_typed_columns() {
        let rows = [
            Row {
                id: 1,
                name: None,
                inner: Inner { a: 7, tags: vec!["x", "y"] },
                price: "19.99",
                day: "2024-03-01",
                at: "2024-03-01T10:00:00+02:00",
            },
            Row {
                id: 2,
                name: Some("b"),
                inner: Inner { a: 8, tags: vec![] },
                price: "-7",
                day: "1969-12-31",
                at: "1970-01-01T00:00:01Z",
            },
        ];
        let f = table(&rows);
        let kinds: Vec<_> = f.columns.iter().map(|c| (c.name.as_str(), c.values.kind())).collect();
        assert_eq!(
            kinds,
            [
                ("id", "u32"),
                ("name", "string"),
                ("inner", "struct"),
                ("price", "decimal"),
                ("day", "date"),
                ("at", "timestamp")
            ]
        );
        assert_eq!(f.columns[3].values, Values::Decimal { scale: 2, values: vec![Some(1999), Some(-700)] });
        assert_eq!(f.columns[4].values, Values::Date(vec![Some(19_783), Some(-1)]));
        assert_eq!(f.columns[5].values, Values::Timestamp(vec![Some(1_709_280_000_000_000), Some(1_000_000)]));
        let Values::Struct { fields: inner, .. } = &f.columns[2].values else { panic!() };
        let Values::List { ends, items, .. } = &inner.columns[1].values else { panic!() };
        assert_eq!((ends.as_slice(), items.len()), (&[2, 2][..], 2));
    }

    #[test]
    fn maps_union_their_keys_and_tuples_number_their_fields() {
        let mut root = Values::Null(0);
        push_row(&mut root, &BTreeMap::from([("a", 1i64)])).unwrap();
        push_row(&mut root, &BTreeMap::from([("b", 2i64)])).unwrap();
        let Values::Struct { fields, .. } = &root else { panic!() };
        assert_eq!(fields.columns[0].values, Values::I64(vec![Some(1), None]));
        assert_eq!(fields.columns[1].values, Values::I64(vec![None, Some(2)]));
        let mut root = Values::Null(0);
        push_row(&mut root, &("k", 3u64)).unwrap();
        let Values::Struct { fields, .. } = &root else { panic!() };
        assert_eq!(fields.columns[1].name, "column_1");
    }

    #[test]
    fn errors_name_the_column() {
        #[derive(serde::Serialize)]
        enum E {
            A(u8),
        }
        #[derive(serde::Serialize)]
        struct Bad {
            outer: BTreeMap<&'static str, E>,
        }
        let mut root = Values::Null(0);
        let e = push_row(&mut root, &Bad { outer: BTreeMap::from([("x", E::A(1))]) }).unwrap_err();
        assert_eq!(e.0, "column `outer.x`: the enum variant `E::A` (it carries data) cannot be a column value");
        let mut root = Values::Null(0);
        push_row(&mut root, &BTreeMap::from([("n", 1i64)])).unwrap();
        let e = push_row(&mut root, &BTreeMap::from([("n", "one")])).unwrap_err();
        assert!(e.0.starts_with("column `n`: a string value in a i64 column"), "{e}");
        for (text, marker) in [("12.3.4", DECIMAL), ("2024-13-01", DATE), ("yesterday", TIMESTAMP)] {
            let mut v = Values::Null(0);
            let r = match marker {
                DECIMAL => parse_decimal(&mut v, text),
                DATE => parse_date(&mut v, text),
                _ => parse_timestamp(&mut v, text),
            };
            assert!(r.unwrap_err().contains(text));
        }
    }
}
