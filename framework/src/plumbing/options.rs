//! [`ReadOptions`] and [`FileSource`]: the options every source over files
//! shares, and their builder methods, written once.

use crate::job::Job;
use crate::plan::{Inputs, Plan, SplitOptions};

/// What every source over files is told: which files (paths, globs and
/// walk options), how large a split, how long a record may be. Each source
/// keeps one and plans with [`split_options`](Self::split_options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    inputs: Inputs,
    split_size: Option<u64>,
    max_record_size: Option<u64>,
}

impl ReadOptions {
    /// Options reading `inputs` with the job's split size and record limit.
    pub fn new(inputs: Inputs) -> ReadOptions {
        ReadOptions { inputs, split_size: None, max_record_size: None }
    }

    /// The inputs.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// This source's split size, if it overrides the job's.
    pub fn split_size(&self) -> Option<u64> {
        self.split_size
    }

    /// The longest record this source accepts: its own limit, else the
    /// job's `--max-record-size`.
    pub fn max_record_size(&self, job: &Job) -> u64 {
        self.max_record_size.unwrap_or_else(|| job.config().max_record_size())
    }

    /// How to plan this source in `job`: its split size, else the job's.
    pub fn split_options(&self, job: &Job) -> SplitOptions {
        job.config().split_options(self.split_size)
    }

    /// Expands the inputs and plans them into splits (line-oriented
    /// sources; CSV plans its own record starts).
    ///
    /// # Errors
    /// Missing paths, empty directories, globs that match nothing.
    pub fn plan(&self, job: &Job) -> crate::error::Result<Plan> {
        Ok(self.split_options(job).plan(self.inputs.expand()?))
    }
}

/// The builder methods every source over files has (lines, CSV, logs,
/// JSON lines): implement [`read_options`](FileSource::read_options) and the
/// rest come with it. In the prelude.
pub trait FileSource: Sized {
    /// The source's options, to change.
    fn read_options(&mut self) -> &mut ReadOptions;

    /// Keeps only files matching `glob` when walking directories (may
    /// repeat; see [`Inputs::include`]).
    fn include(mut self, glob: impl Into<String>) -> Self {
        let o = self.read_options();
        o.inputs = std::mem::take(&mut o.inputs).include(glob);
        self
    }

    /// Drops files matching `glob` when walking directories (may repeat;
    /// see [`Inputs::exclude`]).
    fn exclude(mut self, glob: impl Into<String>) -> Self {
        let o = self.read_options();
        o.inputs = std::mem::take(&mut o.inputs).exclude(glob);
        self
    }

    /// Whether to walk into hidden files and directories (default: no).
    fn hidden(mut self, yes: bool) -> Self {
        let o = self.read_options();
        o.inputs = std::mem::take(&mut o.inputs).hidden(yes);
        self
    }

    /// Whether to follow symbolic links inside directories (default: no).
    fn follow_links(mut self, yes: bool) -> Self {
        let o = self.read_options();
        o.inputs = std::mem::take(&mut o.inputs).follow_links(yes);
        self
    }

    /// Overrides the job's split size for this source, in bytes.
    fn split_size(mut self, bytes: u64) -> Self {
        self.read_options().split_size = Some(bytes.max(1));
        self
    }

    /// Overrides the job's longest record (`--max-record-size`) for this
    /// source, in bytes: a longer record is malformed.
    fn max_record_size(mut self, bytes: u64) -> Self {
        self.read_options().max_record_size = Some(bytes.max(1));
        self
    }
}
