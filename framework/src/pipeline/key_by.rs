//! Stages that split a borrowed item into a key borrowed from it and a value.
//!
//! A key borrowed from the item (`&'a str` out of a `&'a str` line) cannot be
//! written as one generic output type `K<'a>`: a closure bound
//! `for<'a> Fn(&'a R) -> K<'a>` is rejected by rustc (E0582). So each key
//! shape has its own stage: one borrowed key `&'a Q` ([`KeyBy`],
//! [`TryKeyBy`]), a pair `(&'a A, &'a B)` ([`KeyPairBy`],
//! [`TryKeyPairBy`]), a triple ([`KeyTripleBy`], [`TryKeyTripleBy`]) or four
//! parts ([`KeyQuadBy`], [`TryKeyQuadBy`]). They share the consumers below,
//! which see one lifetime at a time and so need no such bound. (A generic
//! stage over any key shape would need the shape named at every call: rustc
//! cannot infer it from the closure's return type.)

use super::{Consumer, Source, delegate_to_base};
use crate::error::{BoxError, Error, Result};
use crate::plan::{Plan, Split};
use std::fmt;
use std::marker::PhantomData;

/// Declares a keying stage: the struct, its constructor and `Debug`.
macro_rules! stage {
    ($(#[$doc:meta])* $name:ident <$($key:ident),+>) => {
        $(#[$doc])*
        #[must_use = "pipelines are lazy: call an action to run them"]
        pub struct $name<P, F, $($key: ?Sized,)+ V> {
            base: P,
            f: F,
            _pair: PhantomData<fn($(&$key),+) -> V>,
        }

        impl<P, F, $($key: ?Sized,)+ V> $name<P, F, $($key,)+ V> {
            pub(super) fn new(base: P, f: F) -> Self {
                $name { base, f, _pair: PhantomData }
            }
        }

        impl<P: fmt::Debug, F, $($key: ?Sized,)+ V> fmt::Debug for $name<P, F, $($key,)+ V> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("base", &self.base).finish()
            }
        }
    };
}

stage!(
    /// Splits borrowed items into `(&key, value)`. Built by [`Pipeline::key_by`](super::Pipeline::key_by).
    KeyBy<Q>
);
stage!(
    /// Splits borrowed items into `(&key, value)`, fallibly. Built by [`Pipeline::try_key_by`](super::Pipeline::try_key_by).
    TryKeyBy<Q>
);
stage!(
    /// Splits borrowed items into `((&a, &b), value)`. Built by [`Pipeline::key_pair_by`](super::Pipeline::key_pair_by).
    KeyPairBy<A, B>
);
stage!(
    /// Splits borrowed items into `((&a, &b), value)`, fallibly. Built by [`Pipeline::try_key_pair_by`](super::Pipeline::try_key_pair_by).
    TryKeyPairBy<A, B>
);

stage!(
    /// Splits borrowed items into `((&a, &b, &c), value)`. Built by [`Pipeline::key_triple_by`](super::Pipeline::key_triple_by).
    KeyTripleBy<A, B, D>
);
stage!(
    /// Splits borrowed items into `((&a, &b, &c), value)`, fallibly. Built by [`Pipeline::try_key_triple_by`](super::Pipeline::try_key_triple_by).
    TryKeyTripleBy<A, B, D>
);
stage!(
    /// Splits borrowed items into `((&a, &b, &c, &d), value)`. Built by [`Pipeline::key_quad_by`](super::Pipeline::key_quad_by).
    KeyQuadBy<A, B, D, G>
);
stage!(
    /// Splits borrowed items into `((&a, &b, &c, &d), value)`, fallibly. Built by [`Pipeline::try_key_quad_by`](super::Pipeline::try_key_quad_by).
    TryKeyQuadBy<A, B, D, G>
);

struct KeyByConsumer<'s, F, C> {
    f: &'s F,
    next: &'s mut C,
}

impl<'x, R, K, V, F, C> Consumer<&'x R> for KeyByConsumer<'_, F, C>
where
    R: ?Sized,
    F: Fn(&'x R) -> (K, V),
    C: Consumer<(K, V)>,
{
    #[inline(always)]
    fn push(&mut self, item: &'x R) -> Result<()> {
        self.next.push((self.f)(item))
    }
}

struct TryKeyByConsumer<'s, F, C> {
    f: &'s F,
    next: &'s mut C,
}

impl<'x, R, K, V, E, F, C> Consumer<&'x R> for TryKeyByConsumer<'_, F, C>
where
    R: ?Sized,
    F: Fn(&'x R) -> Result<(K, V), E>,
    E: Into<BoxError>,
    C: Consumer<(K, V)>,
{
    #[inline(always)]
    fn push(&mut self, item: &'x R) -> Result<()> {
        match (self.f)(item) {
            Ok(pair) => self.next.push(pair),
            Err(e) => Err(Error::user(e)),
        }
    }
}

impl<P, R, F, Q, V> Source for KeyBy<P, F, Q, V>
where
    R: ?Sized + 'static,
    Q: ?Sized + 'static,
    P: for<'a> Source<Item<'a> = &'a R>,
    F: for<'a> Fn(&'a R) -> (&'a Q, V) + Sync,
{
    type Item<'a> = (&'a Q, V);

    delegate_to_base!("key_by");

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<Self::Item<'a>>,
    {
        self.base.drive(plan, split, &mut KeyByConsumer { f: &self.f, next: consumer })
    }
}

impl<P, R, F, Q, V, E> Source for TryKeyBy<P, F, Q, V>
where
    R: ?Sized + 'static,
    Q: ?Sized + 'static,
    P: for<'a> Source<Item<'a> = &'a R>,
    F: for<'a> Fn(&'a R) -> Result<(&'a Q, V), E> + Sync,
    E: Into<BoxError>,
{
    type Item<'a> = (&'a Q, V);

    delegate_to_base!("try_key_by");

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<Self::Item<'a>>,
    {
        self.base.drive(plan, split, &mut TryKeyByConsumer { f: &self.f, next: consumer })
    }
}

impl<P, R, F, A, B, V> Source for KeyPairBy<P, F, A, B, V>
where
    R: ?Sized + 'static,
    A: ?Sized + 'static,
    B: ?Sized + 'static,
    P: for<'a> Source<Item<'a> = &'a R>,
    F: for<'a> Fn(&'a R) -> ((&'a A, &'a B), V) + Sync,
{
    type Item<'a> = ((&'a A, &'a B), V);

    delegate_to_base!("key_pair_by");

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<Self::Item<'a>>,
    {
        self.base.drive(plan, split, &mut KeyByConsumer { f: &self.f, next: consumer })
    }
}

impl<P, R, F, A, B, V, E> Source for TryKeyPairBy<P, F, A, B, V>
where
    R: ?Sized + 'static,
    A: ?Sized + 'static,
    B: ?Sized + 'static,
    P: for<'a> Source<Item<'a> = &'a R>,
    F: for<'a> Fn(&'a R) -> Result<((&'a A, &'a B), V), E> + Sync,
    E: Into<BoxError>,
{
    type Item<'a> = ((&'a A, &'a B), V);

    delegate_to_base!("try_key_pair_by");

    fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
    where
        C: for<'a> Consumer<Self::Item<'a>>,
    {
        self.base.drive(plan, split, &mut TryKeyByConsumer { f: &self.f, next: consumer })
    }
}

/// The `Source` impl of an n-part keying stage: `$key` are the parts,
/// `$consumer` the plain or fallible consumer, `$($err)?` the error type.
macro_rules! tuple_stage {
    ($name:ident, $method:literal, $consumer:ident, ($($key:ident),+) $(, $err:ident)?) => {
        impl<P, R, F, $($key,)+ V $(, $err)?> Source for $name<P, F, $($key,)+ V>
        where
            R: ?Sized + 'static,
            $($key: ?Sized + 'static,)+
            P: for<'a> Source<Item<'a> = &'a R>,
            F: for<'a> Fn(&'a R) -> tuple_stage!(@out 'a, ($($key),+), V $(, $err)?) + Sync,
            $($err: Into<BoxError>,)?
        {
            type Item<'a> = (($(&'a $key,)+), V);

            delegate_to_base!($method);

            fn drive<C>(&self, plan: &Plan, split: &Split, consumer: &mut C) -> Result<()>
            where
                C: for<'a> Consumer<Self::Item<'a>>,
            {
                self.base.drive(plan, split, &mut $consumer { f: &self.f, next: consumer })
            }
        }
    };
    (@out $a:lifetime, ($($key:ident),+), $v:ident) => { (($(&$a $key,)+), $v) };
    (@out $a:lifetime, ($($key:ident),+), $v:ident, $err:ident) => { Result<(($(&$a $key,)+), $v), $err> };
}

tuple_stage!(KeyTripleBy, "key_triple_by", KeyByConsumer, (A, B, D));
tuple_stage!(TryKeyTripleBy, "try_key_triple_by", TryKeyByConsumer, (A, B, D), E);
tuple_stage!(KeyQuadBy, "key_quad_by", KeyByConsumer, (A, B, D, G));
tuple_stage!(TryKeyQuadBy, "try_key_quad_by", TryKeyByConsumer, (A, B, D, G), E);
