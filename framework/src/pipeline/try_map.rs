use super::{Consumer, Source, delegate_to_base};
use crate::error::{BoxError, Error, Result};
use crate::plan::{Plan, Split};
use std::fmt;

/// Transforms each item with a fallible function. Built by [`Pipeline::try_map`](super::Pipeline::try_map).
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct TryMap<P, F> {
    base: P,
    f: F,
}

impl<P, F> TryMap<P, F> {
    pub(super) fn new(base: P, f: F) -> Self {
        TryMap { base, f }
    }
}

impl<P: fmt::Debug, F> fmt::Debug for TryMap<P, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryMap").field("base", &self.base).finish()
    }
}

struct TryMapConsumer<'s, F, C> {
    f: &'s F,
    next: &'s mut C,
}

impl<T, U, E, F, C> Consumer<T> for TryMapConsumer<'_, F, C>
where
    F: Fn(T) -> Result<U, E>,
    E: Into<BoxError>,
    C: Consumer<U>,
{
    #[inline(always)]
    fn push(&mut self, item: T) -> Result<()> {
        match (self.f)(item) {
            Ok(u) => self.next.push(u),
            Err(e) => Err(Error::user(e)),
        }
    }
}

impl<P, F, U, E> Source for TryMap<P, F>
where
    P: Source,
    F: for<'a> Fn(P::Item<'a>) -> Result<U, E> + Sync,
    E: Into<BoxError>,
{
    type Item<'a> = U;

    delegate_to_base!("try_map");

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<U>,
    {
        self.base.drive(plan, split, &mut TryMapConsumer { f: &self.f, next: consumer })
    }
}
