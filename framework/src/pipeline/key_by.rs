use super::{Consumer, Pipeline, delegate_to_base};
use crate::error::{BoxError, Error, Result};
use crate::plan::{Plan, Split};
use std::fmt;
use std::marker::PhantomData;

/// Splits borrowed items into `(&key, value)`. Built by [`Pipeline::key_by`].
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct KeyBy<P, F, Q: ?Sized, V> {
    base: P,
    f: F,
    _pair: PhantomData<fn(&Q) -> V>,
}

/// Splits borrowed items into `(&key, value)`, fallibly. Built by [`Pipeline::try_key_by`].
#[must_use = "pipelines are lazy: call an action to run them"]
pub struct TryKeyBy<P, F, Q: ?Sized, V> {
    base: P,
    f: F,
    _pair: PhantomData<fn(&Q) -> V>,
}

impl<P, F, Q: ?Sized, V> KeyBy<P, F, Q, V> {
    pub(super) fn new(base: P, f: F) -> Self {
        KeyBy { base, f, _pair: PhantomData }
    }
}

impl<P, F, Q: ?Sized, V> TryKeyBy<P, F, Q, V> {
    pub(super) fn new(base: P, f: F) -> Self {
        TryKeyBy { base, f, _pair: PhantomData }
    }
}

impl<P: fmt::Debug, F, Q: ?Sized, V> fmt::Debug for KeyBy<P, F, Q, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyBy").field("base", &self.base).finish()
    }
}

impl<P: fmt::Debug, F, Q: ?Sized, V> fmt::Debug for TryKeyBy<P, F, Q, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryKeyBy").field("base", &self.base).finish()
    }
}

struct KeyByConsumer<'s, F, C> {
    f: &'s F,
    next: &'s mut C,
}

impl<'x, R, Q, V, F, C> Consumer<&'x R> for KeyByConsumer<'_, F, C>
where
    R: ?Sized,
    Q: ?Sized + 'x,
    F: Fn(&'x R) -> (&'x Q, V),
    C: Consumer<(&'x Q, V)>,
{
    #[inline]
    fn push(&mut self, item: &'x R) -> Result<()> {
        self.next.push((self.f)(item))
    }
}

struct TryKeyByConsumer<'s, F, C> {
    f: &'s F,
    next: &'s mut C,
}

impl<'x, R, Q, V, E, F, C> Consumer<&'x R> for TryKeyByConsumer<'_, F, C>
where
    R: ?Sized,
    Q: ?Sized + 'x,
    F: Fn(&'x R) -> Result<(&'x Q, V), E>,
    E: Into<BoxError>,
    C: Consumer<(&'x Q, V)>,
{
    #[inline]
    fn push(&mut self, item: &'x R) -> Result<()> {
        match (self.f)(item) {
            Ok(pair) => self.next.push(pair),
            Err(e) => Err(Error::user(e)),
        }
    }
}

impl<P, R, F, Q, V> Pipeline for KeyBy<P, F, Q, V>
where
    R: ?Sized + 'static,
    Q: ?Sized + 'static,
    P: for<'a> Pipeline<Item<'a> = &'a R>,
    F: for<'a> Fn(&'a R) -> (&'a Q, V) + Sync,
{
    type Item<'a> = (&'a Q, V);

    delegate_to_base!();

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<(&'a Q, V)>,
    {
        self.base.drive(plan, split, &mut KeyByConsumer { f: &self.f, next: consumer })
    }
}

impl<P, R, F, Q, V, E> Pipeline for TryKeyBy<P, F, Q, V>
where
    R: ?Sized + 'static,
    Q: ?Sized + 'static,
    P: for<'a> Pipeline<Item<'a> = &'a R>,
    F: for<'a> Fn(&'a R) -> Result<(&'a Q, V), E> + Sync,
    E: Into<BoxError>,
{
    type Item<'a> = (&'a Q, V);

    delegate_to_base!();

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<(&'a Q, V)>,
    {
        self.base.drive(plan, split, &mut TryKeyByConsumer { f: &self.f, next: consumer })
    }
}
