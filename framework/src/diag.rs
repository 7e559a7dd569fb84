//! Diagnostics on standard error that never panic.
//!
//! `eprintln!` panics when stderr is closed or full (`2>&-`, a full disk, a
//! closed pipe), which would turn a finished job into exit 101. Everything
//! the library prints to stderr goes through [`print`] instead, which drops
//! what it cannot write: the job keeps the exit status it earned.

use std::fmt;
use std::io::Write;

/// Writes `args` to standard error, ignoring any failure to write.
pub(crate) fn print(args: fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(args);
}

/// `eprintln!` that never panics: formats a line for [`print`].
macro_rules! diag {
    ($($arg:tt)*) => {
        $crate::diag::print(format_args!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use diag;

/// `bytes` for people: `1.5 MiB`, `312.0 KiB`.
pub(crate) fn size(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}
