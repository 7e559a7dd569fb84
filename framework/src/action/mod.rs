//! Actions: what a pipeline ends in.
//!
//! An [`Action`] (defined in [`crate::plumbing`]) says how to start a partial ([`identity`](Action::identity)),
//! how to fold one item into it ([`Absorb::absorb`]), how to merge two
//! partials ([`merge`](Action::merge)) and how to turn the final partial into
//! the result ([`finish`](Action::finish)). The executor folds each thread's
//! splits into the thread's own partial, with no lock or atomic per record,
//! and merges the partials at the end; the process executor ships partials
//! between processes, which is why they are `Serialize + DeserializeOwned`.
//!
//! The built-in actions are methods of [`Pipeline`](crate::Pipeline); connectors
//! (output sinks) implement their own.

mod basic;
mod byte_keys;
mod collect;
mod groups;
mod hash;
mod key;
mod keyed;
mod radix;
mod runs;
mod sorted;
pub mod spill;
mod tagged;

pub use basic::{Count, Fold, ForEach, MergeAll, Reduce, TopKAction};
pub use collect::{Collect, CollectIter, CollectPartial, Collected, CollectedIter};
pub use groups::Groups;
pub use hash::{HashMap, KeyHasher, KeyState, ShortKey};
pub use key::{AsKey, GroupKey, SliceKeyElem};
pub use keyed::{AggregateByKey, CountByValue, ReduceByKey};
pub use radix::Partitioned;
pub use sorted::{Keyed, Sorted, SortedGroups, SortedIter};
pub use tagged::{Chunk, Tagged};

pub use crate::plumbing::{Absorb, Action, Folding};
