//! The leader's side of each connection: the handshake, then relaying the
//! peer's messages to the leader's thread as [`Event`]s.

use super::protocol::{self, ToLeader, ToWorker};
use super::scheduler::WorkerId;
use crate::transport::{Acceptor, Transport, frame};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::time::Duration;

/// What the connection threads tell the leader.
pub(crate) enum Event {
    /// A worker shook hands; `writer` sends to it.
    Joined { id: WorkerId, writer: Box<dyn Transport>, member: Member },
    /// A worker sent a message.
    Message { id: WorkerId, msg: ToLeader },
    /// A worker's connection ended or failed.
    Lost { id: WorkerId, why: String },
    /// A peer that said it was this cluster rank was refused (a wrong
    /// secret, another binary): rank 0 stops waiting for it.
    Refused { rank: usize },
}

/// Who a joined worker is, for `--explain` and messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Member {
    pub(crate) threads: usize,
    pub(crate) pid: u32,
    /// The cluster rank it came from (`None`: a spawned worker process).
    pub(crate) rank: Option<usize>,
    /// A process that rank started beside itself, not the rank.
    pub(crate) helper: bool,
    pub(crate) host: String,
}

/// Accepts peers (workers started elsewhere, over TCP) on a thread of its
/// own, each served on a thread of its own.
pub(crate) fn spawn_acceptor(
    acceptor: Box<dyn Acceptor>,
    secret: String,
    tx: Sender<Event>,
    next_id: Arc<AtomicUsize>,
) {
    let _ = std::thread::Builder::new().name("shoal-accept".into()).spawn(move || {
        loop {
            let Ok(conn) = acceptor.accept() else { return };
            let (secret, tx, next_id) = (secret.clone(), tx.clone(), next_id.clone());
            let _ = std::thread::Builder::new()
                .name("shoal-peer".into())
                .spawn(move || serve_peer(conn, &secret, &tx, &next_id));
        }
    });
}

/// Runs the handshake, then relays the peer's messages as events.
pub(crate) fn serve_peer(mut conn: Box<dyn Transport>, secret: &str, tx: &Sender<Event>, next_id: &AtomicUsize) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let from = conn.peer();
    let hello = protocol::recv::<ToLeader, _>(&mut conn, frame::MAX_HELLO);
    let (id, member) = match hello {
        Ok(Some(ToLeader::Hello {
            magic,
            protocol: version,
            program,
            secret: theirs,
            worker,
            rank,
            helper,
            host,
            pid,
            threads,
        })) => {
            let refusal = if magic != protocol::MAGIC {
                Some("not a Shoal worker".to_string())
            } else if version != protocol::PROTOCOL {
                Some(format!("protocol {version}, leader speaks {}", protocol::PROTOCOL))
            } else if !protocol::same_secret(&theirs, secret) {
                Some("wrong job secret".to_string())
            } else if program != protocol::program_fingerprint() {
                Some("a different program binary".to_string())
            } else {
                None
            };
            if let Some(reason) = refusal {
                crate::diag::diag!("shoal: refused a peer from {from}: {reason}");
                let _ = protocol::send(&mut conn, &ToWorker::Refused { reason });
                let _ = conn.shutdown();
                if let Some(rank) = rank.filter(|_| !helper) {
                    let _ = tx.send(Event::Refused { rank });
                }
                return;
            }
            (
                worker.unwrap_or_else(|| next_id.fetch_add(1, Ordering::SeqCst)),
                Member { threads, pid, rank, helper, host },
            )
        }
        other => {
            let why = match other {
                Ok(Some(_)) => "it did not start with a handshake".to_string(),
                Ok(None) => "it closed the connection before a handshake".to_string(),
                Err(e) => format!("no handshake ({e})"),
            };
            crate::diag::diag!("shoal: refused a peer from {from}: {why}");
            let _ = conn.shutdown();
            return;
        }
    };
    let writer = match conn.try_clone_box() {
        Ok(w) => w,
        Err(_) => return,
    };
    if protocol::send(&mut conn, &ToWorker::Welcome { worker: id }).is_err() {
        return;
    }
    let _ = conn.set_read_timeout(None);
    if tx.send(Event::Joined { id, writer, member }).is_err() {
        return;
    }
    loop {
        match protocol::recv_to_leader(&mut conn, frame::MAX_FRAME) {
            Ok(Some(msg)) => {
                if tx.send(Event::Message { id, msg }).is_err() {
                    return;
                }
            }
            Ok(None) => {
                let _ = tx.send(Event::Lost { id, why: "closed its connection".into() });
                return;
            }
            Err(e) => {
                let _ = tx.send(Event::Lost { id, why: format!("connection failed: {e}") });
                return;
            }
        }
    }
}
