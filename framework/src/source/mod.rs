//! Where records come from: files of lines, in-memory collections, ranges.
//!
//! A source is the innermost [`Pipeline`](crate::Pipeline): it plans its
//! input into splits and, per split, pushes records into the stage chain.
//! Format connectors (CSV, logs, JSON lines) in `shoal-connectors` are
//! sources too, built on [`crate::read`].

mod lines;
mod memory;

pub use lines::{ByteLines, LineDecoder, LineSource, Lines, Raw, Utf8};
pub use memory::{Iter, RangeSource, Step};

use crate::job::Job;
pub use crate::plan::IntoInputs;

/// The built-in sources. (Defined here, beside the sources, so that `job`
/// need not know them: a source names its job, not the other way round.)
impl Job {
    /// Lines of text (`&str`) from files, directories (recursively) and globs.
    pub fn lines(&self, inputs: impl IntoInputs) -> Lines<'_> {
        Lines::new(self, inputs.into_inputs())
    }

    /// Lines as bytes (`&[u8]`), without UTF-8 validation.
    pub fn byte_lines(&self, inputs: impl IntoInputs) -> ByteLines<'_> {
        ByteLines::new(self, inputs.into_inputs())
    }

    /// The items of an in-memory collection, as `&T`, in chunks.
    pub fn iter<T, I>(&self, items: I) -> Iter<'_, T>
    where
        I: IntoIterator<Item = T>,
        T: Send + Sync + 'static,
    {
        Iter::new(self, items.into_iter().collect())
    }

    /// The integers of `range`, in chunks.
    pub fn range<T: Step>(&self, range: std::ops::Range<T>) -> RangeSource<'_, T> {
        RangeSource::new(self, range)
    }
}
