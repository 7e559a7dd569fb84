//! A small JSON writer for the run report and quarantine lines.
//!
//! Hand-written on purpose: linking `serde_json` into `shoal` would bring
//! its `PartialEq<Value>` impls for the integers into every user's program,
//! and `assert_eq!(n, iter.sum())` there would stop compiling (the type of
//! `sum` could no longer be inferred). The report is a fixed shape of
//! objects, arrays, strings and numbers, so writing it takes little.

use std::fmt::Write as _;

/// Appends `s` as a JSON string.
pub(crate) fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A value that writes itself as JSON.
pub(crate) trait ToJson {
    /// Appends the value.
    fn json(&self, out: &mut String);
}

impl ToJson for str {
    fn json(&self, out: &mut String) {
        string(self, out);
    }
}

impl ToJson for String {
    fn json(&self, out: &mut String) {
        string(self, out);
    }
}

macro_rules! display_json {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            fn json(&self, out: &mut String) {
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
display_json!(u8, u32, u64, usize, bool);

impl ToJson for f64 {
    fn json(&self, out: &mut String) {
        if self.is_finite() {
            let _ = write!(out, "{self}");
        } else {
            out.push_str("null");
        }
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn json(&self, out: &mut String) {
        match self {
            Some(v) => v.json(out),
            None => out.push_str("null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    fn json(&self, out: &mut String) {
        out.push('[');
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            v.json(out);
        }
        out.push(']');
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn json(&self, out: &mut String) {
        self.as_slice().json(out);
    }
}

impl<V: ToJson> ToJson for std::collections::BTreeMap<String, V> {
    fn json(&self, out: &mut String) {
        let mut o = Object::new(out);
        for (k, v) in self {
            o.field(k, v);
        }
        o.end();
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    fn json(&self, out: &mut String) {
        (**self).json(out);
    }
}

/// An object being written: `field` by `field`, then `end`.
pub(crate) struct Object<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Object<'a> {
    pub(crate) fn new(out: &'a mut String) -> Object<'a> {
        out.push('{');
        Object { out, first: true }
    }

    pub(crate) fn field(&mut self, name: &str, value: &(impl ToJson + ?Sized)) -> &mut Self {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        string(name, self.out);
        self.out.push(':');
        value.json(self.out);
        self
    }

    pub(crate) fn end(&mut self) {
        self.out.push('}');
    }
}

/// A value as JSON text.
pub(crate) fn to_string(value: &(impl ToJson + ?Sized)) -> String {
    let mut out = String::new();
    value.json(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_write_as_json() {
        let mut out = String::new();
        Object::new(&mut out)
            .field("s", "a\"b\n\u{1}")
            .field("n", &7u64)
            .field("x", &1.5f64)
            .field("nan", &f64::NAN)
            .field("none", &None::<u64>)
            .field("list", &vec![1u32, 2])
            .end();
        assert_eq!(out, r#"{"s":"a\"b\n\u0001","n":7,"x":1.5,"nan":null,"none":null,"list":[1,2]}"#);
    }
}
