use super::{Consumer, Source, delegate_to_base};
use crate::error::Result;
use crate::plan::{Plan, Split};
use std::fmt;

/// Transforms each item. Built by [`Pipeline::map`](super::Pipeline::map).
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct Map<P, F> {
    base: P,
    f: F,
}

impl<P, F> Map<P, F> {
    pub(super) fn new(base: P, f: F) -> Self {
        Map { base, f }
    }
}

impl<P: fmt::Debug, F> fmt::Debug for Map<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map").field("base", &self.base).finish()
    }
}

struct MapConsumer<'s, F, C> {
    f: &'s F,
    next: &'s mut C,
}

impl<T, U, F, C> Consumer<T> for MapConsumer<'_, F, C>
where
    F: Fn(T) -> U,
    C: Consumer<U>,
{
    #[inline(always)]
    fn push(&mut self, item: T) -> Result<()> {
        self.next.push((self.f)(item))
    }
}

impl<P, F, U> Source for Map<P, F>
where
    P: Source,
    F: for<'a> Fn(P::Item<'a>) -> U + Sync,
{
    type Item<'a> = U;

    delegate_to_base!("map");

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<U>,
    {
        self.base.drive(plan, split, &mut MapConsumer { f: &self.f, next: consumer })
    }
}
