use super::{Consumer, Source, delegate_to_base};
use crate::error::Result;
use crate::plan::{Plan, Split};
use std::fmt;

/// Replaces each item by the items of an iterator. Built by [`Pipeline::flat_map`](super::Pipeline::flat_map).
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct FlatMap<P, F> {
    base: P,
    f: F,
}

impl<P, F> FlatMap<P, F> {
    pub(super) fn new(base: P, f: F) -> Self {
        FlatMap { base, f }
    }
}

impl<P: fmt::Debug, F> fmt::Debug for FlatMap<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlatMap").field("base", &self.base).finish()
    }
}

struct FlatMapConsumer<'s, F, C> {
    f: &'s F,
    next: &'s mut C,
}

impl<T, I, F, C> Consumer<T> for FlatMapConsumer<'_, F, C>
where
    F: Fn(T) -> I,
    I: IntoIterator,
    C: Consumer<I::Item>,
{
    #[inline(always)]
    fn push(&mut self, item: T) -> Result<()> {
        for u in (self.f)(item) {
            self.next.push(u)?;
        }
        Ok(())
    }
}

impl<P, F, I> Source for FlatMap<P, F>
where
    P: Source,
    F: for<'a> Fn(P::Item<'a>) -> I + Sync,
    I: IntoIterator,
{
    type Item<'a> = I::Item;

    delegate_to_base!("flat_map");

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<I::Item>,
    {
        self.base.drive(plan, split, &mut FlatMapConsumer { f: &self.f, next: consumer })
    }
}
