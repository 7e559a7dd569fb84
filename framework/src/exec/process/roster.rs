//! Who worked for a leader: each joined worker (a spawned process or a
//! cluster rank), and what it was given in the current action, for
//! `--explain` and for counting the ranks that joined.

use super::peer::Member;
use super::scheduler::WorkerId;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// The joined workers, by id.
#[derive(Debug, Default)]
pub(crate) struct Roster {
    members: BTreeMap<WorkerId, (Member, Given)>,
    /// CPU time the leader's thread spent handling workers' messages in
    /// this action (merging partials, sending splits), not waiting for
    /// them: CPU time, so a busy machine does not inflate it.
    busy: Duration,
}

/// What one worker was given in one action.
#[derive(Debug, Default, Clone, Copy)]
struct Given {
    splits: u64,
    bytes: u64,
}

/// CPU time of the calling thread so far.
pub(crate) fn thread_time() -> Duration {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

impl Roster {
    /// Worker `id` shook hands.
    pub(crate) fn join(&mut self, id: WorkerId, member: Member) {
        self.members.insert(id, (member, Given::default()));
    }

    /// How many distinct cluster ranks ever joined.
    pub(crate) fn ranks(&self) -> usize {
        self.rank_numbers().len()
    }

    /// The distinct cluster ranks that ever joined, in order.
    pub(crate) fn rank_numbers(&self) -> Vec<usize> {
        let mut ranks: Vec<usize> = self.members.values().filter_map(|(m, _)| m.rank).collect();
        ranks.sort_unstable();
        ranks.dedup();
        ranks
    }

    /// Worker `id`'s partial of a split of `cost` bytes (or items) was merged.
    pub(crate) fn credit(&mut self, id: WorkerId, cost: u64) {
        if let Some((_, given)) = self.members.get_mut(&id) {
            given.splits += 1;
            given.bytes += cost;
        }
    }

    /// The leader spent `time` on one message.
    pub(crate) fn busy(&mut self, time: Duration) {
        self.busy += time;
    }

    /// One line per worker that took part in the action, then clears the
    /// counts for the next action: `worker 2 (rank 1 on vm, pid 41, 1
    /// thread): 22 splits, 704643072 bytes`.
    pub(crate) fn take_lines(&mut self) -> String {
        let mut out = String::new();
        let splits: u64 = self.members.values().map(|(_, g)| g.splits).sum();
        let busy = std::mem::take(&mut self.busy);
        if splits > 0 {
            let _ = writeln!(
                out,
                "  leader: {splits} splits handed out and merged in {:.1} ms of its CPU time ({:.1} us per split)",
                busy.as_secs_f64() * 1e3,
                busy.as_secs_f64() * 1e6 / splits as f64
            );
        }
        for (id, (member, given)) in &mut self.members {
            if given.splits == 0 {
                continue;
            }
            let who = match member.rank {
                Some(rank) if member.helper => format!("a worker process of rank {rank} on {}", member.host),
                Some(rank) => format!("rank {rank} on {}", member.host),
                None => format!("a worker process of the leader on {}", member.host),
            };
            let threads =
                if member.threads == 1 { "1 thread".to_string() } else { format!("{} threads", member.threads) };
            let _ = writeln!(
                out,
                "  worker {id} ({who}, pid {}, {threads}): {} splits, {} bytes",
                member.pid, given.splits, given.bytes
            );
            *given = Given::default();
        }
        out
    }
}
