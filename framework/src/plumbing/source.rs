//! [`Source`] and [`Consumer`]: where records enter the engine.

use crate::error::Result;
use crate::job::Job;
use crate::plan::{Plan, Split};

/// Receives the items of one split, one at a time.
///
/// An error stops the split; the source adds the file, line and offset of the
/// record that caused it.
pub trait Consumer<T> {
    /// Takes one item.
    fn push(&mut self, item: T) -> Result<()>;
}

/// Something that plans its input into splits and pushes each split's items
/// into a [`Consumer`]: a source of records, or a stage wrapping one.
///
/// Implement this for a new input format; the fluent
/// [`Pipeline`](crate::Pipeline) API comes with it.
///
/// # Contract
/// * [`plan`](Source::plan) is deterministic: every process of a job builds
///   the same pipelines, and the leader's plan is the one all of them run.
/// * [`drive`](Source::drive) pushes exactly the records `split` owns, each
///   once, in input order, whatever the other splits of the plan are: every
///   record of the input belongs to exactly one split.
/// * Items may borrow from the split's bytes (`'a`) and never outlive the
///   call to `drive`.
pub trait Source: Sync {
    /// The item type; `'a` is the lifetime of the split's bytes.
    type Item<'a>;

    /// The job this source runs in.
    fn job(&self) -> &Job;

    /// Plans the input into splits (expanding paths, sizing splits).
    ///
    /// # Errors
    /// Missing paths, empty directories, globs that match nothing.
    fn plan(&self) -> Result<Plan>;

    /// Pushes every item of `split` into `consumer`.
    ///
    /// This is the per-split engine behind every action; user code rarely
    /// calls it directly.
    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<Self::Item<'a>>;

    /// Appends the names of the source and its stages, source first, for
    /// `--explain` (`lines("data/")`, `map`, `filter`, ...). The default is
    /// the type's name without its module path.
    fn describe(&self, stages: &mut Vec<String>) {
        stages.push(short_type_name(std::any::type_name::<Self>()));
    }
}

/// `shoal::source::lines::LineSource<shoal::source::lines::Utf8>` becomes
/// `LineSource<Utf8>`: module paths dropped, generic arguments kept.
pub(crate) fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut word = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            word.push(c);
        } else {
            out.push_str(word.rsplit("::").next().unwrap_or(&word));
            word.clear();
            out.push(c);
        }
    }
    out.push_str(word.rsplit("::").next().unwrap_or(&word));
    out
}

/// The action's short type name and the pipeline's stages (`lines(data/) -> map`).
pub(crate) fn names<S: Source, A>(source: &S) -> (String, String) {
    let mut stages = Vec::new();
    source.describe(&mut stages);
    (short_type_name(std::any::type_name::<A>()), stages.join(" -> "))
}

#[cfg(test)]
mod tests {
    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(
            super::short_type_name("shoal::source::lines::LineSource<shoal::source::lines::Utf8>"),
            "LineSource<Utf8>"
        );
        assert_eq!(super::short_type_name("u64"), "u64");
    }
}
