//! Minimum and maximum.

use super::Merge;
use serde::{Deserialize, Serialize};

/// The smallest value seen, or `None` before any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Min<T>(pub Option<T>);

/// The largest value seen, or `None` before any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Max<T>(pub Option<T>);

impl<T> Default for Min<T> {
    fn default() -> Self {
        Min(None)
    }
}

impl<T> Default for Max<T> {
    fn default() -> Self {
        Max(None)
    }
}

impl<T: Ord> Min<T> {
    /// A minimum of one value.
    pub fn of(value: T) -> Self {
        Min(Some(value))
    }

    /// Offers one more value.
    #[inline]
    pub fn add(&mut self, value: T) {
        match &self.0 {
            Some(cur) if *cur <= value => {}
            _ => self.0 = Some(value),
        }
    }

    /// The minimum, if any value was seen.
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<T: Ord> Max<T> {
    /// A maximum of one value.
    pub fn of(value: T) -> Self {
        Max(Some(value))
    }

    /// Offers one more value.
    #[inline]
    pub fn add(&mut self, value: T) {
        match &self.0 {
            Some(cur) if *cur >= value => {}
            _ => self.0 = Some(value),
        }
    }

    /// The maximum, if any value was seen.
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

/// Ties keep either value: equal under `Ord` means interchangeable here.
impl<T: Ord> Merge for Min<T> {
    fn merge(&mut self, other: Self) {
        if let Some(v) = other.0 {
            self.add(v);
        }
    }
}

impl<T: Ord> Merge for Max<T> {
    fn merge(&mut self, other: Self) {
        if let Some(v) = other.0 {
            self.add(v);
        }
    }
}
