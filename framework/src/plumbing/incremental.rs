//! Incremental runs (`--state`): an action over files whose partials a
//! previous run kept reads only the new and changed files.
//!
//! One record's way through a rerun: its file is new, so the file's splits
//! run (each into a fresh partial, on threads or workers as usual); the
//! split partials fold in split order into the file's partial, which is
//! kept in the state with the file's identity; then every file's partial —
//! kept or just made — folds into the result in file order, and the action
//! finishes as in a full run.
//!
//! # Invariants
//! * Merges happen in a canonical order, never completion order: splits by
//!   position within their file, files by their place in the plan. A full
//!   run with `--state` and any rerun add the same numbers in the same
//!   order, so even floating-point results are equal bit for bit.
//! * A split reads one file only (grouped small files are split apart), so
//!   every partial belongs to one file.
//! * Input positions (split tags of ordered actions) are kept from 0 per
//!   file and moved to `file index << 32` when merged ([`Action::rebase`]),
//!   so order follows the current plan whatever files came and went.
//! * A file is kept only when all its splits ran and it did not change
//!   while it was read.

use super::{Absorb, Action, Source};
use crate::attempt::Outcome;
use crate::error::{Error, ErrorKind, Result};
use crate::exec::process::protocol;
use crate::merge::Merge;
use crate::plan::{Plan, Split, Unit};
use crate::report::Report;

/// Per-split partials of a sub-plan, with each split's report, in any order.
pub(crate) type SplitPartials<P> = Vec<(usize, P, Report)>;

/// Whether action `A` over `plan` runs incrementally in `job`.
pub(crate) fn applies<A: Action>(job: &crate::Job, plan: &Plan, action: &A) -> bool {
    plan.unit == Unit::Bytes
        && action.keeps_state()
        && !plan.files.iter().any(|f| f.spool.is_some() || f.kind == crate::plan::FileKind::Stdin)
        && !plan.files.is_empty()
        && job.has_state()
}

/// The plan of the files to run: their splits, one file each, renumbered;
/// for each new split its file and position within the file; and how many
/// splits each file has.
fn sub_plan(plan: &Plan, run: &[bool]) -> (Plan, Vec<(usize, u64)>, Vec<u64>) {
    let mut splits = Vec::new();
    let mut place = Vec::new();
    let mut seen = vec![0u64; plan.files.len()];
    for split in &plan.splits {
        for part in &split.parts {
            if !run.get(part.file).copied().unwrap_or(false) {
                continue;
            }
            place.push((part.file, seen[part.file]));
            seen[part.file] += 1;
            let cost = if split.parts.len() == 1 { split.cost } else { part.end - part.start };
            splits.push(Split { index: splits.len(), parts: vec![*part], cost });
        }
    }
    (Plan { splits, ..plan.clone() }, place, seen)
}

/// Runs `action` over `plan` incrementally. `run_splits` runs a sub-plan
/// into one partial per split (threads or worker processes).
///
/// # Errors
/// The action's errors; an input that changed while it was read.
pub(crate) fn run<S, A>(
    number: u64,
    source: &S,
    action: &A,
    plan: &Plan,
    report: &mut Report,
    run_splits: impl FnOnce(&Plan) -> Result<SplitPartials<A::Partial>>,
) -> Result<A::Partial>
where
    S: Source,
    A: for<'a> Absorb<S::Item<'a>>,
{
    let job = source.job();
    let pipeline = protocol::pipeline_fingerprint::<S, A>();
    let paths: Vec<_> = plan.files.iter().map(|f| f.path.clone()).collect();
    let found = job.with_state(|state| state.lookup(number, pipeline, &paths));
    let (found, mut reuse) = found.ok_or_else(|| Error::new(ErrorKind::Config, "no state"))??;
    // Kept partials decode now: one that does not (another partial format)
    // is read again, like a corrupt one, never an error of every rerun.
    let mut kept: Vec<Option<(A::Partial, Report)>> = Vec::with_capacity(found.len());
    let mut identities = Vec::with_capacity(found.len());
    for (identity, stored) in found {
        let decoded = stored.and_then(|bytes| match decode::<A>(&bytes) {
            Ok(d) => Some(d),
            Err(e) => {
                crate::diag::diag!(
                    "shoal: the kept result of {} does not decode ({e}): reading the file again",
                    identity.path.display()
                );
                reuse.reused.retain(|p| *p != identity.path);
                reuse.changed.push(identity.path.clone());
                None
            }
        });
        kept.push(decoded);
        identities.push(identity);
    }
    crate::report::count_into(report, "shoal.files_reused", reuse.reused.len() as u64);
    let run: Vec<bool> = kept.iter().map(Option::is_none).collect();
    // Kept files count as read for the progress shown.
    let kept_bytes: u64 = plan
        .splits
        .iter()
        .flat_map(|s| &s.parts)
        .filter(|p| !run.get(p.file).copied().unwrap_or(true))
        .map(|p| p.end - p.start)
        .sum();
    crate::run::progress::split_done(kept_bytes, 0);
    let (sub, place, expected) = sub_plan(plan, &run);
    if job.config().explain() {
        let bytes: u64 = sub.splits.iter().flat_map(|s| &s.parts).map(|p| p.end - p.start).sum();
        crate::diag::print(format_args!(
            "  state: action {number}: {reuse}\n  state: action {number}: {} splits to run ({bytes} bytes)\n",
            sub.splits.len()
        ));
    }

    // Each file's splits, folded in split order into the file's partial.
    let mut results = if sub.splits.is_empty() { Vec::new() } else { run_splits(&sub)? };
    results.sort_by_key(|(index, _, _)| *index);
    let mut made: Vec<Option<Made<A::Partial>>> = (0..plan.files.len()).map(|_| None).collect();
    for (index, mut partial, mut split_report) in results {
        let Some(&(file, local)) = place.get(index) else { continue };
        action.rebase(&mut partial, index as u64, local);
        let records: u64 = split_report.splits.iter().filter(|s| s.outcome == Outcome::Ok).map(|s| s.records).sum();
        report.splits.append(&mut split_report.splits);
        let slot = made[file].get_or_insert_with(|| Made {
            partial: action.identity(),
            report: Report::default(),
            ran: 0,
            records: 0,
        });
        action.merge(&mut slot.partial, partial);
        slot.report.merge(split_report);
        slot.ran += 1;
        slot.records += records;
    }

    // Every file in plan order: its kept partial, or the one just made.
    let mut merged = action.identity();
    for (file, (identity, stored)) in identities.into_iter().zip(kept).enumerate() {
        let (mut partial, file_report) = match stored {
            Some(decoded) => decoded,
            // An empty file has no split: its (empty) partial is kept too.
            None if expected[file] == 0 => {
                let empty = action.identity();
                let bytes = encode(&empty, &Report::default())?;
                job.with_state(|state| state.store(number, pipeline, identity, &bytes)).transpose()?;
                (empty, Report::default())
            }
            None => match made[file].take() {
                Some(Made { partial, report: file_report, ran, records }) => {
                    if ran == expected[file] {
                        // A rerun that reuses the file counts its records as given.
                        let mut kept = file_report.clone();
                        crate::report::count_into(&mut kept, "shoal.records_reused", records);
                        let bytes = encode(&partial, &kept)?;
                        job.with_state(|state| state.store(number, pipeline, identity, &bytes)).transpose()?;
                    }
                    (partial, file_report)
                }
                // No split of the file ran (skipped by `--on-failed-split`).
                None => continue,
            },
        };
        action.rebase(&mut partial, 0, (file as u64) << 32);
        action.merge(&mut merged, partial);
        report.merge(file_report);
    }
    Ok(merged)
}

/// A file's partial made in this run, from the splits that ran.
struct Made<P> {
    partial: P,
    report: Report,
    /// Splits that ran, and the records they gave.
    ran: u64,
    records: u64,
}

/// A file's partial and report, as kept.
fn encode<P: serde::Serialize>(partial: &P, report: &Report) -> Result<Vec<u8>> {
    protocol::encode(&(partial, report))
        .map_err(|e| Error::new(ErrorKind::Io, "cannot encode a kept partial").with_source(e))
}

/// A kept partial, decoded as one from a worker is (keyed partials of
/// another run's hash seed are re-partitioned on the way in).
fn decode<A: Action>(bytes: &[u8]) -> Result<(A::Partial, Report)> {
    protocol::decode(bytes).map_err(|e| {
        Error::new(ErrorKind::InvalidInput, "a kept partial does not decode (another version?)").with_source(e)
    })
}
