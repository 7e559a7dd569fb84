//! Integration tests of the CSV source: one binary, one temp dir per test.

mod fifo;
mod policies;
mod property;
mod reading;
mod regression;
mod stdin;
mod streams;
mod util;
