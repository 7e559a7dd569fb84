//! Waiting for the ranks of a cluster launch before the first split.
//!
//! Under `srun -n N` or `mpirun -np N` every rank starts at about the same
//! time, but a small job could be finished by rank 0's own worker before
//! the others connect, and a rank that comes late finds no leader and
//! fails. So rank 0's first action hands out nothing until every other
//! rank has joined, or until the connect timeout passes (then it goes on
//! with the ranks it has, saying which are missing; a rank that joins later
//! still takes splits). A rank refused at its handshake (a wrong secret) is
//! not waited for once it has not joined for [`REFUSED_GRACE`] after (a
//! rank that read a stale rendezvous file tries again at once). The rank
//! number of a refused handshake is not authenticated: at worst a stranger
//! ends the wait early, and the ranks that join later still take splits.

use super::State;
use super::{Event, OnPartial};
use crate::error::{Error, ErrorKind, Result};
use crate::exec::process::protocol::ToLeader;
use crate::exec::process::round::Round;
use crate::signals;
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

/// How long a refused rank has to join after all before it is not waited for.
const REFUSED_GRACE: Duration = Duration::from_secs(2);

/// How many ranks to wait for, and for how long.
#[derive(Debug, Clone, Copy)]
pub(super) struct Muster {
    pub(super) ranks: usize,
    pub(super) within: Duration,
}

impl State {
    /// Waits for the ranks of [`State::muster`] (once, at the first action
    /// with splits). Handshakes, heartbeats and losses are handled as they
    /// come; `Ready` messages are held back and returned, to be handled once
    /// the round may begin.
    pub(super) fn muster(&mut self, round: &mut Round<'_>, on_partial: &mut OnPartial<'_>) -> Result<Vec<Event>> {
        let mut held = Vec::new();
        let Some(muster) = self.muster else { return Ok(held) };
        if round.is_over() {
            return Ok(held);
        }
        self.muster = None;
        let deadline = Instant::now() + muster.within;
        // Ranks refused at their handshake, and when.
        let mut refused: Vec<(usize, Instant)> = Vec::new();
        loop {
            let joined = self.roster.rank_numbers();
            let now = Instant::now();
            let given_up = refused
                .iter()
                .filter(|(rank, at)| !joined.contains(rank) && now.duration_since(*at) >= REFUSED_GRACE)
                .count();
            if joined.len() + given_up >= muster.ranks {
                for (rank, _) in refused.iter().filter(|(rank, _)| !joined.contains(rank)) {
                    crate::diag::diag!("shoal: rank {rank} was refused; going on without it");
                }
                break;
            }
            if let Some(status) = signals::interrupted() {
                return Err(Error::new(ErrorKind::Interrupted, format!("interrupted (exit status {status})")));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                crate::diag::diag!(
                    "shoal: {} of {} ranks joined within {} s; going on without the others",
                    self.roster.ranks() + 1,
                    muster.ranks + 1,
                    muster.within.as_secs()
                );
                break;
            }
            match self.events.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(event @ Event::Message { msg: ToLeader::Ready { .. }, .. }) => held.push(event),
                // Only ranks of this launch (1 to the world size - 1).
                Ok(Event::Refused { rank })
                    if (1..=muster.ranks).contains(&rank) && !refused.iter().any(|(r, _)| *r == rank) =>
                {
                    refused.push((rank, Instant::now()));
                }
                Ok(event) => self.handle(round, event, on_partial)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::new(ErrorKind::Transport, "the leader's connection threads stopped"));
                }
            }
            self.check_timeouts(round)?;
        }
        Ok(held)
    }
}
