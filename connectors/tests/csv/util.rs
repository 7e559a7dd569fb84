//! Shared helpers: temp dirs, jobs over every configuration, the reference reader.

// `Dir`, `job` and `configs` are the framework's test helpers, shared rather
// than copied.
#[path = "../../../framework/tests/it/util.rs"]
mod shared;
pub(crate) use shared::{Dir, configs, job};

/// Records as vectors of fields.
pub(crate) type Recs = Vec<Vec<Vec<u8>>>;

/// What a sequential `csv::Reader` (no headers, flexible) reads from `bytes`.
pub(crate) fn sequential(bytes: &[u8]) -> Recs {
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    rdr.byte_records().map(|r| r.unwrap().iter().map(<[u8]>::to_vec).collect()).collect()
}

/// Fields of a record, owned.
pub(crate) fn fields(rec: &shoal_connectors::csv::Record) -> Vec<Vec<u8>> {
    rec.iter().map(<[u8]>::to_vec).collect()
}
