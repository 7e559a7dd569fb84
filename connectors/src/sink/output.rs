//! [`Output`]: the sink action.

use super::format::{Chunks, Csv, Format, JsonLines};
use super::partition::{ByKey, Layout, Nested, Partitioner, Unpartitioned};
use serde::{Deserialize, Serialize};
use shoal::action::spill::Spiller;
use shoal::action::{Chunk, Tagged};
use shoal::commit::{Parent, Staging, sync_file};
use shoal::plumbing::Split;
use shoal::plumbing::{Absorb, Action, Folding};
use shoal::{Error, ErrorKind, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where and how a pipeline's rows are written; run it with
/// [`SinkExt::write`](super::SinkExt::write).
///
/// * Unpartitioned, the output is one file at the path (`out.csv`).
/// * [`partition_by`](Output::partition_by) makes the path a folder of
///   Hive-style partitions: `out/status=404/part-00000.csv`; calling it
///   again nests them: `out/year=2024/month=03/part-00000.csv`.
///
/// Rows keep their input order within each file. The output is committed
/// atomically (see [atomic commits](super#atomic-commits)).
#[must_use = "an output does nothing until a pipeline is written to it"]
pub struct Output<F, K = Unpartitioned> {
    path: PathBuf,
    format: F,
    partition: K,
    spiller: Option<Arc<Spiller>>,
}

impl Output<Csv> {
    /// CSV with a header row, at `path`.
    pub fn csv(path: impl Into<PathBuf>) -> Self {
        Output::new(path, Csv::default())
    }
}

impl Output<JsonLines> {
    /// JSON lines, at `path`.
    pub fn json_lines(path: impl Into<PathBuf>) -> Self {
        Output::new(path, JsonLines::default())
    }
}

impl<F: Format> Output<F> {
    /// An output in any [`Format`].
    pub fn new(path: impl Into<PathBuf>, format: F) -> Self {
        Output { path: path.into(), format, partition: Unpartitioned, spiller: None }
    }

    /// Partitions the rows by `key(row)` into folders `name=value` below the
    /// path; names and values are escaped (see [`super::partition`]).
    pub fn partition_by<G>(self, name: &str, key: G) -> Output<F, ByKey<G>> {
        Output { path: self.path, format: self.format, partition: ByKey::new(name, key), spiller: self.spiller }
    }
}

impl<F: Format, P> Output<F, ByKey<P>> {
    /// Partitions each partition again, by `key(row)`, into nested folders
    /// `outer=value/name=value`.
    pub fn partition_by<G>(self, name: &str, key: G) -> Output<F, Nested<ByKey<P>, ByKey<G>>> {
        Output {
            path: self.path,
            format: self.format,
            partition: Nested::new(self.partition, ByKey::new(name, key)),
            spiller: self.spiller,
        }
    }
}

impl<F: Format, A, B> Output<F, Nested<A, B>> {
    /// Partitions each partition again, one level deeper.
    pub fn partition_by<G>(self, name: &str, key: G) -> Output<F, Nested<Nested<A, B>, ByKey<G>>> {
        Output {
            path: self.path,
            format: self.format,
            partition: Nested::new(self.partition, ByKey::new(name, key)),
            spiller: self.spiller,
        }
    }
}

impl<F, K> Output<F, K> {
    /// The output path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Spills the encoded rows past `spiller`'s budget to its directory
    /// until they are written, so an output larger than memory is written
    /// in bounded memory. [`SinkExt::write`](super::SinkExt::write) passes
    /// the job's `--memory-limit` and `--spill-dir`.
    pub fn spill(mut self, spiller: Arc<Spiller>) -> Self {
        self.spiller = Some(spiller);
        self
    }
}

impl<F: fmt::Debug, K: fmt::Debug> fmt::Debug for Output<F, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("partition", &self.partition)
            .finish()
    }
}

/// What a sink wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// The files written, in path order.
    pub files: Vec<PathBuf>,
    /// How many rows.
    pub rows: u64,
}

/// The partial of a sink: encoded chunks per partition in input order, and
/// the encoders of the split being read. Past its spiller's share of the
/// memory limit, the chunks of every partition go to the spill directory
/// (one budget for all partitions, however many there are).
///
/// # Invariant
/// `current` is empty between splits: [`Action::end_split`] moves it into
/// `done`, and merges happen only between splits.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct SinkPartial<F: Format> {
    /// Finished chunks by partition folder (`""` when unpartitioned).
    done: BTreeMap<String, Tagged<Chunk>>,
    #[serde(skip)]
    current: BTreeMap<String, F::Encoder>,
    #[serde(skip)]
    spiller: Option<Arc<Spiller>>,
    header: Option<Vec<u8>>,
    rows: u64,
    /// The first error met where errors cannot be returned (end of split).
    error: Option<String>,
}

impl<F: Format> fmt::Debug for SinkPartial<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkPartial").field("partitions", &self.done.len()).field("rows", &self.rows).finish()
    }
}

impl<F: Format> Default for SinkPartial<F> {
    fn default() -> Self {
        SinkPartial::new(None)
    }
}

impl<F: Format> SinkPartial<F> {
    pub(crate) fn new(spiller: Option<Arc<Spiller>>) -> Self {
        SinkPartial { done: BTreeMap::new(), current: BTreeMap::new(), spiller, header: None, rows: 0, error: None }
    }

    /// Past the budget, spills the chunks held by every partition.
    fn settle(&mut self) {
        let Some(spiller) = &self.spiller else { return };
        if self.done.values().map(Tagged::held).sum::<u64>() > spiller.partial_bytes() as u64 {
            for chunks in self.done.values_mut() {
                chunks.spill_to(spiller);
            }
        }
    }

    pub(crate) fn merge(&mut self, other: Self) {
        debug_assert!(self.current.is_empty() && other.current.is_empty());
        for (folder, chunks) in other.done {
            self.done.entry(folder).or_default().merge(chunks);
        }
        if self.header.is_none() {
            self.header = other.header;
        }
        self.rows += other.rows;
        if self.error.is_none() {
            self.error = other.error;
        }
        self.settle();
    }

    pub(crate) fn rebase(&mut self, from: u64, to: u64) {
        for chunks in self.done.values_mut() {
            chunks.rebase(from, to);
        }
    }

    /// Ends block `block` of `split` (0 for a split folded whole).
    pub(crate) fn end_block(&mut self, format: &F, split: &Split, block: u32) {
        self.finish_pieces(format);
        // Every folder's pieces of this split, the last ones included, take its tag.
        for chunks in self.done.values_mut() {
            chunks.push_block_run(split.index as u64, block, Vec::new());
        }
        self.settle();
    }

    /// Finishes the split's encoders so far and moves their chunks into
    /// the runs as pieces of the split.
    fn finish_pieces(&mut self, format: &F) {
        for (folder, enc) in std::mem::take(&mut self.current) {
            match format.finish(enc) {
                Ok(bytes) => self.done.entry(folder).or_default().push_piece(vec![Chunk(bytes)]),
                Err(e) => {
                    self.error.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }

    #[inline]
    pub(crate) fn absorb<T: Serialize>(&mut self, format: &F, folder: Option<String>, row: &T) -> Result<()> {
        let folder = folder.unwrap_or_default();
        let enc = match self.current.get_mut(&folder) {
            Some(enc) => enc,
            None => self.current.entry(folder).or_insert_with(|| format.encoder()),
        };
        format.encode(enc, &mut self.header, row)?;
        self.rows += 1;
        if self.rows.is_multiple_of(CHECK_EVERY) {
            self.cut_pieces(format);
        }
        Ok(())
    }

    /// Past the piece budget, finishes the split's chunks so far and moves
    /// them into the runs (a new encoder goes on), so a long split or a
    /// stream is written in bounded memory.
    #[inline(never)]
    fn cut_pieces(&mut self, format: &F) {
        let Some(limit) = self.spiller.as_ref().map(|s| s.piece_bytes() as u64) else { return };
        let held: u64 = self.current.values().map(|enc| format.encoded_len(enc) as u64).sum();
        if held > limit {
            self.finish_pieces(format);
            self.settle();
        }
    }

    /// The chunks of each partition, in input order; fails with an error
    /// recorded during the run.
    pub(crate) fn into_encoded(self) -> Result<Encoded> {
        if let Some(e) = self.error {
            return Err(Error::new(ErrorKind::InvalidInput, e));
        }
        for chunks in self.done.values() {
            chunks.check()?;
        }
        Ok(Encoded { header: self.header, rows: self.rows, parts: self.done.into_iter().collect() })
    }
}

/// All rows of an action, encoded and ready to write.
pub(crate) struct Encoded {
    /// The file header (CSV column names), when the format has one.
    pub(crate) header: Option<Vec<u8>>,
    /// How many rows.
    pub(crate) rows: u64,
    /// Partition folder (`""` when unpartitioned) and its chunks, in input order.
    pub(crate) parts: Vec<(String, Tagged<Chunk>)>,
}

/// Rows between two checks of a split's chunks against the budget.
const CHECK_EVERY: u64 = 1024;

/// The name of the one data file in each partition folder.
fn part_file(ext: &str) -> String {
    format!("part-00000.{ext}")
}

impl<F: Format, K: Layout> Output<F, K> {
    /// What [`commit`](Self::commit) would write, without writing it (a
    /// shard run, see [`shoal::plumbing::writes_outputs`]).
    fn unwritten(&self, encoded: &Encoded) -> Written {
        let files = match K::PARTITIONED {
            false => vec![self.path.clone()],
            true => {
                let name = part_file(self.format.extension());
                encoded.parts.iter().map(|(folder, _)| self.path.join(folder).join(&name)).collect()
            }
        };
        Written { files, rows: encoded.rows }
    }

    /// Writes and commits: one file, or a folder of partitions.
    fn commit(&self, encoded: Encoded) -> Result<Written> {
        let Encoded { header, rows, parts } = encoded;
        let staging = Staging::begin(&self.path, Parent::Create)?;
        if !K::PARTITIONED {
            let name = self
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| Error::new(ErrorKind::Config, "output path has no file name").with_path(&self.path))?
                .to_string();
            // Unpartitioned, every row is in the one folder `""`.
            let chunks = Chunks::new(parts.first().map(|(_, chunks)| chunks));
            self.format.write_file(&staging.dir().join(&name), header.as_deref(), chunks)?;
            staging.commit_file(&name)?;
            return Ok(Written { files: vec![self.path.clone()], rows });
        }
        let mut staged = Vec::with_capacity(parts.len());
        let mut files = Vec::with_capacity(parts.len());
        for (folder, chunks) in &parts {
            let dir = staging.dir().join(folder);
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(&dir, e).context(format!("cannot create partition folder `{folder}`")))?;
            staged.push((dir.join(part_file(self.format.extension())), Chunks::new(Some(chunks))));
            files.push(self.path.join(folder).join(part_file(self.format.extension())));
        }
        self.format.write_partitions(header.as_deref(), &staged)?;
        for (file, _) in &staged {
            sync_file(file)?;
        }
        staging.commit_dir()?;
        Ok(Written { files, rows })
    }
}

impl<F: Format, K: Layout> Action for Output<F, K> {
    type Partial = SinkPartial<F>;
    type Output = Written;

    fn identity(&self) -> SinkPartial<F> {
        SinkPartial::new(self.spiller.clone())
    }

    fn merge(&self, into: &mut SinkPartial<F>, other: SinkPartial<F>) {
        into.merge(other);
    }

    fn end_split(&self, acc: &mut SinkPartial<F>, split: &Split) {
        acc.end_block(&self.format, split, 0);
    }

    fn folding(&self) -> Folding {
        Folding::Blocks
    }

    fn end_block(&self, acc: &mut SinkPartial<F>, split: &Split, block: u32) {
        acc.end_block(&self.format, split, block);
    }

    fn rebase(&self, partial: &mut SinkPartial<F>, from: u64, to: u64) {
        partial.rebase(from, to);
    }

    fn finish(&self, partial: SinkPartial<F>) -> Result<Written> {
        let encoded = partial.into_encoded()?;
        // A shard's rows are part of the output: its merge step writes them.
        if !shoal::plumbing::writes_outputs() {
            return Ok(self.unwritten(&encoded));
        }
        self.commit(encoded).map_err(|e| e.context(format!("output {}", self.path.display())))
    }
}

impl<T: Serialize, F: Format, K: Partitioner<T> + Layout> Absorb<T> for Output<F, K> {
    #[inline]
    fn absorb(&self, acc: &mut SinkPartial<F>, row: T) -> Result<()> {
        acc.absorb(&self.format, self.partition.folder(&row), &row)
    }
}
