//! A worker's slot in the leader: its process (if the leader spawned it),
//! the socket to write to it, and why it was killed.

use crate::transport::{Transport, frame};
use std::process::Child;
use std::time::Instant;

/// One worker's process and socket (remote workers have no process).
#[derive(Default)]
pub(super) struct Slot {
    pub(super) child: Option<Child>,
    pub(super) writer: Option<Box<dyn Transport>>,
    pub(super) spawned_at: Option<Instant>,
    /// Why the leader killed it, if it did.
    pub(super) kill_reason: Option<String>,
}

impl Slot {
    pub(super) fn send(&mut self, payload: &[u8]) -> bool {
        match &mut self.writer {
            Some(w) => frame::write_frame(w, payload).is_ok(),
            None => false,
        }
    }
}
