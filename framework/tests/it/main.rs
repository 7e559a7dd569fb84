//! Integration tests of the `shoal` crate: one binary, one temp dir per test.

mod actions;
mod cluster;
mod entry;
mod errors;
mod options;
mod processes;
mod records;
mod runs;
mod shards;
mod splits;
mod stdin;
mod util;
