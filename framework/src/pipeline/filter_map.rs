use super::{Consumer, Source, delegate_to_base};
use crate::error::Result;
use crate::plan::{Plan, Split};
use std::fmt;

/// Transforms and filters in one step. Built by [`Pipeline::filter_map`](super::Pipeline::filter_map).
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct FilterMap<P, F> {
    base: P,
    f: F,
}

impl<P, F> FilterMap<P, F> {
    pub(super) fn new(base: P, f: F) -> Self {
        FilterMap { base, f }
    }
}

impl<P: fmt::Debug, F> fmt::Debug for FilterMap<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterMap").field("base", &self.base).finish()
    }
}

struct FilterMapConsumer<'s, F, C> {
    f: &'s F,
    next: &'s mut C,
}

impl<T, U, F, C> Consumer<T> for FilterMapConsumer<'_, F, C>
where
    F: Fn(T) -> Option<U>,
    C: Consumer<U>,
{
    #[inline(always)]
    fn push(&mut self, item: T) -> Result<()> {
        match (self.f)(item) {
            Some(u) => self.next.push(u),
            None => Ok(()),
        }
    }
}

impl<P, F, U> Source for FilterMap<P, F>
where
    P: Source,
    F: for<'a> Fn(P::Item<'a>) -> Option<U> + Sync,
{
    type Item<'a> = U;

    delegate_to_base!("filter_map");

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<U>,
    {
        self.base.drive(plan, split, &mut FilterMapConsumer { f: &self.f, next: consumer })
    }
}
