use super::{Consumer, Source, delegate_to_base};
use crate::error::Result;
use crate::plan::{Plan, Split};
use std::fmt;

/// Calls a function on each item and passes it on. Built by [`Pipeline::inspect`](super::Pipeline::inspect).
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct Inspect<P, F> {
    base: P,
    f: F,
}

impl<P, F> Inspect<P, F> {
    pub(super) fn new(base: P, f: F) -> Self {
        Inspect { base, f }
    }
}

impl<P: fmt::Debug, F> fmt::Debug for Inspect<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inspect").field("base", &self.base).finish()
    }
}

struct InspectConsumer<'s, F, C> {
    f: &'s F,
    next: &'s mut C,
}

impl<T, F, C> Consumer<T> for InspectConsumer<'_, F, C>
where
    F: Fn(&T),
    C: Consumer<T>,
{
    #[inline(always)]
    fn push(&mut self, item: T) -> Result<()> {
        (self.f)(&item);
        self.next.push(item)
    }
}

impl<P, F> Source for Inspect<P, F>
where
    P: Source,
    F: for<'a, 'b> Fn(&'b P::Item<'a>) + Sync,
{
    type Item<'a> = P::Item<'a>;

    delegate_to_base!("inspect");

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<P::Item<'a>>,
    {
        self.base.drive(plan, split, &mut InspectConsumer { f: &self.f, next: consumer })
    }
}
