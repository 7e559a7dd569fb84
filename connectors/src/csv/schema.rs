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
                let _ = T::deserialize(Top { target: Some(k), found: &mut found });
                let kind = match found {
                    Found::Kind(kind) => kind,
                    _ => Kind::Unknown,
                };
                Field { name: names[k], kind }
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

/// The row: a struct gives its field names (`target: None`) or feeds field
/// `target` to a [`Value`] probe.
struct Top<'p> {
    target: Option<usize>,
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
            Some(k) => visitor.visit_map(OneEntry { key: fields.get(k).copied(), found: self.found }),
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
    }

    #[test]
    fn structs_give_names_and_option_fields() {
        let Shape::Struct(fields) = Shape::of::<Row<'_>>() else { panic!("a struct") };
        let got: Vec<(&str, Kind)> = fields.iter().map(|f| (f.name, f.kind)).collect();
        assert_eq!(
            got,
            [
                ("id", Kind::Value),
                ("Name", Kind::Value),
                ("note", Kind::Option),
                ("qty", Kind::Option),
                ("any", Kind::Value)
            ]
        );
    }

    #[test]
    fn other_types_have_no_fields() {
        assert_eq!(Shape::of::<(u32, Option<u32>)>(), Shape::Other);
        assert_eq!(Shape::of::<std::collections::HashMap<String, String>>(), Shape::Other);
    }
}
