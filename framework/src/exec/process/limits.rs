//! Job-wide concurrency limits (`job.limit(name, n)`), as the leader counts
//! them: permits in use and asks waiting, per limit name. Pure: who holds
//! permits and whether a waiter is still alive is the scheduler's business.

use std::collections::{HashMap, VecDeque};

/// A worker, as numbered by the leader (spawned) or by its launcher.
pub(crate) type WorkerId = usize;

/// One limit: its capacity, the permits in use, and the asks waiting.
#[derive(Debug, Default)]
struct Limit {
    capacity: usize,
    used: usize,
    waiting: VecDeque<(WorkerId, u64)>,
}

/// Every limit of a job, by name.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    limits: HashMap<String, Limit>,
}

impl Limits {
    /// A worker asks for a permit of `name` (`token` names the ask);
    /// `true` if it is granted now, `false` if it waits. The capacity is the
    /// largest any process asked for (at least 1).
    pub(crate) fn acquire(&mut self, worker: WorkerId, name: &str, capacity: usize, token: u64) -> bool {
        let limit = self.limits.entry(name.to_owned()).or_default();
        limit.capacity = limit.capacity.max(capacity).max(1);
        if limit.used < limit.capacity {
            limit.used += 1;
            true
        } else {
            limit.waiting.push_back((worker, token));
            false
        }
    }

    /// `n` permits of `name` come back; returns the waiting asks they are
    /// now granted to, oldest first (each already counted as in use).
    pub(crate) fn release(&mut self, name: &str, n: usize) -> Vec<(WorkerId, u64)> {
        let Some(limit) = self.limits.get_mut(name) else { return Vec::new() };
        limit.used = limit.used.saturating_sub(n);
        let mut granted = Vec::new();
        while limit.used < limit.capacity {
            let Some(ask) = limit.waiting.pop_front() else { break };
            limit.used += 1;
            granted.push(ask);
        }
        granted
    }

    /// Drops every waiting ask of a worker that is gone.
    pub(crate) fn forget(&mut self, worker: WorkerId) {
        for limit in self.limits.values_mut() {
            limit.waiting.retain(|(w, _)| *w != worker);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_go_up_to_capacity_then_to_waiters_in_order() {
        let mut limits = Limits::default();
        assert!(limits.acquire(1, "api", 2, 10));
        assert!(limits.acquire(2, "api", 2, 20));
        assert!(!limits.acquire(3, "api", 2, 30));
        assert!(!limits.acquire(4, "api", 2, 40));
        assert!(limits.acquire(1, "db", 1, 11), "limits count apart");
        assert_eq!(limits.release("api", 1), vec![(3, 30)]);
        limits.forget(4);
        assert_eq!(limits.release("api", 2), Vec::new(), "worker 4's ask left with it");
        assert!(limits.acquire(5, "api", 1, 50), "the capacity stays the largest asked for");
        assert_eq!(limits.release("unknown", 1), Vec::new());
    }
}
