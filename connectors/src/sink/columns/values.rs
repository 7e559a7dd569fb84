//! [`Values`]: one column's values, typed, as rows are serialized into it.
//!
//! # Invariants
//! * Every column of a [`Fields`] holds `Fields::len` values between rows
//!   (a field a row did not set is null there).
//! * `Text::ends` and `List::ends` hold one end offset per value; value `i`
//!   spans `ends[i-1]..ends[i]` (from 0 for the first).
//! * A column's type is fixed by its first non-null value: until then it is
//!   [`Values::Null`], which becomes any type with as many leading nulls.

use serde::{Deserialize, Serialize};

/// A column's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Values {
    /// Only nulls so far (their count): the type is not known yet.
    Null(usize),
    Bool(Vec<Option<bool>>),
    I8(Vec<Option<i8>>),
    I16(Vec<Option<i16>>),
    I32(Vec<Option<i32>>),
    I64(Vec<Option<i64>>),
    U8(Vec<Option<u8>>),
    U16(Vec<Option<u16>>),
    U32(Vec<Option<u32>>),
    U64(Vec<Option<u64>>),
    F32(Vec<Option<f32>>),
    F64(Vec<Option<f64>>),
    /// UTF-8 text.
    Str(Text),
    /// Raw bytes.
    Bytes(Text),
    /// Days since 1970-01-01.
    Date(Vec<Option<i32>>),
    /// Microseconds since 1970-01-01T00:00:00Z.
    Timestamp(Vec<Option<i64>>),
    /// Unscaled values: the number is `value / 10^scale`.
    Decimal {
        scale: u32,
        values: Vec<Option<i128>>,
    },
    Struct {
        fields: Fields,
        valid: Vec<bool>,
    },
    List {
        ends: Vec<usize>,
        valid: Vec<bool>,
        items: Box<Values>,
    },
}

/// Variable-length values, back to back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Text {
    pub(crate) bytes: Vec<u8>,
    pub(crate) ends: Vec<usize>,
    pub(crate) valid: Vec<bool>,
}

/// Named columns of equal length: a struct column's fields, or a table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Fields {
    pub(crate) len: usize,
    pub(crate) columns: Vec<Column>,
}

/// A named column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) values: Values,
}

/// The largest decimal scale a column holds (polars' and Parquet's limit).
pub(crate) const MAX_DECIMAL_DIGITS: u32 = 38;

impl Text {
    fn nulls(n: usize) -> Self {
        Text { bytes: Vec::new(), ends: vec![0; n], valid: vec![false; n] }
    }

    fn push(&mut self, value: Option<&[u8]>) {
        self.bytes.extend_from_slice(value.unwrap_or_default());
        self.ends.push(self.bytes.len());
        self.valid.push(value.is_some());
    }

    /// Value `i` (`None` when null).
    pub(crate) fn get(&self, i: usize) -> Option<&[u8]> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.valid[i].then(|| &self.bytes[start..self.ends[i]])
    }

    fn append(&mut self, other: Text) {
        let base = self.bytes.len();
        self.bytes.extend_from_slice(&other.bytes);
        self.ends.extend(other.ends.into_iter().map(|e| e + base));
        self.valid.extend(other.valid);
    }
}

impl Fields {
    /// The column `name`, created null-filled if new. `hint` is where the
    /// previous row had its next field: rows of one type set their fields in
    /// the same order, so the search usually ends at once.
    pub(crate) fn column(&mut self, name: &str, hint: &mut usize) -> &mut Column {
        let at = match self.columns.get(*hint) {
            Some(c) if c.name == name => *hint,
            _ => match self.columns.iter().position(|c| c.name == name) {
                Some(i) => i,
                None => {
                    self.columns.push(Column { name: name.to_string(), values: Values::Null(self.len) });
                    self.columns.len() - 1
                }
            },
        };
        *hint = at + 1;
        &mut self.columns[at]
    }

    /// Ends a row: fields it did not set are null.
    pub(crate) fn end_row(&mut self) {
        self.len += 1;
        for c in &mut self.columns {
            if c.values.len() < self.len {
                c.values.push_null();
            }
        }
    }

    /// Appends `other`'s rows, matching columns by name.
    fn append(&mut self, other: Fields) -> Result<(), String> {
        let len = self.len;
        let mut hint = 0;
        for c in other.columns {
            let name = c.name;
            let column = self.column(&name, &mut hint);
            column.values.append(c.values).map_err(|e| in_column(&name, e))?;
        }
        self.len = len + other.len;
        for c in &mut self.columns {
            while c.values.len() < self.len {
                c.values.push_null();
            }
        }
        Ok(())
    }
}

/// Prefixes an error with the column it happened in (`a.b: …`).
pub(crate) fn in_column(name: &str, error: String) -> String {
    match error.strip_prefix("column `") {
        Some(rest) => format!("column `{name}.{rest}"),
        None => format!("column `{name}`: {error}"),
    }
}

/// Makes `$variant` columns from nulls and pushes into them.
macro_rules! primitive_push {
    ($($fn:ident, $variant:ident, $ty:ty;)*) => {
        $(
            pub(crate) fn $fn(&mut self, value: $ty) -> Result<(), String> {
                if let Values::Null(n) = *self {
                    *self = Values::$variant(vec![None; n]);
                }
                match self {
                    Values::$variant(v) => {
                        v.push(Some(value));
                        Ok(())
                    }
                    other => Err(other.mismatch(stringify!($ty))),
                }
            }
        )*
    };
}

impl Values {
    /// How many values (rows).
    pub(crate) fn len(&self) -> usize {
        match self {
            Values::Null(n) => *n,
            Values::Bool(v) => v.len(),
            Values::I8(v) => v.len(),
            Values::I16(v) => v.len(),
            Values::I32(v) | Values::Date(v) => v.len(),
            Values::I64(v) | Values::Timestamp(v) => v.len(),
            Values::U8(v) => v.len(),
            Values::U16(v) => v.len(),
            Values::U32(v) => v.len(),
            Values::U64(v) => v.len(),
            Values::F32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Str(t) | Values::Bytes(t) => t.valid.len(),
            Values::Decimal { values, .. } => values.len(),
            Values::Struct { valid, .. } | Values::List { valid, .. } => valid.len(),
        }
    }

    /// The type's name, for errors.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Values::Null(_) => "null",
            Values::Bool(_) => "bool",
            Values::I8(_) => "i8",
            Values::I16(_) => "i16",
            Values::I32(_) => "i32",
            Values::I64(_) => "i64",
            Values::U8(_) => "u8",
            Values::U16(_) => "u16",
            Values::U32(_) => "u32",
            Values::U64(_) => "u64",
            Values::F32(_) => "f32",
            Values::F64(_) => "f64",
            Values::Str(_) => "string",
            Values::Bytes(_) => "bytes",
            Values::Date(_) => "date",
            Values::Timestamp(_) => "timestamp",
            Values::Decimal { .. } => "decimal",
            Values::Struct { .. } => "struct",
            Values::List { .. } => "list",
        }
    }

    fn mismatch(&self, got: &str) -> String {
        format!("a {got} value in a {} column (a column holds one type)", self.kind())
    }

    /// Appends a null.
    pub(crate) fn push_null(&mut self) {
        match self {
            Values::Null(n) => *n += 1,
            Values::Bool(v) => v.push(None),
            Values::I8(v) => v.push(None),
            Values::I16(v) => v.push(None),
            Values::I32(v) | Values::Date(v) => v.push(None),
            Values::I64(v) | Values::Timestamp(v) => v.push(None),
            Values::U8(v) => v.push(None),
            Values::U16(v) => v.push(None),
            Values::U32(v) => v.push(None),
            Values::U64(v) => v.push(None),
            Values::F32(v) => v.push(None),
            Values::F64(v) => v.push(None),
            Values::Str(t) | Values::Bytes(t) => t.push(None),
            Values::Decimal { values, .. } => values.push(None),
            Values::Struct { fields, valid } => {
                fields.end_row();
                valid.push(false);
            }
            Values::List { ends, valid, items } => {
                ends.push(items.len());
                valid.push(false);
            }
        }
    }

    primitive_push! {
        push_bool, Bool, bool;
        push_i8, I8, i8;
        push_i16, I16, i16;
        push_i32, I32, i32;
        push_i64, I64, i64;
        push_u8, U8, u8;
        push_u16, U16, u16;
        push_u32, U32, u32;
        push_u64, U64, u64;
        push_f32, F32, f32;
        push_f64, F64, f64;
        push_date, Date, i32;
        push_timestamp, Timestamp, i64;
    }

    /// Appends text (`bytes == false`: UTF-8 text, else raw bytes).
    pub(crate) fn push_text(&mut self, value: &[u8], bytes: bool) -> Result<(), String> {
        if let Values::Null(n) = *self {
            *self = if bytes { Values::Bytes(Text::nulls(n)) } else { Values::Str(Text::nulls(n)) };
        }
        match (self, bytes) {
            (Values::Str(t), false) | (Values::Bytes(t), true) => {
                t.push(Some(value));
                Ok(())
            }
            (other, _) => Err(other.mismatch(if bytes { "bytes" } else { "string" })),
        }
    }

    /// Appends the decimal `unscaled / 10^scale`, rescaling the column (or
    /// the value) to the larger scale.
    pub(crate) fn push_decimal(&mut self, unscaled: i128, scale: u32) -> Result<(), String> {
        if let Values::Null(n) = *self {
            *self = Values::Decimal { scale, values: vec![None; n] };
        }
        let Values::Decimal { scale: have, values } = self else {
            return Err(self.mismatch("decimal"));
        };
        if scale > *have {
            rescale(values, scale - *have)?;
            *have = scale;
        }
        let value = unscaled.checked_mul(10i128.pow(*have - scale)).filter(|v| fits(*v)).ok_or_else(too_many_digits)?;
        values.push(Some(value));
        Ok(())
    }

    /// Starts a struct value (a struct column, made from nulls if new).
    pub(crate) fn as_struct(&mut self) -> Result<(&mut Fields, &mut Vec<bool>), String> {
        if let Values::Null(n) = *self {
            *self = Values::Struct { fields: Fields { len: n, columns: Vec::new() }, valid: vec![false; n] };
        }
        match self {
            Values::Struct { fields, valid } => Ok((fields, valid)),
            other => Err(other.mismatch("struct")),
        }
    }

    /// Starts a list value (a list column, made from nulls if new).
    pub(crate) fn as_list(&mut self) -> Result<(&mut Vec<usize>, &mut Vec<bool>, &mut Values), String> {
        if let Values::Null(n) = *self {
            *self = Values::List { ends: vec![0; n], valid: vec![false; n], items: Box::new(Values::Null(0)) };
        }
        match self {
            Values::List { ends, valid, items } => Ok((ends, valid, items)),
            other => Err(other.mismatch("list")),
        }
    }

    /// Appends `other`'s values (another split's rows of this column).
    pub(crate) fn append(&mut self, other: Values) -> Result<(), String> {
        if let Values::Null(n) = other {
            for _ in 0..n {
                self.push_null();
            }
            return Ok(());
        }
        if let Values::Null(n) = *self {
            // Take the other's type, with this column's nulls in front.
            let mut typed = other.empty_like();
            for _ in 0..n {
                typed.push_null();
            }
            *self = typed;
        }
        match (self, other) {
            (Values::Bool(a), Values::Bool(b)) => a.extend(b),
            (Values::I8(a), Values::I8(b)) => a.extend(b),
            (Values::I16(a), Values::I16(b)) => a.extend(b),
            (Values::I32(a), Values::I32(b)) | (Values::Date(a), Values::Date(b)) => a.extend(b),
            (Values::I64(a), Values::I64(b)) | (Values::Timestamp(a), Values::Timestamp(b)) => a.extend(b),
            (Values::U8(a), Values::U8(b)) => a.extend(b),
            (Values::U16(a), Values::U16(b)) => a.extend(b),
            (Values::U32(a), Values::U32(b)) => a.extend(b),
            (Values::U64(a), Values::U64(b)) => a.extend(b),
            (Values::F32(a), Values::F32(b)) => a.extend(b),
            (Values::F64(a), Values::F64(b)) => a.extend(b),
            (Values::Str(a), Values::Str(b)) | (Values::Bytes(a), Values::Bytes(b)) => a.append(b),
            (Values::Decimal { scale: sa, values: a }, Values::Decimal { scale: sb, values: mut b }) => {
                if sb > *sa {
                    rescale(a, sb - *sa)?;
                    *sa = sb;
                } else {
                    rescale(&mut b, *sa - sb)?;
                }
                a.extend(b);
            }
            (Values::Struct { fields: fa, valid: va }, Values::Struct { fields: fb, valid: vb }) => {
                fa.append(fb)?;
                va.extend(vb);
            }
            (Values::List { ends: ea, valid: va, items: ia }, Values::List { ends: eb, valid: vb, items: ib }) => {
                let base = ia.len();
                ia.append(*ib)?;
                ea.extend(eb.into_iter().map(|e| e + base));
                va.extend(vb);
            }
            (a, b) => return Err(a.mismatch(b.kind())),
        }
        Ok(())
    }

    /// An empty column of the same type (nested types included).
    pub(crate) fn empty_like(&self) -> Values {
        match self {
            Values::Null(_) => Values::Null(0),
            Values::Bool(_) => Values::Bool(Vec::new()),
            Values::I8(_) => Values::I8(Vec::new()),
            Values::I16(_) => Values::I16(Vec::new()),
            Values::I32(_) => Values::I32(Vec::new()),
            Values::I64(_) => Values::I64(Vec::new()),
            Values::U8(_) => Values::U8(Vec::new()),
            Values::U16(_) => Values::U16(Vec::new()),
            Values::U32(_) => Values::U32(Vec::new()),
            Values::U64(_) => Values::U64(Vec::new()),
            Values::F32(_) => Values::F32(Vec::new()),
            Values::F64(_) => Values::F64(Vec::new()),
            Values::Str(_) => Values::Str(Text::default()),
            Values::Bytes(_) => Values::Bytes(Text::default()),
            Values::Date(_) => Values::Date(Vec::new()),
            Values::Timestamp(_) => Values::Timestamp(Vec::new()),
            Values::Decimal { scale, .. } => Values::Decimal { scale: *scale, values: Vec::new() },
            Values::Struct { fields, .. } => Values::Struct {
                fields: Fields {
                    len: 0,
                    columns: fields
                        .columns
                        .iter()
                        .map(|c| Column { name: c.name.clone(), values: c.values.empty_like() })
                        .collect(),
                },
                valid: Vec::new(),
            },
            Values::List { items, .. } => {
                Values::List { ends: Vec::new(), valid: Vec::new(), items: Box::new(items.empty_like()) }
            }
        }
    }
}

fn fits(v: i128) -> bool {
    v.unsigned_abs() < 10u128.pow(MAX_DECIMAL_DIGITS)
}

fn too_many_digits() -> String {
    format!("a decimal needs more than {MAX_DECIMAL_DIGITS} digits at the column's scale")
}

/// Multiplies every value by `10^by`.
fn rescale(values: &mut [Option<i128>], by: u32) -> Result<(), String> {
    if by == 0 {
        return Ok(());
    }
    let factor = 10i128.checked_pow(by).ok_or_else(too_many_digits)?;
    for v in values.iter_mut().flatten() {
        *v = v.checked_mul(factor).filter(|v| fits(*v)).ok_or_else(too_many_digits)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_null_column_takes_the_type_of_its_first_value() {
        let mut v = Values::Null(2);
        v.push_i64(5).unwrap();
        v.push_null();
        assert_eq!(v, Values::I64(vec![None, None, Some(5), None]));
        assert!(v.push_text(b"x", false).unwrap_err().contains("a string value in a i64 column"));
    }

    #[test]
    fn appending_matches_columns_by_name_and_pads_missing_ones() {
        let table = |cols: Vec<(&str, Values)>, len| Values::Struct {
            fields: Fields {
                len,
                columns: cols.into_iter().map(|(n, values)| Column { name: n.into(), values }).collect(),
            },
            valid: vec![true; len],
        };
        let mut a = table(vec![("x", Values::I64(vec![Some(1)])), ("y", Values::Null(1))], 1);
        let b = table(vec![("y", Values::Bool(vec![Some(true)])), ("z", Values::F64(vec![Some(0.5)]))], 1);
        a.append(b).unwrap();
        let want = table(
            vec![
                ("x", Values::I64(vec![Some(1), None])),
                ("y", Values::Bool(vec![None, Some(true)])),
                ("z", Values::F64(vec![None, Some(0.5)])),
            ],
            2,
        );
        assert_eq!(a, want);
    }

    #[test]
    fn decimals_take_the_largest_scale_exactly() {
        let mut v = Values::Null(0);
        v.push_decimal(7, 0).unwrap();
        v.push_decimal(19_995, 3).unwrap();
        v.push_decimal(-5, 1).unwrap();
        assert_eq!(v, Values::Decimal { scale: 3, values: vec![Some(7000), Some(19_995), Some(-500)] });
        let mut other = Values::Decimal { scale: 4, values: vec![Some(1)] };
        other.append(v).unwrap();
        assert_eq!(
            other,
            Values::Decimal { scale: 4, values: vec![Some(1), Some(70_000), Some(199_950), Some(-5000)] }
        );
        let mut big = Values::Null(0);
        big.push_decimal(10i128.pow(37), 0).unwrap();
        assert!(big.push_decimal(1, 2).unwrap_err().contains("more than 38 digits"));
    }

    #[test]
    fn lists_and_text_keep_their_offsets_across_appends() {
        let mut a = Values::Null(1);
        a.push_text(b"ab", false).unwrap();
        let mut b = Values::Null(0);
        b.push_text(b"c", false).unwrap();
        a.append(b).unwrap();
        let Values::Str(t) = &a else { panic!("{a:?}") };
        assert_eq!((t.get(0), t.get(1), t.get(2)), (None, Some(&b"ab"[..]), Some(&b"c"[..])));
    }
}
