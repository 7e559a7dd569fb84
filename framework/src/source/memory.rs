//! In-memory sources: a collection, or a numeric range, cut into chunks.
//!
//! Like `Pool.map(f, items, chunksize)` in Python: each chunk is one split.
//! Every process of a job builds the same collection (the program runs the
//! same code everywhere), so only chunk boundaries travel between processes.

use crate::error::Result;
use crate::job::Job;
use crate::plan::{Plan, Split};
use crate::plumbing::{Consumer, Source};
use std::fmt;
use std::sync::Arc;

/// Items of an in-memory collection, as `&T`. Built by [`Job::iter`].
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct Iter<'j, T> {
    job: &'j Job,
    items: Arc<[T]>,
    chunk: Option<u64>,
}

impl<'j, T> Iter<'j, T> {
    pub(crate) fn new(job: &'j Job, items: Arc<[T]>) -> Self {
        Iter { job, items, chunk: None }
    }

    /// Items per split (default: enough for several splits per thread).
    pub fn items_per_split(mut self, items: usize) -> Self {
        self.chunk = Some(items.max(1) as u64);
        self
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("len", &self.items.len()).field("chunk", &self.chunk).finish()
    }
}

/// The default chunk: about eight splits per thread.
fn default_chunk(len: u64, threads: usize) -> u64 {
    len.div_ceil(threads.max(1) as u64 * 8).max(1)
}

impl<T: Send + Sync + 'static> Source for Iter<'_, T> {
    type Item<'a> = &'a T;

    fn job(&self) -> &Job {
        self.job
    }

    fn plan(&self) -> Result<Plan> {
        let len = self.items.len() as u64;
        let threads = self.job.config().item_plan_threads();
        Ok(Plan::items(len, self.chunk.unwrap_or_else(|| default_chunk(len, threads)), threads))
    }

    fn describe(&self, stages: &mut Vec<String>) {
        stages.push(format!("iter({} items)", self.items.len()));
    }

    fn drive<C>(&self, _plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<&'a T>,
    {
        for part in &split.parts {
            for item in &self.items[part.start as usize..part.end as usize] {
                consumer.push(item)?;
            }
        }
        Ok(())
    }
}

/// Integer types a [`RangeSource`] can count over.
pub trait Step: Copy + Send + Sync + 'static {
    /// The distance from `start` to `end` (zero when `end <= start`).
    fn distance(start: Self, end: Self) -> u64;
    /// `start + n`.
    fn nth_from(start: Self, n: u64) -> Self;
}

macro_rules! step {
    ($($t:ty),*) => {$(
        impl Step for $t {
            #[inline]
            fn distance(start: Self, end: Self) -> u64 {
                if end <= start { 0 } else { (end as i128 - start as i128) as u64 }
            }
            #[inline]
            fn nth_from(start: Self, n: u64) -> Self {
                (start as i128 + n as i128) as $t
            }
        }
    )*};
}
step!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// The integers of a range, as owned items. Built by [`Job::range`].
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct RangeSource<'j, T> {
    job: &'j Job,
    start: T,
    len: u64,
    chunk: Option<u64>,
}

impl<'j, T: Step> RangeSource<'j, T> {
    pub(crate) fn new(job: &'j Job, range: std::ops::Range<T>) -> Self {
        RangeSource { job, start: range.start, len: T::distance(range.start, range.end), chunk: None }
    }

    /// Numbers per split (default: enough for several splits per thread).
    pub fn items_per_split(mut self, items: u64) -> Self {
        self.chunk = Some(items.max(1));
        self
    }
}

impl<T: fmt::Debug> fmt::Debug for RangeSource<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeSource").field("start", &self.start).field("len", &self.len).finish()
    }
}

impl<T: Step> Source for RangeSource<'_, T> {
    type Item<'a> = T;

    fn job(&self) -> &Job {
        self.job
    }

    fn plan(&self) -> Result<Plan> {
        let threads = self.job.config().item_plan_threads();
        Ok(Plan::items(self.len, self.chunk.unwrap_or_else(|| default_chunk(self.len, threads)), threads))
    }

    fn describe(&self, stages: &mut Vec<String>) {
        stages.push(format!("range({} items)", self.len));
    }

    fn drive<C>(&self, _plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<T>,
    {
        for part in &split.parts {
            for n in part.start..part.end {
                consumer.push(T::nth_from(self.start, n))?;
            }
        }
        Ok(())
    }
}
