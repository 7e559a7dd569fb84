//! The options of a CSV source, as the [`Csv`](super::Csv) builder sets
//! them: dialect, trimming, field counts, headers, column matching, the
//! malformed-record policy and null markers.

use super::dialect::Dialect;
use super::nulls::NullValues;
use csv::ByteRecord;
use shoal::OnMalformed;

/// Which whitespace trimming to apply (ASCII whitespace at both ends of a field).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Trim {
    /// Keep fields as they are.
    #[default]
    None,
    /// Trim header names only.
    Headers,
    /// Trim data fields only.
    Fields,
    /// Trim header names and data fields.
    All,
}

impl Trim {
    pub(crate) fn headers(self) -> bool {
        matches!(self, Trim::Headers | Trim::All)
    }

    pub(crate) fn fields(self) -> bool {
        matches!(self, Trim::Fields | Trim::All)
    }
}

/// Whether every record must have as many fields as the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FieldCount {
    /// A record with another field count is malformed (see
    /// [`Csv::on_malformed`](super::Csv::on_malformed)). The count to match is the header's, or the
    /// first record's when files have no header.
    #[default]
    Strict,
    /// Records may have any number of fields.
    Flexible,
}

/// The options of a CSV source, set through the [`Csv`](super::Csv) builder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) dialect: Dialect,
    pub(crate) trim: Trim,
    pub(crate) field_count: FieldCount,
    pub(crate) header: Header,
    pub(crate) columns: Columns,
    pub(crate) on_malformed: OnMalformed,
    pub(crate) null_values: NullValues,
    pub(crate) expected_header: Option<ByteRecord>,
}

/// Whether files start with a header row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Header {
    /// The first record of each file names the columns.
    #[default]
    FirstRow,
    /// Every record is data.
    None,
}

/// How a file's columns are matched to the first file's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Columns {
    /// Every header must equal the first file's.
    #[default]
    SameOrder,
    /// Columns are matched by name and reordered.
    ByName,
}
