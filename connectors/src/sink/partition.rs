//! Partitioning rows by a key into Hive-style folders, `name=value/`, and
//! by several keys into nested folders, `year=2024/month=03/`.
//!
//! Names and values are escaped like Hive's `FileUtils.escapePathName`: the
//! bytes `"`, `#`, `%`, `'`, `*`, `/`, `:`, `=`, `?`, `\`, `{`, `[`, `]`, `^`,
//! DEL and every control byte (NUL included) become `%XX`; everything else,
//! UTF-8 included, is kept. The empty value is written as Hive's
//! `__HIVE_DEFAULT_PARTITION__`, and a value equal to that name has its
//! first `_` escaped, so:
//!
//! * no value can leave the output folder: a folder name always starts with
//!   `name=` (never `.` or `..`) and holds no `/` or NUL;
//! * distinct values give distinct folders (the escaping is injective).
//!
//! A folder name longer than the file system allows (usually 255 bytes) is an
//! error when the output is written.

use std::fmt::Write as _;

/// Hive's name for a null or empty partition value.
pub const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Chooses the partition of each row.
pub trait Partitioner<T>: Sync {
    /// The escaped folder name of `row`'s partition (`name=value`), or `None`
    /// when the output is not partitioned.
    fn folder(&self, row: &T) -> Option<String>;
}

/// Whether an output is one file or a folder of partitions.
pub trait Layout: Sync {
    /// `true` for a folder of `name=value` partitions.
    const PARTITIONED: bool;
}

/// No partitioning: one output file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unpartitioned;

impl Layout for Unpartitioned {
    const PARTITIONED: bool = false;
}

impl<F: Sync> Layout for ByKey<F> {
    const PARTITIONED: bool = true;
}

impl<T> Partitioner<T> for Unpartitioned {
    #[inline]
    fn folder(&self, _row: &T) -> Option<String> {
        None
    }
}

/// Partitioning by the value `key(row)`, in folders `name=value`.
#[derive(Clone)]
pub struct ByKey<F> {
    name: String,
    key: F,
}

impl<F> ByKey<F> {
    pub(crate) fn new(name: &str, key: F) -> Self {
        ByKey { name: escape(name), key }
    }
}

impl<F> std::fmt::Debug for ByKey<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByKey").field("name", &self.name).finish_non_exhaustive()
    }
}

impl<T, F, S> Partitioner<T> for ByKey<F>
where
    F: Fn(&T) -> S + Sync,
    S: AsRef<str>,
{
    fn folder(&self, row: &T) -> Option<String> {
        let value = (self.key)(row);
        let mut folder = String::with_capacity(self.name.len() + 1 + value.as_ref().len());
        folder.push_str(&self.name);
        folder.push('=');
        push_value(&mut folder, value.as_ref());
        Some(folder)
    }
}

/// Nested partitions: the outer partitioner's folder, then the inner's
/// (`year=2024/month=03`), made by calling
/// [`Output::partition_by`](super::Output::partition_by) again.
#[derive(Debug, Clone)]
pub struct Nested<A, B> {
    outer: A,
    inner: B,
}

impl<A, B> Nested<A, B> {
    pub(crate) fn new(outer: A, inner: B) -> Self {
        Nested { outer, inner }
    }
}

impl<A: Sync, B: Sync> Layout for Nested<A, B> {
    const PARTITIONED: bool = true;
}

impl<T, A: Partitioner<T>, B: Partitioner<T>> Partitioner<T> for Nested<A, B> {
    fn folder(&self, row: &T) -> Option<String> {
        let mut folder = self.outer.folder(row)?;
        folder.push('/');
        folder.push_str(&self.inner.folder(row)?);
        Some(folder)
    }
}

fn needs_escape(c: char) -> bool {
    matches!(c, '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^' | '\x7f') || c < ' '
}

/// Escapes a partition name or value (see the [module docs](self)).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        if needs_escape(c) {
            // `c` is ASCII here, so one byte.
            let _ = write!(out, "%{:02X}", c as u32);
        } else {
            out.push(c);
        }
    }
}

/// Appends the folder form of a value: escaped, with the empty value and
/// the default partition's own name told apart.
fn push_value(out: &mut String, value: &str) {
    if value.is_empty() {
        out.push_str(DEFAULT_PARTITION);
    } else if value == DEFAULT_PARTITION {
        out.push_str("%5F");
        out.push_str(&DEFAULT_PARTITION[1..]);
    } else {
        push_escaped(out, value);
    }
}

/// The folder form of a value (see the [module docs](self)).
pub fn escape_value(value: &str) -> String {
    let mut out = String::new();
    push_value(&mut out, value);
    out
}

/// Reverses [`escape_value`] (`None` for the empty value's folder name is
/// not needed: it gives `""`). Invalid escapes are kept as written.
pub fn unescape_value(folder_value: &str) -> String {
    if folder_value == DEFAULT_PARTITION {
        return String::new();
    }
    let bytes = folder_value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hostile_values_stay_inside_and_apart() {
        let cases = [
            ("../x", "..%2Fx"),
            ("/", "%2F"),
            ("\0", "%00"),
            ("", DEFAULT_PARTITION),
            (DEFAULT_PARTITION, "%5F_HIVE_DEFAULT_PARTITION__"),
            (".", "."),
            ("..", ".."),
            ("a=b", "a%3Db"),
            ("100%", "100%25"),
            ("Zürich", "Zürich"),
            ("C:\\x", "C%3A%5Cx"),
        ];
        for (value, want) in cases {
            assert_eq!(escape_value(value), want, "{value:?}");
            assert_eq!(unescape_value(want), value);
        }
        let by = ByKey::new("k/ey", |v: &&str| v.to_string());
        assert_eq!(by.folder(&".."), Some("k%2Fey=..".to_string()));
    }

    proptest! {
        #[test]
        fn escaping_is_safe_and_injective(a in ".{0,12}", b in ".{0,12}") {
            let (ea, eb) = (escape_value(&a), escape_value(&b));
            for e in [&ea, &eb] {
                prop_assert!(!e.contains('/') && !e.contains('\0') && !e.is_empty());
            }
            prop_assert_eq!(unescape_value(&ea), a.as_str());
            if a != b {
                prop_assert_ne!(ea, eb);
            }
        }
    }
}
