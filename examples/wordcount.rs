//! The 20 most frequent words over files or directories of text.
//!
//! Words are runs of letters, digits and apostrophes, lowercased. Output: one
//! `WORD,COUNT` line per word, most frequent first, ties by word.
//!
//! ```text
//! cargo run --release --example wordcount -- README.md framework/
//! ```

use clap::Parser;
use shoal::prelude::*;
use std::cmp::Reverse;
use std::path::PathBuf;
use std::process::ExitCode;

/// The most frequent words in text files.
#[derive(Parser)]
struct Cli {
    /// How many words to print.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// Files or directories of text.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

/// Counts the words of one line into `counts`, allocating only for words not
/// seen before (or not already lowercase).
fn count_words(mut counts: HashMap<String, u64>, line: &str) -> HashMap<String, u64> {
    let words = line.split(|c: char| !(c.is_alphanumeric() || c == '\'')).map(|w| w.trim_matches('\''));
    for word in words.filter(|w| !w.is_empty()) {
        if word.chars().any(char::is_uppercase) {
            *counts.entry(word.to_lowercase()).or_default() += 1;
        } else if let Some(n) = counts.get_mut(word) {
            *n += 1;
        } else {
            counts.insert(word.to_owned(), 1);
        }
    }
    counts
}

fn main() -> ExitCode {
    shoal::main(|job: &Job, cli: Cli| {
        let counts = job.lines(&cli.inputs).fold(HashMap::default, count_words, |mut a, b| {
            a.merge(b);
            a
        })?;
        let mut top = TopK::new(cli.top);
        for (word, n) in counts {
            top.add((n, Reverse(word)));
        }
        let mut out = job.stdout();
        for (n, Reverse(word)) in top.into_sorted_vec() {
            writeln!(out, "{word},{n}")?;
        }
        out.flush()?;
        Ok(())
    })
}
