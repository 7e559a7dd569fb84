//! [`Action`] and [`Absorb`]: how a result is started, folded, merged and finished.

use super::source::Consumer;
use crate::error::Result;
use crate::plan::Split;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The partial-result side of an action.
///
/// # Contract
/// `identity()` is an identity of `merge`, and `merge` is associative. Merge
/// order is unspecified (threads and processes finish in any order), so
/// `merge` should be commutative too, or partials should carry their input
/// position (see [`crate::merge::Ordered`]).
pub trait Action: Sync {
    /// The per-thread (and per-split, across processes) partial result.
    type Partial: Send + Serialize + DeserializeOwned;
    /// What the action returns. With worker processes, only the leader calls
    /// [`finish`](Action::finish) (so sinks write once) and sends the output
    /// to every worker, so code after an action runs alike everywhere.
    type Output: Send + Serialize + DeserializeOwned;

    /// A fresh partial.
    fn identity(&self) -> Self::Partial;

    /// Folds `other` into `into`.
    fn merge(&self, into: &mut Self::Partial, other: Self::Partial);

    /// Folds `bytes`, a partial serialized by a worker process (postcard),
    /// into `into`: what the leader does with each split's partial. The
    /// default decodes the partial and calls [`merge`](Action::merge);
    /// an action whose partial can take the serialized items one by one
    /// (the keyed actions) overrides it to skip building the partial first.
    ///
    /// # Errors
    /// `bytes` do not decode as a partial ([`ErrorKind::Transport`](crate::ErrorKind::Transport)).
    fn merge_encoded(&self, into: &mut Self::Partial, bytes: &[u8]) -> Result<()> {
        let partial = crate::exec::process::protocol::decode(bytes).map_err(undecodable)?;
        self.merge(into, partial);
        Ok(())
    }

    /// Turns a spent `partial` (one whose result was shipped) into a fresh
    /// one, equal to [`identity`](Action::identity): a worker process runs
    /// each split into its own partial, and reusing the last one's memory
    /// saves growing a table from empty split after split. The default
    /// replaces it with `identity()`.
    fn reset(&self, partial: &mut Self::Partial) {
        *partial = self.identity();
    }

    /// Called after the last item of a split was absorbed into `acc`.
    fn end_split(&self, acc: &mut Self::Partial, split: &Split) {
        let _ = (acc, split);
    }

    /// Whether one split's records may be folded in blocks on several
    /// threads, each block into a partial of its own: what a stream (a
    /// compressed file, a pipe, standard input), which is one split, needs
    /// to be parsed on more than one thread. The default,
    /// [`Folding::Whole`], folds every split in order into one partial; an
    /// action whose merge does not depend on order, or which tags what it
    /// holds with [`end_block`](Action::end_block)'s block number, returns
    /// [`Folding::Blocks`].
    fn folding(&self) -> Folding {
        Folding::Whole
    }

    /// Called after the last item of block `block` (numbered from 0 in
    /// input order) of `split` was absorbed into `acc`, when the split is
    /// folded in blocks ([`Folding::Blocks`]); `end_split` is then not
    /// called for it. The default calls [`end_split`](Action::end_split):
    /// right for actions whose partial does not depend on input order.
    fn end_block(&self, acc: &mut Self::Partial, split: &Split, block: u32) {
        let _ = block;
        self.end_split(acc, split);
    }

    /// How a leader hands `output` to its workers, who get it when the
    /// next action starts: `None` (the default) encodes it now; an action
    /// whose output is cheap to share and costly to encode (a sorted
    /// result with groups on disk) returns an encoder, run only if a
    /// worker needs the output.
    fn defer_output(&self, output: &Self::Output) -> Option<super::Deferred> {
        let _ = output;
        None
    }

    /// Moves the input positions `partial` carries (split indices, as
    /// [`crate::merge::Ordered`] tags its runs): position `p` becomes
    /// `p - from + to`. Incremental runs (`--state`) keep each file's
    /// partial with positions from 0 and move them to the file's place in
    /// the current input before merging. The default does nothing: right
    /// for every action whose partial does not depend on input order.
    fn rebase(&self, partial: &mut Self::Partial, from: u64, to: u64) {
        let _ = (partial, from, to);
    }

    /// Whether a partial of this action may be kept and reused by a later
    /// run (`--state`). `false` for actions whose work is an effect
    /// ([`for_each`](crate::Pipeline::for_each)), which must see every record
    /// each run.
    fn keeps_state(&self) -> bool {
        true
    }

    /// Turns the merged partial into the result. Runs once per action, in
    /// the leader process.
    ///
    /// # Errors
    /// Actions that validate their result (sinks) may fail here.
    fn finish(&self, partial: Self::Partial) -> Result<Self::Output>;
}

/// How an action folds the records of one split: see [`Action::folding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folding {
    /// In order, into one partial.
    Whole,
    /// In blocks, possibly on several threads, each block into a partial of
    /// its own, ended by [`Action::end_block`].
    Blocks,
}

/// The error of a serialized partial that does not decode, for
/// [`Action::merge_encoded`].
pub(crate) fn undecodable(source: impl Into<crate::BoxError>) -> crate::Error {
    crate::Error::new(crate::ErrorKind::Transport, "cannot decode a partial result").with_source(source)
}

/// Folding items of type `T` into an action's partial.
pub trait Absorb<T>: Action {
    /// Folds one item into `acc`.
    fn absorb(&self, acc: &mut Self::Partial, item: T) -> Result<()>;
}

/// The consumer at the end of a pipeline: absorbs into one partial.
pub(crate) struct Sink<'r, A: Action> {
    pub(crate) action: &'r A,
    pub(crate) acc: &'r mut A::Partial,
    /// Items pushed (the split's records out, for the run report).
    pub(crate) records: u64,
}

impl<T, A: Absorb<T>> Consumer<T> for Sink<'_, A> {
    #[inline(always)]
    fn push(&mut self, item: T) -> Result<()> {
        self.records += 1;
        self.action.absorb(self.acc, item)
    }
}
