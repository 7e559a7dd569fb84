//! What a typed row looks like to serde: its field names, and which fields
//! are `Option`s.
//!
//! A row struct's `Deserialize` implementation is run once against a probe
//! deserializer: `deserialize_struct` hands over the field names, and for
//! each field a one-entry map shows which `deserialize_*` method the field's
//! type asks for (`deserialize_option` for `Option<T>`). Nothing is
//! deserialized for real; the probe stops each run with an error.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use std::fmt;

/// How a field reads a null value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An `Option<T>` (possibly inside newtypes): a null is `None`.
    Option,
    /// Any other value: a null is a malformed record.
    Value,
    /// A field whose value is ignored, or a column no field reads: a null
    /// reads as an empty field.
    Unknown,
}

/// One field of a row struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    /// The name serde matches against header names (after `rename`).
    pub(crate) name: &'static str,
    /// How it reads a null.
    pub(crate) kind: Kind,
    /// Whether the row deserializes without it and it is not an `Option`
    /// (`#[serde(default)]`): it may name no column.
    pub(crate) defaulted: bool,
}

/// The shape of a row type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A struct with named fields, in declaration order.
    Struct(Vec<Field>),
    /// Anything else (tuples, maps, flattened or hand-written types).
    Other,
}

impl Shape {
    /// Probes `T`.
    pub(crate) fn of<'de, T: de::Deserialize<'de>>() -> Shape {
        let mut found = Found::Nothing;
        let _ = T::deserialize(Top { target: None, found: &mut found });
        let Found::Fields(names) = found else { return Shape::Other };
        let fields = (0..names.len())
            .map(|k| {
                let mut found = Found::Nothing;
                let _ = T::deserialize(Top { target: Some(Target::Only(k)), found: &mut found });
                let kind = match found {
                    Found::Kind(kind) => kind,
                    _ => Kind::Unknown,
                };
                // The row without field `k`, the others given plain values.
                let mut ignored = Found::Nothing;
                let without = T::deserialize(Top { target: Some(Target::AllBut(k)), found: &mut ignored });
                Field { name: names[k], kind, defaulted: without.is_ok() && kind != Kind::Option }
            })
            .collect();
        Shape::Struct(fields)
    }
}

/// How each column of the reference header reads a null: `Kind::Unknown`
/// for columns no field names (they are ignored anyway).
///
/// # Errors
/// A struct field that names no column of `header`: the field's name.
pub(crate) fn column_kinds(shape: &Shape, header: Option<&csv::ByteRecord>) -> Result<Vec<Kind>, &'static str> {
    let Shape::Struct(fields) = shape else { return Ok(Vec::new()) };
    let Some(header) = header else {
        // Without headers, fields are read by position.
        return Ok(fields.iter().map(|f| f.kind).collect());
    };
    let mut kinds = vec![Kind::Unknown; header.len()];
    for field in fields {
        match header.iter().position(|name| name == field.name.as_bytes()) {
            Some(j) => kinds[j] = field.kind,
            None if field.defaulted => {}
            None => return Err(field.name),
        }
    }
    Ok(kinds)
}

/// What one probe run saw.
enum Found {
    Nothing,
    Fields(&'static [&'static str]),
    Kind(Kind),
}

/// Stops a probe run.
#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probe")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Stop
    }
}

/// Which fields a probe run gives the row struct.
#[derive(Clone, Copy)]
enum Target {
    /// Field `k` alone, as a [`Value`] probe.
    Only(usize),
    /// Every field but `k`, as [`Plain`] values.
    AllBut(usize),
}

/// The row: a struct gives its field names (`target: None`) or is fed
/// the fields `target` says.
struct Top<'p> {
    target: Option<Target>,
    found: &'p mut Found,
}

impl<'de> Deserializer<'de> for Top<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        match self.target {
            None => {
                *self.found = Found::Fields(fields);
                Err(Stop)
            }
            Some(Target::Only(k)) => visitor.visit_map(OneEntry { key: fields.get(k).copied(), found: self.found }),
            Some(Target::AllBut(k)) => visitor.visit_map(AllBut { fields, skip: k, next: 0 }),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// A map of one entry: the probed field's name, then a [`Value`] probe.
struct OneEntry<'p> {
    key: Option<&'static str>,
    found: &'p mut Found,
}

impl<'de> MapAccess<'de> for OneEntry<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Stop> {
        match self.key.take() {
            Some(name) => seed.deserialize(de::value::BorrowedStrDeserializer::new(name)).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        seed.deserialize(Value { found: self.found })
    }
}

/// A map of every field but one, each with a [`Plain`] value.
struct AllBut {
    fields: &'static [&'static str],
    skip: usize,
    next: usize,
}

impl<'de> MapAccess<'de> for AllBut {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Stop> {
        if self.next == self.skip {
            self.next += 1;
        }
        let Some(name) = self.fields.get(self.next) else { return Ok(None) };
        self.next += 1;
        seed.deserialize(de::value::BorrowedStrDeserializer::new(name)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        seed.deserialize(Plain)
    }
}

/// A plain value for any scalar field: zero, false, the empty string,
/// `None`. Other shapes (sequences, maps, enums) stop the run.
struct Plain;

impl<'de> Deserializer<'de> for Plain {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_bool(false)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_i64(0)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_u64(0)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_f64(0.0)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_char('0')
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_borrowed_str("")
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_borrowed_bytes(b"")
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_none()
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_unit(visitor)
    }

    serde::forward_to_deserialize_any! {
        unit_struct seq tuple tuple_struct map struct enum identifier
    }
}

/// A field's value: records which method its type asks for.
struct Value<'p> {
    found: &'p mut Found,
}

impl Value<'_> {
    fn saw<T>(self, kind: Kind) -> Result<T, Stop> {
        *self.found = Found::Kind(kind);
        Err(Stop)
    }
}

impl<'de> Deserializer<'de> for Value<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        self.saw(Kind::Value)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        self.saw(Kind::Unknown)
    }

    fn deserialize_option<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        self.saw(Kind::Option)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum identifier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    struct Qty(Option<u32>);

    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    struct Row<'a> {
        id: u64,
        #[serde(rename = "Name")]
        name: &'a str,
        note: Option<String>,
        qty: Qty,
        any: serde_json::Value,
        #[serde(skip_deserializing)]
        skipped: u8,
        #[serde(default)]
        extra: u32,
    }

    #[test]
    fn structs_give_names_and_option_fields() {
        let Shape::Struct(fields) = Shape::of::<Row<'_>>() else { panic!("a struct") };
        let got: Vec<(&str, Kind, bool)> = fields.iter().map(|f| (f.name, f.kind, f.defaulted)).collect();
        assert_eq!(
            got,
            [
                ("id", Kind::Value, false),
                ("Name", Kind::Value, false),
                ("note", Kind::Option, false),
                ("qty", Kind::Option, false),
                ("any", Kind::Value, false),
                ("extra", Kind::Value, false),
            ]
        );
    }

    #[allow(dead_code)]
    #[derive(serde::Deserialize)]
    struct Defaults<'a> {
        a: u32,
        #[serde(default)]
        b: String,
        c: Option<u8>,
        name: &'a str,
    }

    #[test]
    fn defaulted_fields_may_be_missing() {
        let Shape::Struct(fields) = Shape::of::<Defaults<'_>>() else { panic!("a struct") };
        let got: Vec<bool> = fields.iter().map(|f| f.defaulted).collect();
        assert_eq!(got, [false, true, false, false], "an Option without a column is still an error");
        let header = csv::ByteRecord::from(vec!["name", "a", "c"]);
        assert_eq!(
            column_kinds(&Shape::Struct(fields.clone()), Some(&header)),
            Ok(vec![Kind::Value, Kind::Value, Kind::Option])
        );
        let header = csv::ByteRecord::from(vec!["name", "a"]);
        assert_eq!(column_kinds(&Shape::Struct(fields), Some(&header)), Err("c"));
    }

    #[test]
    fn other_types_have_no_fields() {
        assert_eq!(Shape::of::<(u32, Option<u32>)>(), Shape::Other);
        assert_eq!(Shape::of::<std::collections::HashMap<String, String>>(), Shape::Other);
    }
}
