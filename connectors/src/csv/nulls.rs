//! Null markers: field values that mean "no value" for typed rows.

use super::record::Record;
use super::schema::Kind;
use csv::ByteRecord;

/// The field values read as missing (`NA`, the empty field, ...), compared
/// with the whole field after unquoting and trimming.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NullValues {
    markers: Vec<Vec<u8>>,
}

impl NullValues {
    /// The given markers.
    pub(crate) fn new<I, S>(markers: I) -> NullValues
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        NullValues { markers: markers.into_iter().map(|m| m.as_ref().to_vec()).collect() }
    }

    /// Whether there is no marker (the fast path: fields are copied as they are).
    pub(crate) fn is_empty(&self) -> bool {
        self.markers.is_empty()
    }

    /// Whether `field` is a null.
    pub(crate) fn contains(&self, field: &[u8]) -> bool {
        self.markers.iter().any(|m| m.as_slice() == field)
    }

    /// Copies `rec` into `out` with each null as an empty field (which serde
    /// reads as `None` for an `Option`).
    ///
    /// # Errors
    /// The index of the first null in a column whose field is not an
    /// `Option` (`kinds[j] == Kind::Value`).
    pub(crate) fn fill(&self, rec: &Record, kinds: &[Kind], out: &mut ByteRecord) -> Result<(), usize> {
        out.clear();
        for (j, field) in rec.iter().enumerate() {
            if self.contains(field) {
                if kinds.get(j) == Some(&Kind::Value) {
                    return Err(j);
                }
                out.push_field(b"");
            } else {
                out.push_field(field);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&[u8]]) -> Record {
        let mut rec = Record::new();
        for f in fields {
            rec.push_field(f);
        }
        rec
    }

    #[test]
    fn nulls_become_empty_fields_or_name_their_column() {
        let nulls = NullValues::new(["NA", ""]);
        let mut out = ByteRecord::new();
        let rec = record(&[b"1", b"NA", b"", b"na"]);
        nulls.fill(&rec, &[Kind::Value, Kind::Option, Kind::Unknown, Kind::Value], &mut out).unwrap();
        assert_eq!(out, ByteRecord::from(vec!["1", "", "", "na"]));
        assert_eq!(nulls.fill(&rec, &[Kind::Option, Kind::Value], &mut out), Err(1));
        assert!(NullValues::default().is_empty() && !nulls.is_empty());
    }
}
