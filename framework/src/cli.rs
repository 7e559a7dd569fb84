//! The standard command-line flags every Shoal program accepts.

use crate::error::Result;
use crate::job::{Job, default_threads};
use crate::plan::parse_size;
use crate::read::MmapChoice;

/// Shoal's standard flags. Flatten them into your own clap parser:
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Cli {
///     #[command(flatten)]
///     shoal: shoal::Flags,
///     /// Input files or directories.
///     inputs: Vec<std::path::PathBuf>,
/// }
/// impl AsRef<shoal::Flags> for Cli {
///     fn as_ref(&self) -> &shoal::Flags {
///         &self.shoal
///     }
/// }
/// let cli = Cli::parse_from(["prog", "--threads", "2", "data/"]);
/// assert_eq!(cli.shoal.threads, Some(2));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Parser)]
#[command(next_help_heading = "Shoal options")]
pub struct Flags {
    /// Worker threads per process [default: all cores]
    #[arg(short = 't', long, value_name = "N", env = "SHOAL_THREADS")]
    pub threads: Option<usize>,

    /// Target split size, like 16M or 1GiB [default: from the input size]
    #[arg(long, value_name = "SIZE", value_parser = parse_size, env = "SHOAL_CHUNK_SIZE")]
    pub chunk_size: Option<u64>,

    /// Read input files instead of memory-mapping them
    #[arg(long)]
    pub no_mmap: bool,

    /// Print each action's plan (files, splits, bytes, threads) to stderr
    #[arg(long)]
    pub explain: bool,
}

impl AsRef<Flags> for Flags {
    fn as_ref(&self) -> &Flags {
        self
    }
}

impl Flags {
    /// The job these flags describe.
    ///
    /// # Errors
    /// Invalid combinations, such as `--threads 0`.
    pub fn job(&self) -> Result<Job> {
        let mut builder = Job::builder()
            .threads(self.threads.unwrap_or_else(default_threads))
            .explain(self.explain)
            .mmap(if self.no_mmap { MmapChoice::Never } else { MmapChoice::Auto });
        if let Some(size) = self.chunk_size {
            builder = builder.split_size(size);
        }
        builder.build()
    }
}
