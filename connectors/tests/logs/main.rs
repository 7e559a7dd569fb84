//! Integration tests of the log and JSON-lines sources: formats on
//! real-looking samples, malformed-line policies, inputs (compressed, mixed,
//! walked, standard input), through every split size, thread count and read
//! path.

mod formats;
mod inputs;
mod policies;
mod regression;
mod samples;
mod util;
