//! Shard mode (`--shard I/N --shard-dir DIR`) and its merge step
//! (`--merge DIR`), for launchers that do not start all ranks at once
//! (Slurm job arrays, Kubernetes Indexed Jobs, a loop of plain commands).
//!
//! This module owns the shard's identity ([`ShardId`], found on the command
//! line or in the launcher's environment by [`discover`]), the share of an
//! action's plan a shard runs ([`share`]), the shard file's format, its
//! writing ([`ShardRun`]) and, on the merge side, its loading and checks
//! ([`MergeRun`]). `plumbing/shard.rs` runs actions with them.
//!
//! # How a run goes
//! Every shard runs the whole program. At each action it plans as a full
//! run would (the split size is fixed, 8 MiB by default, so every shard
//! plans alike whatever its threads or machine), runs its contiguous share
//! of the splits, and keeps the action's partial and report. It prints
//! nothing and writes no output (`Job::is_leader` is false, sinks see
//! [`writes_outputs`] false); when its program succeeds it writes one file,
//! `DIR/shard-<I>-of-<N>.shoal`. A failed shard writes nothing; running it
//! again overwrites its file. The merge step, the same program with the
//! same arguments and `--merge DIR`, reads no input: at each action it
//! merges the shards' partials in shard order and finishes the action, so
//! it prints and writes exactly what one process would.
//!
//! # Invariants
//! * Shard `i` of `n` runs splits `share(costs, i/n)`: contiguous, in plan
//!   order, and every split is in exactly one shard's share. Its partials
//!   merge in split order, with input positions moved back to the plan's
//!   split indices ([`Action::rebase`](crate::plumbing::Action::rebase)),
//!   so ordered results come out in input order.
//! * A shard file names its run's fingerprint (binary and arguments, the
//!   shard flags and other neutral flags left out), its index and count,
//!   and per action the pipeline's types and a digest of the plan (paths,
//!   sizes, modification times, split ranges). The merge step refuses a
//!   missing, duplicated, corrupt or mismatched shard rather than merge it.
//!
//! # Limits
//! * A shard's later actions see its *shard-local* result of earlier ones
//!   (an action still returns, so the program goes on). A program whose
//!   later pipeline depends on an earlier action's result (a filter by a
//!   total, a branch on a count) is exact with worker processes or cluster
//!   ranks, not in shard mode; when the shards' plans or actions differ
//!   because of it, the merge step refuses them.
//! * Effects ([`for_each`](crate::Pipeline::for_each)) happen in the shards,
//!   once per record over all of them; the merge step only merges their
//!   (empty) partials.
//! * Standard input (`-`) is refused: each shard would read its own.
//! * Counters a program counts outside actions are the merge step's own.

use crate::error::{Error, ErrorKind, Result};
use crate::plan::{Plan, Unit};
use crate::report::Report;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// One shard of a sharded run: index `index` (from 0) of `count`.
///
/// Parsed from `I/N` (`--shard 2/8`, `SHOAL_SHARD=2/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardId {
    /// This shard's index, from 0.
    pub index: u32,
    /// How many shards the run has.
    pub count: u32,
}

impl ShardId {
    /// Shard `index` of `count`.
    ///
    /// # Errors
    /// A count of 0, or an index not below the count.
    pub fn new(index: u64, count: u64) -> std::result::Result<ShardId, String> {
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!("shard index {index} is out of range for {count} shards (0 to {})", count - 1));
        }
        let fit = |n: u64| u32::try_from(n).map_err(|_| format!("{n} shards are too many"));
        Ok(ShardId { index: fit(index)?, count: fit(count)? })
    }

    /// The file the shard writes in its directory.
    pub(crate) fn file_name(self) -> String {
        format!("shard-{}-of-{}.shoal", self.index, self.count)
    }

    /// The `(index, count)` a [`file_name`](ShardId::file_name) names.
    fn of_file_name(name: &str) -> Option<(u32, u32)> {
        let (index, count) = name.strip_prefix("shard-")?.strip_suffix(".shoal")?.split_once("-of-")?;
        Some((index.parse().ok()?, count.parse().ok()?))
    }
}

impl std::fmt::Display for ShardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for ShardId {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<ShardId, String> {
        let bad = || format!("`{text}` is not a shard like 0/4 (index from 0, then the count)");
        let (index, count) = text.trim().split_once('/').ok_or_else(bad)?;
        let index: u64 = index.trim().parse().map_err(|_| bad())?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        ShardId::new(index, count)
    }
}

/// Where a shard's identity was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// `--shard I/N`.
    Flag,
    /// `SHOAL_SHARD=I/N`.
    ShoalEnv,
    /// A Slurm job array (`SLURM_ARRAY_TASK_ID`, `_MIN`, `_STEP`, `_COUNT`).
    Slurm,
    /// A Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`, `SHOAL_SHARD_COUNT`).
    Kubernetes,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Origin::Flag => "--shard",
            Origin::ShoalEnv => "SHOAL_SHARD",
            Origin::Slurm => "the Slurm job array",
            Origin::Kubernetes => "the Kubernetes Indexed Job",
        })
    }
}

/// Finds this shard's identity: `flag` (`--shard`) when given, else, in
/// this order, `SHOAL_SHARD`, a Slurm job array (index
/// `(SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP`,
/// count `SLURM_ARRAY_TASK_COUNT`; or, with `SHOAL_SHARD_COUNT` set, index
/// `SLURM_ARRAY_TASK_ID` of that count, so that `sbatch --array=2` reruns
/// shard 2 alone) or a Kubernetes Indexed Job (index
/// `JOB_COMPLETION_INDEX`, count `SHOAL_SHARD_COUNT`, which the manifest
/// sets to the Job's `completions`). `env` reads a variable.
///
/// # Errors
/// [`ErrorKind::Config`] (a usage error) when no identity is found, or
/// when the one found is malformed or out of range.
pub(crate) fn discover(flag: Option<ShardId>, env: &dyn Fn(&str) -> Option<String>) -> Result<(ShardId, Origin)> {
    let usage = |msg: String| Error::new(ErrorKind::Config, msg);
    if let Some(id) = flag {
        return Ok((id, Origin::Flag));
    }
    if let Some(text) = env("SHOAL_SHARD") {
        let id = text.parse().map_err(|e| usage(format!("SHOAL_SHARD: {e}")))?;
        return Ok((id, Origin::ShoalEnv));
    }
    let number = |name: &str| -> Result<Option<u64>> {
        match env(name) {
            None => Ok(None),
            Some(text) => {
                text.trim().parse().map(Some).map_err(|_| usage(format!("{name}={text} is not a whole number")))
            }
        }
    };
    if let Some(task) = number("SLURM_ARRAY_TASK_ID")? {
        if let Some(count) = number("SHOAL_SHARD_COUNT")? {
            let id = ShardId::new(task, count)
                .map_err(|e| usage(format!("the Slurm job array with SHOAL_SHARD_COUNT={count}: {e}")))?;
            return Ok((id, Origin::Slurm));
        }
        let count = number("SLURM_ARRAY_TASK_COUNT")?
            .ok_or_else(|| usage("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not".into()))?;
        let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let offset = task.checked_sub(min).filter(|o| o % step == 0).ok_or_else(|| {
            usage(format!(
                "SLURM_ARRAY_TASK_ID={task} is not on the array's range (from SLURM_ARRAY_TASK_MIN={min} by {step}): \
                 shards need an array without gaps, like --array=0-{}",
                count.saturating_sub(1)
            ))
        })?;
        let id = ShardId::new(offset / step, count).map_err(|e| usage(format!("the Slurm job array: {e}")))?;
        return Ok((id, Origin::Slurm));
    }
    if let Some(index) = number("JOB_COMPLETION_INDEX")? {
        let count = number("SHOAL_SHARD_COUNT")?.ok_or_else(|| {
            usage("JOB_COMPLETION_INDEX is set but SHOAL_SHARD_COUNT is not: set it to the Job's completions".into())
        })?;
        let id = ShardId::new(index, count).map_err(|e| usage(format!("the Kubernetes Indexed Job: {e}")))?;
        return Ok((id, Origin::Kubernetes));
    }
    Err(usage(
        "--shard-dir needs this shard's index: give --shard I/N, or set SHOAL_SHARD=I/N \
         (Slurm job arrays and Kubernetes Indexed Jobs set theirs)"
            .into(),
    ))
}

/// Refuses to run shard `id` into `dir` when it holds shard files of
/// another shard count: most likely one shard of that run started again
/// with another count (a Slurm array resubmitted as `--array=2` is an
/// array of one task, so shard 0 of 1), which the merge step would refuse
/// only after the work.
///
/// # Errors
/// [`ErrorKind::Config`] naming a file of the other count and what to give.
pub(crate) fn check_dir(id: ShardId, origin: Origin, dir: &Path) -> Result<()> {
    let Ok(listing) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in listing.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((_, count)) = ShardId::of_file_name(&name) else { continue };
        if count != id.count {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "this is shard {id} (from {origin}), but the shard directory holds shards of {count}, like \
                     {name}: to rerun one shard of those, give --shard I/{count} (or set SHOAL_SHARD_COUNT={count}, \
                     with which a Slurm array task's id is its shard index); to start over, empty the directory"
                ),
            )
            .with_path(dir));
        }
    }
    Ok(())
}

/// The splits (indices into `costs`, in plan order) shard `id` runs:
/// split `j` goes to shard `floor(mid_j * n / total)`, where `mid_j` is
/// the cost before the middle of split `j` (a split costs one at least).
/// The shard of a split never decreases along the plan, so each share is
/// contiguous, and every split is in exactly one share; a share may be
/// empty (more shards than splits).
pub(crate) fn share(costs: impl IntoIterator<Item = u64>, id: ShardId) -> Range<usize> {
    let weights: Vec<u128> = costs.into_iter().map(|c| u128::from(c.max(1))).collect();
    let total: u128 = weights.iter().sum();
    let (n, mut before) = (u128::from(id.count), 0u128);
    let (mut start, mut end) = (None, 0);
    for (j, w) in weights.iter().enumerate() {
        // Twice the cost before the split's middle, against twice the total.
        let shard = (2 * before + w) * n / (2 * total);
        before += w;
        if shard == u128::from(id.index) {
            start.get_or_insert(j);
            end = j + 1;
        } else if shard > u128::from(id.index) {
            break;
        }
    }
    match start {
        Some(start) => start..end,
        // An empty share sits where it would start, so shares stay in order.
        None => {
            let at = weights.iter().scan(0u128, |b, w| {
                let shard = (2 * *b + w) * n / (2 * total);
                *b += w;
                Some(shard)
            });
            let at = at.take_while(|s| *s < u128::from(id.index)).count();
            at..at
        }
    }
}

/// What a shard's plan of an action was, to tell that every shard planned
/// it alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlanDigest {
    /// A hash of the plan: its unit, every file's path, size and
    /// modification time, every split's byte (or item) ranges.
    pub(crate) digest: u64,
    /// Input files, splits and bytes (or items) of the whole plan.
    pub(crate) files: u64,
    /// See `files`.
    pub(crate) splits: u64,
    /// See `files`.
    pub(crate) total: u64,
}

impl PlanDigest {
    /// The digest of `plan`, reading each file's modification time now.
    ///
    /// # Errors
    /// An input that cannot be inspected.
    pub(crate) fn of(plan: &Plan) -> Result<PlanDigest> {
        use crate::exec::process::protocol::{FNV_START, fnv1a};
        let mut h = fnv1a(&[u8::from(plan.unit == Unit::Bytes)], FNV_START);
        for file in &plan.files {
            let id = crate::run::state::Identity::of(file.read_path(), false)?;
            h = fnv1a(file.path.as_os_str().as_encoded_bytes(), h);
            h = fnv1a(&[0], h);
            h = fnv1a(&id.size.to_le_bytes(), h);
            h = fnv1a(&id.mtime_ns.to_le_bytes(), h);
        }
        for split in &plan.splits {
            for part in &split.parts {
                for n in [part.file as u64, part.start, part.end] {
                    h = fnv1a(&n.to_le_bytes(), h);
                }
            }
            h = fnv1a(&[0xff], h);
        }
        Ok(PlanDigest {
            digest: h,
            files: plan.files.len() as u64,
            splits: plan.splits.len() as u64,
            total: plan.total(),
        })
    }
}

/// One action of a shard, as its file keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ActionEntry {
    /// The action's number in the program.
    pub(crate) number: u64,
    /// The types of its pipeline and action.
    pub(crate) pipeline: u64,
    /// The whole plan, as this shard made it.
    pub(crate) plan: PlanDigest,
    /// The splits this shard ran: `first..end` of the plan's.
    pub(crate) first: u64,
    /// See `first`.
    pub(crate) end: u64,
    /// The shard's partial, encoded as a worker's is (postcard).
    pub(crate) partial: Vec<u8>,
    /// The reports of its splits (counters, rejected and quarantined
    /// records, split attempts), without what the program counted outside
    /// actions.
    pub(crate) report: Report,
}

/// A shard file's payload.
#[derive(Debug, Serialize, Deserialize)]
struct ShardFile {
    version: u32,
    made: Made,
    id: ShardId,
    actions: Vec<ActionEntry>,
}

/// How a run was made: its fingerprint (binary, arguments, settings), and
/// the arguments and settings it counted, to say what differs when a merge
/// step's fingerprint is not a shard's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Made {
    pub(crate) fingerprint: u64,
    pub(crate) args: Vec<String>,
    pub(crate) settings: String,
}

impl Made {
    /// What in `self` (a shard's) differs from `ours` (the merge step's).
    fn difference(&self, ours: &Made) -> String {
        let show = |a: Option<&String>| a.map_or_else(|| "nothing".to_string(), |a| format!("`{a}`"));
        let n = self.args.len().max(ours.args.len());
        if let Some(i) = (0..n).find(|&i| self.args.get(i) != ours.args.get(i)) {
            return format!(
                "its argument {} (not counting --threads, --shard and the other flags that do not change \
                 results) is {} where this merge step's is {}",
                i + 1,
                show(self.args.get(i)),
                show(ours.args.get(i))
            );
        }
        if self.settings != ours.settings {
            return format!("its settings were `{}`, this merge step's are `{}`", self.settings, ours.settings);
        }
        "it was made by another build of the program".into()
    }
}

/// The format version of shard files.
const VERSION: u32 = 2;
/// The framing of shard files.
const FRAMING: super::framed::Framing = super::framed::Framing { magic: b"SHOALSH1", noun: "shard file", mode: 0o644 };
/// How shard files' names end.
const EXTENSION: &str = "shoal";

/// Whether this process runs a shard (set once, by `shoal::main`).
static SHARD_PROCESS: AtomicBool = AtomicBool::new(false);

/// Whether the results of this process's actions are final, so that sinks
/// write their files: `false` in a shard run (`--shard-dir`), whose
/// results are partial — the merge step (`--merge`) writes them. A sink's
/// [`Action::finish`](crate::plumbing::Action::finish) checks this and, when
/// it is `false`, returns what it would have written without writing it.
pub fn writes_outputs() -> bool {
    !SHARD_PROCESS.load(Ordering::Relaxed)
}

/// What a shard or merge run does, as `shoal::main` found it in the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Spec {
    /// Run shard `id` and keep its results in `dir`.
    Shard { id: ShardId, origin: Origin, dir: PathBuf },
    /// Merge the shard files of `dir`.
    Merge { dir: PathBuf },
}

/// The sharded part a run plays: held by the job.
#[derive(Debug)]
pub(crate) enum Sharding {
    /// A shard: runs its share of each action.
    Shard(ShardRun),
    /// The merge step: merges the shards' partials.
    Merge(MergeRun),
}

impl Sharding {
    /// The run `spec` describes, for the run `made` so.
    pub(crate) fn new(spec: Spec, made: Made) -> Sharding {
        match spec {
            Spec::Shard { id, origin, dir } => {
                SHARD_PROCESS.store(true, Ordering::Relaxed);
                Sharding::Shard(ShardRun { id, origin, dir, made, kept: Mutex::default() })
            }
            Spec::Merge { dir } => Sharding::Merge(MergeRun { dir, made, loaded: Mutex::default() }),
        }
    }
}

/// A shard's run: what it keeps of each action until its program ends.
#[derive(Debug)]
pub(crate) struct ShardRun {
    id: ShardId,
    origin: Origin,
    dir: PathBuf,
    made: Made,
    kept: Mutex<Vec<ActionEntry>>,
}

impl ShardRun {
    /// This shard.
    pub(crate) fn id(&self) -> ShardId {
        self.id
    }

    /// Where its identity came from, for `--explain`.
    pub(crate) fn origin(&self) -> Origin {
        self.origin
    }

    /// Keeps an action's entry for the shard file.
    pub(crate) fn keep(&self, entry: ActionEntry) {
        self.kept.lock().unwrap_or_else(|p| p.into_inner()).push(entry);
    }

    /// Writes the shard file (creating the directory), replacing one an
    /// earlier run of this shard left. Called once the program succeeded.
    ///
    /// # Errors
    /// The directory cannot be created or the file written.
    pub(crate) fn write(self) -> Result<PathBuf> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| Error::io(&self.dir, e).context("cannot create the shard directory"))?;
        let actions = self.kept.into_inner().unwrap_or_else(|p| p.into_inner());
        let file = ShardFile { version: VERSION, made: self.made, id: self.id, actions };
        let bytes = postcard::to_stdvec(&file)
            .map_err(|e| Error::new(ErrorKind::Io, "cannot encode the shard file").with_source(e))?;
        let path = self.dir.join(self.id.file_name());
        FRAMING.write(&path, &bytes)?;
        Ok(path)
    }
}

/// The merge step: the shard files of its directory, loaded at its first
/// action.
#[derive(Debug)]
pub(crate) struct MergeRun {
    dir: PathBuf,
    made: Made,
    loaded: Mutex<Option<Loaded>>,
}

/// The shards of a merge, checked: one per index, in index order.
#[derive(Debug)]
struct Loaded {
    count: u32,
    /// Each shard's file and its actions not merged yet (by number).
    shards: Vec<(PathBuf, Vec<Option<ActionEntry>>)>,
}

impl MergeRun {
    /// Each shard's entry for action `number` (of the pipeline
    /// `pipeline`), in shard order, loading and checking the shard files at
    /// the first call (`explain`: and saying which were loaded).
    ///
    /// # Errors
    /// A missing, duplicated, corrupt or mismatched shard file; shards that
    /// did not run this action, or ran another pipeline there.
    pub(crate) fn take_action(&self, number: u64, pipeline: u64, explain: bool) -> Result<Vec<(PathBuf, ActionEntry)>> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if loaded.is_none() {
            let found = load(&self.dir, &self.made)?;
            if explain {
                let mut text = format!("merge: {} shards from {}\n", found.count, self.dir.display());
                for (path, actions) in &found.shards {
                    text.push_str(&format!("  shard file {} ({} actions)\n", path.display(), actions.len()));
                }
                crate::diag::print(format_args!("{text}"));
            }
            *loaded = Some(found);
        }
        let Some(loaded) = loaded.as_mut() else {
            return Err(Error::new(ErrorKind::Config, "the shards are not loaded"));
        };
        let count = loaded.count;
        let mut out = Vec::with_capacity(loaded.shards.len());
        for (index, (path, actions)) in loaded.shards.iter_mut().enumerate() {
            let slot = usize::try_from(number).ok().and_then(|n| actions.get_mut(n));
            let entry = slot.and_then(Option::take).ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "shard {index} of {count} has no action {number}: this merge step runs more actions than the \
                         shards did (is it the same program with the same arguments?)"
                    ),
                )
                .with_path(&*path)
            })?;
            if entry.pipeline != pipeline {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "action {number} of shard {index} of {count} is another pipeline than this merge step's \
                         (is it the same program with the same arguments?)"
                    ),
                )
                .with_path(&*path));
            }
            out.push((path.clone(), entry));
        }
        Ok(out)
    }

    /// Checks, once the program succeeded, that it merged every action the
    /// shards ran.
    ///
    /// # Errors
    /// The shards ran actions this merge step did not.
    pub(crate) fn finish(self) -> Result<()> {
        let loaded = self.loaded.into_inner().unwrap_or_else(|p| p.into_inner());
        let Some(loaded) = loaded else { return Ok(()) };
        for (path, actions) in &loaded.shards {
            if let Some(left) = actions.iter().position(Option::is_some) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "the shards ran {} actions, this merge step only {left}: their results were not all merged \
                         (is it the same program with the same arguments?)",
                        actions.len()
                    ),
                )
                .with_path(path));
            }
        }
        Ok(())
    }
}

/// Reads and checks every shard file in `dir` for a merge step `made` so:
/// each readable and whole, of this format, made by this
/// program with these arguments, all of one count, every index present
/// exactly once, and every action planned alike by every shard.
fn load(dir: &Path, made: &Made) -> Result<Loaded> {
    let refuse = |msg: String| Error::new(ErrorKind::InvalidInput, msg);
    let listing = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e).context("cannot read the shard directory"))?;
    let mut paths: Vec<PathBuf> = listing
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == EXTENSION))
        .filter(|p| p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(refuse(format!(
            "no shard files (shard-I-of-N.shoal) in {}: run the shards first, with --shard-dir {}",
            dir.display(),
            dir.display()
        )));
    }
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let corrupt = |e: Error| e.context("run its shard again");
        let bytes = FRAMING.read(&path).map_err(corrupt)?.ok_or_else(|| {
            Error::new(ErrorKind::InvalidInput, "the shard file disappeared while it was read").with_path(&path)
        })?;
        let file: ShardFile = postcard::from_bytes(&bytes)
            .ok()
            .filter(|f: &ShardFile| f.version == VERSION)
            .ok_or_else(|| refuse("the shard file is of another version of shoal: run its shard again".into()))
            .map_err(|e| e.with_path(&path))?;
        if file.made.fingerprint != made.fingerprint {
            return Err(refuse(format!(
                "shard {} was made by a different program or arguments than this merge step ({}): give the merge \
                 step the shards' arguments, or run the shard again with the merge step's and --shard {}",
                file.id.index,
                file.made.difference(made),
                file.id
            ))
            .with_path(&path));
        }
        files.push((path, file));
    }
    let count = files[0].1.id.count;
    if let Some((path, other)) = files.iter().find(|(_, f)| f.id.count != count) {
        return Err(refuse(format!(
            "the shard files are of different runs: {} is one of {count} shards, {} one of {}",
            files[0].0.display(),
            path.display(),
            other.id.count
        )));
    }
    let mut slots: Vec<Option<(PathBuf, ShardFile)>> = (0..count).map(|_| None).collect();
    for (path, file) in files {
        let index = file.id.index as usize;
        if let Some((first, _)) = &slots[index] {
            return Err(refuse(format!(
                "two files claim shard {} of {count}: {} and {} (a copy?): remove the one that is not the shard's own",
                file.id.index,
                first.display(),
                path.display()
            )));
        }
        slots[index] = Some((path, file));
    }
    let mut shards = Vec::with_capacity(slots.len());
    for (index, slot) in slots.into_iter().enumerate() {
        let Some(found) = slot else {
            return Err(refuse(format!(
                "shard {index} of {count} is missing from {}: run it again with --shard {index}/{count}",
                dir.display()
            )));
        };
        shards.push(found);
    }
    // Every shard planned every action alike, and ran the same actions.
    let (first_path, first) = &shards[0];
    for (path, file) in &shards[1..] {
        if file.actions.len() != first.actions.len() {
            return Err(refuse(format!(
                "shard {} ran {} actions, shard 0 ran {}: did the program branch on an earlier action's result? \
                 (in shard mode, later actions see only their shard's results)",
                file.id.index,
                file.actions.len(),
                first.actions.len()
            ))
            .with_path(path));
        }
        for (a, b) in first.actions.iter().zip(&file.actions) {
            if a.pipeline != b.pipeline || a.plan != b.plan {
                return Err(refuse(format!(
                    "shard {} planned action {} differently from shard 0 ({}): other input files, files that \
                     changed between the shards' runs, or a pipeline that depends on an earlier action's result; \
                     run every shard again on the same input",
                    file.id.index,
                    b.number,
                    first_path.display()
                ))
                .with_path(path));
            }
        }
    }
    let shards = shards
        .into_iter()
        .map(|(path, file)| {
            let mut actions: Vec<Option<ActionEntry>> = Vec::new();
            for entry in file.actions {
                let at = entry.number as usize;
                if actions.len() <= at {
                    actions.resize_with(at + 1, || None);
                }
                actions[at] = Some(entry);
            }
            (path, actions)
        })
        .collect();
    Ok(Loaded { count, shards })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn id(text: &str) -> ShardId {
        text.parse().unwrap()
    }

    #[test]
    fn shard_ids_parse_and_refuse_bad_ones() {
        assert_eq!(id("2/3"), ShardId { index: 2, count: 3 });
        assert_eq!(id(" 0 / 1 "), ShardId { index: 0, count: 1 });
        assert!("3/3".parse::<ShardId>().unwrap_err().contains("out of range for 3 shards (0 to 2)"));
        assert!("0/0".parse::<ShardId>().unwrap_err().contains("at least 1"));
        assert!("1".parse::<ShardId>().unwrap_err().contains("is not a shard like 0/4"));
        assert!("-1/3".parse::<ShardId>().is_err());
        assert_eq!(id("1/4").file_name(), "shard-1-of-4.shoal");
        assert_eq!(ShardId::of_file_name("shard-1-of-4.shoal"), Some((1, 4)));
        assert_eq!(ShardId::of_file_name(".shard-1-of-4.shoal.tmp"), None);
    }

    #[test]
    fn every_split_is_in_exactly_one_contiguous_share_balanced_by_cost() {
        let cases: Vec<Vec<u64>> = vec![
            vec![],
            vec![5],
            vec![1; 10],
            vec![100, 1, 1, 1, 1, 100, 0, 0, 50],
            (0..37).map(|i| (i * 7919) % 1000).collect(),
            vec![u64::MAX / 2, 3, u64::MAX / 2],
        ];
        for costs in cases {
            for n in 1..=7u32 {
                let mut next = 0;
                for i in 0..n {
                    let range = share(costs.iter().copied(), ShardId { index: i, count: n });
                    assert_eq!(range.start, next, "{costs:?} {i}/{n}: shares follow each other");
                    next = range.end;
                }
                assert_eq!(next, costs.len(), "{costs:?} /{n}: every split is in a share");
            }
        }
        let even = share(vec![1; 9], id("1/3"));
        assert_eq!(even, 3..6);
        let big_first = share(vec![90, 5, 5], id("1/2"));
        assert_eq!(big_first, 1..3, "the costly split alone in shard 0");
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn the_shard_is_found_in_the_flag_then_the_launchers_environment() {
        let slurm =
            env(&[("SLURM_ARRAY_TASK_ID", "12"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert_eq!(discover(None, &slurm).unwrap(), (id("2/4"), Origin::Slurm));
        assert_eq!(discover(Some(id("0/2")), &slurm).unwrap(), (id("0/2"), Origin::Flag), "the flag wins");
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(discover(None, &stepped).unwrap().0, id("3/4"));
        let rerun = env(&[
            ("SLURM_ARRAY_TASK_ID", "2"),
            ("SLURM_ARRAY_TASK_MIN", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
            ("SHOAL_SHARD_COUNT", "3"),
        ]);
        assert_eq!(discover(None, &rerun).unwrap(), (id("2/3"), Origin::Slurm), "the task id is the index");
        let past = env(&[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert!(discover(None, &past).unwrap_err().to_string().contains("out of range for 4 shards"));
        let k8s = env(&[("JOB_COMPLETION_INDEX", "1"), ("SHOAL_SHARD_COUNT", "3")]);
        assert_eq!(discover(None, &k8s).unwrap(), (id("1/3"), Origin::Kubernetes));
        let half = env(&[("JOB_COMPLETION_INDEX", "1")]);
        assert!(discover(None, &half).unwrap_err().to_string().contains("SHOAL_SHARD_COUNT is not"));
        let shoal = env(&[("SHOAL_SHARD", "1/2"), ("JOB_COMPLETION_INDEX", "0"), ("SHOAL_SHARD_COUNT", "3")]);
        assert_eq!(discover(None, &shoal).unwrap(), (id("1/2"), Origin::ShoalEnv));
        let bad = env(&[("SHOAL_SHARD", "5/2")]);
        assert!(discover(None, &bad).unwrap_err().to_string().starts_with("SHOAL_SHARD: shard index 5"));
        let err = discover(None, &env(&[])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("--shard-dir needs this shard's index"), "{err}");
    }

    fn entry(number: u64, digest: u64) -> ActionEntry {
        let plan = PlanDigest { digest, files: 1, splits: 3, total: 30 };
        ActionEntry { number, pipeline: 9, plan, first: 0, end: 1, partial: vec![1, 2], report: Report::default() }
    }

    fn made(fingerprint: u64) -> Made {
        Made { fingerprint, ..Made::default() }
    }

    fn write_shard(dir: &Path, shard: &str, fingerprint: u64, digest: u64) -> PathBuf {
        let run = ShardRun {
            id: id(shard),
            origin: Origin::Flag,
            dir: dir.to_path_buf(),
            made: made(fingerprint),
            kept: Mutex::new(vec![entry(0, digest)]),
        };
        run.write().unwrap()
    }

    fn merge(dir: &Path, fingerprint: u64) -> MergeRun {
        MergeRun { dir: dir.to_path_buf(), made: made(fingerprint), loaded: Mutex::default() }
    }

    #[test]
    fn the_merge_refuses_missing_duplicated_mismatched_and_corrupt_shards() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("shards");
        let err = |m: &MergeRun| m.take_action(0, 9, false).unwrap_err().to_string();
        assert!(err(&merge(&dir, 7)).contains("cannot read the shard directory"));
        write_shard(&dir, "0/3", 7, 1);
        let two = write_shard(&dir, "2/3", 7, 1);
        assert!(err(&merge(&dir, 7)).contains("shard 1 of 3 is missing"), "{}", err(&merge(&dir, 7)));
        write_shard(&dir, "1/3", 7, 1);
        let ok = merge(&dir, 7);
        let entries = ok.take_action(0, 9, false).unwrap();
        assert_eq!(entries.len(), 3);
        assert!(ok.take_action(1, 9, false).unwrap_err().to_string().contains("has no action 1"));
        assert!(merge(&dir, 7).take_action(0, 10, false).unwrap_err().to_string().contains("another pipeline"));
        assert!(err(&merge(&dir, 8)).contains("was made by a different program or arguments"));

        std::fs::copy(&two, dir.join("copy.shoal")).unwrap();
        assert!(err(&merge(&dir, 7)).contains("two files claim shard 2 of 3"), "{}", err(&merge(&dir, 7)));
        std::fs::remove_file(dir.join("copy.shoal")).unwrap();
        write_shard(&dir, "2/3", 7, 2);
        assert!(err(&merge(&dir, 7)).contains("shard 2 planned action 0 differently"));
        write_shard(&dir, "2/3", 7, 1);
        let mut bytes = std::fs::read(&two).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x10;
        std::fs::write(&two, &bytes).unwrap();
        assert!(err(&merge(&dir, 7)).contains("corrupt (checksum)"));
        write_shard(&dir, "2/3", 7, 1);
        write_shard(&dir, "2/4", 7, 1);
        assert!(err(&merge(&dir, 7)).contains("are of different runs"));
    }

    #[test]
    fn a_merge_that_stops_early_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        write_shard(tmp.path(), "0/1", 7, 1);
        let whole = merge(tmp.path(), 7);
        whole.take_action(0, 9, false).unwrap();
        assert!(whole.finish().is_ok());
        let two = ShardRun {
            id: id("0/1"),
            origin: Origin::Flag,
            dir: tmp.path().to_path_buf(),
            made: made(7),
            kept: Mutex::new(vec![entry(0, 1), entry(1, 1)]),
        };
        two.write().unwrap();
        let early = merge(tmp.path(), 7);
        early.take_action(0, 9, false).unwrap();
        assert!(early.finish().unwrap_err().to_string().contains("the shards ran 2 actions, this merge step only 1"));
    }
}
