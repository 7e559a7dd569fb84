//! Who worked for a leader: each joined worker (a spawned process or a
//! cluster rank), and what it was given in the current action, for
//! `--explain` and for counting the ranks that joined.

use super::peer::Member;
use super::scheduler::WorkerId;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The joined workers, by id.
#[derive(Debug, Default)]
pub(crate) struct Roster {
    members: BTreeMap<WorkerId, (Member, Given)>,
}

/// What one worker was given in one action.
#[derive(Debug, Default, Clone, Copy)]
struct Given {
    splits: u64,
    bytes: u64,
}

impl Roster {
    /// Worker `id` shook hands.
    pub(crate) fn join(&mut self, id: WorkerId, member: Member) {
        self.members.insert(id, (member, Given::default()));
    }

    /// How many distinct cluster ranks ever joined.
    pub(crate) fn ranks(&self) -> usize {
        let mut ranks: Vec<usize> = self.members.values().filter_map(|(m, _)| m.rank).collect();
        ranks.sort_unstable();
        ranks.dedup();
        ranks.len()
    }

    /// Worker `id`'s partial of a split of `cost` bytes (or items) was merged.
    pub(crate) fn credit(&mut self, id: WorkerId, cost: u64) {
        if let Some((_, given)) = self.members.get_mut(&id) {
            given.splits += 1;
            given.bytes += cost;
        }
    }

    /// One line per worker that took part in the action, then clears the
    /// counts for the next action: `worker 2 (rank 1 on vm, pid 41, 1
    /// thread): 22 splits, 704643072 bytes`.
    pub(crate) fn take_lines(&mut self) -> String {
        let mut out = String::new();
        for (id, (member, given)) in &mut self.members {
            if given.splits == 0 {
                continue;
            }
            let who = match member.rank {
                Some(rank) => format!("rank {rank} on {}", member.host),
                None => format!("process on {}", member.host),
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
