//! Grouping keys: [`GroupKey`], how a key borrowed from a record finds its
//! stored, owned form in a keyed partial without being copied.

use super::hash::{ShortKey, is_short, short_words};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::hash::Hash;

/// A grouping key: borrowed (`&str`, `&[u8]`, `&T`, tuples of them) or owned.
///
/// A key that is already in the partial is found through its borrowed form,
/// with no allocation; [`into_owned`](GroupKey::into_owned) runs once per new
/// key. Tuples of keys are keys, so `(&str, &str)` groups by two borrowed
/// fields and stores `(String, String)`.
///
/// Invariants, relied on by the hash maps of keyed actions: a key hashes
/// exactly like its owned form, and [`matches`](GroupKey::matches) agrees with
/// `==` on the owned form. Implement it for your own owned key type with
/// [`group_key!`](crate::group_key); that also makes the type usable inside
/// tuple keys (every part of a tuple key is a `GroupKey`). A type from
/// another crate goes into a tuple key wrapped in [`AsKey`].
pub trait GroupKey: Hash {
    /// The key as stored in results.
    type Owned: Hash + Eq + Send + Serialize + DeserializeOwned;
    /// Whether this key equals the stored key `stored`.
    fn matches(&self, stored: &Self::Owned) -> bool;
    /// The key to store.
    fn into_owned(self) -> Self::Owned;

    /// The key's exact fixed-size form when it is a byte string of 4 to 16
    /// bytes, which lets the partial's table compare it without reading the
    /// stored key. `None` (the default) for every other key.
    ///
    /// Contract: return `Some` only as [`ShortKey::of`] of exactly the bytes
    /// that [`matches`](GroupKey::matches) compares, so that two keys have
    /// equal short forms exactly when they are equal. Every implementation
    /// with the same `Owned` type returns `None` or that same value (a
    /// `None` from one and a `Some` from another are fine: the table then
    /// compares keys).
    #[inline(always)]
    fn short_key(&self) -> Option<ShortKey> {
        None
    }
}

impl<T> GroupKey for &T
where
    T: Clone + Hash + Eq + Send + Serialize + DeserializeOwned,
{
    type Owned = T;

    #[inline]
    fn matches(&self, stored: &T) -> bool {
        *self == stored
    }

    #[inline]
    fn into_owned(self) -> T {
        self.clone()
    }
}

/// String keys (`&str` and `String`): equality without a call to `memcmp`
/// for the short keys that grouping sees most.
impl GroupKey for &str {
    type Owned = String;

    #[inline]
    fn matches(&self, stored: &String) -> bool {
        bytes_eq(self.as_bytes(), stored.as_bytes())
    }

    #[inline]
    fn into_owned(self) -> String {
        self.to_owned()
    }

    #[inline(always)]
    fn short_key(&self) -> Option<ShortKey> {
        ShortKey::of(self.as_bytes())
    }
}

/// An owned key groups exactly like its borrowed form (`String` as `&str`,
/// `Vec<T>` as `&[T]`): the same comparison and short form.
macro_rules! owned_as_borrowed {
    ($(@$g:ident: $bound:path;)? $owned:ty => $borrow:ident) => {
        impl$(<$g: $bound>)? GroupKey for $owned {
            type Owned = $owned;

            #[inline]
            fn matches(&self, stored: &$owned) -> bool {
                GroupKey::matches(&self.$borrow(), stored)
            }

            #[inline]
            fn into_owned(self) -> $owned {
                self
            }

            #[inline(always)]
            fn short_key(&self) -> Option<ShortKey> {
                GroupKey::short_key(&self.$borrow())
            }
        }
    };
}
owned_as_borrowed!(String => as_str);

/// Elements of slice keys: `&[T]` groups as `Vec<T>`. Implemented for the
/// primitive types and `String`; byte slices compare without a call to
/// `memcmp` when short. Implement it (the default method is fine) to group
/// by slices of your own type.
pub trait SliceKeyElem: Clone + Hash + Eq + Send + Serialize + DeserializeOwned {
    /// `a == b`.
    #[inline]
    fn slices_eq(a: &[Self], b: &[Self]) -> bool {
        a == b
    }

    /// [`GroupKey::short_key`] of a slice: `None` but for bytes.
    #[inline(always)]
    fn slice_short_key(s: &[Self]) -> Option<ShortKey> {
        let _ = s;
        None
    }
}

impl SliceKeyElem for u8 {
    #[inline(always)]
    fn slices_eq(a: &[u8], b: &[u8]) -> bool {
        bytes_eq(a, b)
    }

    #[inline(always)]
    fn slice_short_key(s: &[u8]) -> Option<ShortKey> {
        ShortKey::of(s)
    }
}

macro_rules! slice_key_elem {
    ($($t:ty),*) => {$(impl SliceKeyElem for $t {})*};
}
slice_key_elem!(u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool, char, String);

impl<T: SliceKeyElem> GroupKey for &[T] {
    type Owned = Vec<T>;

    #[inline]
    fn matches(&self, stored: &Vec<T>) -> bool {
        T::slices_eq(self, stored)
    }

    #[inline]
    fn into_owned(self) -> Vec<T> {
        self.to_vec()
    }

    #[inline(always)]
    fn short_key(&self) -> Option<ShortKey> {
        T::slice_short_key(self)
    }
}

owned_as_borrowed!(@T: SliceKeyElem; Vec<T> => as_slice);

/// Borrowed keys of the other unsized std types, grouped as their owned form.
macro_rules! unsized_key {
    ($($borrowed:ty => $owned:ty),* $(,)?) => {$(
        impl GroupKey for &$borrowed {
            type Owned = $owned;

            #[inline]
            fn matches(&self, stored: &$owned) -> bool {
                **self == **stored
            }

            #[inline]
            fn into_owned(self) -> $owned {
                self.to_owned()
            }
        }
    )*};
}
unsized_key!(
    std::path::Path => std::path::PathBuf,
    std::ffi::OsStr => std::ffi::OsString,
    std::ffi::CStr => std::ffi::CString,
);

/// `None` and `Some` of a key.
impl<G: GroupKey> GroupKey for Option<G> {
    type Owned = Option<G::Owned>;

    #[inline]
    fn matches(&self, stored: &Option<G::Owned>) -> bool {
        match (self, stored) {
            (Some(key), Some(stored)) => key.matches(stored),
            (None, None) => true,
            _ => false,
        }
    }

    #[inline]
    fn into_owned(self) -> Option<G::Owned> {
        self.map(G::into_owned)
    }
}

/// Arrays of owned values group as themselves.
impl<T, const N: usize> GroupKey for [T; N]
where
    [T; N]: Hash + Eq + Send + Serialize + DeserializeOwned,
{
    type Owned = [T; N];

    #[inline]
    fn matches(&self, stored: &[T; N]) -> bool {
        self == stored
    }

    #[inline]
    fn into_owned(self) -> [T; N] {
        self
    }
}

/// Any owned value as a key, compared with `==`: for types from other crates
/// (`jiff::civil::Date`, ...) inside tuple keys, where [`group_key!`]
/// cannot be used. `(AsKey(date), region)` stores `(Date, String)`.
///
/// [`group_key!`]: crate::group_key
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AsKey<T>(pub T);

impl<T> GroupKey for AsKey<T>
where
    T: Hash + Eq + Send + Serialize + DeserializeOwned,
{
    type Owned = T;

    #[inline]
    fn matches(&self, stored: &T) -> bool {
        self.0 == *stored
    }

    #[inline]
    fn into_owned(self) -> T {
        self.0
    }
}

/// `a == b` for byte strings, inlined: keys of 4 to 16 bytes compare as the
/// two words of [`short_words`], with no call to `memcmp` and no branch on
/// the length (which, for keys of random lengths, mispredicts).
#[inline(always)]
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if is_short(a.len()) {
        let ((a0, a1), (b0, b1)) = (short_words(a), short_words(b));
        return (a0 ^ b0) | (a1 ^ b1) == 0;
    }
    a == b
}

/// Implements [`GroupKey`] for owned key types that are their own lookup form.
///
/// ```
/// #[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
/// struct Region(u16);
/// shoal::group_key!(Region);
/// ```
#[macro_export]
macro_rules! group_key {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::action::GroupKey for $t {
            type Owned = $t;
            #[inline]
            fn matches(&self, stored: &$t) -> bool {
                self == stored
            }
            #[inline]
            fn into_owned(self) -> $t {
                self
            }
        }
    )*};
}

crate::group_key!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool, char);
crate::group_key!(std::path::PathBuf, std::ffi::OsString, std::ffi::CString);

macro_rules! tuple_key {
    ($($name:ident $i:tt),+) => {
        /// Tuples of keys group as the tuple of their owned forms; each part
        /// may be borrowed.
        impl<$($name: GroupKey),+> GroupKey for ($($name,)+) {
            type Owned = ($($name::Owned,)+);
            #[inline]
            fn matches(&self, stored: &Self::Owned) -> bool {
                $(self.$i.matches(&stored.$i))&&+
            }
            #[inline]
            fn into_owned(self) -> Self::Owned {
                ($(self.$i.into_owned(),)+)
            }
        }
    };
}
tuple_key!(A 0, B 1);
tuple_key!(A 0, B 1, C 2);
tuple_key!(A 0, B 1, C 2, D 3);

#[cfg(test)]
mod tests {
    use super::super::groups::Groups;
    use super::*;
    use serde::Serialize;

    /// `bytes_eq` agrees with `==` for every length up to 40 and a difference
    /// at every position, and for different lengths.
    #[test]
    fn bytes_eq_is_equality() {
        for len in 0..=40usize {
            let a: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37)).collect();
            assert!(bytes_eq(&a, &a.clone()), "{len}");
            for at in 0..len {
                let mut b = a.clone();
                b[at] ^= 0x40;
                assert!(!bytes_eq(&a, &b), "{len} {at}");
            }
            assert!(!bytes_eq(&a, &a[..len.saturating_sub(1)]) || len == 0, "{len}");
        }
    }

    /// Inserts `borrowed` then `owned` (the same key) and `other`: two groups.
    fn same_group<G: GroupKey, H: GroupKey<Owned = G::Owned>, O: GroupKey<Owned = G::Owned>>(
        borrowed: G,
        owned: H,
        other: O,
    ) {
        let mut map: Groups<G::Owned, u32> = Groups::new();
        map.upsert(borrowed, 1, |a, b| *a += b);
        map.upsert(owned, 2, |a, b| *a += b);
        map.upsert(other, 4, |a, b| *a += b);
        let mut values: Vec<u32> = map.iter().map(|(_, v)| *v).collect();
        values.sort_unstable();
        assert_eq!(values, [3, 4]);
    }

    /// Every kind of key: its borrowed and owned forms land in one group,
    /// a different key in another.
    #[test]
    fn every_key_kind_groups_with_its_owned_form() {
        use std::ffi::{CString, OsStr, OsString};
        use std::path::{Path, PathBuf};
        same_group("tea", "tea".to_string(), "te");
        same_group(&b"tea"[..], b"tea".to_vec(), &b"tex"[..]);
        // Keys of 4 to 16 bytes, first through an impl without a short form
        // (`&T`), then through ones with it.
        same_group(&"abcdef".to_string(), "abcdef", "abcdeg");
        same_group(&"abcdef".to_string(), "abcdef".to_string(), "abcdeg".to_string());
        same_group("abcdef", &"abcdef".to_string(), &"abcdeg".to_string());
        same_group(&b"abcdef".to_vec(), &b"abcdef"[..], b"abcdeg".to_vec());
        same_group(&[1u32, 2][..], vec![1u32, 2], &[2u32, 1][..]);
        same_group(&["a".to_string()][..], vec!["a".to_string()], vec!["b".to_string()]);
        same_group(Path::new("a/b"), PathBuf::from("a/b"), Path::new("a"));
        same_group(OsStr::new("x"), OsString::from("x"), OsStr::new("y"));
        same_group(c"x", CString::new("x").unwrap(), c"y");
        same_group(Some("x"), Some("x".to_string()), None::<&str>);
        same_group([1u8, 2], [1u8, 2], [2u8, 1]);
        same_group(&7u64, 7u64, 8u64);
        same_group(AsKey(Some(1u32)), AsKey(Some(1u32)), AsKey(None));
        same_group((AsKey([0u8; 2]), "eu"), (AsKey([0u8; 2]), "eu".to_string()), (AsKey([0u8; 2]), "us"));
        same_group(
            (Some(3u16), "eu", &b"x"[..]),
            (Some(3u16), "eu".to_string(), b"x".to_vec()),
            (None::<u16>, "eu", &b"x"[..]),
        );
    }

    /// The keyed actions encode a key as it comes once their hot table is
    /// full: the borrowed form encodes exactly like the owned one (`AsKey`
    /// is transparent).
    #[test]
    fn keys_encode_like_their_owned_form() {
        fn same<G: GroupKey + Serialize>(key: G) {
            let borrowed = postcard::to_allocvec(&key).unwrap();
            assert_eq!(borrowed, postcard::to_allocvec(&key.into_owned()).unwrap());
        }
        same("tea");
        same(&b"tea"[..]);
        same((AsKey(7u32), "eu", &b"x"[..]));
        same(Some(std::path::Path::new("a/b")));
    }

    /// A borrowed key hashes like its owned form, so lookups find it.
    #[test]
    fn borrowed_and_owned_keys_hash_alike() {
        let mut map: Groups<(String, Vec<u8>), u32> = Groups::new();
        map.upsert(("eu", &b"tea"[..]), 2, |a, b| *a += b);
        map.upsert(("eu".to_string(), b"tea".to_vec()), 3, |a, b| *a += b);
        map.upsert(("eu", &b"te"[..]), 1, |a, b| *a += b);
        assert_eq!(map.len(), 2);
        let map = map.into_map();
        assert_eq!(map[&("eu".to_string(), b"tea".to_vec())], 5);
    }
}
