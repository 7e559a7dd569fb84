//! Mergeable partial results.
//!
//! Every action folds records into a *partial* per thread (and, with worker
//! processes, per split), and the partials are merged into the result. A type
//! takes part by implementing [`Merge`]:
//!
//! * [`Default::default`] is the **identity**: merging it changes nothing;
//! * [`Merge::merge`] is **associative**: `(a ⊕ b) ⊕ c == a ⊕ (b ⊕ c)`.
//!
//! The order in which partials meet is unspecified (it depends on which thread
//! ran which split, and which process finished first), so every implementation
//! here is also **commutative**. Types whose natural merge is not — a list of
//! records in input order — carry their position with them ([`Ordered`]) and
//! sort when read. Floating-point sums are the one honest exception: `f64`
//! addition is not associative, so a sum of floats may differ in its last bits
//! between thread counts. Sum integers (cents, tenths) where that matters.
//!
//! A user type opts in with a short impl:
//!
//! ```
//! use shoal::merge::{Max, Merge};
//! #[derive(Default, serde::Serialize, serde::Deserialize)]
//! struct Visits { hits: u64, bytes: u64, largest: Max<u64> }
//!
//! impl Merge for Visits {
//!     fn merge(&mut self, other: Self) {
//!         self.hits.merge(other.hits);
//!         self.bytes.merge(other.bytes);
//!         self.largest.merge(other.largest);
//!     }
//! }
//! ```

mod collections;
mod minmax;
mod ordered;
mod stats;
mod top_k;

pub use minmax::{Max, Min};
pub use ordered::Ordered;
pub use stats::{Numeric, Stats};
pub use top_k::TopK;

/// An associative, commutative combine with [`Default`] as its identity.
///
/// See the [module documentation](self) for the laws and why they matter.
pub trait Merge: Default {
    /// Folds `other` into `self`.
    fn merge(&mut self, other: Self);

    /// Merges a sequence of partials, starting from the identity.
    fn merge_all<I: IntoIterator<Item = Self>>(parts: I) -> Self {
        let mut acc = Self::default();
        for part in parts {
            acc.merge(part);
        }
        acc
    }
}

macro_rules! merge_by_addition {
    ($($t:ty),*) => {$(
        /// Integers merge by addition: counts and sums. Overflow panics in
        /// debug builds and wraps in release builds, like `+`.
        impl Merge for $t {
            #[inline]
            fn merge(&mut self, other: Self) {
                *self += other;
            }
        }
    )*};
}
merge_by_addition!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

macro_rules! merge_floats {
    ($($t:ty),*) => {$(
        /// Floats merge by addition. Not exactly associative: the last bits of
        /// a sum may depend on merge order (see the module docs).
        impl Merge for $t {
            #[inline]
            fn merge(&mut self, other: Self) {
                *self += other;
            }
        }
    )*};
}
merge_floats!(f32, f64);

impl Merge for () {
    fn merge(&mut self, _other: Self) {}
}

/// `None` is the identity; two `Some` merge their contents.
impl<T: Merge> Merge for Option<T> {
    fn merge(&mut self, other: Self) {
        match (self.as_mut(), other) {
            (_, None) => {}
            (None, other) => *self = other,
            (Some(a), Some(b)) => a.merge(b),
        }
    }
}

macro_rules! merge_tuple {
    ($($name:ident . $idx:tt),+) => {
        /// Tuples merge field by field.
        impl<$($name: Merge),+> Merge for ($($name,)+) {
            fn merge(&mut self, other: Self) {
                $(self.$idx.merge(other.$idx);)+
            }
        }
    };
}
merge_tuple!(A.0);
merge_tuple!(A.0, B.1);
merge_tuple!(A.0, B.1, C.2);
merge_tuple!(A.0, B.1, C.2, D.3);
merge_tuple!(A.0, B.1, C.2, D.3, E.4);

#[cfg(test)]
pub(crate) mod laws;
