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

use crate::plan::Inputs;
use std::path::{Path, PathBuf};

/// Things that name input files: a path, a list of paths, or [`Inputs`].
pub trait IntoInputs {
    /// The inputs.
    fn into_inputs(self) -> Inputs;
}

impl IntoInputs for Inputs {
    fn into_inputs(self) -> Inputs {
        self
    }
}

impl IntoInputs for &Inputs {
    fn into_inputs(self) -> Inputs {
        self.clone()
    }
}

macro_rules! into_inputs_one {
    ($($t:ty),*) => {$(
        impl IntoInputs for $t {
            fn into_inputs(self) -> Inputs {
                Inputs::new([self])
            }
        }
    )*};
}
into_inputs_one!(&str, String, &String, &Path, PathBuf, &PathBuf);

impl<P: AsRef<Path>> IntoInputs for Vec<P> {
    fn into_inputs(self) -> Inputs {
        Inputs::new(self)
    }
}

impl<P: AsRef<Path>> IntoInputs for &Vec<P> {
    fn into_inputs(self) -> Inputs {
        Inputs::new(self)
    }
}

impl<P: AsRef<Path>> IntoInputs for &[P] {
    fn into_inputs(self) -> Inputs {
        Inputs::new(self)
    }
}

impl<P: AsRef<Path>, const N: usize> IntoInputs for [P; N] {
    fn into_inputs(self) -> Inputs {
        Inputs::new(self)
    }
}
