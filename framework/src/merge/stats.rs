//! Count, sum, minimum, maximum and mean in one partial.

use super::Merge;
use serde::{Deserialize, Serialize};
use std::ops::Add;

/// Numbers a [`Stats`] can summarize.
pub trait Numeric: Copy + PartialOrd + Add<Output = Self> + Default {
    /// The value as `f64`, for the mean.
    fn to_f64(self) -> f64;
}

macro_rules! numeric {
    ($($t:ty),*) => {$(
        impl Numeric for $t {
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
numeric!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

/// Count, sum, min and max of a stream of numbers.
///
/// With an integer `T` every field is exact for any merge order. With a float
/// `T`, `sum` (and so `mean`) may differ in its last bits between runs with
/// different thread counts; `min`, `max` and `count` never do. NaN values are
/// counted and summed but never become the min or max.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats<T> {
    /// How many values were seen.
    pub count: u64,
    /// Their sum.
    pub sum: T,
    /// The smallest, meaningful only when `count > 0`.
    pub min: T,
    /// The largest, meaningful only when `count > 0`.
    pub max: T,
}

impl<T: Numeric> Default for Stats<T> {
    fn default() -> Self {
        Stats { count: 0, sum: T::default(), min: T::default(), max: T::default() }
    }
}

impl<T: Numeric> Stats<T> {
    /// The statistics of one value.
    #[inline]
    pub fn of(value: T) -> Self {
        Stats { count: 1, sum: value, min: value, max: value }
    }

    /// Adds one value.
    #[inline]
    pub fn add(&mut self, value: T) {
        if self.count == 0 {
            *self = Stats::of(value);
            return;
        }
        self.count += 1;
        self.sum = self.sum + value;
        if value < self.min {
            self.min = value;
        }
        if value > self.max {
            self.max = value;
        }
    }

    /// The arithmetic mean as `f64`, or `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum.to_f64() / self.count as f64)
    }

    /// The minimum, or `None` when empty.
    pub fn min(&self) -> Option<T> {
        (self.count > 0).then_some(self.min)
    }

    /// The maximum, or `None` when empty.
    pub fn max(&self) -> Option<T> {
        (self.count > 0).then_some(self.max)
    }
}

impl<T: Numeric> Merge for Stats<T> {
    #[inline]
    fn merge(&mut self, other: Self) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other;
            return;
        }
        self.count += other.count;
        self.sum = self.sum + other.sum;
        if other.min < self.min {
            self.min = other.min;
        }
        if other.max > self.max {
            self.max = other.max;
        }
    }
}
