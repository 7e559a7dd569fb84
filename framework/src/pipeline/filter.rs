use super::{Consumer, Source, delegate_to_base};
use crate::error::Result;
use crate::plan::{Plan, Split};
use std::fmt;

/// Keeps the items a predicate accepts. Built by [`Pipeline::filter`](super::Pipeline::filter).
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct Filter<P, F> {
    base: P,
    f: F,
}

impl<P, F> Filter<P, F> {
    pub(super) fn new(base: P, f: F) -> Self {
        Filter { base, f }
    }
}

impl<P: fmt::Debug, F> fmt::Debug for Filter<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Filter").field("base", &self.base).finish()
    }
}

struct FilterConsumer<'s, F, C> {
    f: &'s F,
    next: &'s mut C,
}

impl<T, F, C> Consumer<T> for FilterConsumer<'_, F, C>
where
    F: Fn(&T) -> bool,
    C: Consumer<T>,
{
    #[inline(always)]
    fn push(&mut self, item: T) -> Result<()> {
        if (self.f)(&item) { self.next.push(item) } else { Ok(()) }
    }
}

impl<P, F> Source for Filter<P, F>
where
    P: Source,
    F: for<'a, 'b> Fn(&'b P::Item<'a>) -> bool + Sync,
{
    type Item<'a> = P::Item<'a>;

    delegate_to_base!("filter");

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<P::Item<'a>>,
    {
        self.base.drive(plan, split, &mut FilterConsumer { f: &self.f, next: consumer })
    }
}
